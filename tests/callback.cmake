# 差评 call-back, working-day due dates and appeals (issue 17): the calendar
# arithmetic in C, the routes against the real hallqd (Python).
if(TARGET hqconfig AND TARGET hqengine)
  hq_unit_test(test_workdays SOURCES unit/test_workdays.c LIBS hqconfig)
endif()
if(TARGET hallqd)
  hq_py_test(test_callback test_callback.py TIMEOUT 180)
endif()
# The dashboard's rates, the number behind the passphrase and the appeal's review in Chromium.
if(TARGET hallqd)
  find_program(HQ_NODE node)
  if(NOT HQ_NODE)
    set(HQ_NODE node)
  endif()
  add_test(NAME web_callback COMMAND ${HQ_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/web/callback.test.js
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/web)
  set_tests_properties(web_callback PROPERTIES TIMEOUT 180 ENVIRONMENT
    "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR}")
endif()
