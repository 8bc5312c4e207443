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
if(TARGET hallqd)
  hq_web_test(web_admin admin.test.js TIMEOUT 240)
endif()
# The dashboard's run-time changes section (issue 16).
if(TARGET hallqd)
  hq_web_test(web_admin_changes admin_changes.test.js TIMEOUT 120)
endif()
# The same form opening a temporary window with its own keypad, pad and LED bar (issue 16).
if(TARGET hallqd)
  hq_web_test(web_admin_tempwin admin_tempwin.test.js TIMEOUT 120)
endif()
# A wall clock behind the recorded data: status "clock", the dashboard's 时钟 alarm, the queue
# stays on its business day.
if(TARGET hallqd)
  hq_py_test(hallqd_clock test_clock.py TIMEOUT 120)
endif()
