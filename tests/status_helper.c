// SPDX-License-Identifier: MIT
/*
 * tests/status_helper.c: a process that uses the library and waits, for
 * tests/status.t; also the way a server wires percpu_reload_settings() to
 * SIGHUP: the signal is blocked and taken by sigwait() in a thread of the
 * program's (here the main one), never handled asynchronously. SIGTERM
 * makes it exit normally, which removes its status file. It prints
 * "ready" once it ran an operation, "reloaded" after each reload.
 */
#include <signal.h>
#include <stdio.h>
#include <percpu.h>

int main(void)
{
	sigset_t set;
	intptr_t *counter;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	counter = percpu_alloc(sizeof(*counter));
	if (!counter || percpu_add(counter, 1) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
		percpu_reload_settings();
		printf("reloaded\n");
		fflush(stdout);
	}
	return 0;
}
