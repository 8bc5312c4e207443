# The manager dashboard: its pure rules (C), its API against the real hallqd
# (Python), and the page in headless Chromium (Playwright, when installed).
if(TARGET hqadmin)
  hq_unit_test(test_admin SOURCES unit/test_admin.c LIBS hqadmin)
endif()
