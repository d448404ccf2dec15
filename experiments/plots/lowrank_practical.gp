# Test accuracy and training loss per epoch of lowrank_practical (--csv):
# dense vs low-rank (r = 2K) under SGD-momentum and Adam.
# gnuplot -e "logs='DIR'; out='DIR'" experiments/plots/lowrank_practical.gp
if (!exists("logs")) logs = "."
if (!exists("out")) out = "."
set datafile separator ","
set grid
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) { set terminal pngcairo size 1000,420 font ",10" } else { set terminal png size 1000,420 }
f = sprintf("%s/lowrank_practical.csv", logs)
set output sprintf("%s/lowrank_practical.png", out)
set multiplot layout 1,2 title "Practical training (GELU, Fashion-MNIST, L=4, batch 128, cross-entropy): dense vs low-rank r=20"
set xlabel "epoch"
set ylabel "test accuracy"
set key bottom right
plot for [m in "sgd-m/dense sgd-m/lowrank adam/dense adam/lowrank"] f using (strcol(1) eq m ? $2 : 1/0):5 skip 1 with linespoints lw 2 title m
set ylabel "training loss (CE, mean over the epoch)"
set key top right
set logscale y
plot for [m in "sgd-m/dense sgd-m/lowrank adam/dense adam/lowrank"] f using (strcol(1) eq m ? $2 : 1/0):3 skip 1 with linespoints lw 2 title m
unset multiplot
unset output
