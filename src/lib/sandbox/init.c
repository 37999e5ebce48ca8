/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/init.h"

const int hutch_forwarded_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM, 0,
};

/* PID 1 is a separate process with its own copy of memory: one variable, set once. */
static volatile pid_t forward_to;

static void forward(int sig)
{
	if (forward_to > 0)
		kill(forward_to, sig);
}

static void terminate_all(int sig)
{
	(void)sig;
	kill(-1, SIGTERM); /* from PID 1: every other process of the namespace */
}

int hutch_wait_status_to_exit(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 125;
}

bool hutch_init_untrace(pid_t pid, int status)
{
	int sig;
	siginfo_t si;

	if (!WIFSTOPPED(status))
		return false;
	sig = WSTOPSIG(status);
	/*
	 * The trap a traced process gets at each execve() (sent by the kernel as
	 * if by the process itself) would not exist without a tracer: dropped.
	 * Any other signal is delivered as it would have been.
	 */
	memset(&si, 0, sizeof(si));
	if (sig == SIGTRAP && ptrace(PTRACE_GETSIGINFO, pid, NULL, &si) == 0 &&
	    si.si_code == SI_USER && si.si_pid == pid)
		sig = 0;
	(void)ptrace(PTRACE_DETACH, pid, NULL, (void *)(long)sig);
	return true;
}

/* SIGKILL to every other process of the namespace, and reap them all. */
static void kill_rest(void)
{
	(void)kill(-1, SIGKILL);
	for (;;) {
		pid_t pid = waitpid(-1, NULL, 0);
		if (pid < 0 && errno != EINTR)
			return; /* ECHILD: nobody left */
	}
}

void hutch_init_main(pid_t workload, void (*gone)(void *), void *data)
{
	struct sigaction sa;
	sigset_t all;
	int status = 0;

	forward_to = workload;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; hutch_forwarded_signals[i]; i++)
		sigaction(hutch_forwarded_signals[i], &sa, NULL);
	sa.sa_handler = terminate_all;
	sigaction(HUTCH_SIG_TERMINATE_ALL, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break; /* no children left */
		}
		if (hutch_init_untrace(pid, st))
			continue;
		if (pid == workload) {
			status = st;
			break;
		}
	}
	/*
	 * Exiting PID 1 would make the kernel kill everything else too, but only
	 * during our exit: doing it first lets the supervisor start its cleanup
	 * while the kernel takes the namespaces down.
	 */
	kill_rest();
	if (gone)
		gone(data);
	_exit(hutch_wait_status_to_exit(status));
}
