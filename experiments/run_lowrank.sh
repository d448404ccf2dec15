#!/usr/bin/env bash
# Runs the low-rank experiments (docs/lowrank.md) with short defaults from a
# build directory and renders the figures. Usage:
#   experiments/run_lowrank.sh [BUILD_DIR] [OUT_DIR]
# Environment: EPOCHS (exp. 1, default 15), LR (full-batch GD rate, default
# 1e-4; the paper's 1e-5 needs its 1500 epochs), ANGLE_EPOCHS (10),
# WIDTH_EPOCHS (10), SGD_EPOCHS (1), PARALLEL=1 runs the five programs at once
# (set OPENBLAS_NUM_THREADS=1 with it: oversubscribed OpenBLAS threads spin).
# Figures go to OUT_DIR (default docs/figures), logs and CSVs to OUT_DIR/../lowrank-logs
# unless LOGS is set.
set -eu
build=${1:-build} out=${2:-docs/figures}
here=$(cd "$(dirname "$0")" && pwd)
logs=${LOGS:-$(dirname "$out")/lowrank-logs}
EPOCHS=${EPOCHS:-15} LR=${LR:-1e-4} ANGLE_EPOCHS=${ANGLE_EPOCHS:-10}
WIDTH_EPOCHS=${WIDTH_EPOCHS:-10} SGD_EPOCHS=${SGD_EPOCHS:-1} PARALLEL=${PARALLEL:-0}
mkdir -p "$out" "$logs"
ex=$build/experiments
printf 'OPENBLAS_CORETYPE=%s\n' "${OPENBLAS_CORETYPE:-<unset>}"
jobs_=(
  "$ex/lowrank_fashion --act gelu --epochs $EPOCHS --lr $LR --csv $logs/lowrank_fashion_gelu.csv > $logs/lowrank_fashion_gelu.txt"
  "$ex/lowrank_fashion --act silu --epochs $EPOCHS --lr $LR --csv $logs/lowrank_fashion_silu.csv > $logs/lowrank_fashion_silu.txt"
  "$ex/lowrank_angle --act silu --epochs $ANGLE_EPOCHS --lr $LR --csv $logs/lowrank_angle.csv --curves $logs/lowrank_angle_curves.csv > $logs/lowrank_angle.txt"
  "$ex/lowrank_width --act gelu --setting ${WIDTH_SETTING:-both} --epochs-gd $WIDTH_EPOCHS --lr-gd $LR --epochs-sgd $SGD_EPOCHS --csv $logs/lowrank_width.csv --curves $logs/lowrank_width_curves.csv > $logs/lowrank_width.txt"
  "$ex/lowrank_practical --act gelu --epochs $SGD_EPOCHS --csv $logs/lowrank_practical.csv > $logs/lowrank_practical.txt"
)
pids=()
for j in "${jobs_[@]}"; do
  echo "+ $j"
  if [ "$PARALLEL" = 1 ]; then bash -c "$j" & pids+=($!); else bash -c "$j"; fi
done
for p in "${pids[@]}"; do wait "$p"; done
for f in "$logs"/lowrank_*.txt; do echo "== $f"; grep -E '^\||^#' "$f"; done
if command -v gnuplot >/dev/null; then
  for g in "$here"/plots/lowrank_*.gp; do
    gnuplot -e "logs='$logs'; out='$out'" "$g"
  done
  ls -l "$out"/lowrank_*.png
fi
