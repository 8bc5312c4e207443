# hallq-central on PostgreSQL (issue 19): a private cluster as a fixture, like the private
# cupsd: initdb from Debian's PostgreSQL 15 into build/pg (owned by and run as `postgres`
# when the tests run as root), a unix socket there, one cluster per ctest run.
# Only when hallq-central was built with its PostgreSQL store (HQ_CENTRAL_PG) and the
# server binaries are installed (tools/debian-packages.txt: postgresql).
# Halls and people (hall tokens issued, rotated, revoked; managers' regions; /metrics) on
# SQLite here, on PostgreSQL below (central_pg_halls).
if(TARGET hallq-central)
  add_test(NAME central_halls
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_central_halls.py
                   $<TARGET_FILE:hallq-central>
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(central_halls PROPERTIES TIMEOUT 300 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endif()
# The period figures across halls (firmware/figures.c compiled into hallq-central): three
# real boxes sync; central's figures equal each box's own report route, by hall, service,
# window and clerk; a city manager sees the city's halls and their total only.
if(TARGET hallq-central AND TARGET hallqd)
  add_test(NAME central_figures
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_central_figures.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(central_figures PROPERTIES TIMEOUT 300 ENVIRONMENT
    "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR};HQ_CENTRAL=$<TARGET_FILE:hallq-central>;PYTHONDONTWRITEBYTECODE=1")
endif()
# Forwarding evaluations to the provincial 好差评 platform (docs/PROVINCE.md): the reference
# province receiver validates each record against config/province/record.schema.json
# (python3-jsonschema); exactly once across a SIGKILL and a platform outage, the alarm,
# mapping-file errors. On SQLite here, on PostgreSQL with two processes below.
if(TARGET hallq-central)
  add_test(NAME central_province
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_province.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(central_province PROPERTIES TIMEOUT 300 ENVIRONMENT
    "HQ_CENTRAL=$<TARGET_FILE:hallq-central>;PYTHONDONTWRITEBYTECODE=1")
endif()
# The view of every hall in headless Chromium (tests/web, playwright-core): sign-in, a city
# manager's halls and not another city's, figures and alarms, live update, a hall's day.
# Named web_* so tools/hallq's ASan pass leaves it out like the other page tests.
if(TARGET hallq-central)
  hq_web_test(web_central test_central.js TIMEOUT 300 NODE_TEST ENV HQ_CENTRAL=$<TARGET_FILE:hallq-central>)
endif()
set(HQ_PG_BIN /usr/lib/postgresql/15/bin CACHE PATH "PostgreSQL server programs for the test cluster")
if(TARGET hallq-central AND HQ_CENTRAL_HAS_PG AND EXISTS ${HQ_PG_BIN}/initdb)
  set(_pg_dir ${CMAKE_BINARY_DIR}/pg)
  set(_pg_env "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR};HQ_CENTRAL=$<TARGET_FILE:hallq-central>;HQ_PG_DIR=${_pg_dir};HQ_PG_BIN=${HQ_PG_BIN};HQ_CENTRAL_STORE=pg;PYTHONDONTWRITEBYTECODE=1")
  # A Python test on that cluster: hq_pg_test(NAME SCRIPT [ARGS ...])
  function(hq_pg_test name script)
    cmake_parse_arguments(T "" "" "ARGS" ${ARGN})
    add_test(NAME ${name}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/${script} ${T_ARGS}
             WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED postgres TIMEOUT 300
                         ENVIRONMENT "${_pg_env}")
  endfunction()
  add_test(NAME central_pg_setup
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/pgfix.py setup ${_pg_dir})
  add_test(NAME central_pg_cleanup
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/pgfix.py cleanup ${_pg_dir})
  set_tests_properties(central_pg_setup PROPERTIES FIXTURES_SETUP postgres TIMEOUT 120
                       ENVIRONMENT "HQ_PG_BIN=${HQ_PG_BIN}")
  set_tests_properties(central_pg_cleanup PROPERTIES FIXTURES_CLEANUP postgres TIMEOUT 120
                       ENVIRONMENT "HQ_PG_BIN=${HQ_PG_BIN}")
  # The reference server's conformance tests (the same file as central_server) on PostgreSQL.
  hq_pg_test(central_pg_server test_central.py ARGS $<TARGET_FILE:hallq-central>)
  hq_pg_test(central_pg_halls test_central_halls.py ARGS $<TARGET_FILE:hallq-central>)
  if(TARGET hallqd)
    hq_pg_test(central_pg_figures test_central_figures.py)
  endif()
  # hallqd's up-link (faults, SIGKILL, a server that lost its data, HTTPS) against it.
  if(TARGET hallqd)
    hq_pg_test(central_pg_uplink test_uplink.py)
  endif()
  # Two hallq-central processes on one database both forwarding to the province receiver.
  hq_pg_test(central_pg_province test_province.py)
  # Issue 17's end to end on PostgreSQL: two cases rated 2 by a pad reach the province
  # receiver exactly once across a SIGKILL of hallqd and of hallq-central (test_rating_crash.py).
  if(TARGET hallqd AND TARGET hallq-sim)
    hq_pg_test(central_pg_rating_crash test_rating_crash.py ARGS $<TARGET_FILE:hallq-sim> $<TARGET_FILE:hallq-central>)
    # the sealed ID number through hallq-central on PostgreSQL: not in its rows in clear
    hq_pg_test(central_pg_rating_sealed_id test_rating_sealed_id.py ARGS $<TARGET_FILE:hallq-sim> $<TARGET_FILE:hallq-central>)
  endif()
  # Several receivers on one database: exactly once with batches alternating and racing
  # between two receivers, one killed and PostgreSQL restarted mid-run.
  hq_pg_test(central_pg_receivers test_central_pg.py)
  # Benchmark (tests/bench/run.sh; not a test): 1,000 halls to two receivers vs COPY.
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/bench/bench_central_pg
       CONTENT "#!/bin/sh\n# generated by tests/central.cmake: bench_central_pg [DIR SECONDS] (both ignored; HQ_CENTRAL_BENCH_ARGS, e.g. --scale 0.1)\nHQ_CENTRAL='$<TARGET_FILE:hallq-central>' HQ_PG_BIN='${HQ_PG_BIN}' PYTHONDONTWRITEBYTECODE=1 exec '${Python3_EXECUTABLE}' '${CMAKE_CURRENT_SOURCE_DIR}/bench/bench_central_pg.py' $HQ_CENTRAL_BENCH_ARGS\n"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  # Tests sharing the one cluster may run at once (each has its own databases), but the
  # restart in central_pg_receivers would cut the others' connections: it runs alone.
  set_tests_properties(central_pg_receivers PROPERTIES RUN_SERIAL TRUE)
endif()
