#!/usr/bin/env bash
# Installs the built library into a scratch DESTDIR and builds the examples
# with exactly the build lines their header comments document (pkg-config
# and nothing added), then runs them: examples/embed.c, examples/embed.cpp,
# and, when those parts were built, fortran/examples/pendulum.f90
# (lrmlp-fortran) and tests/cmake-consumer/mpi_version.c (lrmlp-mpi). Also
# compiles embed.c with strict warnings and checks the exported symbols.
# Usage: consumer.sh BUILD_DIR SOURCE_DIR CC [CXX]
set -eu
build=$1 src=$2 cc=$3 cxx=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >/dev/null
pc=$(find "$tmp/root" -name lrmlp.pc -print -quit)
[ -n "$pc" ] || { echo "lrmlp.pc was not installed"; exit 1; }
# The staged .pc files, their prefix moved into the staging tree (as for any
# relocated installation); other packages' .pc files stay as they are.
mkdir "$tmp/pc"
for f in "$(dirname "$pc")"/*.pc; do
    sed "s|^prefix=|prefix=$tmp/root|" "$f" > "$tmp/pc/$(basename "$f")"
done
export PKG_CONFIG_PATH=$tmp/pc
echo "pkg-config --cflags --libs lrmlp: $(pkg-config --cflags --libs lrmlp)"
echo "pkg-config --static --libs lrmlp: $(pkg-config --static --libs lrmlp)"
libdir=$(dirname "$(find "$tmp/root" -name 'liblrmlp.so' -print -quit)")
export LD_LIBRARY_PATH=$libdir

# documented FILE TOOL [COMPILER]: runs the build line FILE's header comment
# documents (the first comment line "TOOL <file name> ...") verbatim in a
# directory holding a copy of FILE, with COMPILER in place of TOOL.
documented() {
    local file=$1 tool=$2 compiler=${3:-$2} line re
    re=$(printf '%s %s ' "$tool" "$(basename "$file")" | sed 's/[][+.*^$]/\\&/g')
    line=$(grep -m1 -E "^(/\*|//| \*|!) +$re" "$file" |
           sed -E 's,^(/\*|//| \*|!) +,,')
    [ -n "$line" ] || { echo "$file documents no '$tool' build line"; return 1; }
    echo "documented: $line"
    cp "$file" "$tmp/"
    (cd "$tmp" && eval "\"\$compiler\" ${line#"$tool "}")
}

documented "$src/examples/embed.c" cc "$cc"
"$tmp/embed"
"$cc" -std=c99 -Wall -Wextra -pedantic -Werror $(pkg-config --cflags lrmlp) \
    -c "$src/examples/embed.c" -o "$tmp/embed_strict.o"
if [ -n "$cxx" ]; then
    documented "$src/examples/embed.cpp" c++ "$cxx"
    "$tmp/embed_cpp"
fi
if pkg-config --exists lrmlp-fortran && command -v gfortran >/dev/null; then
    documented "$src/fortran/examples/pendulum.f90" gfortran
    (cd "$tmp" && ./pendulum)
fi
if pkg-config --exists lrmlp-mpi; then
    documented "$src/tests/cmake-consumer/mpi_version.c" cc "$cc"
    "$tmp/mpi_version"
fi

# The library must export only lrmlp_ symbols.
bad=$(nm -D --defined-only "$libdir/liblrmlp.so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^lrmlp_' || true)
if [ -n "$bad" ]; then
    echo "exported symbols without the lrmlp_ prefix:"; echo "$bad"; exit 1
fi
echo "consumer build OK"
