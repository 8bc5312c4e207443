# A burst of tickets on one printer behind the private cupsd: each issued ticket printed or
# reported (print_failed), refusals before a number is used, a stalled queue a printer fault.
if(TARGET hallqd)
  hq_py_test(print_burst test_print_burst.py TIMEOUT 400 ARGS $<TARGET_FILE:hallq-sim>)
endif()
