/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Write notifications: read, answered "continue", then foreseen (see writemon.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "audit/writecheck.h"
#include "audit/writemon.h"
#include "base/cleanup.h"
#include "base/path.h"
#include "sandbox/seccomp.h"

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

#define NONE (-1)

/* One call that writes by path: where its arguments are. */
struct wcall {
	int nr;
	const char *name;
	enum hutch_write_kind kind;
	int dfd, path;	 /* the file or entry (dfd NONE: AT_FDCWD) */
	int dfd2, path2; /* RENAME: the new name */
	int oflags;	 /* OPEN: the open flags' argument (NONE: creat's) */
	int atflags;	 /* AT_SYMLINK_NOFOLLOW / AT_EMPTY_PATH argument, or NONE */
	bool openat2;	 /* the flags are in struct open_how at argument 2 */
	bool nofollow;	 /* lchown */
	bool regular;	 /* truncate: only a regular file */
};

#define W(n, k, ...)                                                                               \
	{                                                                                          \
		.nr = __NR_##n, .name = #n, .kind = HUTCH_WRITE_##k, __VA_ARGS__                   \
	}

static const struct wcall calls[] = {
#ifdef __NR_open
	W(open, OPEN, .dfd = NONE, .path = 0, .dfd2 = NONE, .path2 = NONE, .oflags = 1,
	  .atflags = NONE),
#endif
#ifdef __NR_creat
	W(creat, OPEN, .dfd = NONE, .path = 0, .dfd2 = NONE, .path2 = NONE, .oflags = NONE,
	  .atflags = NONE),
#endif
	W(openat, OPEN, .dfd = 0, .path = 1, .dfd2 = NONE, .path2 = NONE, .oflags = 2,
	  .atflags = NONE),
	W(openat2, OPEN, .dfd = 0, .path = 1, .dfd2 = NONE, .path2 = NONE, .oflags = NONE,
	  .atflags = NONE, .openat2 = true),
#ifdef __NR_mkdir
	W(mkdir, CREATE, .dfd = NONE, .path = 0, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(rmdir, REMOVE, .dfd = NONE, .path = 0, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(unlink, REMOVE, .dfd = NONE, .path = 0, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(rename, RENAME, .dfd = NONE, .path = 0, .dfd2 = NONE, .path2 = 1, .atflags = NONE),
	W(link, CREATE, .dfd = NONE, .path = 1, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(symlink, CREATE, .dfd = NONE, .path = 1, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(mknod, CREATE, .dfd = NONE, .path = 0, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(chmod, MODIFY, .dfd = NONE, .path = 0, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(chown, MODIFY, .dfd = NONE, .path = 0, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(lchown, MODIFY, .dfd = NONE, .path = 0, .dfd2 = NONE, .path2 = NONE, .atflags = NONE,
	  .nofollow = true),
#endif
	W(mkdirat, CREATE, .dfd = 0, .path = 1, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(mknodat, CREATE, .dfd = 0, .path = 1, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(unlinkat, REMOVE, .dfd = 0, .path = 1, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
#ifdef __NR_renameat
	W(renameat, RENAME, .dfd = 0, .path = 1, .dfd2 = 2, .path2 = 3, .atflags = NONE),
#endif
	W(renameat2, RENAME, .dfd = 0, .path = 1, .dfd2 = 2, .path2 = 3, .atflags = NONE),
	W(linkat, CREATE, .dfd = 2, .path = 3, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(symlinkat, CREATE, .dfd = 1, .path = 2, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(truncate, MODIFY, .dfd = NONE, .path = 0, .dfd2 = NONE, .path2 = NONE, .atflags = NONE,
	  .regular = true),
	W(fchmodat, MODIFY, .dfd = 0, .path = 1, .dfd2 = NONE, .path2 = NONE, .atflags = NONE),
	W(fchmodat2, MODIFY, .dfd = 0, .path = 1, .dfd2 = NONE, .path2 = NONE, .atflags = 3),
	W(fchownat, MODIFY, .dfd = 0, .path = 1, .dfd2 = NONE, .path2 = NONE, .atflags = 4),
};

static const struct wcall *find(int nr)
{
	for (size_t i = 0; i < ARRAY_SIZE(calls); i++)
		if (calls[i].nr == nr)
			return &calls[i];
	return NULL;
}

bool hutch_writemon_is_write(int nr)
{
	return find(nr) != NULL;
}

/* The NUL-terminated string at @addr of @pid, page by page; its length or -errno. */
static ssize_t read_str(pid_t pid, uint64_t addr, char *buf, size_t max)
{
	size_t got = 0;
	long pg = sysconf(_SC_PAGESIZE);
	size_t page = pg > 0 ? (size_t)pg : 4096;

	if (!addr)
		return -EFAULT;
	while (got < max - 1) {
		size_t chunk = page - ((addr + got) % page);
		struct iovec l, r;
		ssize_t n;
		char *z;

		if (chunk > max - 1 - got)
			chunk = max - 1 - got;
		l = (struct iovec){buf + got, chunk};
		r = (struct iovec){(void *)(uintptr_t)(addr + got), chunk};
		n = process_vm_readv(pid, &l, 1, &r, 1, 0);
		if (n <= 0)
			return n < 0 ? -errno : -EFAULT;
		z = memchr(buf + got, '\0', (size_t)n);
		if (z)
			return z - buf;
		got += (size_t)n;
	}
	return -ENAMETOOLONG;
}

/* The directory a relative path starts from: the process's cwd or descriptor @dfd. */
static bool base_dir(pid_t pid, int dfd, char *out, size_t size)
{
	char p[64];
	ssize_t n;

	if (dfd == AT_FDCWD)
		snprintf(p, sizeof(p), "/proc/%d/cwd", (int)pid);
	else
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, dfd);
	n = readlink(p, out, size - 1);
	if (n <= 0 || out[0] != '/')
		return false;
	out[n] = '\0';
	return !strstr(out, " (deleted)");
}

/*
 * Path argument @pi (with directory argument @di) of @req, absolute and
 * normalised, into @out (PATH_MAX): false when it cannot be known.
 */
static bool read_path(const struct seccomp_notif *req, int di, int pi, char *out)
{
	_cleanup_free_ char *joined = NULL, *norm = NULL;
	char path[PATH_MAX], base[PATH_MAX];
	pid_t pid = (pid_t)req->pid;
	int dfd = di == NONE ? AT_FDCWD : (int)req->data.args[di];

	if (read_str(pid, req->data.args[pi], path, sizeof(path)) <= 0)
		return false; /* unreadable, or "" (AT_EMPTY_PATH: the descriptor's file) */
	if (path[0] == '/') {
		norm = hutch_path_normalize(path);
	} else {
		if (!base_dir(pid, dfd, base, sizeof(base)))
			return false;
		joined = hutch_path_join(base, path);
		norm = joined ? hutch_path_normalize(joined) : NULL;
	}
	if (!norm || strlen(norm) >= PATH_MAX)
		return false;
	memcpy(out, norm, strlen(norm) + 1);
	return true;
}

/* openat2's flags, from its struct open_how (the first field). */
static bool openat2_flags(const struct seccomp_notif *req, int *oflags)
{
	uint64_t flags = 0;
	struct iovec l = {&flags, sizeof(flags)};
	struct iovec r = {(void *)(uintptr_t)req->data.args[2], sizeof(flags)};

	if (req->data.args[3] < sizeof(struct open_how) ||
	    process_vm_readv((pid_t)req->pid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(flags))
		return false;
	*oflags = (int)flags;
	return true;
}

/* The open flags of @w's call; false: it does not write (a read-only openat2). */
static bool open_flags(const struct wcall *w, const struct seccomp_notif *req, int *oflags)
{
	if (w->openat2) {
		if (!openat2_flags(req, oflags))
			return false;
	} else {
		*oflags = w->oflags == NONE ? O_CREAT | O_WRONLY | O_TRUNC
					    : (int)req->data.args[w->oflags];
	}
	return (*oflags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
}

int hutch_writemon_serve(struct hutch_writecheck *c, int listener, struct seccomp_notif_resp *resp,
			 const struct seccomp_notif *req, int (*root_for)(void *data, pid_t pid),
			 void *data, struct hutch_write_refusal *out, char *buf, size_t bufsize)
{
	const struct wcall *w = find(req->data.nr);
	char path[PATH_MAX], path2[PATH_MAX];
	struct hutch_write_req q = {0};
	const char *reason = NULL;
	bool known = false;
	int root, e, at = 0;

	if (w) {
		q.kind = w->kind;
		q.nofollow = w->nofollow;
		q.regular_only = w->regular;
		if (w->atflags != NONE)
			at = (int)req->data.args[w->atflags];
		if (at & AT_SYMLINK_NOFOLLOW)
			q.nofollow = true;
		known = (w->kind != HUTCH_WRITE_OPEN || open_flags(w, req, &q.oflags)) &&
			read_path(req, w->dfd, w->path, path) &&
			(w->path2 == NONE || read_path(req, w->dfd2, w->path2, path2));
	}
	root = known ? root_for(data, (pid_t)req->pid) : -1;
	/* what was read is the request's, not a later process's with the same pid */
	if (known && hutch_seccomp_notify_id_valid(listener, req->id) < 0)
		known = false;
	(void)hutch_seccomp_notify_continue(listener, resp, req->id);
	if (!known || root < 0)
		return 0;
	q.path = path;
	q.path2 = w->path2 == NONE ? NULL : path2;
	q.pid = (pid_t)req->pid;
	e = hutch_writecheck(c, root, &q, &reason, buf, bufsize);
	if (!e)
		return 0;
	*out = (struct hutch_write_refusal){
		.pid = (pid_t)req->pid, .call = w->name, .path = buf, .error = e, .reason = reason};
	clock_gettime(CLOCK_REALTIME, &out->when);
	return 1;
}
