#!/usr/bin/env bash
# Installs the built library into a scratch DESTDIR and builds and runs the
# CMake project tests/cmake-consumer against it through find_package(lrmlp),
# with the Fortran and MPI parts when those were built. The staged tree is
# not at its configured prefix, so this also checks that lrmlpConfig.cmake
# is relocatable. Exit 77 (skipped) without cmake.
# Usage: cmake-consumer.sh BUILD_DIR SOURCE_DIR VERSION
set -eu
build=$1 src=$2 version=$3
command -v cmake >/dev/null || { echo "cmake not found: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >/dev/null
config=$(find "$tmp/root" -name lrmlpConfig.cmake -print -quit)
[ -n "$config" ] || { echo "lrmlpConfig.cmake was not installed"; exit 1; }
prefix=$(meson introspect "$build" --buildoptions |
    python3 -c 'import json, sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')
args=(-DCMAKE_PREFIX_PATH="$tmp/root$prefix" -DLRMLP_EXPECT_VERSION="$version")
[ -n "$(find "$tmp/root" -name lrmlp.mod -print -quit)" ] && args+=(-DWITH_FORTRAN=ON)
[ -n "$(find "$tmp/root" -name 'liblrmlp_mpi.so*' -print -quit)" ] && args+=(-DWITH_MPI=ON)
echo "cmake ${args[*]}"
cmake -S "$src/tests/cmake-consumer" -B "$tmp/build" "${args[@]}" > "$tmp/configure.log" 2>&1 \
    || { cat "$tmp/configure.log"; exit 1; }
grep -- "-- lrmlp " "$tmp/configure.log"
cmake --build "$tmp/build" > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
# The add-on's own dependency on liblrmlp.so.N is not covered by the
# executables' run path; an installed copy finds it through ld.so's cache.
export LD_LIBRARY_PATH=$(dirname "$(find "$tmp/root" -name 'liblrmlp.so' -print -quit)")
"$tmp/build/embed"
if [ -x "$tmp/build/pendulum" ]; then (cd "$tmp" && ./build/pendulum "$tmp/p.lrmlp"); fi
if [ -x "$tmp/build/mpi_version" ]; then "$tmp/build/mpi_version"; fi
echo "CMake consumer OK"
