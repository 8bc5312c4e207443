# (Named hqd_gpio.cmake so that it is included after hallqd.cmake, which defines hallqd.)
# hallqd's GPIO devices (hqd_gpio.c, picked up by hallqd.cmake's hqd_*.c): the debouncer
# (hqdrivers), the GPIO HAL (hqhal's hal/gpio.c) and the real libgpiod. libgpiod is linked here,
# not into hqhal, so the tests can link tests/fakes/gpiod_fake.c in its place
# (tests/gpio.cmake builds hallqd-gpiofake that way).
if(TARGET hallqd)
  target_link_libraries(hallqd PRIVATE hqdrivers hqhal PkgConfig::GPIOD)
endif()
