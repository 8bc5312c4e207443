# hqsync: the central sync codec (SLIP framing, sync frame, batch, ack,
# appointments, retry policy). Shared by hallqd's up-link and the reference
# central server tools/hallq-central.
add_library(hqsync STATIC ${CMAKE_CURRENT_SOURCE_DIR}/slip.c ${CMAKE_CURRENT_SOURCE_DIR}/sync_proto.c)
target_include_directories(hqsync PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(hqsync PUBLIC hqcommon PkgConfig::CJSON m)

# hquplink: hallqd's up-link (sync.c) on the daemon's loop; libcurl for
# HTTP(S), the serial HAL for serial-only halls. Linked into hallqd here so
# the daemon's own CMake file needs no change.
if(TARGET hallqd)
  add_library(hquplink STATIC ${CMAKE_CURRENT_SOURCE_DIR}/sync.c)
  target_link_libraries(hquplink PUBLIC hqsync hqstore hqhal PkgConfig::CURL PkgConfig::SQLITE3)
  target_link_libraries(hallqd PRIVATE hquplink)
endif()

# hqappt: appointments in the hall's database and the check-in rules (appt.c),
# shared by the down-link (sync.c), the check-in module (hqd_appointments.c)
# and test_appt.
if(TARGET hqstore)
  add_library(hqappt STATIC ${CMAKE_CURRENT_SOURCE_DIR}/appt.c)
  target_link_libraries(hqappt PUBLIC hqsync hqengine PkgConfig::SQLITE3)
endif()
if(TARGET hquplink)
  target_link_libraries(hquplink PUBLIC hqappt)
endif()
