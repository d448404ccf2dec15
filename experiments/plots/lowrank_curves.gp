# Test accuracy and training loss of lowrank_fashion (GELU and SiLU).
# gnuplot -e "logs='DIR'; out='DIR'" experiments/plots/lowrank_curves.gp
# Optional: tag (output name prefix, default "lowrank": TAG_gelu_curves.png)
# and desc (the setting in the title).
if (!exists("logs")) logs = "."
if (!exists("out")) out = "."
if (!exists("tag")) tag = "lowrank"
if (!exists("desc")) desc = "full-batch GD on SSE (dense vs low-rank r=20)"
set datafile separator ","
set key bottom right
set grid
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) { set terminal pngcairo size 1000,420 font ",10" } else { set terminal png size 1000,420 }
do for [act in "gelu silu"] {
  f = sprintf("%s/lowrank_fashion_%s.csv", logs, act)
  set output sprintf("%s/%s_%s_curves.png", out, tag, act)
  set multiplot layout 1,2 title sprintf("Fashion-MNIST, L=4, d=m=784, %s, %s", act, desc)
  set xlabel "epoch (= GD step)"
  set ylabel "test accuracy"
  set key bottom right
  set autoscale y
  plot f using 1:4 skip 1 with lines lw 2 title "dense", \
       f using 1:7 skip 1 with lines lw 2 title "low-rank, S_{big} init", \
       f using 1:10 skip 1 with lines lw 2 title "low-rank, random init"
  set ylabel "training loss (SSE, summed over the training set)"
  set key bottom left
  set autoscale y
  plot f using 1:2 skip 1 with lines lw 2 title "dense", \
       f using 1:5 skip 1 with lines lw 2 title "low-rank, S_{big} init", \
       f using 1:8 skip 1 with lines lw 2 title "low-rank, random init"
  unset multiplot
  unset output
}
