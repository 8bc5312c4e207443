# arm64 (aarch64) hall boxes: cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm64.cmake
# (tools/cross.sh arm64 installs the packages and does the rest).
set(HQ_CROSS_TRIPLET aarch64-linux-gnu)
set(HQ_CROSS_PROCESSOR aarch64)
set(HQ_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
