# Figures of docs/adaptation.md from summarize.sh's output:
#   gnuplot -e "dir='DIR'; out='docs/figures'; tag=''" experiments/adapt/plot.gp
# dir holds summary_shift.csv, summary_rotate.csv, spectrum_*.csv,
# suggest_*.csv and summary_compress.csv (when present); tag is appended to
# the accuracy figure's name (e.g. '_lr3e-3') and title.
if (!exists("dir")) dir = "."
if (!exists("out")) out = "."
if (!exists("tag")) tag = ""
if (!exists("lrtxt")) lrtxt = "Adam lr 1e-3"
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1200,480 font "sans,10" noenhanced
} else {
    set terminal png size 1200,480 noenhanced
}
set datafile separator ","
set grid
set key bottom right

set output out."/adaptation_accuracy".tag.".png"
set multiplot layout 1,2 title "Fashion-MNIST adaptation (784-256-256 GELU base, 5000 samples, 3 epochs, ".lrtxt.", batch 64; mean +- std of 3 seeds)"
set logscale x
set xlabel "trainable parameters"
set ylabel "test accuracy on the new task"
do for [task in "shift rotate"] {
    f = dir."/summary_".task.".csv"
    set title task eq "shift" ? "classes 0-4 -> classes 5-9 (fresh output layer)" : "upright -> rotated 90 degrees"
    plot for [m in "lora pissa gradient"] f using (strcol(1) eq m ? $3 : 1/0):5:6 skip 1 with yerrorlines lw 2 title m, \
         f using (strcol(1) eq "full" ? $3 : 1/0):5:6 skip 1 with yerrorbars pt 7 ps 1.5 lc rgb "black" title "full fine-tuning", \
         f using (strcol(1) eq "head" ? $3 : 1/0):5:6 skip 1 with yerrorbars pt 5 ps 1.5 lc rgb "gray40" title "last layer only"
}
unset multiplot
unset logscale x

if (tag eq "") {
    set output out."/adaptation_spectrum.png"
    set multiplot layout 1,2 title "Singular values of the new task's gradient at the start (5000 samples), relative to the largest"
    set logscale y
    set xlabel "index i"
    set ylabel "sigma_i / sigma_1"
    set key top right
    do for [task in "shift rotate"] {
        f = dir."/spectrum_".task.".csv"
        set title task
        plot for [l=0:1] sprintf("< awk -F, 'NR > 1 && $1 == %d { if (!s) s = $3; print $2 \",\" $3 / s }' %s", l, f) using 1:2 with linespoints lw 2 title sprintf("layer %d", l)
    }
    unset multiplot
    unset logscale y
    if (strlen(system("ls ".dir."/project_shift.csv 2>/dev/null")) > 0) {
        set terminal pngcairo size 1200,800 font "sans,10" noenhanced
        set output out."/adaptation_projection.png"
        set multiplot layout 2,2 title "Share of full fine-tuning's change D = W(3 epochs) - W(0) inside rank-r subspaces: ||D V_r||^2 / ||D||^2 (input side), ||U_r^T D||^2 / ||D||^2 (output side)"
        set logscale x 2
        set yrange [0:1]
        set xlabel "r"
        set ylabel "share of ||D||_F^2"
        set key top left
        do for [task in "shift rotate"] {
            do for [l=0:1] {
                f = dir."/project_".task.".csv"
                set title sprintf("%s, layer %d", task, l)
                sel(side, basis) = sprintf("< awk -F, '$1 == %d && $3 == \"%s\" && $4 == \"%s\"' %s", l, side, basis, f)
                plot sel("in", "gradient") using 2:5 with linespoints lw 2 lc 1 title "input side, top-r of G(0)", \
                     sel("in", "weights") using 2:5 with linespoints lw 2 lc 2 title "input side, top-r of W0 (PiSSA)", \
                     sel("in", "random") using 2:5 with lines dt 2 lw 2 lc 3 title "input side, random (r / in)", \
                     sel("out", "gradient") using 2:5 with linespoints lw 2 dt 4 lc 1 title "output side, top-r of G(0)", \
                     sel("out", "weights") using 2:5 with linespoints lw 2 dt 4 lc 2 title "output side, top-r of W0"
            }
        }
        unset multiplot
        unset yrange
        unset logscale x
    }
    if (strlen(system("ls ".dir."/summary_compress.csv 2>/dev/null")) > 0) {
        set output out."/compression.png"
        set terminal pngcairo size 800,480 font "sans,10" noenhanced
        set title "Compression of the 10-class base (784-256-256-10 GELU, 20000 samples, 5 epochs)"
        set logscale x 2
        set xlabel "rank r (both hidden layers)"
        set ylabel "test accuracy (upright test set)"
        f = dir."/summary_compress.csv"
        stats f using (strcol(1) eq "dense" ? $4 : 1/0) skip 1 nooutput
        dense = STATS_max
        stats f using (strcol(1) eq "dense+ft" ? $4 : 1/0) skip 1 nooutput
        densef = STATS_max
        set key bottom right
        plot f using (strcol(1) eq "svd" ? $2 : 1/0):4 skip 1 with linespoints lw 2 title "truncated SVD", \
             f using (strcol(1) eq "svd+ft" ? $2 : 1/0):4:5 skip 1 with yerrorlines lw 2 title "SVD + 3 epochs fine-tuning", \
             f using (strcol(1) eq "sbig" ? $2 : 1/0):4:5 skip 1 with yerrorlines lw 2 title "low-rank net from S_big, 8 epochs from scratch", \
             f using (strcol(1) eq "random" ? $2 : 1/0):4:5 skip 1 with yerrorlines lw 2 dt 3 title "low-rank net, random subspace, 8 epochs", \
             dense with lines dt 2 lc rgb "black" title "dense base (5 epochs)", \
             densef with lines dt 4 lc rgb "gray40" title "dense base + 3 epochs"
    }
}
