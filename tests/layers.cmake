# Layering and naming, checked on the built objects and the sources (issue 15):
# hallqd.c is start-up only and nothing links against it (the HTTP API calls the
# command path in hqd_command.c); no internal prefix `x__` is used by two files.
if(TARGET hallqd)
  add_test(NAME test_layers
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_layers.py
                   "$<TARGET_OBJECTS:hallqd>")
  set_tests_properties(test_layers PROPERTIES TIMEOUT 60)
endif()
add_test(NAME test_prefixes
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_prefixes.py
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(test_prefixes PROPERTIES TIMEOUT 60)
