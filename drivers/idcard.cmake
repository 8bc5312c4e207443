# idcard.c hashes ID numbers with OpenSSL's HMAC-SHA256, and seals them to the provincial
# platform's public key with libsodium (crypto_box_seal) when the hall configures one.
if(NOT TARGET PkgConfig::SODIUM)
  pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
endif()
target_link_libraries(hqdrivers PUBLIC PkgConfig::OPENSSL PkgConfig::SODIUM)
