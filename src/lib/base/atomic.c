/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replacing a file atomically: a temporary beside it, renamed over it. See atomic.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"

#define ATOMIC_TRIES 16 /* random names tried before giving up */

static int create(struct hutch_atomic *a, mode_t mode)
{
	a->fd = openat(a->dirfd, a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		       mode);
	return a->fd < 0 ? -errno : 0;
}

/* ".NAME.XXXXXXXXXXXX" beside @name: hidden, never a name of its own. */
static int random_name(struct hutch_atomic *a)
{
	static const char hex[] = "0123456789abcdef";
	const char *base = strrchr(a->name, '/');
	char suffix[2 * 6 + 1];
	uint8_t rnd[6];
	int n;

	base = base ? base + 1 : a->name;
	if (!*base)
		return -EINVAL;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -errno;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		suffix[2 * i] = hex[rnd[i] >> 4];
		suffix[2 * i + 1] = hex[rnd[i] & 15];
	}
	suffix[2 * sizeof(rnd)] = '\0';
	n = snprintf(a->tmp, sizeof(a->tmp), "%.*s.%s.%s", (int)(base - a->name), a->name, base,
		     suffix);
	if (n < 0 || (size_t)n >= sizeof(a->tmp))
		return -ENAMETOOLONG;
	return 0;
}

static int begin_random(struct hutch_atomic *a, mode_t mode)
{
	for (int tries = 0; tries < ATOMIC_TRIES; tries++) {
		int r = random_name(a);

		if (r >= 0)
			r = create(a, mode);
		if (r != -EEXIST)
			return r;
	}
	return -EEXIST;
}

/* The caller's name: one left by an interrupted writer is removed, once. */
static int begin_named(struct hutch_atomic *a, const char *tmp, mode_t mode)
{
	int n = snprintf(a->tmp, sizeof(a->tmp), "%s", tmp);

	if (n < 0 || (size_t)n >= sizeof(a->tmp))
		return -ENAMETOOLONG;
	for (int attempt = 0; attempt < 2; attempt++) {
		int r = create(a, mode);

		if (r != -EEXIST)
			return r;
		(void)unlinkat(a->dirfd, a->tmp, 0);
	}
	return -EEXIST;
}

int hutch_atomic_begin(struct hutch_atomic *a, int dirfd, const char *name, const char *tmp,
		       mode_t mode)
{
	int r;

	a->dirfd = dirfd;
	a->name = name;
	a->fd = -1;
	a->tmp[0] = '\0';
	r = tmp ? begin_named(a, tmp, mode) : begin_random(a, mode);
	if (r < 0)
		a->tmp[0] = '\0'; /* nothing was created */
	return r;
}

FILE *hutch_atomic_stream(struct hutch_atomic *a)
{
	FILE *f = fdopen(a->fd, "we");

	if (f)
		a->fd = -1;
	return f;
}

int hutch_atomic_close(struct hutch_atomic *a, unsigned flags)
{
	int r = 0;

	if (a->fd >= 0) {
		if ((flags & HUTCH_ATOMIC_FSYNC) && fsync(a->fd) < 0)
			r = -errno;
		if (close(a->fd) < 0 && r >= 0)
			r = -errno;
		a->fd = -1;
	}
	if (r < 0)
		hutch_atomic_abort(a);
	return r;
}

int hutch_atomic_commit(struct hutch_atomic *a, unsigned flags)
{
	int r = hutch_atomic_close(a, flags);

	if (r < 0)
		return r;
	if (!a->tmp[0])
		return -EINVAL;
	if (renameat(a->dirfd, a->tmp, a->dirfd, a->name) < 0) {
		r = -errno;
		hutch_atomic_abort(a);
		return r;
	}
	a->tmp[0] = '\0';
	return 0;
}

void hutch_atomic_abort(struct hutch_atomic *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (a->tmp[0])
		(void)unlinkat(a->dirfd, a->tmp, 0);
	a->tmp[0] = '\0';
}
