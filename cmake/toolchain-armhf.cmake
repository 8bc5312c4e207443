# armhf (32-bit ARMv7, hard float) hall boxes: cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-armhf.cmake
# (tools/cross.sh armhf installs the packages and does the rest).
set(HQ_CROSS_TRIPLET arm-linux-gnueabihf)
set(HQ_CROSS_PROCESSOR arm)
set(HQ_CROSS_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
