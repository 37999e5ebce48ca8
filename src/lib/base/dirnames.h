/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The names in one directory, read with getdents64 in a few system calls:
 * to answer "is X there?" for many names at once (the hidden list's ~60
 * paths, most directly in $HOME), or to go through a small directory.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct hutch_dirnames {
	char *buf; /* the names, each with its NUL */
	size_t len;
	char **v; /* sorted, into buf */
	size_t n;
};

/*
 * Read the directory @path (relative to @dirfd; NULL: @dirfd itself, from its
 * current offset). "." and ".." are left out. Returns 0 or -errno.
 */
int hutch_dirnames_read(int dirfd, const char *path, struct hutch_dirnames *out);
bool hutch_dirnames_has(const struct hutch_dirnames *d, const char *name);
void hutch_dirnames_free(struct hutch_dirnames *d);
