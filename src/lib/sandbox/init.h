/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox's init (PID 1 of its PID namespace): reaps zombies, forwards
 * signals to the workload, and exits with the workload's status, after
 * killing everything left in the namespace (as the kernel would when PID 1
 * exits): background processes never outlive the command.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/* Signals the supervisor forwards to init and init forwards to the workload. */
extern const int hutch_forwarded_signals[];

/* Sent by the supervisor to init: SIGTERM to every process of the sandbox. */
#define HUTCH_SIG_TERMINATE_ALL (SIGRTMIN + 4)

/*
 * Runs in PID 1 after it forked the workload; never returns. Once the
 * workload has exited, every other process of the namespace is killed and
 * reaped, @gone (may be NULL) is told so, and init exits with the workload's
 * status: the sandbox holds no process but init from the call on.
 */
__attribute__((noreturn)) void hutch_init_main(pid_t workload, void (*gone)(void *), void *data);

/*
 * A child that made its parent its tracer (ptrace(PTRACE_TRACEME)) reports
 * its signal stops to the parent's waitpid(): when @status is such a stop,
 * detach from @pid, passing the signal on, and return true (the caller waits
 * again). The sandbox's init and the supervisor are nobody's debugger: a
 * stop is never taken for the end of the command.
 */
bool hutch_init_untrace(pid_t pid, int status);

/* Encode a wait status as an exit status: the code, or 128+N for signal N. */
int hutch_wait_status_to_exit(int status);
