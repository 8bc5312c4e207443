# Central sync: the codec (SLIP, sync frame, bodies, retry policy) and the
# reference central server.
hq_unit_test(test_slip SOURCES unit/test_slip.c LIBS hqsync)
hq_unit_test(test_sync_proto SOURCES unit/test_sync_proto.c LIBS hqsync)
# The reference central server, driven over HTTP(S), a pty and TCP.
add_test(NAME central_server
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_central.py
                 $<TARGET_FILE:hallq-central>)
set_tests_properties(central_server PROPERTIES TIMEOUT 300)
# hallqd's up-link against hallq-central: HTTP faults, 4xx alarm, SIGKILL,
# a server that lost its data, HTTPS (CA, wrong CA, pinned key), serial.
if(TARGET hallqd)
  add_test(NAME sync_uplink
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_uplink.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(sync_uplink PROPERTIES TIMEOUT 300 ENVIRONMENT
    "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR};HQ_CENTRAL=$<TARGET_FILE:hallq-central>;PYTHONDONTWRITEBYTECODE=1")
endif()
# Appointments: storage, look-ups, the check-in rules and the claim protocol.
if(TARGET hqappt)
  hq_unit_test(test_appt SOURCES unit/test_appt.c LIBS hqappt hqstore PkgConfig::OPENSSL)
endif()
# The rest of the up-link and the down-link against hallq-central: every
# record type over HTTP and serial (noise, short acks), a 3,000-record backlog,
# SIGKILL in flight, the 4xx/backlog alarm (status, SSE, /metrics), SIGHUP;
# appointments pulled (HTTP paging, serial Q/P) and checked in.
if(TARGET hallqd)
  foreach(t test_sync_records test_appointments)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.py)
      add_test(NAME sync_${t} COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.py
               WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
      set_tests_properties(sync_${t} PROPERTIES TIMEOUT 300 ENVIRONMENT
        "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR};HQ_CENTRAL=$<TARGET_FILE:hallq-central>;PYTHONDONTWRITEBYTECODE=1")
    endif()
  endforeach()
endif()
