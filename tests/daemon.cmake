# hallqd's own tests: store (C), and the real daemon driven over HTTP (Python).
if(TARGET hallqd)
  set(HQ_PY_ENV "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
  foreach(t test_api test_crash test_cli)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.py)
      add_test(NAME ${t} COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.py
               WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
      set_tests_properties(${t} PROPERTIES ENVIRONMENT "${HQ_PY_ENV}")
    endif()
  endforeach()
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store.c)
    hq_unit_test(test_store SOURCES unit/test_store.c LIBS hqstore)
  endif()
endif()
