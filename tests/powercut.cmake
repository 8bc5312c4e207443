# The power-cut VFS (firmware/powercut.c): what survives a cut, on plain files and under
# SQLite. The soak (tests/soak.cmake) uses it on the real hallqd.
if(TARGET hqpowercut AND HQ_POWERCUT)
  hq_unit_test(test_powercut SOURCES unit/test_powercut.c LIBS hqpowercut)
endif()
