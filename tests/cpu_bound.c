// SPDX-License-Identifier: MIT
/*
 * tests/cpu_bound.c: the number of shards when /sys does not say how many
 * CPUs are possible. The rseq sections index shards by cpu_id_start with
 * no bounds check, so the count must cover every id the kernel can report:
 * the kernel's CPU mask size, at least the count /sys gives. With neither
 * (sched_getaffinity refused as well), nothing bounds the ids and the
 * process must run in lock mode. Either way a thread pinned to each CPU in
 * turn adds to its own shard, and every add is counted exactly.
 *
 * A /sys that lists fewer CPUs than the thread may run on (a container's
 * stale copy) must not be believed that far.
 *
 * PERCPU_TEST_CPUS=nosys, none or short selects the case; the hook is set in a
 * constructor that runs before the library's (priority 101).
 */
#include <fcntl.h>
#include <unistd.h>
#include "tap.h"

#define ADDS 100000

__attribute__((constructor(101))) static void hide_cpus(void)
{
	const char *how = getenv("PERCPU_TEST_CPUS");

	if (how && !strcmp(how, "nosys"))
		percpu_inject.cpus_fail = 1;
	else if (how && !strcmp(how, "none"))
		percpu_inject.cpus_fail = 2;
	else if (how && !strcmp(how, "short"))
		percpu_inject.sys_possible = "0\n";
}

/* What /sys says, read by the test itself: one past the highest id. */
static int sys_possible(void)
{
	char buf[256];
	int fd = open("/sys/devices/system/cpu/possible", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	char *last;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	last = buf + strcspn(buf, "\n");
	while (last > buf && last[-1] >= '0' && last[-1] <= '9')
		last--;
	return atoi(last) + 1;
}

int main(void)
{
	const char *how = getenv("PERCPU_TEST_CPUS");
	int none = how && !strcmp(how, "none");
	int n = percpu_nr_shards(), sys = sys_possible();
	intptr_t *counter = percpu_alloc(sizeof(intptr_t));
	const char *reason;
	enum percpu_mode mode = percpu_mode_get(&reason);
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int pinned = 0;

	if (how && !strcmp(how, "short")) {
		ok(n >= online,
		   "/sys listing one CPU of %ld allowed: %d shards", online, n);
		tap_check_mode();
	} else if (none) {
		ok(n == 1, "no bound on CPU ids: one shard (%d)", n);
		ok(mode == PERCPU_MODE_LOCK && strstr(reason, "no bound"),
		   "no bound on CPU ids: lock mode (%s)", reason);
	} else {
		ok(n >= sys && n % 64 == 0,
		   "without /sys: %d shards, a whole kernel mask, at least "
		   "the %d /sys gives", n, sys);
		tap_check_mode();
	}
	for (int cpu = 0; cpu < online; cpu++) {
		if (test_pin_to(cpu))
			continue;
		pinned++;
		for (int i = 0; i < ADDS; i++)
			percpu_add(counter, 1);
	}
	test_unpin();
	ok(pinned > 0 && test_sum(counter) == (intptr_t)pinned * ADDS,
	   "every add counted: %ld of %ld", (long)test_sum(counter),
	   (long)pinned * ADDS);
	if (mode == PERCPU_MODE_RSEQ && !getenv("PERCPU_INDEX"))
		ok(*(intptr_t *)percpu_ptr(counter, 0) == ADDS,
		   "pinned to CPU 0, the adds went to shard 0");
	return tap_done();
}
