#!/usr/bin/env bash
# Runs bench_train and the PyTorch peer on the identical job, on 1 and 2
# threads, in one run, and prints the ratios. Usage:
#   bench/compare.sh [BUILD_DIR] [EPOCHS]
# Both processes inherit the same environment, so they use the same OpenBLAS
# kernel (printed as blas_core; compare only equal cores).
set -eu
build=${1:-build} epochs=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
printf 'OPENBLAS_CORETYPE=%s\n' "${OPENBLAS_CORETYPE:-<unset>}"
for t in 1 2; do
    ours=$(OPENBLAS_NUM_THREADS=$t "$build/bench/bench_train" --threads "$t" --epochs "$epochs")
    if [ "$t" -gt 1 ]; then export OMP_WAIT_POLICY=PASSIVE; fi
    peer=$(OMP_NUM_THREADS=$t /usr/bin/python3 "$here/torch_mlp.py" --threads "$t" --epochs "$epochs")
    unset OMP_WAIT_POLICY
    echo "$ours"
    echo "$peer"
    /usr/bin/python3 - "$ours" "$peer" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"threads={a['threads']} core={a['blas_core']}/{b['blas_core']}: "
      f"speed ratio liblrmlp/pytorch = {a['samples_per_second'] / b['samples_per_second']:.2f}x, "
      f"RSS {a['peak_rss_mb']:.0f} MB vs {b['peak_rss_mb']:.0f} MB "
      f"({a['peak_rss_mb'] / b['peak_rss_mb']:.2f})")
PY
done
