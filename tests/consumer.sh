#!/usr/bin/env bash
# Installs the built library into a scratch DESTDIR and builds the embedding
# examples using nothing but `pkg-config --cflags --libs lrmlp`, then runs
# them. Usage: consumer.sh BUILD_DIR SOURCE_DIR CC [CXX]
set -eu
build=$1 src=$2 cc=$3 cxx=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >/dev/null
pc=$(find "$tmp/root" -name lrmlp.pc -print -quit)
[ -n "$pc" ] || { echo "lrmlp.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$tmp/root"
flags=$(pkg-config --cflags --libs lrmlp)
echo "pkg-config --cflags --libs lrmlp: $flags"
libdir=$(dirname "$(find "$tmp/root" -name 'liblrmlp.so' -print -quit)")
"$cc" -std=c99 -Wall -Wextra -pedantic -Werror "$src/examples/embed.c" $flags -lm -o "$tmp/embed"
LD_LIBRARY_PATH=$libdir "$tmp/embed"
if [ -n "$cxx" ]; then
    "$cxx" -std=c++11 -Wall -Wextra -Werror "$src/examples/embed.cpp" $flags -o "$tmp/embed_cpp"
    LD_LIBRARY_PATH=$libdir "$tmp/embed_cpp"
fi
# The library must export only lrmlp_ symbols.
bad=$(nm -D --defined-only "$libdir/liblrmlp.so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^lrmlp_' || true)
if [ -n "$bad" ]; then
    echo "exported symbols without the lrmlp_ prefix:"; echo "$bad"; exit 1
fi
echo "consumer build OK"
