# Fig. 3 analogue: block-11 fraction of W_1(t) - W_1(0) over GD steps, per activation
# (mean over seeds, band = min..max), and the gradient gap sigma_{K+1}/sigma_K.
# Settings: prefix (file prefix of dyn_theory --prefix, default theory), acts, title.
if (!exists("plots")) plots = "experiments/plots"
load plots."/common.gp"
if (!exists("prefix")) prefix = "theory"
if (!exists("acts")) acts = "identity tanh elu silu gelu relu leaky_relu"
if (!exists("title")) title = "Theory setting (2 layers, W_2 fixed, whitened data)"
set output out."/".prefix."_block11.png"
set multiplot layout 1,2 title title.": block 11 of W_1(t) - W_1(0)"
set xlabel "GD step"
set ylabel "fraction of ||W_1(t) - W_1(0)||_F^2 in block 11"
set yrange [0:1.02]
set key bottom left
f(a) = dir."/".prefix."_frac_".a.".csv"
plot for [a in acts] f(a) every ::1 using 1:3:4 with filledcurves fs transparent solid 0.15 lc act_lc(a) notitle, \
     for [a in acts] f(a) every ::1 using 1:2 with lines lw 2 lc act_lc(a) title a
set ylabel "sigma_{K+1}(G_1) / sigma_K(G_1)  (mean over seeds)"
set logscale y
set yrange [*:*]
set key bottom right
plot for [a in acts] f(a) using 1:8 with lines lw 2 lc act_lc(a) title a
unset multiplot
