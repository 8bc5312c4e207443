# Reports over any period (issue 18): the routes, exports and rollups against
# the real hallqd (test_figures, the figures of a scripted week, is in
# daemon.cmake with the store's unit tests).
if(TARGET hallqd)
  hq_py_test(test_reports test_reports.py TIMEOUT 120)
endif()
# The 报表 section and the printable 考核 page in the system's Chromium.
if(TARGET hallqd)
  find_program(HQ_NODE node)
  if(NOT HQ_NODE)
    set(HQ_NODE node) # the test then fails saying so: never skipped into green
  endif()
  add_test(NAME web_reports COMMAND ${HQ_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/web/test_reports.js
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/web)
  set_tests_properties(web_reports PROPERTIES TIMEOUT 240 ENVIRONMENT
    "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR}")
endif()
