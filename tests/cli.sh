#!/bin/sh
# The lrmlp command-line tool as a user runs it: --help/--version, usage
# errors exit 2, runtime errors exit 1 with a message on stderr, and a
# model converted .lrmlp -> .safetensors -> .npz -> .lrmlp predicts
# bit-identically at every step.
#   cli.sh LRMLP_TOOL SOURCE_ROOT INTEROP(0|1)
set -u
tool=$1 src=$2 interop=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/lrmlp-cli.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0

# expect STATUS DESCRIPTION CMD...: the exit status must be STATUS; a
# nonzero status must come with a message on stderr.
expect() {
    want=$1 what=$2
    shift 2
    "$@" >"$dir/out" 2>"$dir/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"; cat "$dir/err"; fails=$((fails + 1))
    elif [ "$want" -ne 0 ] && [ ! -s "$dir/err" ]; then
        echo "FAIL: $what: exit $got without a message on stderr"; fails=$((fails + 1))
    else
        echo "ok: $what (exit $got)"
    fi
}

expect 0 "--help" "$tool" --help
grep -q "^Usage: lrmlp" "$dir/out" || { echo "FAIL: --help text"; fails=$((fails + 1)); }
expect 0 "--version" "$tool" --version
grep -q "^lrmlp [0-9]" "$dir/out" || { echo "FAIL: --version text"; fails=$((fails + 1)); }
expect 0 "convert --help" "$tool" convert --help

expect 2 "no command" "$tool"
expect 2 "unknown command" "$tool" frobnicate
expect 2 "unknown option" "$tool" --frobnicate
expect 2 "info without FILE" "$tool" info
expect 2 "info with two files" "$tool" info a b
expect 2 "convert with one argument" "$tool" convert a.lrmlp
expect 2 "convert to an unknown extension" "$tool" convert a.lrmlp b.txt
expect 2 "convert --to bogus" "$tool" convert --to bogus a b
expect 2 "bad --dtype" "$tool" predict --dtype f16 a b
expect 2 "bad --activation" "$tool" convert --activation swishy a.npz b.lrmlp
expect 2 "predict without CSV" "$tool" predict m.lrmlp
expect 2 "predict --output without value" "$tool" predict m.lrmlp x.csv --output

expect 1 "info on a missing file" "$tool" info "$dir/missing.lrmlp"
printf 'not a model' >"$dir/junk.lrmlp"
expect 1 "info on a junk file" "$tool" info "$dir/junk.lrmlp"
expect 1 "predict with a junk model" "$tool" predict "$dir/junk.lrmlp" "$dir/x.csv"

model=$src/tests/data/model_v1_f64.lrmlp   # 2 inputs, 1 output, float64
expect 0 "info on a model file" "$tool" info "$model"
grep -q "^widths: *2 -> 3 -> 1" "$dir/out" || { echo "FAIL: info widths"; fails=$((fails + 1)); }
printf '# three samples\n0.5,-1\n\n1e-3, 0.25 \n-2,0\n' >"$dir/x.csv"
expect 0 "predict a model file" "$tool" predict "$model" "$dir/x.csv"
cp "$dir/out" "$dir/y0.csv"
[ "$(wc -l <"$dir/y0.csv")" -eq 3 ] || { echo "FAIL: predict rows"; fails=$((fails + 1)); }
expect 0 "predict from stdin" sh -c "\"$tool\" predict \"$model\" - <\"$dir/x.csv\""
cmp -s "$dir/out" "$dir/y0.csv" || { echo "FAIL: stdin output differs"; fails=$((fails + 1)); }
expect 0 "predict --raw --output" "$tool" predict --raw -o "$dir/y.bin" "$model" "$dir/x.csv"
[ "$(wc -c <"$dir/y.bin")" -eq 24 ] || { echo "FAIL: raw size"; fails=$((fails + 1)); }
printf '1\n' >"$dir/short.csv"
expect 1 "predict with too few fields" "$tool" predict "$model" "$dir/short.csv"
grep -q "short.csv:1:" "$dir/err" || { echo "FAIL: no line number"; fails=$((fails + 1)); }
printf '1,2,3\n' >"$dir/long.csv"
expect 1 "predict with too many fields" "$tool" predict "$model" "$dir/long.csv"
printf '1,x\n' >"$dir/nan.csv"
expect 1 "predict with a non-number" "$tool" predict "$model" "$dir/nan.csv"
printf 'nan,1\n' >"$dir/nan2.csv"
expect 1 "predict with NaN input" "$tool" predict "$model" "$dir/nan2.csv"

if [ "$interop" = 1 ]; then
    expect 0 "convert .lrmlp -> .safetensors" "$tool" convert "$model" "$dir/a.safetensors"
    expect 0 "convert .safetensors -> .npz (deflated)" "$tool" convert --compress \
        "$dir/a.safetensors" "$dir/b.npz"
    expect 0 "convert .npz -> model file (--to)" "$tool" convert --to lrmlp "$dir/b.npz" "$dir/c.bin"
    expect 0 "info on .safetensors" "$tool" info "$dir/a.safetensors"
    expect 0 "info on .npz" "$tool" info "$dir/b.npz"
    grep -q "^activations: *rrelu, sigmoid" "$dir/out" || { echo "FAIL: npz activations"; fails=$((fails + 1)); }
    for f in a.safetensors b.npz c.bin; do
        expect 0 "predict $f" "$tool" predict "$dir/$f" "$dir/x.csv"
        cmp -s "$dir/out" "$dir/y0.csv" || { echo "FAIL: $f predicts differently"; fails=$((fails + 1)); }
    done
    expect 0 "convert --no-metadata --dtype f32" "$tool" convert --no-metadata --dtype f32 \
        "$model" "$dir/d.npz"
    expect 1 "predict without activations" "$tool" predict "$dir/d.npz" "$dir/x.csv"
    grep -q -- "--activation" "$dir/err" || { echo "FAIL: no --activation hint"; fails=$((fails + 1)); }
    expect 0 "predict with the activations given" "$tool" predict --activation rrelu \
        --output-activation sigmoid "$dir/d.npz" "$dir/x.csv"
    # float32 weights: close to the float64 model's outputs, not identical
    paste -d, "$dir/out" "$dir/y0.csv" | awk -F, '{ d = $1 - $2; if (d < 0) d = -d;
        if (d > 1e-6) exit 1 }' || { echo "FAIL: f32 outputs off"; fails=$((fails + 1)); }
    expect 0 "predict --dtype f32 on a float64 model file" "$tool" predict --dtype f32 \
        "$model" "$dir/x.csv"
    head -c 100 "$dir/a.safetensors" >"$dir/t.safetensors"
    expect 1 "truncated safetensors" "$tool" info "$dir/t.safetensors"
else
    expect 1 "convert without interop" "$tool" convert "$model" "$dir/a.npz"
    grep -q "interop" "$dir/err" || { echo "FAIL: no interop message"; fails=$((fails + 1)); }
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all passed"
