# Benchmarks: built with the tests, run by `tools/hallq bench` (never by ctest:
# speed is measured, not asserted).
if(TARGET hqstore)
  add_executable(bench_core ${CMAKE_CURRENT_SOURCE_DIR}/bench/bench_core.c)
  target_link_libraries(bench_core PRIVATE hqstore)
  set_target_properties(bench_core PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endif()
# Reports over a year (issue 18): rollups vs a raw scan; --scale F sizes it.
if(TARGET hqstore)
  add_executable(bench_reports ${CMAKE_CURRENT_SOURCE_DIR}/bench/bench_reports.c)
  target_link_libraries(bench_reports PRIVATE hqstore)
  set_target_properties(bench_reports PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endif()
