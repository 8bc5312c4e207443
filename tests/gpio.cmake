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

# hallqd-gpiofake: hallqd's very sources and libraries, with the fake chip in place of libgpiod
# (only in the build tree, never installed). Its chip is driven through the FIFO named by
# $HQ_GPIO_FAKE (tests/fakes/gpiod_fake.h); test_hallqd_gpio.py presses buttons through it.
if(TARGET hallqd)
  get_target_property(_gf_sources hallqd SOURCES)
  get_target_property(_gf_libs hallqd LINK_LIBRARIES)
  get_target_property(_gf_defs hallqd COMPILE_DEFINITIONS)
  get_target_property(_gf_incs hallqd INCLUDE_DIRECTORIES)
  list(REMOVE_ITEM _gf_libs PkgConfig::GPIOD)
  # the fake as an object of the program itself (not an archive), so the archives after it on
  # the link line (hqhal's gpio.o) find its symbols
  add_executable(hallqd-gpiofake ${_gf_sources} ${CMAKE_CURRENT_SOURCE_DIR}/fakes/gpiod_fake.c)
  target_include_directories(hallqd-gpiofake PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fakes)
  target_link_libraries(hallqd-gpiofake PRIVATE ${_gf_libs} Threads::Threads)
  if(_gf_defs)
    target_compile_definitions(hallqd-gpiofake PRIVATE ${_gf_defs})
  endif()
  if(_gf_incs)
    target_include_directories(hallqd-gpiofake PRIVATE ${_gf_incs})
  endif()
  set_target_properties(hallqd-gpiofake PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  hq_py_test(hallqd_gpio test_hallqd_gpio.py TIMEOUT 120)
endif()
