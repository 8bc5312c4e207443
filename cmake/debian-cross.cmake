# Cross-building hallq on Debian with its cross compilers and multiarch -dev packages
# (tools/cross.sh installs them). Included by toolchain-<arch>.cmake, which sets
# HQ_CROSS_TRIPLET (the GNU triplet), HQ_CROSS_PROCESSOR and HQ_CROSS_QEMU.
#
# - compiler: <triplet>-gcc from Debian's gcc-<triplet> (the compiler of
#   crossbuild-essential-<arch>), linking against the cross libc in /usr/<triplet>;
# - libraries: the foreign -dev packages installed by multiarch (libsqlite3-dev:arm64, ...):
#   headers in /usr/include (shared by every architecture), libraries in /usr/lib/<triplet>;
#   pkg-config reads only /usr/lib/<triplet>/pkgconfig and /usr/share/pkgconfig, never the
#   build machine's /usr/lib/x86_64-linux-gnu/pkgconfig;
# - programs found at configure time (python3, clang-format, espeak-ng, sox, node) are the
#   build machine's; libraries and headers are searched for the target only;
# - tests: CMAKE_CROSSCOMPILING_EMULATOR runs every add_test(COMMAND <target>) under
#   qemu-user. The programs ask for the loader /lib/ld-linux-aarch64.so.1 (armhf:
#   /lib/ld-linux-armhf.so.3), which the multiarch libc6:<arch> installs (every foreign -dev
#   package depends on it), and that loader finds libc and the libraries in /lib/<triplet>
#   and /usr/lib/<triplet>: qemu needs no -L. Not -L /usr/<triplet> (QEMU_LD_PREFIX): that
#   runs the cross toolchain's own libc (Debian 12: 2.36-8cross1), whose pthread_create
#   hangs under Debian 12's qemu 7.2 before it clones (every test with a thread timed out);
#   the multiarch libc6 (2.36-9+deb12u*) does not.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${HQ_CROSS_PROCESSOR})
set(CMAKE_C_COMPILER ${HQ_CROSS_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${HQ_CROSS_TRIPLET})

# The cross libc's root, then the host's root: with Debian multiarch the target's libraries
# live in the host's /usr/lib/<triplet>, which only the target's CMAKE_LIBRARY_ARCHITECTURE
# names (find_library never looks in /usr/lib/x86_64-linux-gnu here).
set(CMAKE_FIND_ROOT_PATH /usr/${HQ_CROSS_TRIPLET} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg_check_modules runs pkg-config at configure time with this environment.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${HQ_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

find_program(HQ_CROSS_QEMU_PATH ${HQ_CROSS_QEMU})
if(HQ_CROSS_QEMU_PATH)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${HQ_CROSS_QEMU_PATH})
else()
  message(WARNING "${HQ_CROSS_QEMU} not found (apt-get install qemu-user): the tests cannot run")
endif()
