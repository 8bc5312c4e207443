# 差评 call-back, working-day due dates and appeals (issue 17): the calendar
# arithmetic in C, the routes against the real hallqd (Python).
if(TARGET hqconfig AND TARGET hqengine)
  hq_unit_test(test_workdays SOURCES unit/test_workdays.c LIBS hqconfig)
endif()
# (with hallq-central: the records reach it, and its database holds no number either)
if(TARGET hallqd AND TARGET hallq-central)
  add_test(NAME test_callback COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_callback.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(test_callback PROPERTIES TIMEOUT 180 ENVIRONMENT
    "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR};HQ_CENTRAL=$<TARGET_FILE:hallq-central>;PYTHONDONTWRITEBYTECODE=1")
endif()
# The dashboard's rates, the number behind the passphrase and the appeal's review in Chromium.
if(TARGET hallqd)
  hq_web_test(web_callback callback.test.js TIMEOUT 180)
endif()
