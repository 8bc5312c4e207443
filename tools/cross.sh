#!/usr/bin/env bash
# tools/cross.sh ARCH... — cross-build hallq for ARM hall boxes and run its C tests under
# qemu-user. ARCH: arm64, armhf, or all (both). Called by `tools/hallq cross`, which first
# installs the build machine's own packages (cmake, clang-format, espeak-ng, ...: the
# configuration needs them as programs).
#
# For each ARCH, as root on Debian 12:
#  1. dpkg --add-architecture ARCH; installs the C cross compiler gcc-TRIPLET (the compiler of
#     crossbuild-essential-ARCH, without its g++ and dpkg-cross), qemu-user, and the :ARCH
#     multiarch -dev packages of tools/debian-cross-packages.txt. Only what is missing, and
#     never by removing a native package (apt-get -s is checked first: a foreign -dev package
#     that could not be co-installed with the native one stops here, saying which);
#  2. configures build-cross-ARCH with cmake/toolchain-ARCH.cmake and builds everything;
#  3. checks the programs are ARCH's (readelf), prints the size of hallqd;
#  4. runs the C tests (ctest labels "unit" and "fuzz") under qemu-user;
#  5. makes the Debian package for ARCH (cpack; dpkg-shlibdeps reads the :ARCH libraries'
#     symbols files) into build-cross-ARCH/package/hallq_VERSION_ARCH.deb and checks it with
#     tests/integration/test_package.py, the unpacked hallqd running under qemu-user.
# HQ_CROSS_BUILD_PREFIX: where the build folders go (default: the top of the tree).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '\033[1m[cross]\033[0m %s\n' "$*" >&2; }

triplet_of() {
    case "$1" in
    arm64) echo aarch64-linux-gnu ;;
    armhf) echo arm-linux-gnueabihf ;;
    *) return 1 ;;
    esac
}

install_cross() {
    local arch=$1 triplet=$2
    local want=("gcc-$triplet" "binutils-$triplet" qemu-user) missing=() p
    while read -r p; do want+=("$p:$arch"); done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' \
        -e 's/[[:space:]]*$//' "$top/tools/debian-cross-packages.txt")
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    if [ "$(id -u)" != 0 ]; then
        say "missing: ${missing[*]}; run as root, or install them yourself"
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -o DPkg::Lock::Timeout=600)
    if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        say "dpkg --add-architecture $arch"
        dpkg --add-architecture "$arch"
    fi
    say "installing for $arch: ${missing[*]}"
    "${apt[@]}" update -qq
    # Multi-Arch: same packages must have the same version on both architectures: apt may
    # upgrade a native package to match, but must never remove one to make room.
    local plan
    plan=$("${apt[@]}" install -s --no-install-recommends "${missing[@]}" 2>&1) || {
        printf '%s\n' "$plan" | tail -20 >&2
        say "apt cannot install the $arch packages next to the native ones (above)"
        exit 1
    }
    if printf '%s\n' "$plan" | grep -q '^Remv '; then
        printf '%s\n' "$plan" | grep '^Remv ' >&2
        say "installing the $arch packages would remove the native ones above: not done"
        exit 1
    fi
    "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# readelf's "Machine:" of a program built for ARCH.
machine_of() {
    case "$1" in
    arm64) echo AArch64 ;;
    armhf) echo ARM ;;
    esac
}

cross_one() {
    local arch=$1 triplet
    triplet=$(triplet_of "$arch") || { say "unknown architecture '$arch' (arm64, armhf or all)"; exit 2; }
    install_cross "$arch" "$triplet"
    local b=${HQ_CROSS_BUILD_PREFIX:-$top}/build-cross-$arch
    say "$arch: building in $b"
    # The default voice pack is where the package installs it (as tools/hallq package does):
    # only hallqd reads it, and hallqd is not among the tests run here.
    cmake -S "$top" -B "$b" -DCMAKE_TOOLCHAIN_FILE="$top/cmake/toolchain-$arch.cmake" \
        -DCMAKE_BUILD_TYPE=${HQ_BUILD_TYPE:-RelWithDebInfo} \
        -DHQ_DEFAULT_VOICE_PACK=/usr/share/hallq/voice >/dev/null
    cmake --build "$b" -j"$(nproc)"
    local want got prog
    want=$(machine_of "$arch")
    for prog in "$b/hallqd" "$b/hallqctl" "$b/tests/test_engine"; do
        got=$("$triplet-readelf" -h "$prog" | sed -n 's/^ *Machine: *//p')
        if [ "$got" != "$want" ]; then
            say "$prog is built for '$got', not $want: the toolchain file was not used"
            exit 1
        fi
    done
    local stripped
    stripped=$(mktemp)
    "$triplet-strip" -o "$stripped" "$b/hallqd"
    say "$arch: hallqd $(stat -c %s "$b/hallqd") bytes, stripped $(stat -c %s "$stripped") bytes"
    rm -f "$stripped"
    say "$arch: the C tests under qemu-user"
    (cd "$b" && ctest -L '^(unit|fuzz)$' --no-tests=error --output-on-failure -j"$(nproc)" --timeout 300)
    package_one "$arch" "$b"
}

package_one() {
    local arch=$1 b=$2 debs
    say "$arch: the Debian package"
    rm -f "$b"/package/*.deb
    # DEB_HOST_ARCH makes dpkg-shlibdeps read the $arch libraries (their :$arch symbols files
    # and $triplet-objdump) for the Depends line.
    (cd "$b" && DEB_HOST_ARCH=$arch cpack -G DEB -B "$b/package" \
        -D CPACK_DEBIAN_PACKAGE_ARCHITECTURE="$arch" >/dev/null)
    debs=("$b"/package/hallq_*_"$arch".deb)
    [ -f "${debs[0]}" ] || { say "$arch: cpack made no *_$arch.deb"; exit 1; }
    say "$arch: ${debs[0]##*/}, $(stat -c %s "${debs[0]}") bytes"
    HQ_BUILD=$b HQ_SOURCE=$top HQ_PACKAGE_DEB=${debs[0]} HQ_PACKAGE_ARCH=$arch \
        HQ_EMULATOR=$(qemu_of "$arch") PYTHONDONTWRITEBYTECODE=1 \
        python3 "$top/tests/integration/test_package.py"
}

qemu_of() {
    case "$1" in
    arm64) echo qemu-aarch64 ;;
    armhf) echo qemu-arm ;;
    esac
}

archs=("$@")
if ((${#archs[@]} == 0)) || [ "${archs[0]}" = all ]; then archs=(arm64 armhf); fi
for a in "${archs[@]}"; do
    cross_one "$a"
done
