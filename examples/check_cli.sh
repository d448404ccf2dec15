#!/bin/sh
# Command-line checks of one program (meson test suite 'examples'):
#
#   check_cli.sh PROG [--good "ARGS"]... [--bad "ARGS"]...
#
# PROG --help must exit 0 at once with "usage:" on stdout and nothing on
# stderr; PROG --version must exit 0 and name liblrmlp. Each --good ARGS
# (with --help appended, so nothing runs) must exit 0; each --bad ARGS must
# exit 2, the status of a rejected command line, before doing any work
# (no data set is read), with a message on stderr. ARGS are split on blanks.
# Runs in a scratch directory so that nothing is left behind.
set -u
prog=$1
shift
case $prog in /*) ;; *) prog=$PWD/$prog ;; esac
name=$(basename "$prog")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch" || exit 1
fail=0
bad() {
    echo "FAIL: $name $*" >&2
    fail=1
}

"$prog" --help > out 2> err
rc=$?
[ "$rc" -eq 0 ] || bad "--help exited $rc"
head -n 1 out | grep -q '^usage:' || bad "--help: no 'usage:' line first"
[ -s err ] && bad "--help wrote to stderr: $(cat err)"
"$prog" --version > out 2> err
rc=$?
[ "$rc" -eq 0 ] || bad "--version exited $rc"
grep -q 'liblrmlp' out || bad "--version does not name liblrmlp"

while [ $# -gt 1 ]; do
    kind=$1 args=$2
    shift 2
    # shellcheck disable=SC2086
    case $kind in
    --good)
        "$prog" $args --help > out 2> err
        rc=$?
        [ "$rc" -eq 0 ] || bad "$args --help exited $rc: $(cat err)"
        ;;
    --bad)
        "$prog" $args > out 2> err
        rc=$?
        if [ "$rc" -ne 2 ]; then
            bad "$args exited $rc, not 2"
        elif ! grep -q "^$name: " err; then
            bad "$args: no '$name: ...' message on stderr"
        else
            echo "ok: $name $args -> $(head -n 1 err)"
        fi
        ;;
    *)
        bad "check_cli.sh: unknown argument $kind"
        ;;
    esac
done
[ $# -eq 0 ] || bad "check_cli.sh: odd argument $1"
[ "$fail" -eq 0 ] && echo "ok: $name --help and --version"
exit "$fail"
