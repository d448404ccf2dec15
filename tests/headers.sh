#!/usr/bin/env bash
# Compiles each public header alone, as C99 and as C++11, with
# -Wall -Wextra -pedantic -Werror. Usage: headers.sh CC CXX INCLUDE_DIR
set -eu
cc=$1 cxx=$2 inc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
for h in "$inc"/lrmlp.h "$inc"/lrmlp/*.h; do
    rel=${h#"$inc"/}
    printf '#include <%s>\nint lrmlp_header_test_dummy;\n' "$rel" > "$tmp/t.c"
    cp "$tmp/t.c" "$tmp/t.cpp"
    if ! "$cc" -std=c99 -Wall -Wextra -pedantic -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o"; then
        echo "FAIL (C99): $rel"; fail=$((fail + 1))
    fi
    if [ -n "$cxx" ] && ! "$cxx" -std=c++11 -Wall -Wextra -pedantic -Werror -I"$inc" -c "$tmp/t.cpp" -o "$tmp/t.o"; then
        echo "FAIL (C++): $rel"; fail=$((fail + 1))
    fi
    n=$((n + 1))
done
echo "$n headers checked, $fail failures"
[ "$n" -gt 0 ] && [ "$fail" -eq 0 ]
