# The manager dashboard (hqd_admin.c, picked up by hallqd.cmake's hqd_*.c):
# its pure rules (Erlang C, alarms, follow-up, CSV) are the library hqadmin,
# which the unit tests in tests/admin.cmake link too.
if(TARGET hqengine)
  add_library(hqadmin STATIC ${CMAKE_CURRENT_SOURCE_DIR}/admin_rules.c)
  target_include_directories(hqadmin PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(hqadmin PUBLIC hqengine PkgConfig::CJSON m)
  if(TARGET hallqd)
    target_link_libraries(hallqd PRIVATE hqadmin)
  endif()
endif()
