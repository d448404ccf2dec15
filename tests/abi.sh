#!/usr/bin/env bash
# Compares the built library's ABI with the committed baseline (abidiff from
# abigail-tools). Additions are fine; any incompatible change fails.
# Usage: abi.sh LIBRARY INCLUDE_DIR BASELINE   (abi.sh --update ... rewrites it)
set -u
update=0
if [ "${1:-}" = "--update" ]; then update=1; shift; fi
lib=$1 inc=$2 base=$3
if [ "$update" = 1 ]; then
    # The DWARF paths of the build tree are stripped, so the baseline names
    # no directory outside the repository and is the same from any build dir.
    abidw --no-corpus-path --headers-dir "$inc/lrmlp" --headers-dir "$inc" "$lib" |
        sed -E "s#(path|filepath)='[^']*/((lib|include)/[^']*)'#\\1='\\2'#g; s#comp-dir-path='[^']*'#comp-dir-path='.'#" > "$base"
    echo "wrote $base"; exit 0
fi
out=$(abidiff --headers-dir2 "$inc/lrmlp" --headers-dir2 "$inc" "$base" "$lib")
rc=$?
echo "$out"
# abidiff status bits: 1 error, 2 usage error, 4 ABI change, 8 incompatible change.
# Bit 4 alone also covers changed signatures, which are breaks for our
# callers: only pure additions pass (harmless changes are filtered out by
# abidiff itself).
changed=$(echo "$out" | sed -n 's/^\(Functions\|Variables\) changes summary: \([0-9]*\) Removed, \([0-9]*\) Changed.*/\2 \3/p' |
          awk '{s += $1 + $2} END {print s + 0}')
if [ $((rc & 11)) -ne 0 ] || [ "$changed" -ne 0 ]; then
    echo "ABI check FAILED (abidiff status $rc, $changed removed or changed symbols): a break needs a"
    echo "soversion bump, an intended addition a new baseline (docs/abi.md)"
    exit 1
fi
echo "ABI check passed (abidiff status $rc: $([ $((rc & 4)) -ne 0 ] && echo compatible additions || echo identical))"
