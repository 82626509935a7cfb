# SPDX-License-Identifier: MIT
# Lays out the report of scripts/bench-malloc-report from its CSV
# (allocator,workload,threads,metric,median,min,max,p25,p75,reps,noisy). Set by the
# caller: cpus, order (the allocators run, space-separated, in table
# order), missing (allocators not run: n/a rows), bars and tics (files
# for bench-malloc-chart.gp: per thread count a block of "x ns colour"
# and of "x workload"), bindings (lines "allocator library": what
# redis-server's malloc resolved to). Prints the Markdown tables.

function heading(t) {
	if (t == 1) return "1 thread"
	if (t == cpus) return t " threads (1 per CPU)"
	if (t > cpus && t % cpus == 0) return t " threads (" t / cpus " per CPU)"
	return t " threads"
}

function num(v) {
	return v >= 100 ? sprintf("%.0f", v) : v >= 10 ? sprintf("%.1f", v) : sprintf("%.2f", v)
}

# A cell: the median, ±half the interquartile range in % of it (the
# range itself is at the mercy of one disturbed run), * when most runs were
# noisy; "fail" when every run failed, "-" when not run.
function cell(a, w, t, m,    k, s) {
	k = a SUBSEP w SUBSEP t
	if (!((k, m) in med))
		return (k, "failed") in med ? "fail" : "-"
	s = num(med[k, m] * scale[m])
	if (reps[k, m] > 1 && med[k, m] > 0)
		s = s sprintf(" ±%.0f%%", 50 * (q3[k, m] - q1[k, m]) / med[k, m])
	if (noisy[k, m] * 2 > reps[k, m])
		s = s "*"
	return s
}

# One table: a row per workload and allocator, a column per thread count.
function table(m, title,    i, j, a, line) {
	print "#### " title
	print ""
	line = "| workload | allocator |"
	for (j = 1; j <= nthreads; j++)
		line = line " " heading(tcount[j]) " |"
	print line
	line = "|---|---|"
	for (j = 1; j <= nthreads; j++)
		line = line "---|"
	print line
	for (i = 1; i <= nworkloads; i++) {
		for (a = 1; a <= nalloc; a++) {
			line = "| " wname[i] " | " alloc[a] " |"
			for (j = 1; j <= nthreads; j++)
				line = line " " cell(alloc[a], wname[i], tcount[j], m) " |"
			print line
		}
		for (a = 1; a <= nmissing; a++) {
			line = "| " wname[i] " | " gone[a] " |"
			for (j = 1; j <= nthreads; j++)
				line = line " n/a |"
			print line
		}
	}
	print ""
}

function rss_table(    a, j, line, k) {
	print "#### Resident memory (MB, VmRSS): at start, and with N threads alive, each holding 8 objects of 16 B-4 KiB"
	print ""
	line = "| allocator | at start |"
	for (j = 1; j <= nrss; j++)
		line = line " " heading(rcount[j]) " |"
	print line
	line = "|---|---|"
	for (j = 1; j <= nrss; j++)
		line = line "---|"
	print line
	for (a = 1; a <= nalloc; a++) {
		line = "| " alloc[a] " | " cell(alloc[a], "rss", rcount[nrss], "rss_start_kb") " |"
		for (j = 1; j <= nrss; j++)
			line = line " " cell(alloc[a], "rss", rcount[j], "rss_threads_kb") " |"
		print line
	}
	for (a = 1; a <= nmissing; a++) {
		line = "| " gone[a] " | n/a |"
		for (j = 1; j <= nrss; j++)
			line = line " n/a |"
		print line
	}
	print ""
}

function redis_table(    a, r, line) {
	print "#### redis-server 50 clients, pipeline 16 (server on CPU 0, redis-benchmark on CPU 1)"
	print ""
	print "| allocator | redis-server's malloc resolves to | requests/s | server CPU s per million requests | server peak RSS (MB) |"
	print "|---|---|---|---|---|"
	for (a = 1; a <= nredis; a++) {
		r = ralloc[a]
		line = "| " r " | " (r in bound ? bound[r] : "?") " | " cell(r, "redis", 50, "requests_per_s")
		line = line " | " cell(r, "redis", 50, "cpu_s_per_M") " | " cell(r, "redis", 50, "peak_rss_kb") " |"
		print line
	}
	for (a = 1; a <= nmissing; a++)
		print "| " gone[a] " | n/a | n/a | n/a | n/a |"
	print ""
}

# The chart's data: per thread count a block of bars and one of tics.
function chart(    i, j, a, x, k) {
	for (j = 1; j <= nthreads; j++) {
		for (i = 1; i <= nworkloads; i++) {
			for (a = 1; a <= nalloc; a++) {
				x = (i - 1) * (nalloc + 1) + a - 1
				k = alloc[a] SUBSEP wname[i] SUBSEP tcount[j]
				if ((k, "ns_per_pair") in med)
					printf "%d %g %d\n", x, med[k, "ns_per_pair"], a >bars
			}
			printf "%g %s\n", (i - 1) * (nalloc + 1) + (nalloc - 1) / 2, wname[i] >tics
		}
		printf "\n\n" >bars
		printf "\n\n" >tics
	}
}

function sort_numbers(v, n,    i, j, x) {
	for (i = 2; i <= n; i++) {
		x = v[i]
		for (j = i - 1; j >= 1 && v[j] + 0 > x + 0; j--)
			v[j + 1] = v[j]
		v[j + 1] = x
	}
}

BEGIN {
	nalloc = split(order, alloc, " ")
	nmissing = split(missing, gone, " ")
	scale["ns_per_pair"] = scale["cpu_ns_per_pair"] = 1
	scale["requests_per_s"] = scale["cpu_s_per_M"] = 1
	scale["peak_rss_kb"] = scale["rss_start_kb"] = scale["rss_threads_kb"] = 1 / 1024
	while ((getline line < bindings) > 0) {
		split(line, b, " ")
		bound[b[1]] = b[2] == "" ? "?" : b[2]
	}
}

NR > 1 {
	k = $1 SUBSEP $2 SUBSEP $3
	med[k, $4] = $5
	q1[k, $4] = $8
	q3[k, $4] = $9
	reps[k, $4] = $10
	noisy[k, $4] = $11
	if ($2 == "redis") {
		if (!($1 in isredis)) {
			isredis[$1] = 1
			ralloc[++nredis] = $1
		}
	} else if ($2 == "rss") {
		if (!($3 in isrss)) {
			isrss[$3] = 1
			rcount[++nrss] = $3
		}
	} else {
		if (!($2 in isw)) {
			isw[$2] = 1
			wname[++nworkloads] = $2
		}
		if (!($3 in ist)) {
			ist[$3] = 1
			tcount[++nthreads] = $3
		}
	}
}

END {
	sort_numbers(tcount, nthreads)
	sort_numbers(rcount, nrss)
	if (nworkloads > 0) {
		table("ns_per_pair", "ns per malloc+free pair (wall time x min(threads, CPUs) / pairs; lower is better)")
		table("cpu_ns_per_pair", "CPU ns per malloc+free pair (user+system time / pairs)")
		table("peak_rss_kb", "Peak RSS (MB, /usr/bin/time -f %M)")
	}
	if (nrss > 0)
		rss_table()
	if (nredis > 0)
		redis_table()
	chart()
}
