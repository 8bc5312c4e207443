# Staff sign-in: the pure PIN/token/back-off code (session.c) is the library
# hqsession, which hallqd (hqd_session.c) and tests/unit/test_session link.
# libsodium does the crypto (Argon2id, BLAKE2b, random tokens).
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
add_library(hqsession STATIC ${CMAKE_CURRENT_SOURCE_DIR}/session.c)
target_include_directories(hqsession PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(hqsession PUBLIC hqcommon PkgConfig::SODIUM)
if(TARGET hallqd)
  target_link_libraries(hallqd PRIVATE hqsession)
endif()
