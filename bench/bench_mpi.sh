#!/usr/bin/env bash
# MPI data parallelism on this machine (docs/mpi.md): one epoch of
# Fashion-MNIST, dense 784-512-512-10 and low-rank (r = 32), SGD, the same
# global batch G in every configuration:
#   2 ranks x 1 BLAS thread  (per-rank batch G/2, gradients all-reduced)
#   1 rank  x 2 BLAS threads (batch G, the all-reduce is a no-op over 1 rank)
#   1 rank  x 1 BLAS thread  (reference)
# and the all-reduce share of the step time (cumulative seconds inside
# MPI_Allreduce measured by the handle; this includes waiting for the slower
# rank; the "2x1-profile" rows put a barrier before each all-reduce and
# time the waiting apart). Prints one JSON line per run and a table.
# The "2x1-alternate" rows switch the all-reduce's overlap with the backward
# pass on and off after every step (--overlap alternate; the trajectory is
# the same) and give, per mode, the time the hook blocks and the time spent
# in MPI during the backward pass: a paired comparison within one run.
#
#   bench/bench_mpi.sh [BUILD_DIR] [EPOCHS] [GLOBAL_BATCH]
#
# OPENBLAS_CORETYPE=SkylakeX: OpenBLAS 0.3.21 does not recognize this CPU
# and would fall back to its slow Prescott kernels (override by exporting
# OPENBLAS_CORETYPE before running). Ranks are not bound to cores so that a
# single rank can use both cores.
set -eu
build=${1:-build-mpi}
epochs=${2:-2}
G=${3:-128}
exe=$build/experiments/mpi_fashion
[ -x "$exe" ] || { echo "bench_mpi: $exe not built (meson setup $build; ninja -C $build)" >&2; exit 1; }
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
# mpi_yield_when_idle: a rank waiting in MPI yields its core instead of
# spinning; on this shared 2-core machine that halved the dense 2-rank epoch.
mpirun_flags="--allow-run-as-root --oversubscribe --bind-to none --mca mpi_yield_when_idle 1"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

run() { # label ranks threads model [extra flags]
    local label=$1 np=$2 th=$3 model=$4
    shift 4
    local b=$((G / np))
    OPENBLAS_NUM_THREADS=$th mpirun $mpirun_flags -x OPENBLAS_NUM_THREADS -x OPENBLAS_CORETYPE \
        -np "$np" "$exe" --model "$model" --epochs "$epochs" --batch "$b" "$@" \
        | grep '^{' | sed "s/^{/{\"config\": \"$label\", \"threads\": $th, /" | tee -a "$out"
}

echo "# $(nproc) cores, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE, global batch $G, $epochs epoch(s) per run"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for model in dense lowrank; do
    run "2x1" 2 1 $model
    run "2x1-profile" 2 1 $model --profile
    run "2x1-alternate" 2 1 $model --overlap alternate
    run "1x2" 1 2 $model
    run "1x1" 1 1 $model
done

echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("\n| model | ranks x threads | s/epoch | all-reduce s/epoch | all-reduce share | wait s/epoch | bytes/step | test acc |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %s | %.2f | %.3f | %.1f%% | %s | %d | %.4f |" % (
        r["model"], r["config"], r["seconds_per_epoch"], r["allreduce_seconds_per_epoch"],
        100 * r["allreduce_share"],
        "%.3f" % r["wait_seconds_per_epoch"] if r["profile"] else "-",
        r["bytes_per_step"], r["test_accuracy"]))
alt = [r for r in rows if r["overlap"] == "alternate"]
if alt:
    print("\n| model | step s/epoch on / off | hook blocking s/epoch on / off | MPI in backward s/epoch (on) | blocking hidden | total MPI hidden |")
    print("|---|---|---|---|---|---|")
for r in alt:
    on, off, post = (r["allreduce_seconds_per_epoch_overlap"],
                     r["allreduce_seconds_per_epoch_no_overlap"], r["post_seconds_per_epoch_overlap"])
    print("| %s | %.2f / %.2f | %.3f / %.3f | %.3f | %.0f%% | %.0f%% |" % (
        r["model"], r["step_seconds_per_epoch_overlap"], r["step_seconds_per_epoch_no_overlap"],
        on, off, post, 100 * (1 - on / off), 100 * (1 - (on + post) / off)))
PY
