# Ticket printing: ESC/POS renderer and decoder (unit), printer simulator and
# CUPS spooling (integration, see tests/integration/).
hq_unit_test(test_escpos SOURCES unit/test_escpos.c LIBS hqdrivers)

add_test(NAME printer_sim
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_printer_sim.py
                 $<TARGET_FILE:hallq-printer-sim> ${CMAKE_CURRENT_SOURCE_DIR}/data)
set_tests_properties(printer_sim PROPERTIES TIMEOUT 60)
