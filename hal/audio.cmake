# Announcements (hal/audio.c): ALSA playback in a worker thread. GLOBAL so
# hallqd and the tests, in other folders, can link through hqhal.
pkg_check_modules(ALSA REQUIRED IMPORTED_TARGET GLOBAL alsa)
find_package(Threads REQUIRED)
target_link_libraries(hqhal PUBLIC PkgConfig::ALSA Threads::Threads)
