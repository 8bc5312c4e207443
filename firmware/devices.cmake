# hqdevices: the pure part of the device host (devices.c: a window's view, closing time) and
# the one device health model (health.c) that hqd_devices.c and hqd_gpio.c share.
if(TARGET hqengine)
  add_library(hqdevices STATIC ${CMAKE_CURRENT_SOURCE_DIR}/devices.c
                               ${CMAKE_CURRENT_SOURCE_DIR}/health.c)
  target_include_directories(hqdevices PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(hqdevices PUBLIC hqengine hqdrivers PkgConfig::CJSON)
endif()
