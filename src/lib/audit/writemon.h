/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Serving the workload's write notifications (seccomp-table.c's "file-write"
 * group and open/openat with a write flag, with notify_writes): on the exec
 * monitor's listener thread (execmon.c), which hands them here. While the
 * process waits, its paths are read from its memory and made absolute (its
 * working directory, its directory descriptors from /proc/PID); then it is
 * answered "continue" at once (the kernel decides, hutch never refuses or
 * allows a write here), and only then does writecheck.c foresee whether the
 * sandbox refuses it. The process waits for the reading only.
 *
 * The lookup after "continue" sees the tree as the kernel left it: a refused
 * write changed nothing, so what made it fail is still there to be seen; a
 * write that succeeded was on a writable mount, which the check does not count.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct seccomp_notif;
struct seccomp_notif_resp;
struct hutch_writecheck;

/* A write the sandbox refused, as the supervisor foresaw it. */
struct hutch_write_refusal {
	pid_t pid;	    /* host pid */
	const char *call;   /* the syscall's name: "openat", "mkdir", ... */
	const char *path;   /* absolute, as the process named it (symlinks not resolved) */
	int error;	    /* the errno it got: EROFS, EBUSY, EACCES */
	const char *reason; /* "read-only", "protected", "not writable" (string literals) */
	struct timespec when;
};

/* Is syscall @nr one that writes by path (notified with notify_writes)? */
bool hutch_writemon_is_write(int nr);

/*
 * One write notification @req on @listener: read, answered "continue", then
 * foreseen in the sandbox's root @root (*@root_for is called with the pid
 * first, while the process waits, so that the root can be opened from it).
 * Returns 1 with @out filled (its path in @buf, @bufsize bytes) when the
 * sandbox refuses the write, 0 when not or when it cannot be known.
 */
int hutch_writemon_serve(struct hutch_writecheck *c, int listener, struct seccomp_notif_resp *resp,
			 const struct seccomp_notif *req, int (*root_for)(void *data, pid_t pid),
			 void *data, struct hutch_write_refusal *out, char *buf, size_t bufsize);
