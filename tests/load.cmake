# Load (issue 7): tools/hallq-load drives the real hallqd with a generated
# 60-window hall at 10x a large hall's peak. The test checks correctness under
# load (no errors, the database holds what was acknowledged, the displays got
# every event); speed and memory are measured by `tools/hallq load` and
# tests/bench/run.sh, never asserted (docs/BENCHMARKS.md).
if(TARGET hallqd)
  hq_py_test(load_generator test_load.py TIMEOUT 240)
endif()
