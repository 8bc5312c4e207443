# Print spooling through CUPS (hal/print_cups.c): libcups and a worker thread.
# Debian 12's libcups2-dev ships no cups.pc, so CMake's own FindCups finds it.
find_package(Cups REQUIRED)
find_package(Threads REQUIRED)
target_link_libraries(hqhal PUBLIC Cups::Cups Threads::Threads)
