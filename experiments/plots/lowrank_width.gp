# Test accuracy and training loss per epoch of lowrank_width (--curves),
# one line per width r; one figure per setting present in
# lowrank_width_curves.csv (lowrank_width_gd.png, lowrank_width_sgd.png).
# gnuplot -e "logs='DIR'; out='DIR'" experiments/plots/lowrank_width.gp
if (!exists("logs")) logs = "."
if (!exists("out")) out = "."
set datafile separator ","
set grid
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) { set terminal pngcairo size 1000,420 font ",10" } else { set terminal png size 1000,420 }
do for [s in "gd sgd"] {
  f = sprintf("%s/lowrank_width_curves.csv", logs)
  if (system(sprintf("grep -q '^%s r=' '%s' 2>/dev/null && echo 1 || echo 0", s, f)) eq "1") {
    set output sprintf("%s/lowrank_width_%s.png", out, s)
    desc = (s eq "gd") ? "full-batch GD on SSE" : "SGD-momentum + cross-entropy, batch 128"
    set multiplot layout 1,2 title sprintf("Width ablation (GELU, Fashion-MNIST, L=4): %s, V = [S_{big} | complement]", desc)
    set xlabel "epoch"
    set ylabel "test accuracy"
    set key bottom right
    set autoscale y
    plot for [r in "20 40 80 160"] f using (strcol(1) eq sprintf("%s r=%s", s, r) ? $2 : 1/0):5 skip 1 with lines lw 2 title sprintf("r = %s", r)
    set ylabel (s eq "gd") ? "training loss (SSE, summed)" : "training loss (CE, mean)"
    set key top right
    if (s eq "sgd") { set logscale y } else { unset logscale y }
    plot for [r in "20 40 80 160"] f using (strcol(1) eq sprintf("%s r=%s", s, r) ? $2 : 1/0):3 skip 1 with lines lw 2 title sprintf("r = %s", r)
    unset logscale y
    unset multiplot
    unset output
  }
}
