# Page tests: the wall display, window page, kiosk and ticket page in the
# system's headless Chromium (/usr/bin/chromium) driven by playwright-core
# (tests/web/node_modules, installed by `npm ci` from the committed lock file;
# tools/hallq does it). They start the real hallqd; screenshots land in
# ${CMAKE_BINARY_DIR}/artefacts.
if(TARGET hallqd)
  find_program(HQ_NODE node)
  if(NOT HQ_NODE)
    set(HQ_NODE node) # the test then fails saying so: never skipped into green
  endif()
  foreach(t test_display test_kiosk test_kiosk_words test_layout_words test_rating)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/web/${t}.js)
      add_test(NAME web_${t} COMMAND ${HQ_NODE} --test --test-concurrency=1 ${CMAKE_CURRENT_SOURCE_DIR}/web/${t}.js
               WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/web)
      set_tests_properties(web_${t} PROPERTIES
        ENVIRONMENT "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR}"
        TIMEOUT 300)
    endif()
  endforeach()
endif()

# The window console (issue 16): named web_console as the issue names it.
if(TARGET hallqd AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/web/test_console.js)
  add_test(NAME web_console COMMAND ${HQ_NODE} --test --test-concurrency=1 ${CMAKE_CURRENT_SOURCE_DIR}/web/test_console.js
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/web)
  set_tests_properties(web_console PROPERTIES
    ENVIRONMENT "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR}"
    TIMEOUT 300)
endif()

# The guide desk (/desk, issue 16): prints through a private cupsd to the printer simulator,
# like web_print_reprint.
if(TARGET hallqd AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/web/test_desk.js)
  add_test(NAME web_desk COMMAND ${HQ_NODE} --test --test-concurrency=1 ${CMAKE_CURRENT_SOURCE_DIR}/web/test_desk.js
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/web)
  set_tests_properties(web_desk PROPERTIES
    ENVIRONMENT "HQ_BUILD=${CMAKE_BINARY_DIR};HQ_SOURCE=${CMAKE_SOURCE_DIR}"
    TIMEOUT 300)
endif()
