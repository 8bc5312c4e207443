# The queue engine's table-driven unit tests.
hq_unit_test(test_engine SOURCES unit/test_engine.c LIBS hqengine)
# What the kiosk reads of a service: windows_open, next_open, the estimate (issue 14).
if(TARGET hallqd)
  hq_py_test(service_windows test_service_windows.py TIMEOUT 60)
endif()
# The hall changed while it runs: the engine's window/service commands (issue 16).
hq_unit_test(test_engine_admin SOURCES unit/test_engine_admin.c LIBS hqengine)
