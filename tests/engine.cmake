# The queue engine's table-driven unit tests.
hq_unit_test(test_engine SOURCES unit/test_engine.c LIBS hqengine)
