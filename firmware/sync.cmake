# hqsync: the central sync codec (SLIP framing, sync frame, batch, ack,
# appointments, retry policy). Shared by hallqd's up-link and the reference
# central server tools/hallq-central.
add_library(hqsync STATIC ${CMAKE_CURRENT_SOURCE_DIR}/slip.c ${CMAKE_CURRENT_SOURCE_DIR}/sync_proto.c)
target_include_directories(hqsync PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(hqsync PUBLIC hqcommon PkgConfig::CJSON m)
