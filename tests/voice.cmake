# Voice announcements: clip sequences, number reading, WAV parsing and
# assembly (drivers/voice.c); the announcement queue and its trimming on the
# dir: output (hal/audio.c); hallqd speaking calls end to end (Python, sox).
hq_unit_test(test_voice SOURCES unit/test_voice.c LIBS hqdrivers)
hq_unit_test(test_audio SOURCES unit/test_audio.c LIBS hqhal)
set_tests_properties(test_audio PROPERTIES TIMEOUT 60)
if(TARGET hallqd AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_voice.py)
  add_test(NAME hallqd_voice
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_voice.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(hallqd_voice PROPERTIES TIMEOUT 120 ENVIRONMENT
    "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR};HQ_VOICE_PACK=${CMAKE_BINARY_DIR}/voice;PYTHONDONTWRITEBYTECODE=1")
endif()
