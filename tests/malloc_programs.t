#!/bin/sh
# SPDX-License-Identifier: MIT
# Real programs on libpercpu-malloc (LD_PRELOAD): python3 with
# PYTHONMALLOC=malloc (every Python object through malloc) running a
# workload of dicts, lists, strings and threads; sqlite3 building and
# querying a generated database; gcc compiling a file. Each must print
# the same as without the preload, in rseq mode, lock mode and with
# concurrency ids; a program with a copy of the library of its own counts
# exactly beside the allocator's; and a program run with
# PERCPU_MALLOC_STATS=FILE writes its statistics there at exit, as
# Prometheus text.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_LEASE PERCPU_MALLOC_STATS
lib=$(cd "$BUILD" && pwd)/libpercpu-malloc.so
skip_if_malloc_replaced
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cat >"$dir/work.py" <<'PY'
import threading, json, hashlib
def work(seed, out):
    d = {}
    for i in range(20000):
        k = "k%d" % ((i * seed) % 5003)
        d.setdefault(k, []).append(str(i) * (i % 7))
        if i % 3 == 0:
            d.pop("k%d" % ((i * 31) % 5003), None)
    out[seed] = hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()
out = {}
ts = [threading.Thread(target=work, args=(s, out)) for s in range(1, 9)]
for t in ts: t.start()
for t in ts: t.join()
print(sorted(out.items()))
print(sum(len(str(x)) for x in range(200000)))
PY

cat >"$dir/db.sql" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000)
INSERT INTO t SELECT x, printf('name-%d-%s', x, hex(x * 7919)), x * 0.5 FROM c;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(v), max(name) FROM t;
SELECT name FROM t WHERE name LIKE 'name-4999%' ORDER BY name LIMIT 5;
SELECT length(group_concat(name)) FROM t GROUP BY id % 10 ORDER BY 1;
SQL

cat >"$dir/prog.c" <<'C'
#include <stdio.h>
struct point { double x, y; };
static double dot(struct point a, struct point b) { return a.x * b.x + a.y * b.y; }
int main(void) { struct point p = { 1, 2 }, q = { 3, 4 }; printf("%g\n", dot(p, q)); return 0; }
C

# same name cmd...: the command's output with the preload, in each mode,
# equals its output without.
same() {
	s_name=$1
	shift
	want=$("$@" 2>&1)
	for mode in rseq lock cid; do
		case $mode in
		rseq) env="" ;;
		lock) env="PERCPU_DISABLE_RSEQ=1" ;;
		cid) env="PERCPU_INDEX=cid" ;;
		esac
		got=$(env $env LD_PRELOAD="$lib" "$@" 2>&1)
		if [ $? -eq 0 ] && [ "$got" = "$want" ] && [ -n "$want" ]; then
			tap_line OK "$s_name, $mode: same output as without"
		else
			echo "$got" | head -5 | sed 's/^/    # /'
			tap_line NOTOK "$s_name, $mode: output differs"
		fi
	done
}

if command -v python3 >/dev/null 2>&1; then
	same "python3 PYTHONMALLOC=malloc" env PYTHONMALLOC=malloc python3 "$dir/work.py"
else
	echo "# SKIP python3 not installed"
fi
if command -v sqlite3 >/dev/null 2>&1; then
	rm -f "$dir/t.db"
	same "sqlite3" sh -c "rm -f '$dir/t.db' && sqlite3 '$dir/t.db' < '$dir/db.sql'"
else
	echo "# SKIP sqlite3 not installed (scripts/install-deps)"
fi
if command -v gcc >/dev/null 2>&1; then
	same "gcc compiles and the program runs" sh -c \
		"gcc -O2 -o '$dir/prog' '$dir/prog.c' && '$dir/prog'"
fi

# Two copies of the library: the allocator's own and a program's
# (examples/request_counter, linked with libpercpu.a), which checks its
# totals itself. With glibc's rseq off each copy registers an area of its
# own, and the one that comes second runs in lock mode (EINVAL).
for tunables in "" glibc.pthread.rseq=0; do
	if out=$(env ${tunables:+GLIBC_TUNABLES=$tunables} LD_PRELOAD="$lib" \
		"$BUILD/examples/request_counter" 2>&1); then
		tap_line OK "two copies of the library${tunables:+, $tunables}: exact totals"
	else
		echo "$out" | head -5 | sed 's/^/    # /'
		tap_line NOTOK "two copies of the library${tunables:+, $tunables}: totals wrong"
	fi
done

# Address space limited: a smaller range (2 GiB of 3), or none at all (600
# MB), when every object is a mapping of its own.
if command -v sqlite3 >/dev/null 2>&1; then
	q="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT count(*), sum(length(printf('%d-%d', x, x * x))) FROM c;"
	want=$(sqlite3 :memory: "$q" 2>&1)
	for kb in 3000000 600000; do
		got=$(ulimit -v $kb && PERCPU_MALLOC_STATS="$dir/limit.prom" \
			LD_PRELOAD="$lib" sqlite3 :memory: "$q" 2>&1)
		range=$(sed -n 's/^percpu_malloc_range_bytes //p' "$dir/limit.prom" 2>/dev/null)
		if [ "$got" = "$want" ] && [ -n "$want" ]; then
			tap_line OK "sqlite3 with ulimit -v $kb: same output (range $range bytes)"
		else
			tap_line NOTOK "sqlite3 with ulimit -v $kb: output differs"
		fi
	done
fi

# Statistics at exit.
PERCPU_MALLOC_STATS="$dir/stats.prom" LD_PRELOAD="$lib" sh -c 'ls / >/dev/null'
if grep -q '^percpu_malloc_in_use_bytes{class="64"} ' "$dir/stats.prom" 2>/dev/null &&
	grep -q '^percpu_malloc_malloc_hits_total{class="16"} [1-9]' "$dir/stats.prom"; then
	tap_line OK "PERCPU_MALLOC_STATS=FILE: Prometheus text written at exit, hits counted"
else
	tap_line NOTOK "PERCPU_MALLOC_STATS=FILE: no statistics at exit"
fi
if command -v promtool >/dev/null 2>&1; then
	if promtool check metrics <"$dir/stats.prom" >/dev/null 2>&1; then
		tap_line OK "promtool accepts the statistics"
	else
		promtool check metrics <"$dir/stats.prom" 2>&1 | head -5 | sed 's/^/    # /'
		tap_line NOTOK "promtool rejects the statistics"
	fi
fi
tap_done
