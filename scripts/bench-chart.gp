# SPDX-License-Identifier: MIT
# The chart of scripts/bench-report: a panel per thread count, a cluster of
# bars per benchmark, a colour per mode, ns/op on a log scale, each bar
# labelled with its figure. Set by the caller: bars and tics (files from
# bench-layout.awk), png (the output), threads (the counts, space-separated,
# in the order of the files' blocks), cpus, xmax, colours (those used).

array hue[6] = [0x1f77b4, 0x74c0f0, 0xd95f02, 0xf5b070, 0x7b3294, 0x808080]
array name[6] = ["rseq", "rseq, concurrency ids", "lock path", \
		 "lock path, concurrency ids", "mixed", "baseline"]

panels = words(threads)
width = 260 + 24 * (xmax + 1)
width = width < 1100 ? 1100 : width
height = 205 + 460 * panels
set terminal pngcairo noenhanced size width, height font "DejaVu Sans,12"
set output png

# One y range for every panel, in whole decades, so panels compare; above
# the highest bar, room for its label. A figure printed as 0.00 has no
# place on a log scale: start at 0.01.
stats bars using 2 nooutput
low = STATS_min > 0.01 ? STATS_min : 0.01
set logscale y
set yrange [10 ** floor(log10(low)) : 10 ** ceil(log10(STATS_max * 30))]
label_of(v) = sprintf(v >= 100 ? "%.0f" : v >= 1 ? "%.1f" : "%.2f", v)

set style fill solid 1.0 noborder
set boxwidth 0.85
set grid ytics
set xrange [-1 : xmax + 1]
set xtics rotate by 45 right nomirror scale 0 font ",12"
set ylabel "ns per operation (log scale)"

title_of(t) = t == 1 ? "1 thread" : \
	t == cpus ? sprintf("%d threads: one per CPU", t) : \
	t > cpus ? sprintf("%d threads: %d per CPU, ns/op scaled by CPUs/threads", \
			   t, t / cpus) : \
	sprintf("%d threads", t)

# Fixed margins in pixels: room above for the title and the key (drawn
# with the first panel), below each panel for the names.
px(n) = n * 1.0 / height
set multiplot layout panels, 1 \
	margins 110.0 / width, 1 - 20.0 / width, px(185), 1 - px(150) \
	spacing 0, px(190) \
	title sprintf("percpu-bench, %d online CPUs: ns per operation, lower is better", \
		      cpus) font ",15"
set key at screen 0.5, screen 1 - px(40) center top vertical maxrows 2 font ",12"
do for [i = 1 : panels] {
	if (i > 1) {
		unset key
	}
	set title title_of(word(threads, i) + 0) font ",13"
	plot bars index (i - 1) using 1:2:(hue[int($3)]) \
		with boxes lc rgb variable notitle, \
	     '' index (i - 1) using 1:2:(label_of($2)) \
		with labels rotate by 90 left offset 0, 0.4 font ",10" notitle, \
	     tics index (i - 1) using 1:(NaN):xtic(2) notitle, \
	     for [m in colours] NaN with boxes lc rgb hue[m + 0] \
		title name[m + 0]
}
unset multiplot
