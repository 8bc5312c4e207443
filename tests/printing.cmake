# Ticket printing: ESC/POS renderer and decoder (unit), printer simulator and
# CUPS spooling (integration, see tests/integration/).
hq_unit_test(test_escpos SOURCES unit/test_escpos.c LIBS hqdrivers)
