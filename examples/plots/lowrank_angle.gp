# Final test accuracy against the angle psi of lowrank_angle.
# gnuplot -e "logs='DIR'; out='DIR'" examples/plots/lowrank_angle.gp
if (!exists("logs")) logs = "."
if (!exists("out")) out = "."
set datafile separator ","
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) { set terminal pngcairo size 600,420 font ",10" } else { set terminal png size 600,420 }
set output sprintf("%s/lowrank_angle.png", out)
set title "Angle ablation: V = cos(psi) V_{big} + sin(psi) V_{perp} (SiLU, r=20, 300 GD epochs)"
set xlabel "psi (degrees)"
set ylabel "final test accuracy"
set xtics 0,15,90
set grid
set key off
set yrange [0:*]
plot sprintf("%s/lowrank_angle.csv", logs) using 1:2 skip 1 with linespoints lw 2 pt 7
unset output
