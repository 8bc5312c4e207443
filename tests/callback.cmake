# 差评 call-back, working-day due dates and appeals (issue 17): the calendar
# arithmetic in C, the routes against the real hallqd (Python).
if(TARGET hqconfig AND TARGET hqengine)
  hq_unit_test(test_workdays SOURCES unit/test_workdays.c LIBS hqconfig)
endif()
if(TARGET hallqd)
  hq_py_test(test_callback test_callback.py TIMEOUT 180)
endif()
