# Fig. 5 analogue: block fractions per layer for SGD-momentum, Adam, Muon (cross-entropy, raw data).
if (!exists("plots")) plots = "experiments/plots"
load plots."/common.gp"
if (!exists("act")) act = "gelu"
optims = "sgd adam muon"
set output out."/optim_blocks.png"
set multiplot layout 2,3 title "Optimizers (cross-entropy, unwhitened clusters, mini-batches), ".act.": block fractions"
set xlabel "step"
set yrange [0:1.02]
do for [l=1:3] {
    set title sprintf("layer %d: block 11", l)
    set key bottom left
    c = 3 + 6 * (l - 1)
    plot for [i=1:3] dir."/optim_frac_".word(optims,i)."_".act.".csv" every ::1 using 1:(column(c)) with lines lw 2 lc i title word(optims,i)
}
do for [l=1:3] {
    set title sprintf("layer %d: blocks 12 (dashed), 21 (solid), 22 (dotted)", l)
    set key top left
    c = 3 + 6 * (l - 1)
    plot for [i=1:3] dir."/optim_frac_".word(optims,i)."_".act.".csv" every ::1 using 1:(column(c+2)) with lines lw 2 lc i title word(optims,i)." 21", \
         for [i=1:3] dir."/optim_frac_".word(optims,i)."_".act.".csv" every ::1 using 1:(column(c+1)) with lines lw 2 dt 2 lc i title word(optims,i)." 12", \
         for [i=1:3] dir."/optim_frac_".word(optims,i)."_".act.".csv" every ::1 using 1:(column(c+3)) with lines lw 2 dt 3 lc i title word(optims,i)." 22"
}
unset multiplot
