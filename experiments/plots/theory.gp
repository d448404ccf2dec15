# Fig. 3 analogue: block-11 fraction of W_1(t) - W_1(0) over GD steps, per activation
# (mean over seeds, band = min..max), and the gradient gap sigma_{K+1}/sigma_K.
if (!exists("plots")) plots = "experiments/plots"
load plots."/common.gp"
acts = "elu gelu silu tanh relu leaky_relu rrelu"
set output out."/theory_block11.png"
set multiplot layout 1,2 title "Theory setting (2 layers, W_2 fixed, whitened data): block 11 of W_1(t) - W_1(0)"
set xlabel "GD step"
set ylabel "fraction of ||W_1(t) - W_1(0)||_F^2 in block 11"
set yrange [0:1.02]
set key bottom left
plot for [a in acts] dir."/theory_frac_".a.".csv" every ::1 using 1:3:4 with filledcurves fs transparent solid 0.15 notitle, \
     for [a in acts] dir."/theory_frac_".a.".csv" every ::1 using 1:2 with lines lw 2 title a
set ylabel "sigma_{K+1}(G_1) / sigma_K(G_1)  (mean over seeds)"
set logscale y
set yrange [*:*]
set key bottom right
plot for [a in acts] dir."/theory_frac_".a.".csv" using 1:8 with lines lw 2 title a
unset multiplot
