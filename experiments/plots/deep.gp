# Fig. 4 analogue: block-11 fraction per layer of a 4-layer net, per activation.
if (!exists("plots")) plots = "experiments/plots"
load plots."/common.gp"
if (!exists("prefix")) prefix = "deep"
if (!exists("optim")) optim = "gd"
if (!exists("acts")) acts = "elu gelu relu"
set output out."/".prefix."_block11.png"
set multiplot layout 1,3 title prefix.": block-11 fraction of W_l(t) - W_l(0) (mean over seeds, band = min..max), optimizer ".optim
set xlabel "step"
set yrange [0:1.02]
set key bottom left
do for [l=1:3] {
    set title sprintf("layer %d", l)
    c = 3 + 6 * (l - 1)
    plot for [a in acts] dir."/".prefix."_frac_".optim."_".a.".csv" every ::1 using 1:(column(c+4)):(column(c+5)) with filledcurves fs transparent solid 0.15 lc act_lc(a) notitle, \
         for [a in acts] dir."/".prefix."_frac_".optim."_".a.".csv" every ::1 using 1:(column(c)) with lines lw 2 lc act_lc(a) title a
}
unset multiplot
