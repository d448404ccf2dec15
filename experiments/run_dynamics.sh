#!/bin/sh
# Runs the five training-dynamics experiments (docs/dynamics.md) from an
# existing build directory and renders the figures with gnuplot.
#
#   experiments/run_dynamics.sh [BUILD_DIR [OUT_DIR]]     (defaults: build, dyn_out)
#
# Builds nothing: configure and build first (meson setup build && ninja -C build).
# Environment: QUICK=1 shortens every run (for a smoke test; the figures in
# docs/figures come from the default settings). Each program's output is kept
# in OUT_DIR/<program>.log; the PNGs go to OUT_DIR/figures.
set -eu
build=${1:-build}
out=${2:-dyn_out}
here=$(cd "$(dirname "$0")" && pwd)
for p in dyn_theory dyn_case dyn_deep dyn_optim dyn_fashion; do
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
run() {
    name=$1; shift
    echo "== $name $*"
    start=$(date +%s)
    # shellcheck disable=SC2068
    "$build/experiments/$name" --out "$out" $@ > "$out/$name.log"
    tail -n 12 "$out/$name.log"
    echo "   ($(( $(date +%s) - start )) s)"
}
run dyn_theory $theory
run dyn_case $case_
run dyn_deep $deep
run dyn_optim $optim
run dyn_fashion $fashion

for g in theory case deep optim fashion; do
    gnuplot -e "plots='$here/plots'; dir='$out'; out='$out/figures'" "$here/plots/$g.gp"
done
echo "figures:"
ls "$out/figures"
