# hallqd's hall devices (hqd_devices.c, picked up by hallqd.cmake's hqd_*.c): the device glue
# (hqdevices), the protocol drivers (hqdrivers) and the serial HAL (hqhal).
if(TARGET hallqd)
  target_link_libraries(hallqd PRIVATE hqdevices hqdrivers hqhal)
endif()
