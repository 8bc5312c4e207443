# GPIO (kiosk buttons, status LEDs, paper-near-end sensor, cabinet door): the debouncer (unit).
hq_unit_test(test_gpio_input SOURCES unit/test_gpio_input.c LIBS hqdrivers)

# hal/gpio.c against the scripted chip (tests/fakes/gpiod_fake.c, linked instead of libgpiod):
# hal/gpio.c is compiled into the test directly, so no library drags the real libgpiod in.
add_library(gpiod_fake STATIC ${CMAKE_CURRENT_SOURCE_DIR}/fakes/gpiod_fake.c)
target_include_directories(gpiod_fake PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/fakes
                                             ${GPIOD_INCLUDE_DIRS})
find_package(Threads REQUIRED)
target_link_libraries(gpiod_fake PUBLIC Threads::Threads)
hq_unit_test(test_gpio_hal SOURCES unit/test_gpio_hal.c ../hal/gpio.c LIBS hqdrivers gpiod_fake)
target_include_directories(test_gpio_hal PRIVATE ${CMAKE_SOURCE_DIR}/hal)

# The configuration's gpio section (the schema rows themselves are held to docs/CONFIG.md by
# test_config).
if(TARGET hqconfig)
  hq_unit_test(test_gpio_config SOURCES unit/test_gpio_config.c LIBS hqconfig)
endif()
