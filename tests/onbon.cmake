# Onbon BX-5E LED screens (drivers/onbon.c): the protocol in C against the document's one
# published frame, and against an independent Python encoder for every other vector.
hq_unit_test(test_onbon SOURCES unit/test_onbon.c LIBS hqdrivers)
add_executable(onbon_vectors unit/onbon_vectors.c)
target_link_libraries(onbon_vectors PRIVATE hqdrivers hqcommon)
hq_program(_onbon_vectors onbon_vectors)
add_test(NAME onbon_vectors
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_onbon_vectors.py
                 ${_onbon_vectors})
set_tests_properties(onbon_vectors PROPERTIES TIMEOUT 60)
hq_unit_test(test_drv_onbon SOURCES unit/test_drv_onbon.c LIBS hqdrivers)
# hallq-sim onbon over its pty, driven by the same independent Python encoder.
add_test(NAME sim_onbon
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_sim_onbon.py
                 $<TARGET_FILE:hallq-sim>
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(sim_onbon PROPERTIES TIMEOUT 120 ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
# The real hallqd with its onbon driver against hallq-sim onbon (two screens on a pty).
if(TARGET hallqd)
  hq_py_test(hallqd_onbon test_hallqd_onbon.py TIMEOUT 180
             ARGS $<TARGET_FILE:hallq-sim> $<TARGET_FILE:onbon_vectors>)
endif()
