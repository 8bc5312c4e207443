# GPIO (kiosk buttons, status LEDs, paper-near-end sensor, cabinet door): the debouncer (unit).
hq_unit_test(test_gpio_input SOURCES unit/test_gpio_input.c LIBS hqdrivers)
