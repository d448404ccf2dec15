# Fashion-MNIST: block fractions of layers 1-3 of a 784-wide GELU net and its singular values.
if (!exists("plots")) plots = "experiments/plots"
load plots."/common.gp"
if (!exists("act")) act = "gelu"
set output out."/fashion_blocks.png"
set multiplot layout 2,3 title "Fashion-MNIST subset, 4-layer 784-wide ".act." net, full-batch GD on SSE"
set xlabel "GD step"
do for [l=1:3] {
    set title sprintf("layer %d: block fractions", l)
    set yrange [0:1.02]
    set key center right
    c = 3 + 6 * (l - 1)
    f = dir."/fashion_frac_gd_".act.".csv"
    plot f every ::1 using 1:(column(c)) with lines lw 2 title "11", \
         f every ::1 using 1:(column(c+1)) with lines lw 2 title "12", \
         f every ::1 using 1:(column(c+2)) with lines lw 2 title "21", \
         f every ::1 using 1:(column(c+3)) with lines lw 2 title "22"
}
set logscale y
set format y "%g"
set key noautotitle
set yrange [*:*]
unset key
do for [l=0:2] {
    set title sprintf("layer %d: top and bottom 16 singular values", l + 1)
    f = dir."/fashion_gd_".act."_seed1.csv"
    g(i) = sprintf("< awk -F, '$2==%d && $3==\"singular_value\" && $4==%d {print $1\",\"$5}' %s", l, i, f)
    plot for [i=0:15] g(i) using 1:2 with lines lw 1 lc 1, for [i=768:783] g(i) using 1:2 with lines lw 1 lc 3
}
unset multiplot
