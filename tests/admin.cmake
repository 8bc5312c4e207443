# The manager dashboard: its pure rules (C), its API against the real hallqd
# (Python), and the page in headless Chromium (tests/web, Playwright).
if(TARGET hqadmin)
  hq_unit_test(test_admin SOURCES unit/test_admin.c LIBS hqadmin)
endif()
if(TARGET hallqd)
  hq_py_test(test_admin_api test_admin_api.py TIMEOUT 120)
  # pause reasons, help calls, 空岗, 限时办结: the supervision alarms (issue 16)
  hq_py_test(hallqd_supervision test_supervision.py TIMEOUT 180)
  # The hall changed while it runs: overrides across SIGKILL, restart and reload (issue 16).
  hq_py_test(test_overrides test_overrides.py TIMEOUT 120)
endif()
# The page in the system's Chromium through tests/web's harness (playwright-core
# from `npm ci` in tests/web); screenshots land in ${CMAKE_BINARY_DIR}/artefacts.
find_program(HQ_NODE node)
if(NOT HQ_NODE)
  set(HQ_NODE node) # the test then fails saying so: never skipped into green
endif()
if(TARGET hallqd)
  add_test(NAME web_admin COMMAND ${HQ_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/web/admin.test.js
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/web)
  set_tests_properties(web_admin PROPERTIES TIMEOUT 240 ENVIRONMENT
    "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR}")
endif()
# The dashboard's run-time changes section (issue 16).
if(TARGET hallqd)
  add_test(NAME web_admin_changes COMMAND ${HQ_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/web/admin_changes.test.js
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/web)
  set_tests_properties(web_admin_changes PROPERTIES TIMEOUT 120 ENVIRONMENT
    "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR}")
endif()
# The same form opening a temporary window with its own keypad, pad and LED bar (issue 16).
if(TARGET hallqd)
  add_test(NAME web_admin_tempwin COMMAND ${HQ_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/web/admin_tempwin.test.js
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/web)
  set_tests_properties(web_admin_tempwin PROPERTIES TIMEOUT 120 ENVIRONMENT
    "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR}")
endif()
# A wall clock behind the recorded data: status "clock", the dashboard's 时钟 alarm, the queue
# stays on its business day.
if(TARGET hallqd)
  hq_py_test(hallqd_clock test_clock.py TIMEOUT 120)
endif()
