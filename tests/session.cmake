# Staff sessions: PIN hashes, tokens and back-off (C, pure), and sign-in,
# roles, expiry, revocation and restarts against the real hallqd (Python).
if(TARGET hqsession)
  hq_unit_test(test_session SOURCES unit/test_session.c LIBS hqsession)
endif()
if(TARGET hallqd)
  hq_py_test(test_sessions test_sessions.py TIMEOUT 180)
endif()
# The window console's API (issue 16): GET /api/v1/windows/N/today, transfer to a closed window.
if(TARGET hallqd)
  hq_py_test(test_console_api test_console_api.py TIMEOUT 120)
endif()
# The guide desk's typed ID numbers: never in the database, its WAL or the log (issue 16).
if(TARGET hallqd)
  hq_py_test(desk_id_privacy test_desk_id.py TIMEOUT 120 ARGS $<TARGET_FILE:hallq-sim>)
endif()
