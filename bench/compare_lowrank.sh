#!/usr/bin/env bash
# Low-rank benchmarks (docs/lowrank.md), in one run:
#  (a) full-batch GD epochs in the Fashion-MNIST setting, dense vs low-rank
#      r=20, each in its own process (per-model peak RSS);
#  (b) one minibatch epoch of 784-512-512-10 tanh with both hidden layers
#      factorized at rank 32, liblrmlp vs PyTorch, one thread each.
# Usage: bench/compare_lowrank.sh [BUILD_DIR] [GD_EPOCHS] [THREADS_A]
set -eu
build=${1:-build} gd_epochs=${2:-3} threads_a=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
printf 'OPENBLAS_CORETYPE=%s\n' "${OPENBLAS_CORETYPE:-<unset>}"
d=$(OPENBLAS_NUM_THREADS=$threads_a "$build/bench/bench_lowrank" --model dense --epochs "$gd_epochs")
l=$(OPENBLAS_NUM_THREADS=$threads_a "$build/bench/bench_lowrank" --model lowrank --epochs "$gd_epochs")
echo "$d"
echo "$l"
/usr/bin/python3 - "$d" "$l" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"(a) full-batch GD, core={a['blas_core']} threads={a['threads']}: "
      f"dense {a['seconds_per_epoch']:.3f} s/epoch (best {a['best_epoch_seconds']:.3f}), "
      f"low-rank r={b['rank']} {b['seconds_per_epoch']:.3f} s/epoch (best {b['best_epoch_seconds']:.3f}); "
      f"speed-up {a['seconds_per_epoch'] / b['seconds_per_epoch']:.2f}x "
      f"(best-epoch {a['best_epoch_seconds'] / b['best_epoch_seconds']:.2f}x); "
      f"peak RSS {a['peak_rss_mb']:.0f} MB vs {b['peak_rss_mb']:.0f} MB; "
      f"params {a['params']} vs {b['params']}")
PY
# Three epochs each, so that neither side's first-epoch warm-up dominates.
ours=$(OPENBLAS_NUM_THREADS=1 "$build/bench/bench_lowrank" --minibatch --rank 32 --threads 1 --epochs 3)
peer=$(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/torch_mlp.py" --rank 32 --threads 1 --epochs 3)
echo "$ours"
echo "$peer"
/usr/bin/python3 - "$ours" "$peer" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"(b) minibatch rank-32 factorized, threads=1, core={a['blas_core']}/{b['blas_core']}: "
      f"speed ratio liblrmlp/pytorch = {a['samples_per_second'] / b['samples_per_second']:.2f}x "
      f"({a['seconds_per_epoch']:.2f} s vs {b['seconds_per_epoch']:.2f} s per epoch), "
      f"RSS {a['peak_rss_mb']:.0f} MB vs {b['peak_rss_mb']:.0f} MB")
PY
