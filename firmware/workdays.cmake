# The hall's working days (workdays.c): part of hqconfig, whose calendar it
# reads; the store (due dates in the evaluation record), hallqd and the unit
# tests all count them.
if(TARGET hqconfig)
  target_sources(hqconfig PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/workdays.c)
endif()
