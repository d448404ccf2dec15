#!/usr/bin/env bash
# Runs bench_infer, its PyTorch peer and its ONNX Runtime peer on identical
# weights, all on 1 thread, and prints one table of microseconds per call
# (10th percentile of calls timed one by one for 0.2 s, median of 7 runs)
# at batch 1, 8, 64, 1024. Usage:
#   bench/compare_infer.sh [BUILD_DIR] [--net dense|lowrank] [--f64]
# bench_infer --export writes the weights and 8 reference outputs,
# bench/torch_infer.py rebuilds the network from them, checks it, and
# writes it as ONNX, which bench/ort_infer.mjs runs (it needs
# bench/ort_setup.sh once; without it the ORT column is skipped). The
# speed columns are liblrmlp's calls per second over the peer's (> 1:
# liblrmlp faster). bench_infer and PyTorch use OpenBLAS (blas core
# printed); ONNX Runtime uses its own kernels (MLAS), whatever the core.
set -eu
build=build net=dense prec=
while [ $# -gt 0 ]; do
    case $1 in
    --net) net=${2:?--net needs dense or lowrank}; shift ;;
    --f64) prec=--f64 ;;
    -*) echo "usage: $0 [BUILD_DIR] [--net dense|lowrank] [--f64]" >&2; exit 2 ;;
    *) build=$1 ;;
    esac
    shift
done
here=$(cd "$(dirname "$0")" && pwd)
ortdir=${LRMLP_ORT_DIR:-$HOME/.cache/lrmlp-ort}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
printf 'OPENBLAS_CORETYPE=%s\n' "${OPENBLAS_CORETYPE:-<unset>}"
"$build/bench/bench_infer" --net "$net" $prec --threads 1 --export "$tmp/w" >"$tmp/ours"
/usr/bin/python3 "$here/torch_infer.py" --net "$net" $prec --prefix "$tmp/w" \
    --onnx "$tmp/w.onnx" >"$tmp/torch"
: >"$tmp/ort"
if [ ! -d "$ortdir/node_modules/onnxruntime-node" ]; then
    echo "# ONNX Runtime skipped: not installed in $ortdir (run bench/ort_setup.sh)"
elif ! command -v node >/dev/null; then
    echo "# ONNX Runtime skipped: node not found"
else
    rc=0
    node "$here/ort_infer.mjs" --net "$net" $prec --prefix "$tmp/w" --onnx "$tmp/w.onnx" \
        >"$tmp/ort" 2>"$tmp/ort.err" || rc=$?
    if [ "$rc" -eq 3 ]; then
        echo "# ONNX Runtime skipped: $(cat "$tmp/ort.err")"
        : >"$tmp/ort"
    elif [ "$rc" -ne 0 ]; then
        cat "$tmp/ort.err" >&2
        exit "$rc"
    fi
fi
grep -h '^#' "$tmp/ours" "$tmp/torch" "$tmp/ort" || true
/usr/bin/python3 - "$tmp/ours" "$tmp/torch" "$tmp/ort" <<'PY'
import sys

def table(path, col):
    """batch -> the given column of a benchmark's table (after its header)."""
    rows = [l.split() for l in open(path) if l.strip() and not l.startswith("#")]
    if not rows:
        return {}
    i = rows[0].index(col)
    return {int(r[0]): float(r[i]) for r in rows[1:]}

ours = table(sys.argv[1], "model")
torch = table(sys.argv[2], "torch_us")
ort = table(sys.argv[3], "ort_us")
cell = lambda v, f: f.format(v) if v is not None else "-"
print(f"{'batch':>6} {'liblrmlp_us':>12} {'torch_us':>12} {'ort_us':>12} "
      f"{'vs_torch':>9} {'vs_ort':>9}")
for b, us in sorted(ours.items()):
    t, o = torch.get(b), ort.get(b)
    print(f"{b:>6} {us:>12.2f} {cell(t, '{:.2f}'):>12} {cell(o, '{:.2f}'):>12} "
          f"{cell(t and t / us, '{:.2f}x'):>9} {cell(o and o / us, '{:.2f}x'):>9}")
PY
