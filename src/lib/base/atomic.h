/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replacing a file atomically, in steps: a temporary file beside it that the caller
 * fills (a buffer, a stream, a copy), then renamed over it. The one place that creates
 * the temporary (relative to a directory descriptor, O_EXCL, O_NOFOLLOW, O_CLOEXEC) and
 * removes it again when a step fails, so that the file is either the old one or the
 * whole new one. hutch_write_file_atomic_at() (file.h) is the one-call form for a buffer.
 */
#pragma once

#include <limits.h>
#include <stdio.h>
#include <sys/types.h>

#include "cleanup.h"

struct hutch_atomic {
	int dirfd;	    /* where @name and the temporary are */
	const char *name;   /* the file to replace (the caller's string) */
	int fd;		    /* the temporary, open for writing; -1 once closed */
	char tmp[PATH_MAX]; /* the temporary's name; "" when there is none */
};

#define HUTCH_ATOMIC_INIT                                                                          \
	{                                                                                          \
		.dirfd = -1, .fd = -1                                                              \
	}

/* hutch_atomic_close() and _commit(): fsync the temporary before it is closed. */
#define HUTCH_ATOMIC_FSYNC 1u

/*
 * Create the temporary for @name (relative to @dirfd) with @mode (the umask applies).
 * @tmp names it, beside @name (one an interrupted writer left is replaced); NULL:
 * ".NAME.<random>" beside @name. 0 or -errno; on error nothing is left behind.
 */
int hutch_atomic_begin(struct hutch_atomic *a, int dirfd, const char *name, const char *tmp,
		       mode_t mode);

/* A stream on the temporary; it owns the descriptor from then on (fclose() it). NULL: -ENOMEM. */
FILE *hutch_atomic_stream(struct hutch_atomic *a);

/* Close the temporary, after fsync() with HUTCH_ATOMIC_FSYNC. 0 or -errno; on error it is removed.
 */
int hutch_atomic_close(struct hutch_atomic *a, unsigned flags);

/*
 * Rename the temporary over the file (closing it first, as hutch_atomic_close() does, if
 * it is still open). 0 or -errno; on error the temporary is removed and the file is as
 * it was.
 */
int hutch_atomic_commit(struct hutch_atomic *a, unsigned flags);

/* Close and remove the temporary, if there is one still: nothing after a commit. */
void hutch_atomic_abort(struct hutch_atomic *a);

#define _cleanup_atomic_ _cleanup_(hutch_atomic_abort)
