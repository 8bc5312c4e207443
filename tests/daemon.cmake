# hallqd's own tests: store (C), and the real daemon driven over HTTP (Python).
if(TARGET hallqd)
  set(HQ_PY_ENV "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
  foreach(t test_api test_crash test_cli)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.py)
      add_test(NAME ${t} COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.py
               WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
      set_tests_properties(${t} PROPERTIES ENVIRONMENT "${HQ_PY_ENV}")
    endif()
  endforeach()
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store.c)
    hq_unit_test(test_store SOURCES unit/test_store.c LIBS hqstore)
  endif()
  # the report figures of a scripted week, rebuild == live (firmware/figures.c)
  hq_unit_test(test_figures SOURCES unit/test_figures.c LIBS hqstore)
endif()
# Disk full, read-only storage, corrupt database (issue 7): mounts a tmpfs and
# an ext4 loop image, so it needs root (CI runs as root; elsewhere it fails
# saying so).
# test_storage_concurrent: group commit meeting a full disk under concurrent
# clients (one per window, two issuers), the disk filled and freed twice.
if(TARGET hallqd)
  add_test(NAME test_storage
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_storage.py
                   full ro corrupt not_corrupt
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(test_storage PROPERTIES TIMEOUT 300 ENVIRONMENT "${HQ_PY_ENV}")
  add_test(NAME test_storage_concurrent
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_storage.py
                   concurrent
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(test_storage_concurrent PROPERTIES TIMEOUT 300 ENVIRONMENT "${HQ_PY_ENV}")
endif()
# Storage safety (issue 13): one hallqd per database (flock), a read-only file
# system at start, the database replaced under a running hallqd, numbers that
# never repeat within a day, the queue salvaged from a file moved aside. Mounts
# a tmpfs for some cases (root; skipped elsewhere).
if(TARGET hallqd)
  hq_py_test(test_storage_safety test_storage_safety.py TIMEOUT 300)
endif()
# tools/demo.sh: a second demo refuses before touching anything; a stale printer.state is
# deleted before the printer simulator starts (issue 13). On a copy in a temp tree.
if(TARGET hallqd)
  hq_py_test(test_demo_guard test_demo_guard.py TIMEOUT 120)
endif()
# The day rolling over at the hall's midnight under concurrent load (utc_offset chosen so that
# midnight comes 10-70 s after the start).
if(TARGET hallqd)
  hq_py_test(test_rollover test_rollover.py TIMEOUT 240)
endif()
