# The ticket printer simulator, `hallq-sim printer` (tools/sim/sim_printer.c):
# the libraries it needs beyond hqdrivers, linked into hallq-sim by tools/sim.cmake.
pkg_check_modules(FREETYPE REQUIRED IMPORTED_TARGET freetype2)
pkg_check_modules(FONTCONFIG REQUIRED IMPORTED_TARGET fontconfig)
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)
pkg_check_modules(PNG REQUIRED IMPORTED_TARGET libpng)
add_library(hq_sim_printer_libs INTERFACE)
target_link_libraries(hq_sim_printer_libs INTERFACE PkgConfig::CJSON PkgConfig::FREETYPE
                      PkgConfig::FONTCONFIG PkgConfig::QRENCODE PkgConfig::PNG)
