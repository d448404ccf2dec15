# Final test accuracy against the angle psi of lowrank_angle (--csv) and,
# when lowrank_angle_curves.csv (--curves) is there, the curves per psi.
# gnuplot -e "logs='DIR'; out='DIR'" experiments/plots/lowrank_angle.gp
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
# Per-epoch curves (lowrank_angle --curves lowrank_angle_curves.csv), when present.
fc = sprintf("%s/lowrank_angle_curves.csv", logs)
if (system(sprintf("test -r '%s' && echo 1 || echo 0", fc)) eq "1") {
  if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) { set terminal pngcairo size 1000,420 font ",10" } else { set terminal png size 1000,420 }
  set output sprintf("%s/lowrank_angle_curves.png", out)
  set multiplot layout 1,2 title "Angle ablation curves (SiLU, r=20, full-batch GD on SSE)"
  unset title
  set xtics autofreq
  set xlabel "epoch (= GD step)"
  set ylabel "test accuracy"
  set key on right center opaque box
  set autoscale y
  plot for [p in "0 15 30 45 60 75 90"] fc using (strcol(1) eq sprintf("psi=%s", p) ? $2 : 1/0):5 skip 1 with lines lw 2 title sprintf("psi = %s", p)
  set ylabel "training loss (SSE, summed)"
  set key off
  plot for [p in "0 15 30 45 60 75 90"] fc using (strcol(1) eq sprintf("psi=%s", p) ? $2 : 1/0):3 skip 1 with lines lw 2 title sprintf("psi = %s", p)
  unset multiplot
  unset output
}
