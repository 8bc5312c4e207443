# The hall LAN cannot starve or drain the hall (issue 13): one listener per address, the
# per-address connection and stream budgets, the request deadline, slots kept for devices,
# Host and media-type checks, paced anonymous issuing and manager sign-in. Source addresses
# 127.0.0.2... play the other machines on the LAN.
if(TARGET hallqd)
  hq_py_test(test_net test_net.py TIMEOUT 300)
endif()
