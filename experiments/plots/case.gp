# Fig. 2 analogue: singular values of W_1..W_3 over training and the rotation of their
# top-K / middle / bottom-K singular subspaces, GELU vs ReLU.
if (!exists("plots")) plots = "experiments/plots"
load plots."/common.gp"
if (!exists("acts")) acts = "gelu relu"
if (!exists("nsv")) nsv = 32
set output out."/case_singular_values.png"
set multiplot layout 2,3 title "Case study (L = 4, d = m = 32, K = 4): singular values of W_l(t)"
set xlabel "GD step"
set ylabel "sigma_i(W_l)"
set logscale y
set format y "%g"
set key noautotitle
unset key
do for [a in acts] {
    do for [l=0:2] {
        set title sprintf("%s, layer %d", a, l + 1)
        f = dir."/case_gd_".a."_seed1.csv"
        plot for [i=0:nsv-1] sprintf("< awk -F, '$2==%d && $3==\"singular_value\" && $4==%d {print $1\",\"$5}' %s", l, i, f) using 1:2 with lines lw 1 lc i % 8 + 1
    }
}
unset multiplot
unset logscale y
set format y "%g"
set key autotitle columnhead
set output out."/case_rotation.png"
set multiplot layout 2,3 title "Case study: rotation of singular subspaces of W_l(t) vs W_l(t_1), t_1 = first record, ||sin Theta||_F / sqrt(dim)"
set yrange [0:1.02]
set key top left
set ylabel "normalized ||sin Theta||"
do for [a in acts] {
    do for [l=1:3] {
        set title sprintf("%s, layer %d (solid: left, dashed: right)", a, l)
        f = dir."/case_rotation_".a."_seed1.csv"
        c = 2 + 6 * (l - 1)
        plot f using 1:(column(c)) with lines lw 2 lc 1 title "top-K", \
             f using 1:(column(c+1)) with lines lw 2 lc 2 title "middle", \
             f using 1:(column(c+2)) with lines lw 2 lc 3 title "bottom-K", \
             f using 1:(column(c+3)) with lines dt 2 lc 1 notitle, \
             f using 1:(column(c+4)) with lines dt 2 lc 2 notitle, \
             f using 1:(column(c+5)) with lines dt 2 lc 3 notitle
    }
}
unset multiplot
