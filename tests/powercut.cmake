# The power-cut VFS (firmware/powercut.c): what survives a cut, on plain files and under
# SQLite. The soak (tests/soak.cmake) uses it on the real hallqd.
if(TARGET hqpowercut AND HQ_POWERCUT)
  hq_unit_test(test_powercut SOURCES unit/test_powercut.c LIBS hqpowercut)
endif()
# hallqd switches it on only when asked, in a build that has it, outside systemd.
if(TARGET hallqd AND HQ_POWERCUT)
  hq_py_test(powercut_guard test_powercut_guard.py TIMEOUT 60)
endif()
