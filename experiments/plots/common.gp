# Shared settings for the dynamics plots. Callers set: dir (CSV directory), out (PNG directory).
if (!exists("dir")) dir = "dyn_out"
if (!exists("out")) out = "dyn_out"
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1200,800 font "sans,11" noenhanced
} else {
    set terminal png size 1200,800 noenhanced
}
set datafile separator ","
set key autotitle columnhead
set grid
set format x "%g"
set xtics rotate by -30 font ",9"
# One colour per activation in every panel and figure: its position in this list.
all_acts = "identity tanh elu silu gelu relu leaky_relu rrelu sigmoid softplus gelu_tanh"
act_lc(a) = sum [j=1:words(all_acts)] (word(all_acts, j) eq a ? j : 0)
