# SPDX-License-Identifier: MIT
# Sums up the log of scripts/bench-malloc-report (one key=value line per
# kept run) as CSV: one row per allocator x workload x threads x metric,
# with the median, minimum and maximum over the repetitions, the lower and
# upper quartiles (nearest rank: the 2nd and 6th of 7), the count of
# repetitions, and how many of them were kept though noisy. A cell with failed runs
# gets a row of metric "failed" (median = number of failures).

# Median of the n values v[1..n], sorted in place.
function median(v, n,    i, j, x) {
	for (i = 2; i <= n; i++) {
		x = v[i]
		for (j = i - 1; j >= 1 && v[j] > x; j--)
			v[j + 1] = v[j]
		v[j + 1] = x
	}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

BEGIN {
	OFS = ","
	nm = split("ns_per_pair cpu_ns_per_pair maxrss_kb rss_start_kb rss_threads_kb" \
		   " requests_per_s cpu_s_per_M foreign_pct lost_pct", metrics, " ")
	print "allocator,workload,threads,metric,median,min,max,p25,p75,reps,noisy"
}

{
	delete f
	for (i = 1; i <= NF; i++) {
		eq = index($i, "=")
		f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	cell = f["alloc"] OFS f["workload"] OFS f["threads"]
	if (!(cell in seen)) {
		seen[cell] = 1
		cells[++ncells] = cell
	}
	if (f["failed"] == 1) {
		failed[cell]++
		next
	}
	if (f["noisy"] == 1)
		noisy[cell]++
	for (m = 1; m <= nm; m++) {
		k = metrics[m]
		if (k in f)
			val[cell, k, ++count[cell, k]] = f[k] + 0
	}
}

END {
	for (c = 1; c <= ncells; c++) {
		cell = cells[c]
		for (m = 1; m <= nm; m++) {
			k = metrics[m]
			n = count[cell, k]
			if (n == 0)
				continue
			for (i = 1; i <= n; i++)
				v[i] = val[cell, k, i]
			med = median(v, n)
			q = int((n + 3) / 4)
			name = k == "maxrss_kb" ? "peak_rss_kb" : k
			print cell, name, med, v[1], v[n], v[q], v[n + 1 - q], n, noisy[cell] + 0
		}
		if (failed[cell])
			print cell, "failed", failed[cell], "", "", "", "", failed[cell], 0
	}
}
