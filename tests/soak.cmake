# Power-cut soak (tests/integration/test_soak.py): a busy simulated hall — kiosk and card
# arrivals, keypads and rating pads on hallq-sim buses, the up-link to a faulty hallq-central —
# while hallqd's power is cut (HQ_POWERCUT, firmware/powercut.c: unsynced writes lost or torn)
# and it is restarted at random; then the durability, sync and queue-order
# invariants. ctest runs it for HQ_SOAK_SECONDS=60 on every change; `tools/hallq soak SECONDS`
# runs it longer.
if(TARGET hallqd AND TARGET hallq-sim AND TARGET hallq-central)
  add_test(NAME soak
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_soak.py
                   $<TARGET_FILE:hallq-sim>
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(soak PROPERTIES TIMEOUT 400 ENVIRONMENT
    "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR};HQ_CENTRAL=$<TARGET_FILE:hallq-central>;HQ_SOAK_SECONDS=60;PYTHONDONTWRITEBYTECODE=1")
endif()
