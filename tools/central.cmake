# hallq-central: the central server (PROTOCOLS.md §5, docs/CENTRAL.md) used by
# the sync tests, the demo and a city's or province's halls. libmicrohttpd for
# HTTP(S); SQLite (--db, embedded) or PostgreSQL (--pg, through libpq) for storage.
# HQ_CENTRAL_PG: build the PostgreSQL store (AUTO: when pkg-config finds libpq), so a
# cross build or a build host without libpq-dev still builds hallq-central on SQLite.
find_package(Threads REQUIRED)
set(HQ_CENTRAL_PG AUTO CACHE STRING "hallq-central's PostgreSQL store: ON, OFF or AUTO (when libpq is found)")
add_executable(hallq-central
  ${CMAKE_CURRENT_SOURCE_DIR}/central/main.c
  ${CMAKE_CURRENT_SOURCE_DIR}/central/db.c
  ${CMAKE_CURRENT_SOURCE_DIR}/central/http.c
  ${CMAKE_CURRENT_SOURCE_DIR}/central/serial.c
  ${CMAKE_CURRENT_SOURCE_DIR}/central/halls.c
  ${CMAKE_CURRENT_SOURCE_DIR}/central/live.c
  ${CMAKE_CURRENT_SOURCE_DIR}/central/province.c
  ${CMAKE_CURRENT_SOURCE_DIR}/central/report.c)
# The view of every hall (tools/central/web/central.html), built into the program so a
# receiver needs no files beside it.
add_custom_command(
  OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/central_page.c
  COMMAND ${CMAKE_COMMAND} -DIN=${CMAKE_CURRENT_SOURCE_DIR}/central/web/central.html
          -DOUT=${CMAKE_CURRENT_BINARY_DIR}/central_page.c -DNAME=central_page
          -P ${CMAKE_CURRENT_SOURCE_DIR}/central/embed_file.cmake
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/central/web/central.html
          ${CMAKE_CURRENT_SOURCE_DIR}/central/embed_file.cmake
  COMMENT "hallq-central: embedding the hall view page")
target_sources(hallq-central PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/central_page.c)
# libsodium: hall tokens (BLAKE2b) and managers' passwords (crypto_pwhash_str).
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
# hqstore for firmware/figures.c (and the box's configuration loader): the period figures
# across halls are the box's own definitions, compiled in, never written twice (report.c).
# The configuration loader brings the driver registry, hence libfreetype and libcrypto in
# the package's dependencies (small, and still no libpq in the hall's package).
target_link_libraries(hallq-central PRIVATE hqsync hqstore PkgConfig::MHD PkgConfig::SQLITE3 PkgConfig::CJSON PkgConfig::SODIUM PkgConfig::CURL Threads::Threads m)
if(NOT HQ_CENTRAL_PG STREQUAL "OFF")
  if(HQ_CENTRAL_PG STREQUAL "ON")
    pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
  else()
    pkg_check_modules(LIBPQ IMPORTED_TARGET libpq)
  endif()
endif()
if(LIBPQ_FOUND)
  file(GLOB _hq_pg_sql CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/central/sql/pg_*.sql)
  add_custom_command(
    OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/central_pg_sql.c
    COMMAND ${CMAKE_COMMAND} -DSQL_DIR=${CMAKE_CURRENT_SOURCE_DIR}/central/sql
            -DOUT=${CMAKE_CURRENT_BINARY_DIR}/central_pg_sql.c
            -P ${CMAKE_CURRENT_SOURCE_DIR}/central/embed_sql.cmake
    DEPENDS ${_hq_pg_sql} ${CMAKE_CURRENT_SOURCE_DIR}/central/embed_sql.cmake
    COMMENT "hallq-central: embedding the PostgreSQL migrations")
  target_sources(hallq-central PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/central/pg.c
                 ${CMAKE_CURRENT_BINARY_DIR}/central_pg_sql.c)
  target_compile_definitions(hallq-central PRIVATE HQ_HAVE_PG=1)
  target_link_libraries(hallq-central PRIVATE PkgConfig::LIBPQ)
  set(HQ_CENTRAL_HAS_PG ON CACHE INTERNAL "hallq-central was built with PostgreSQL")
else()
  set(HQ_CENTRAL_HAS_PG OFF CACHE INTERNAL "hallq-central was built with PostgreSQL")
endif()
