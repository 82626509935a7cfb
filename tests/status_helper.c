// SPDX-License-Identifier: MIT
/*
 * tests/status_helper.c: a process that uses the library and waits, for
 * tests/status.t; also the way a server wires percpu_reload_settings() to
 * SIGHUP: the signal is blocked and taken by sigwait() in a thread of the
 * program's (here the main one), never handled asynchronously. SIGTERM
 * makes it exit normally, which removes its status file. SIGUSR1 forks a
 * child that goes on waiting the same way; SIGUSR2 forks a child that
 * runs sleep(1) instead. It prints "ready" once it ran an operation,
 * "reloaded" after each reload, "child PID" after each fork.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <percpu.h>

/* The child goes on, or becomes `sleep 30`; the parent names it. */
static void fork_child(int exec_sleep)
{
	pid_t pid = fork();

	if (pid == 0 && exec_sleep) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		printf("child %d\n", (int)pid);
}

int main(void)
{
	sigset_t set;
	intptr_t *counter;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	counter = percpu_alloc(sizeof(*counter));
	if (!counter || percpu_add(counter, 1) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (sigwait(&set, &sig) == 0 && sig != SIGTERM) {
		if (sig == SIGHUP) {
			percpu_reload_settings();
			printf("reloaded\n");
		} else {
			fork_child(sig == SIGUSR2);
		}
		fflush(stdout);
	}
	return 0;
}
