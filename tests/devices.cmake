# Hall devices: ID-card reader, hall bus (keypads, rating pads), LED bars, serial HAL, simulators.
hq_unit_test(test_idcard SOURCES unit/test_idcard.c LIBS hqdrivers)
hq_unit_test(test_hallbus SOURCES unit/test_hallbus.c LIBS hqdrivers)
hq_unit_test(test_ledbar SOURCES unit/test_ledbar.c LIBS hqdrivers)
hq_unit_test(test_serial SOURCES unit/test_serial.c LIBS hqhal)
