# hallq-printer-sim: the network ticket printer simulator (tools/sim/sim_printer.c).
# Standalone until tools/sim/main.c's table of hallq-sim takes sim_printer_main;
# the libraries below are what that file needs in either program.
pkg_check_modules(FREETYPE REQUIRED IMPORTED_TARGET freetype2)
pkg_check_modules(FONTCONFIG REQUIRED IMPORTED_TARGET fontconfig)
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)
pkg_check_modules(PNG REQUIRED IMPORTED_TARGET libpng)
add_executable(hallq-printer-sim ${CMAKE_CURRENT_SOURCE_DIR}/sim/sim_printer.c)
target_compile_definitions(hallq-printer-sim PRIVATE SIM_PRINTER_STANDALONE)
target_link_libraries(hallq-printer-sim PRIVATE hqdrivers PkgConfig::CJSON PkgConfig::FREETYPE
                      PkgConfig::FONTCONFIG PkgConfig::QRENCODE PkgConfig::PNG)
