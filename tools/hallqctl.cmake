add_executable(hallqctl ${CMAKE_CURRENT_SOURCE_DIR}/hallqctl.c)
target_link_libraries(hallqctl PRIVATE PkgConfig::CURL PkgConfig::CJSON)
set_target_properties(hallqctl PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
