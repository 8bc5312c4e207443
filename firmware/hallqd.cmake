# The daemon. hqstore is a library so the store tests and benchmarks use the
# very code hallqd runs.
if(TARGET hqconfig)
  add_library(hqstore STATIC ${CMAKE_CURRENT_SOURCE_DIR}/store.c ${CMAKE_CURRENT_SOURCE_DIR}/loop.c
    ${CMAKE_CURRENT_SOURCE_DIR}/figures.c)
  find_package(Threads REQUIRED)
  target_link_libraries(hqstore PUBLIC hqconfig hqengine PkgConfig::SQLITE3 PkgConfig::CJSON PkgConfig::ZLIB Threads::Threads m)

  file(GLOB HQD_EXTRA CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/hqd_*.c)
  add_executable(hallqd ${CMAKE_CURRENT_SOURCE_DIR}/hallqd.c ${CMAKE_CURRENT_SOURCE_DIR}/api.c ${HQD_EXTRA})
  # libqrencode: the kiosk's QR code as SVG (hqd_qr.c)
  pkg_check_modules(HQD_QRENCODE REQUIRED IMPORTED_TARGET GLOBAL libqrencode)
  # libxlsxwriter: the reports' XLSX export (hqd_reports.c)
  pkg_check_modules(HQD_XLSX REQUIRED IMPORTED_TARGET GLOBAL xlsxwriter)
  target_link_libraries(hallqd PRIVATE hqstore PkgConfig::MHD PkgConfig::SYSTEMD PkgConfig::HQD_QRENCODE PkgConfig::HQD_XLSX)
  set_target_properties(hallqd PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
endif()
