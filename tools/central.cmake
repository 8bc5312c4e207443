# hallq-central: the reference central server (PROTOCOLS.md §5) used by the
# sync tests and the demo. libmicrohttpd for HTTP(S), SQLite for storage.
find_package(Threads REQUIRED)
add_executable(hallq-central
  ${CMAKE_CURRENT_SOURCE_DIR}/central/main.c
  ${CMAKE_CURRENT_SOURCE_DIR}/central/db.c
  ${CMAKE_CURRENT_SOURCE_DIR}/central/http.c
  ${CMAKE_CURRENT_SOURCE_DIR}/central/serial.c)
target_link_libraries(hallq-central PRIVATE hqsync PkgConfig::MHD PkgConfig::SQLITE3 PkgConfig::CJSON Threads::Threads)
