# hqdevices: the glue between hall device drivers and the queue engine (devices.c).
if(TARGET hqengine)
  add_library(hqdevices STATIC ${CMAKE_CURRENT_SOURCE_DIR}/devices.c)
  target_include_directories(hqdevices PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(hqdevices PUBLIC hqengine hqdrivers)
endif()
