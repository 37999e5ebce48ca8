/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The syscall filter (libseccomp), loaded last, just before exec. */
#pragma once

#include <stdbool.h>

#include "hutch.h"

struct hutch_seccomp_opts {
	bool notify_exec;  /* execve/execveat -> SCMP_ACT_NOTIFY, listener fd returned */
	bool deny_inet;    /* degraded mode without a netns: no AF_INET/AF_INET6 sockets */
};

/*
 * Build the filter from the table in seccomp-table.c and load it into the
 * calling thread (PR_SET_NO_NEW_PRIVS must already be set). When
 * opts->notify_exec is set, *notify_fd receives the user-notification
 * listener (CLOEXEC), else -1.
 */
int hutch_seccomp_load(const struct hutch_seccomp_opts *opts, int *notify_fd, hutch_error *err);

/* Probe: 0 when seccomp filters work here, 1 more when user notification does too. */
int hutch_seccomp_probe(bool *filter, bool *notify);
