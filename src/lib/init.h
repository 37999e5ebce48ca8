/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox's init (PID 1 of its PID namespace): reaps zombies, forwards
 * signals to the workload, and exits with the workload's status. When it
 * exits, the kernel kills everything left in the namespace: background
 * processes never outlive the command.
 */
#pragma once

#include <signal.h>
#include <sys/types.h>

/* Signals the supervisor forwards to init and init forwards to the workload. */
extern const int hutch_forwarded_signals[];

/* Sent by the supervisor to init: SIGTERM to every process of the sandbox. */
#define HUTCH_SIG_TERMINATE_ALL (SIGRTMIN + 4)

/* Runs in PID 1 after it forked the workload; never returns. */
__attribute__((noreturn)) void hutch_init_main(pid_t workload);

/* Encode a wait status as an exit status: the code, or 128+N for signal N. */
int hutch_wait_status_to_exit(int status);
