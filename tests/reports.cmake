# Reports over any period (issue 18): the routes, exports and rollups against
# the real hallqd (test_figures, the figures of a scripted week, is in
# daemon.cmake with the store's unit tests).
if(TARGET hallqd)
  hq_py_test(test_reports test_reports.py TIMEOUT 120)
endif()
# The 报表 section and the printable 考核 page in the system's Chromium.
if(TARGET hallqd)
  hq_web_test(web_reports test_reports.js TIMEOUT 240)
endif()
