# Ticket printing: ESC/POS renderer and decoder (unit), printer simulator and
# CUPS spooling (integration, see tests/integration/).
hq_unit_test(test_escpos SOURCES unit/test_escpos.c LIBS hqdrivers)

add_test(NAME printer_sim
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_printer_sim.py
                 $<TARGET_FILE:hallq-sim> ${CMAKE_CURRENT_SOURCE_DIR}/data)
set_tests_properties(printer_sim PROPERTIES TIMEOUT 60)

hq_unit_test(test_print_status SOURCES unit/test_print_status.c LIBS hqhal)

# The CUPS path: a private cupsd (tests/integration/cupsd.py) with a raw queue
# to the printer simulator; print-submit drives hal/print_cups like hallqd.
add_executable(hq-print-submit integration/print_submit.c)
target_link_libraries(hq-print-submit PRIVATE hqhal hqcommon)
add_test(NAME print_cups
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_print_cups.py
                 $<TARGET_FILE:hallq-sim> $<TARGET_FILE:hq-print-submit>
                 ${CMAKE_CURRENT_SOURCE_DIR}/data)
set_tests_properties(print_cups PROPERTIES TIMEOUT 120)

# hallqd printing end to end: two simulated printers behind a private cupsd.
if(TARGET hallqd)
  hq_py_test(hallqd_print test_hallqd_print.py TIMEOUT 180 ARGS $<TARGET_FILE:hallq-sim>)
endif()
