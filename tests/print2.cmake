# Ticket printing, second part: the kiosk's and the staff's reprints (the
# anti-abuse rule, records, print_failed), the private-cupsd tool the demo
# uses, and the demo hall's printer section.
if(TARGET hallqd)
  hq_py_test(print_reprint test_print_reprint.py TIMEOUT 120 ARGS $<TARGET_FILE:hallq-sim>)
endif()
if(TARGET hallqd AND TARGET hallq-sim)
  hq_py_test(demo_print test_demo_print.py TIMEOUT 120)
endif()
# bench_print (tests/bench/bench_print.py) as an executable of BUILD/bench, the
# way tests/bench/run.sh finds benchmarks: python3 with the build's paths.
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/bench/bench_print
     CONTENT "#!/bin/sh\nHQ_BUILD='${CMAKE_BINARY_DIR}' HQ_SOURCE='${CMAKE_SOURCE_DIR}' exec '${Python3_EXECUTABLE}' '${CMAKE_CURRENT_SOURCE_DIR}/bench/bench_print.py' \"$@\"\n"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
# Reprints from the kiosk and the dashboard in headless Chromium (tests/web).
if(TARGET hallqd)
  hq_web_test(web_print_reprint test_print_reprint.js TIMEOUT 180 NODE_TEST)
endif()
