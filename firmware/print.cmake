# hallqd's ticket printing (hqd_print.c, picked up by hallqd.cmake's hqd_*.c):
# the ESC/POS renderer (hqdrivers) and the CUPS worker (hqhal).
if(TARGET hallqd)
  target_link_libraries(hallqd PRIVATE hqdrivers hqhal)
endif()
