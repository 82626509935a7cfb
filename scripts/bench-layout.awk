# SPDX-License-Identifier: MIT
# Lays out the report of scripts/bench-report. Input: the combined CSV
# (benchmark,mode,threads,ns_per_op). Writes, for the chart, one block per
# thread count (blocks separated by two blank lines, in the order the
# counts come):
#   bars: x, ns/op, colour (the mode's) for every bar
#   tics: x and name of every benchmark's cluster
# the Markdown table of the same figures into `table`, and on stdout the
# gnuplot settings `xmax` (the last bar's x) and `colours` (those used).
# Oversubscribed figures are scaled by cpus/threads: see scale().

# Colour of each mode, which is also its place in a cluster and the table.
function colour(mode) {
	if (mode == "rseq") return 1
	if (mode == "rseq_cid") return 2
	if (mode == "lock") return 3
	if (mode == "lock_cid") return 4
	if (mode == "-") return 6
	return 5	# mixed: some threads were on the lock path
}

# percpu-bench's figure is wall time per operation per thread; with more
# threads than CPUs each thread waits its turn, so the machine's cost per
# operation is the figure times cpus/threads.
function scale(ns, threads) {
	return threads > cpus ? ns * cpus / threads : ns
}

function heading(t) {
	if (t == 1) return "1 thread"
	if (t == cpus) return t " threads (1 per CPU)"
	if (t > cpus && t % cpus == 0) return t " threads (" t / cpus " per CPU)"
	return t " threads"
}

NR > 1 {
	if (!($1 in cluster)) {
		cluster[$1] = ++nclusters
		name[nclusters] = $1
	}
	if (!($3 in block)) {
		block[$3] = ++nblocks
		count[nblocks] = $3
	}
	m = colour($2)
	mode[cluster[$1], m] = $2
	ns[cluster[$1], m, $3] = scale($4, $3)
	used[m] = 1
}

function write_chart(   b, c, m, sep) {
	for (b = 1; b <= nblocks; b++) {
		sep = b > 1 ? "\n\n" : ""
		printf "%s", sep >bars
		printf "%s", sep >tics
		for (c = 1; c <= nclusters; c++) {
			printf "%g \"%s\"\n", centre[c], name[c] >tics
			for (m = 1; m <= 6; m++)
				if ((c, m, count[b]) in ns)
					printf "%g %.2f %d\n", at[c, m],
					       ns[c, m, count[b]], m >bars
		}
	}
}

function write_table(   b, c, m) {
	printf "| benchmark | mode |" >table
	for (b = 1; b <= nblocks; b++)
		printf " %s |", heading(count[b]) >table
	printf "\n|---|---|" >table
	for (b = 1; b <= nblocks; b++)
		printf "---|" >table
	printf "\n" >table
	for (c = 1; c <= nclusters; c++)
		for (m = 1; m <= 6; m++)
			if ((c, m) in mode) {
				printf "| `%s` | %s |", name[c], mode[c, m] >table
				for (b = 1; b <= nblocks; b++)
					printf " %.2f |", ns[c, m, count[b]] >table
				printf "\n" >table
			}
}

END {
	x = 0
	for (c = 1; c <= nclusters; c++) {
		first = x
		for (m = 1; m <= 6; m++)
			if ((c, m) in mode)
				at[c, m] = x++
		centre[c] = (first + x - 1) / 2
		x++	# a gap between clusters
	}
	write_chart()
	write_table()
	for (m = 1; m <= 6; m++)
		if (m in used)
			colours = colours " " m
	printf "xmax=%d; colours='%s'\n", x - 2, colours
}
