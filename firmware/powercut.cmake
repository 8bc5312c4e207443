# The power-cut simulation of the tests (powercut.c, docs/DESIGN.md "Power cuts in the
# soak"): compiled into every development and test build (the ASan run and the cross builds'
# qemu runs test the very binary), activated only by HQ_POWERCUT in hallqd's environment.
# The Debian package is built with -DHQ_POWERCUT=OFF (tools/hallq package), so a hall box's
# hallqd has no code that could cut anything.
option(HQ_POWERCUT "Compile the power-cut simulation (HQ_POWERCUT=SEED:OPS) into hallqd" ON)
add_library(hqpowercut STATIC ${CMAKE_CURRENT_SOURCE_DIR}/powercut.c)
target_link_libraries(hqpowercut PUBLIC hqcommon PkgConfig::SQLITE3)
if(HQ_POWERCUT)
  target_compile_definitions(hqpowercut PRIVATE HQ_POWERCUT_ENABLED)
endif()
if(TARGET hallqd)
  target_link_libraries(hallqd PRIVATE hqpowercut)
endif()
