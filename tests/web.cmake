# Page tests: the wall display, window page, kiosk and ticket page in the
# system's headless Chromium (/usr/bin/chromium) driven by playwright-core
# (tests/web/node_modules, installed by `npm ci` from the committed lock file;
# tools/hallq does it). They start the real hallqd; screenshots land in
# ${CMAKE_BINARY_DIR}/artefacts.
if(TARGET hallqd)
  foreach(t test_display test_kiosk test_kiosk_words test_layout_words test_rating)
    hq_web_test(web_${t} ${t}.js TIMEOUT 300 NODE_TEST)
  endforeach()
endif()

# The window console (issue 16): named web_console as the issue names it.
if(TARGET hallqd)
  hq_web_test(web_console test_console.js TIMEOUT 300 NODE_TEST)
endif()

# The guide desk (/desk, issue 16): prints through a private cupsd to the printer simulator,
# like web_print_reprint.
if(TARGET hallqd)
  hq_web_test(web_desk test_desk.js TIMEOUT 300 NODE_TEST)
endif()
