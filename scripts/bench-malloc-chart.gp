# SPDX-License-Identifier: MIT
# The chart of scripts/bench-malloc-report: a panel per thread count, a
# cluster of bars per workload, a colour per allocator, ns per malloc+free
# pair on a log scale, each bar labelled with its figure. Set by the
# caller: bars and tics (files from bench-malloc-layout.awk), png (the
# output), threads (the counts, space-separated, in the files' block
# order), allocs (the allocators, space-separated, colours 1..n), nallocs,
# cpus.

array hue[8] = [0x808080, 0xd62728, 0x2ca02c, 0xff7f0e, 0x1f77b4, 0x74c0f0, 0x7b3294, 0x000000]

panels = words(threads)
set terminal pngcairo noenhanced size 1400, 160 + 420 * panels font "DejaVu Sans,12"
set output png

stats bars using 2 nooutput
low = STATS_min > 0.1 ? STATS_min : 0.1
set logscale y
set yrange [10 ** floor(log10(low)) : 10 ** ceil(log10(STATS_max * 20))]
label_of(v) = sprintf(v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v)

set style fill solid 1.0 noborder
set boxwidth 0.85
set grid ytics
set xtics nomirror scale 0 font ",12"
set ylabel "ns per malloc+free pair (log scale)"

title_of(t) = t == 1 ? "1 thread" : \
	t == cpus ? sprintf("%d threads: one per CPU", t) : \
	t > cpus ? sprintf("%d threads: %d per CPU, wall time x CPUs / pairs", t, t / cpus) : \
	sprintf("%d threads", t)

set multiplot layout panels, 1 \
	title sprintf("bench-malloc, %d online CPUs: ns per malloc+free pair, lower is better", \
		      cpus) font ",15"
set key top left horizontal font ",11"
do for [i = 1 : panels] {
	if (i > 1) {
		unset key
	}
	set title title_of(word(threads, i) + 0) font ",13"
	plot bars index (i - 1) using 1:2:(hue[int($3)]) \
		with boxes lc rgb variable notitle, \
	     '' index (i - 1) using 1:2:(label_of($2)) \
		with labels rotate by 90 left offset 0, 0.3 font ",8" notitle, \
	     tics index (i - 1) using 1:(NaN):xtic(2) notitle, \
	     for [m = 1 : nallocs] NaN with boxes lc rgb hue[m] title word(allocs, m)
}
unset multiplot
