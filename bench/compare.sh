#!/usr/bin/env bash
# Runs bench_train and the PyTorch peer on the identical job, on 1 and 2
# threads, in one run, and prints each one's epoch as a ratio to the GEMM
# floor that bench_train measured in the same process (gemm_floor.h: the
# job's own cblas_?gemm calls replayed alone). Usage:
#   bench/compare.sh [BUILD_DIR] [EPOCHS] [--f64]
# Both processes inherit the same environment, so they use the same OpenBLAS
# kernel (printed as blas_core; compare only equal cores).
set -eu
build=${1:-build} epochs=${2:-1} prec=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
printf 'OPENBLAS_CORETYPE=%s\n' "${OPENBLAS_CORETYPE:-<unset>}"
for t in 1 2; do
    ours=$(OPENBLAS_NUM_THREADS=$t "$build/bench/bench_train" --threads "$t" --epochs "$epochs" $prec)
    if [ "$t" -gt 1 ]; then export OMP_WAIT_POLICY=PASSIVE; fi
    peer=$(OMP_NUM_THREADS=$t /usr/bin/python3 "$here/torch_mlp.py" --threads "$t" --epochs "$epochs" $prec)
    unset OMP_WAIT_POLICY
    echo "$ours"
    echo "$peer"
    /usr/bin/python3 - "$ours" "$peer" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
fl = a['gemm_floor_seconds_per_epoch']
print(f"threads={a['threads']} {a['dtype']} core={a['blas_core']}/{b['blas_core']}: "
      f"epoch liblrmlp {a['seconds_per_epoch']:.3f} s = {a['seconds_per_epoch'] / fl:.2f}x floor, "
      f"pytorch {b['seconds_per_epoch']:.3f} s = {b['seconds_per_epoch'] / fl:.2f}x floor "
      f"(floor {fl:.3f} s); speed liblrmlp/pytorch = "
      f"{a['samples_per_second'] / b['samples_per_second']:.2f}x, "
      f"RSS {a['peak_rss_mb']:.0f} MB vs {b['peak_rss_mb']:.0f} MB")
PY
done
