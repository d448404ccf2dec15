#!/usr/bin/env bash
# Configures the project as on a machine with only the library's own
# dependencies: pkg-config sees a copy of the system's .pc files without
# check.pc and openblas.pc (nothing on the system is touched). meson setup
# must succeed with the unit tests left out, fall back to the generic BLAS,
# and write an lrmlp.pc that names that BLAS. Usage: setup-minimal.sh SOURCE_DIR
set -eu
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/pc"
IFS=: read -ra dirs <<< "$(pkg-config --variable pc_path pkg-config)"
for d in "${dirs[@]}"; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -name '*.pc' -exec cp -n {} "$tmp/pc/" \;
done
rm -f "$tmp/pc/check.pc" "$tmp/pc/openblas.pc"
PKG_CONFIG_LIBDIR=$tmp/pc PKG_CONFIG_PATH= meson setup "$tmp/build" "$src" \
    -Dexamples=false -Dbench=false -Dmpi=disabled -Dfortran=disabled > "$tmp/setup.log" 2>&1 \
    || { cat "$tmp/setup.log"; echo "meson setup failed without Check"; exit 1; }
grep -E "Run-time dependency (check|openblas|blas) found" "$tmp/setup.log"
if meson introspect "$tmp/build" --tests | grep -q '"lrmlp:unit"'; then
    echo "unit tests were configured without Check"; exit 1
fi
req=$(grep '^Requires.private' "$tmp/build/meson-private/lrmlp.pc")
echo "lrmlp.pc: $req"
case "$req" in
    *openblas*) echo "lrmlp.pc names openblas, which was not found"; exit 1 ;;
    *blas*) ;;
    *) echo "lrmlp.pc names no BLAS"; exit 1 ;;
esac
echo "setup without Check and OpenBLAS's .pc OK"
