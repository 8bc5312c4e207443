# The Debian package: built with cpack from this build and checked unpacked (dpkg -x).
if(TARGET hallqd)
  add_test(NAME test_package COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_package.py)
  set_tests_properties(test_package PROPERTIES
    ENVIRONMENT "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR}" TIMEOUT 300)
endif()
