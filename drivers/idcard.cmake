# idcard.c hashes ID numbers with OpenSSL's HMAC-SHA256.
target_link_libraries(hqdrivers PUBLIC PkgConfig::OPENSSL)
