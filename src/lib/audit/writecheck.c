/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Foreseeing the sandbox's refusal of a write (see writecheck.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit/writecheck.h"
#include "base/cleanup.h"
#include "base/path.h"

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

struct hutch_writecheck {
	bool landlock;
	char *writable[HUTCH_WRITECHECK_MAX_PATHS];
	size_t n_writable;
	char *protect[HUTCH_WRITECHECK_MAX_PATHS];
	size_t n_protect;
	/* Landlock's paths as the sandbox resolves them (symlinks followed): on first use */
	bool resolved;
	char *real[HUTCH_WRITECHECK_MAX_PATHS];
	size_t n_real;
};

static int copy_list(char **dst, size_t *n, const char *const *src, size_t count)
{
	*n = 0;
	for (size_t i = 0; i < count && *n < HUTCH_WRITECHECK_MAX_PATHS; i++) {
		char *p = src[i] && src[i][0] == '/' ? hutch_path_normalize(src[i]) : NULL;

		if (!p)
			continue;
		dst[(*n)++] = p;
	}
	return 0;
}

int hutch_writecheck_new(const struct hutch_writecheck_spec *spec, struct hutch_writecheck **out)
{
	struct hutch_writecheck *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	/* a writable path left out would make writes there look refused: Landlock's part is off */
	c->landlock = spec->landlock && spec->n_writable <= HUTCH_WRITECHECK_MAX_PATHS;
	copy_list(c->writable, &c->n_writable, spec->writable, spec->n_writable);
	copy_list(c->protect, &c->n_protect, spec->protect, spec->n_protect);
	*out = c;
	return 0;
}

void hutch_writecheck_free(struct hutch_writecheck *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_writable; i++)
		free(c->writable[i]);
	for (size_t i = 0; i < c->n_protect; i++)
		free(c->protect[i]);
	for (size_t i = 0; i < c->n_real; i++)
		free(c->real[i]);
	free(c);
}

/* @abs opened O_PATH in @root, never through a magic link: the fd or -errno. */
static int open_in_root(int root, const char *abs, int flags)
{
	struct open_how how = {.flags = (uint64_t)(O_PATH | O_CLOEXEC | flags),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, root, abs, &how, sizeof(how));

	return fd >= 0 ? fd : -errno;
}

static bool read_only(int fd)
{
	struct statvfs vfs;

	return fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
}

/* statx of @fd itself: its mount's id and whether it is a mount's root. false: unknown. */
static bool mount_of(int fd, uint64_t *mnt_id, bool *mount_root)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &sx) < 0)
		return false;
	if (mnt_id) {
		if (!(sx.stx_mask & STATX_MNT_ID))
			return false;
		*mnt_id = sx.stx_mnt_id;
	}
	if (mount_root) {
		if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
			return false;
		*mount_root = (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	}
	return true;
}

static bool beneath_any(char *const *list, size_t n, const char *path)
{
	for (size_t i = 0; path && path[0] && i < n; i++)
		if (hutch_path_has_prefix(path, list[i]))
			return true;
	return false;
}

/* Landlock's writable paths as the sandbox's root resolves them (a symlink's target). */
static void resolve_writable(struct hutch_writecheck *c, int root)
{
	char real[PATH_MAX];

	c->resolved = true;
	for (size_t i = 0; i < c->n_writable && c->n_real < HUTCH_WRITECHECK_MAX_PATHS; i++) {
		_cleanup_close_ int fd = open_in_root(root, c->writable[i], 0);
		char *dup;

		if (fd < 0)
			continue; /* missing: Landlock skipped it too */
		(void)hutch_fd_path(fd, real, sizeof(real));
		dup = real[0] == '/' ? strdup(real) : NULL;
		if (dup)
			c->real[c->n_real++] = dup;
	}
}

/* Is @fd beneath Landlock's writable paths (or Landlock not in force)? */
static bool landlock_writable(struct hutch_writecheck *c, int root, int fd)
{
	char real[PATH_MAX];

	if (!c->landlock)
		return true;
	if (!c->resolved)
		resolve_writable(c, root);
	(void)hutch_fd_path(fd, real, sizeof(real));
	if (real[0] != '/')
		return true; /* not known: not counted */
	return beneath_any(c->writable, c->n_writable, real) ||
	       beneath_any(c->real, c->n_real, real);
}

/* fsuid and fsgid of @pid ("Uid:" and "Gid:" of /proc/PID/status, the 4th value). */
static bool fs_ids(pid_t pid, uid_t *uid, gid_t *gid)
{
	char p[64], line[256];
	unsigned long u[4], g[4];
	bool hu = false, hg = false;
	FILE *f;

	if (pid <= 0)
		return false;
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f) && !(hu && hg)) {
		if (sscanf(line, "Uid: %lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]) == 4)
			hu = true;
		else if (sscanf(line, "Gid: %lu %lu %lu %lu", &g[0], &g[1], &g[2], &g[3]) == 4)
			hg = true;
	}
	fclose(f);
	*uid = (uid_t)u[3];
	*gid = (gid_t)g[3];
	return hu && hg;
}

/*
 * May @pid write @st by its mode bits (generic_permission() for a process without
 * capabilities)? false also when it cannot be told (a group bit that a supplementary
 * group could give, unknown ids): then nothing is counted.
 */
static bool dac_writable(pid_t pid, const struct stat *st)
{
	uid_t uid;
	gid_t gid;

	if (!fs_ids(pid, &uid, &gid))
		return false;
	if (uid == st->st_uid)
		return st->st_mode & S_IWUSR;
	if (gid == st->st_gid)
		return st->st_mode & S_IWGRP;
	if (!(st->st_mode & S_IWGRP) != !(st->st_mode & S_IWOTH))
		return false; /* a supplementary group may decide */
	return st->st_mode & S_IWOTH;
}

static const char *ro_reason(const struct hutch_writecheck *c, int fd, const char *abs)
{
	char real[PATH_MAX];

	if (beneath_any(c->protect, c->n_protect, abs))
		return "protected";
	(void)hutch_fd_path(fd, real, sizeof(real));
	return beneath_any(c->protect, c->n_protect, real) ? "protected" : "read-only";
}

/* The directory @abs is in, opened in @root (symlinks followed): fd or -errno. */
static int open_parent(int root, const char *abs)
{
	const char *slash = strrchr(abs, '/');
	char dir[PATH_MAX];
	size_t n;

	if (!slash || !slash[1])
		return -EINVAL; /* "/" itself */
	n = slash == abs ? 1 : (size_t)(slash - abs);
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, abs, n);
	dir[n] = '\0';
	return open_in_root(root, dir, O_DIRECTORY);
}

/* What the kernel refuses first for a change in directory or file @fd (@abs): EROFS, EACCES. */
static int refused_at(struct hutch_writecheck *c, int root, int fd, const char *abs,
		      bool landlock_too, const char **reason)
{
	if (read_only(fd)) {
		*reason = ro_reason(c, fd, abs);
		return EROFS;
	}
	if (landlock_too && !landlock_writable(c, root, fd)) {
		*reason = "not writable";
		return EACCES;
	}
	/* degraded mode: Landlock keeps the protected paths read-only (there is no mount) */
	if (landlock_too && c->landlock && beneath_any(c->protect, c->n_protect, abs)) {
		*reason = "protected";
		return EACCES;
	}
	return 0;
}

static bool is_mount_point(int fd);

static int check_open(struct hutch_writecheck *c, int root, const struct hutch_write_req *q,
		      const char **reason)
{
	bool creat = q->oflags & O_CREAT, excl = creat && (q->oflags & O_EXCL);
	_cleanup_close_ int fd =
		open_in_root(root, q->path, excl || (q->oflags & O_NOFOLLOW) ? O_NOFOLLOW : 0);
	_cleanup_close_ int dir = -1, link = -1;
	struct stat st;

	if (fd >= 0) {
		if (!excl && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && is_mount_point(fd) &&
		    beneath_any(c->protect, c->n_protect, q->path)) {
			/* a protected path that did not exist: its placeholder is a directory */
			*reason = "protected";
			return EISDIR;
		}
		if (excl || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
			return 0; /* EEXIST; a directory's EISDIR; a device, a pipe */
		/* O_TRUNC asks the mount first; else the file's own permission comes first */
		if (!(q->oflags & O_TRUNC) && !dac_writable(q->pid, &st))
			return 0;
		return refused_at(c, root, fd, q->path, true, reason);
	}
	if (fd != -ENOENT || !creat)
		return 0;
	/* a dangling symlink: O_CREAT makes its target, somewhere else */
	link = open_in_root(root, q->path, O_NOFOLLOW);
	if (link >= 0)
		return 0;
	dir = open_parent(root, q->path);
	if (dir < 0)
		return 0;
	return refused_at(c, root, dir, q->path, true, reason);
}

static int check_create(struct hutch_writecheck *c, int root, const struct hutch_write_req *q,
			const char **reason)
{
	_cleanup_close_ int fd = open_in_root(root, q->path, O_NOFOLLOW);
	_cleanup_close_ int dir = -1;

	if (fd != -ENOENT)
		return 0; /* EEXIST comes first; or the kernel's own lookup error */
	dir = open_parent(root, q->path);
	if (dir < 0)
		return 0;
	return refused_at(c, root, dir, q->path, true, reason);
}

/* Removing or renaming away @fd: a mount point cannot be (EBUSY). */
static bool is_mount_point(int fd)
{
	bool mroot = false;

	return mount_of(fd, NULL, &mroot) && mroot;
}

static int check_remove(struct hutch_writecheck *c, int root, const struct hutch_write_req *q,
			const char **reason)
{
	_cleanup_close_ int dir = open_parent(root, q->path);
	_cleanup_close_ int fd = -1;

	if (dir < 0)
		return 0;
	/* the directory's mount is asked for write access before the entry is looked up */
	if (read_only(dir)) {
		*reason = ro_reason(c, dir, q->path);
		return EROFS;
	}
	fd = open_in_root(root, q->path, O_NOFOLLOW);
	if (fd < 0)
		return 0;
	if (!landlock_writable(c, root, dir)) {
		*reason = "not writable";
		return EACCES;
	}
	if (is_mount_point(fd)) {
		*reason = "protected";
		return EBUSY;
	}
	return 0;
}

static int check_rename(struct hutch_writecheck *c, int root, const struct hutch_write_req *q,
			const char **reason, const char **which)
{
	_cleanup_close_ int from = open_parent(root, q->path);
	_cleanup_close_ int to = q->path2 ? open_parent(root, q->path2) : -1;
	_cleanup_close_ int fd = -1, target = -1;
	uint64_t m1 = 0, m2 = 0;

	if (from < 0 || to < 0)
		return 0;
	if (!mount_of(from, &m1, NULL) || !mount_of(to, &m2, NULL) || m1 != m2)
		return 0; /* EXDEV: the caller copies instead (and that is checked) */
	if (read_only(from)) {
		*reason = ro_reason(c, from, q->path);
		return EROFS;
	}
	fd = open_in_root(root, q->path, O_NOFOLLOW);
	if (fd < 0)
		return 0;
	if (!landlock_writable(c, root, from) || !landlock_writable(c, root, to)) {
		*which = landlock_writable(c, root, from) ? q->path2 : q->path;
		*reason = "not writable";
		return EACCES;
	}
	target = open_in_root(root, q->path2, O_NOFOLLOW);
	if (is_mount_point(fd) || (target >= 0 && is_mount_point(target))) {
		*which = is_mount_point(fd) ? q->path : q->path2;
		*reason = "protected";
		return EBUSY;
	}
	return 0;
}

static int check_modify(struct hutch_writecheck *c, int root, const struct hutch_write_req *q,
			const char **reason)
{
	_cleanup_close_ int fd = open_in_root(root, q->path, q->nofollow ? O_NOFOLLOW : 0);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return 0;
	if (q->regular_only && !S_ISREG(st.st_mode))
		return 0; /* EISDIR, EINVAL */
	/* Landlock's truncate right depends on its ABI, chmod and chown it does not see */
	return refused_at(c, root, fd, q->path, false, reason);
}

/* /proc/self names the process looking up; /dev/fd and /dev/std* are magic links. */
static bool leave_alone(const char *abs)
{
	return !abs || abs[0] != '/' || hutch_path_has_prefix(abs, "/proc") ||
	       hutch_path_has_prefix(abs, "/dev");
}

int hutch_writecheck(struct hutch_writecheck *c, int root, const struct hutch_write_req *q,
		     const char **reason, char *where, size_t wsize)
{
	const char *which = q->path;
	int e = 0;

	*reason = NULL;
	if (wsize)
		where[0] = '\0';
	if (root < 0 || leave_alone(q->path) ||
	    (q->kind == HUTCH_WRITE_RENAME && leave_alone(q->path2)))
		return 0;
	switch (q->kind) {
	case HUTCH_WRITE_OPEN:
		e = check_open(c, root, q, reason);
		break;
	case HUTCH_WRITE_CREATE:
		e = check_create(c, root, q, reason);
		break;
	case HUTCH_WRITE_REMOVE:
		e = check_remove(c, root, q, reason);
		break;
	case HUTCH_WRITE_RENAME:
		e = check_rename(c, root, q, reason, &which);
		break;
	case HUTCH_WRITE_MODIFY:
		e = check_modify(c, root, q, reason);
		break;
	}
	if (e && wsize)
		snprintf(where, wsize, "%s", which);
	return e;
}
