# The configuration loader: shipped hall files, one exact message per bad
# file, and docs/CONFIG.md kept in step with the schema tables.
# hqconfig links hqengine (firmware/engine.c); the test exists once both do.
if(TARGET hqconfig AND TARGET hqengine)
  hq_unit_test(test_config SOURCES unit/test_config.c LIBS hqconfig)
  # The test reads config/*.json and docs/CONFIG.md from the source tree.
  target_compile_definitions(test_config PRIVATE HQ_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endif()
