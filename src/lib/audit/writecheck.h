/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Will the sandbox refuse this write? What the write monitor (writemon.c)
 * foresees for a call that writes by path, to tell the user afterwards which
 * writes the sandbox refused and why (docs/audit.md "Refused writes"). It
 * never decides anything: every call is answered "continue" and the kernel
 * refuses or not; a refusal is counted only when the kernel is sure to give
 * it, in the kernel's own order of checks:
 *
 *   - EROFS: the place written is on a read-only mount of the sandbox (the
 *     read-only view of the host, a protected path): the file opened for
 *     writing, truncated or chmod'ed; the directory an entry is created in,
 *     removed from or renamed within;
 *   - EBUSY: removing or renaming a mount point (a protected file or
 *     directory beneath the workspace is one);
 *   - EACCES: the place is on a writable mount but outside Landlock's
 *     writable paths (or a protected path beneath them: degraded mode).
 *
 * An existing file opened for writing without O_TRUNC is checked for the
 * caller's own permission first (the kernel's order): a file it may not
 * write anyway is not the sandbox's refusal.
 *
 * Paths are looked up in the sandbox's root (@root, as execcheck.c does), never
 * through a magic link; a path under /proc or /dev is left alone (/proc/self
 * names the process looking up). What depends on the caller's identity (the
 * file's permission bits) is the kernel's and not the sandbox's: not counted.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Landlock's writable paths and the protected paths, as given (they are resolved on first use). */
#define HUTCH_WRITECHECK_MAX_PATHS 256

enum hutch_write_kind {
	HUTCH_WRITE_OPEN,   /* open with a write flag: the file, or its directory with O_CREAT */
	HUTCH_WRITE_CREATE, /* mkdir, mknod, symlink, link: a new entry in a directory */
	HUTCH_WRITE_REMOVE, /* unlink, rmdir: an entry out of a directory */
	HUTCH_WRITE_RENAME, /* rename: an entry out of one directory into another */
	HUTCH_WRITE_MODIFY, /* truncate, chmod, chown: an existing file */
};

/* One call, its paths made absolute (lexically) from the process's view. */
struct hutch_write_req {
	enum hutch_write_kind kind;
	const char *path;  /* the file or entry */
	const char *path2; /* RENAME: the new name */
	int oflags;	   /* OPEN: the open flags */
	bool nofollow;	   /* a symlink at the end is not followed (lchown, AT_SYMLINK_NOFOLLOW) */
	bool regular_only; /* MODIFY: only a regular file can be refused so (truncate) */
	pid_t pid;	   /* who writes (its fsuid and fsgid, from /proc), 0: unknown */
};

struct hutch_writecheck_spec {
	/* Landlock is in force with these writable paths (sandbox view). */
	bool landlock;
	const char *const *writable;
	size_t n_writable;
	/* The protected paths (read-only, named "protected" instead of "read-only"). */
	const char *const *protect;
	size_t n_protect;
};

struct hutch_writecheck;

/* A copy of @spec is kept (its paths too). */
int hutch_writecheck_new(const struct hutch_writecheck_spec *spec, struct hutch_writecheck **out);
void hutch_writecheck_free(struct hutch_writecheck *c);

/*
 * @q in the sandbox's root @root: 0 when no refusal by the sandbox is foreseen,
 * else the errno the kernel will give (EROFS, EBUSY, EACCES) with *@reason
 * ("read-only", "protected", "not writable") and in @where (@wsize bytes) the
 * path it concerns (q->path or q->path2). Thread-safe for one @c per thread.
 */
int hutch_writecheck(struct hutch_writecheck *c, int root, const struct hutch_write_req *q,
		     const char **reason, char *where, size_t wsize);
