#!/bin/sh
# Runs the training-dynamics experiments (docs/dynamics.md) from an existing
# build directory and renders the figures with gnuplot: dyn_theory (linear
# and one-hot targets) and the four profiles of dyn_deep.
#
#   experiments/run_dynamics.sh [BUILD_DIR [OUT_DIR]]     (defaults: build, dyn_out)
#
# Builds nothing: configure and build first (meson setup build && ninja -C build).
# Environment: QUICK=1 shortens every run (for a smoke test; the figures in
# docs/figures come from the default settings). Each program's output is kept
# in OUT_DIR/<experiment>.log; the PNGs go to OUT_DIR/figures.
set -eu
build=${1:-build}
out=${2:-dyn_out}
here=$(cd "$(dirname "$0")" && pwd)
for p in dyn_theory dyn_deep; do
    if [ ! -x "$build/experiments/$p" ]; then
        echo "run_dynamics: $build/experiments/$p not found (build first)" >&2
        exit 1
    fi
done
mkdir -p "$out/figures"
if [ "${QUICK:-0}" = 1 ]; then
    theory="--seeds 2 --steps 600"
    case_="--steps 2000"
    deep="--seeds 1 --steps 2000"
    optim="--seeds 1 --steps 400"
    fashion="--n 500 --steps 20 --every 10"
else
    theory=""; case_=""; deep=""; optim=""; fashion=""
fi
run() { # LOG PROGRAM ARGS...
    log=$1 name=$2; shift 2
    echo "== $name $*"
    start=$(date +%s)
    # shellcheck disable=SC2068
    "$build/experiments/$name" --out "$out" $@ > "$out/$log.log"
    tail -n 12 "$out/$log.log"
    echo "   ($(( $(date +%s) - start )) s)"
}
run theory dyn_theory $theory
run theory_onehot dyn_theory --teacher onehot --prefix theory_onehot $theory
run case dyn_deep --profile case $case_
run deep dyn_deep --profile deep $deep
run optim dyn_deep --profile optim $optim
run fashion dyn_deep --profile fashion $fashion

for g in theory case deep optim fashion; do
    gnuplot -e "plots='$here/plots'; dir='$out'; out='$out/figures'" "$here/plots/$g.gp"
done
gnuplot -e "plots='$here/plots'; dir='$out'; out='$out/figures'; prefix='theory_onehot'" \
    -e "title='Theory setting with one-hot targets'" "$here/plots/theory.gp"
echo "figures:"
ls "$out/figures"
