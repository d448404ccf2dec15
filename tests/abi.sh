#!/usr/bin/env bash
# Compares the built library's ABI with the committed baseline (abidiff from
# abigail-tools). Additions are fine; any incompatible change fails.
# Usage: abi.sh LIBRARY INCLUDE_DIR BASELINE   (abi.sh --update ... rewrites it)
set -u
update=0
if [ "${1:-}" = "--update" ]; then update=1; shift; fi
lib=$1 inc=$2 base=$3
if [ "$update" = 1 ]; then
    abidw --no-corpus-path --headers-dir "$inc/lrmlp" --headers-dir "$inc" "$lib" > "$base"
    echo "wrote $base"; exit 0
fi
abidiff --headers-dir2 "$inc/lrmlp" --headers-dir2 "$inc" "$base" "$lib"
rc=$?
# abidiff status bits: 1 error, 2 usage error, 4 ABI change, 8 incompatible change.
if [ $((rc & 11)) -ne 0 ]; then
    echo "ABI check FAILED (abidiff status $rc): an incompatible change needs a soversion bump (docs/abi.md)"
    exit 1
fi
echo "ABI check passed (abidiff status $rc: $([ $((rc & 4)) -ne 0 ] && echo compatible additions || echo identical))"
