# hallq-sim: the hall device simulators (tools/sim/main.c dispatches to sim_<device>.c).
# A new device adds its sim_<device>.c here and one line to the table in main.c.
add_executable(hallq-sim
  ${CMAKE_CURRENT_SOURCE_DIR}/sim/main.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sim/sim_common.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sim/sim_idcard.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sim/sim_bus.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sim/sim_led.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sim/sim_onbon.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sim/sim_printer.c)
target_include_directories(hallq-sim PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/sim)
target_link_libraries(hallq-sim PRIVATE hqdrivers hq_sim_printer_libs)
