# Load (issue 7): tools/hallq-load drives the real hallqd with a generated
# 60-window hall at 10x a large hall's peak. The test checks correctness under
# load (no errors, the database holds what was acknowledged, the displays got
# every event); speed and memory are measured by `tools/hallq load` and
# tests/bench/run.sh, never asserted (docs/BENCHMARKS.md).
if(TARGET hallqd)
  add_test(NAME load_generator
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_load.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(load_generator PROPERTIES TIMEOUT 240 ENVIRONMENT
    "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
endif()
