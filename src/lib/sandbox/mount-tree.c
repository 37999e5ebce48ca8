/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mount tree: the plan (mount.c) applied inside the sandbox's new mount
 * namespace, by init, in two steps (hutch_mount_tree_begin, then _finish with
 * the protected paths the supervisor found meanwhile):
 *
 *   1. make every mount a slave, so nothing propagates back to the host;
 *   2. clone every host source with open_tree(OPEN_TREE_CLONE|AT_RECURSIVE)
 *      *before* anything is mounted over host paths: first the host's / with
 *      all its mounts, read-only, nosuid and nodev in one mount_setattr call
 *      (MOUNT_BASE, as bubblewrap's --ro-bind / /);
 *   3. mount a fresh tmpfs (the staging area: the empty sources of hidden
 *      paths, and the directories bound as /tmp, /var/tmp, /run, /dev, ...),
 *      attach the base in it as the new root, and attach each op on top,
 *      resolving every target with openat2(RESOLVE_IN_ROOT) so a symlink in
 *      the tree can never point a mount outside the new root; /dev, /proc,
 *      /tmp, /run and the other private directories cover the host's;
 *   4. pivot_root into it and detach the old root with the staging area (at
 *      once, or later: hutch_mount_detach_old_root, before the workload runs).
 *
 * With --ephemeral=root the new root is a tmpfs instead, holding an overlay
 * or a read-only bind per top-level directory (rootlayer.h).
 *
 * Host-backed mounts are nosuid and nodev; read-only ones are read-only
 * recursively (mount_setattr with AT_RECURSIVE, one call per tree).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/path.h"
#include "sandbox/mount.h"

#define SCRATCH_DIR ".hutch-empty-dir"
#define SCRATCH_FILE ".hutch-empty-file"
#define ROOT_DIR "root"

static int sys_openat2(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned)flags, .resolve = resolve};

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* Path relative to the new root ("" for the root itself). */
static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static int open_in_root(int rootfd, const char *path, int flags)
{
	int fd = sys_openat2(rootfd, rel(path), flags | O_CLOEXEC, RESOLVE_IN_ROOT);

	return fd < 0 ? -errno : fd;
}

/* A directory of the new root as an O_PATH fd; the root itself without a lookup. */
static int open_dir_in_root(int rootfd, const char *path)
{
	int fd;

	if (!strcmp(rel(path), ".")) {
		fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? -errno : fd;
	}
	return open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
}

/*
 * The tree being built: its root, the staging area, the directory last opened
 * to create something in (a run of /dev entries shares one lookup), the
 * writable root the protected paths lie in, and the hidden directories to
 * seal at the end.
 */
struct tree {
	int root;
	int stage;
	char *dir; /* sandbox path of dirfd, NULL: none */
	int dirfd;
	const char *top;
	int topfd;
	int *ro_later;
	size_t n_ro_later;
};

static void tree_forget_dir(struct tree *t)
{
	if (t->dirfd >= 0)
		close(t->dirfd);
	t->dirfd = -1;
	free(t->dir);
	t->dir = NULL;
}

static void tree_done(struct tree *t)
{
	tree_forget_dir(t);
	if (t->topfd >= 0)
		close(t->topfd);
	for (size_t j = 0; j < t->n_ro_later; j++)
		close(t->ro_later[j]);
	free(t->ro_later);
	if (t->root >= 0)
		close(t->root);
	if (t->stage >= 0)
		close(t->stage);
}

/* Directory @path of the tree, to create entries in: looked up once for a run of them. */
static int tree_dir(struct tree *t, const char *path)
{
	int fd;

	if (t->dir && !strcmp(t->dir, path))
		return t->dirfd;
	tree_forget_dir(t);
	fd = open_dir_in_root(t->root, path);
	if (fd < 0)
		return fd;
	t->dir = strdup(path);
	if (!t->dir) {
		close(fd);
		return -ENOMEM;
	}
	t->dirfd = fd;
	return fd;
}

/* Something was mounted on @path: the kept directory, if at or beneath it, is covered. */
static int tree_attach(struct tree *t, int srcfd, int tfd, const char *path)
{
	if (move_mount(srcfd, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	if (t->dir && hutch_path_has_prefix(t->dir, path))
		tree_forget_dir(t);
	return 0;
}

/* mkdir -p inside the new root; only succeeds where the parent is writable (our tmpfs). */
static int mkdir_in_root(struct tree *t, const char *path, unsigned mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	int fd;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	/* Usually the parent exists (the plan is sorted): one mkdirat in a kept directory. */
	{
		char *slash = strrchr(buf, '/');
		if (slash && slash[1]) {
			int pfd;
			*slash = '\0';
			pfd = tree_dir(t, buf[0] ? buf : "/");
			*slash = '/';
			if (pfd >= 0) {
				if (mkdirat(pfd, slash + 1, mode) == 0)
					return 0;
				if (errno == EEXIST) {
					/* there already: a directory (or a link to one) is fine */
					fd = open_in_root(t->root, path, O_PATH | O_DIRECTORY);
					if (fd < 0)
						return fd;
					close(fd);
					return 0;
				}
				if (errno != ENOENT)
					return -errno;
			}
		}
	}
	for (char *s = buf + 1;; s++) {
		bool last = *s == '\0';
		if (*s == '/' || last) {
			char saved = *s;
			_cleanup_close_ int pfd = -1;
			char *slash, *name;

			*s = '\0';
			fd = open_in_root(t->root, buf, O_PATH | O_DIRECTORY);
			if (fd >= 0) {
				close(fd);
			} else if (fd == -ENOENT) {
				slash = strrchr(buf, '/');
				*slash = '\0';
				pfd = open_dir_in_root(t->root, buf);
				*slash = '/';
				if (pfd < 0)
					return pfd;
				name = slash + 1;
				if (mkdirat(pfd, name, last ? mode : 0755) < 0 && errno != EEXIST)
					return -errno;
			} else {
				return fd;
			}
			*s = saved;
			if (last)
				break;
		}
	}
	return 0;
}

/* Create an empty file as a mount point (for file binds) in a tmpfs of ours. */
static int mkfile_in_root(struct tree *t, const char *path)
{
	_cleanup_free_ char *parent = strdup(path);
	const char *dir;
	char *slash;
	int pfd, fd, r;

	if (!parent)
		return -ENOMEM;
	slash = strrchr(parent, '/');
	*slash = '\0';
	dir = parent[0] ? parent : "/";
	/* usually the parent is there already (the plan is sorted) */
	pfd = tree_dir(t, dir);
	if (pfd == -ENOENT) {
		r = mkdir_in_root(t, dir, 0755);
		if (r < 0)
			return r;
		pfd = tree_dir(t, dir);
	}
	if (pfd < 0)
		return pfd;
	/* something there already (a socket, a file): mount on it */
	fd = openat(pfd, slash + 1, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	close(fd);
	return 0;
}

/*
 * The directory @path of the tree as a mount point (O_PATH), made in a tmpfs
 * of ours when missing.
 */
static int mount_point_dir(struct tree *t, const char *path, unsigned mode)
{
	int fd = open_in_root(t->root, path, O_PATH | O_DIRECTORY);

	if (fd == -ENOENT) {
		int r = mkdir_in_root(t, path, mode);
		if (r < 0)
			return r;
		fd = open_in_root(t->root, path, O_PATH | O_DIRECTORY);
	}
	return fd;
}

static int set_attr(int fd, unsigned long long set, bool recursive)
{
	struct mount_attr attr = {.attr_set = set};

	if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
			  sizeof(attr)) < 0)
		return -errno;
	return 0;
}

static int attach(struct tree *t, int srcfd, const char *path)
{
	_cleanup_close_ int tfd = open_in_root(t->root, path, O_PATH);

	if (tfd < 0)
		return tfd;
	return tree_attach(t, srcfd, tfd, path);
}

static int new_fs(const char *type, const char *options[][2], unsigned long long attrs)
{
	_cleanup_close_ int fsfd = fsopen(type, FSOPEN_CLOEXEC);
	int mfd;

	if (fsfd < 0)
		return -errno;
	for (size_t i = 0; options && options[i][0]; i++)
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, options[i][0], options[i][1], 0) < 0)
			return -errno;
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned)attrs);
	return mfd < 0 ? -errno : mfd;
}

static int new_tmpfs(unsigned mode, unsigned long long attrs);

/*
 * The staging tmpfs holds the private directories (/tmp, /dev/shm, /run, ...),
 * that is memory: with --memory it is bounded by it, so files there cannot get
 * around the limit (a cgroup may charge them, rlimits do not).
 */
static int new_tmpfs_sized(unsigned mode, uint64_t size, unsigned long long attrs)
{
	char m[16], sz[32];
	const char *opts[][2] = {{"mode", m}, {"size", sz}, {NULL, NULL}};

	if (!size)
		return new_tmpfs(mode, attrs);
	snprintf(m, sizeof(m), "%o", mode);
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	return new_fs("tmpfs", opts, attrs);
}

static int new_tmpfs(unsigned mode, unsigned long long attrs)
{
	char m[16];
	const char *opts[][2] = {{"mode", m}, {NULL, NULL}};

	snprintf(m, sizeof(m), "%o", mode);
	return new_fs("tmpfs", opts, attrs);
}

/*
 * An overlay of host directories (--ephemeral): created detached, before the
 * root tmpfs covers /tmp, with user.* xattrs so it works in a user namespace.
 */
static int make_overlay(const char *spec)
{
	_cleanup_free_ char *copy = strdup(spec);
	_cleanup_close_ int fsfd = -1;
	char *lower, *upper, *work;
	int mfd;

	if (!copy)
		return -ENOMEM;
	lower = copy;
	upper = strchr(lower, '\n');
	if (!upper)
		return -EINVAL;
	*upper++ = '\0';
	work = strchr(upper, '\n');
	if (!work)
		return -EINVAL;
	*work++ = '\0';
	fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return -errno;
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	return mfd < 0 ? -errno : mfd;
}

/* Step 2: clone host sources before anything covers them. */
static int clone_sources(struct hutch_mount_plan *plan, hutch_error *err)
{
	for (size_t i = 0; i < plan->n; i++) {
		struct hutch_mount_op *op = &plan->ops[i];
		struct stat st;

		switch (op->kind) {
		case MOUNT_BASE: {
			int r;
			op->src_fd = open_tree(AT_FDCWD, "/",
					       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
			if (op->src_fd < 0)
				return hutch_err(err, errno, "mount: cloning the host's /");
			r = set_attr(op->src_fd,
				     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				     true);
			if (r < 0)
				return hutch_err(err, r, "mount: making the host's / read-only");
			op->src_is_dir = true;
			break;
		}
		case MOUNT_BIND_RO:
		case MOUNT_BIND_RW:
		case MOUNT_BIND_DEV:
		case MOUNT_BIND_SOCKET:
			op->src_fd = open_tree(AT_FDCWD, op->source,
					       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
			if (op->src_fd < 0) {
				if (errno == ENOENT && op->optional)
					continue;
				return hutch_err(err, errno, "mount: cannot bind %s", op->source);
			}
			break;
		case MOUNT_OVERLAY:
			op->src_fd = make_overlay(op->source);
			if (op->src_fd < 0)
				return hutch_err(
					err, op->src_fd, "mount: overlay for %s (session %slayer)",
					op->path, strcmp(op->path, plan->workspace) ? "root " : "");
			op->src_is_dir = true;
			break;
		case MOUNT_HIDE:
			/* Decide dir or file from the host view; /proc ones from the new tree. */
			if (hutch_path_has_prefix(op->path, "/proc"))
				continue;
			if (stat(op->path, &st) < 0) {
				if (errno == ENOENT || errno == ENOTDIR)
					continue;
				if (errno == EACCES) /* unreadable already; hide it anyway */
					st.st_mode = S_IFDIR;
				else
					return hutch_err(err, errno, "mount: hiding %s", op->path);
			}
			op->src_is_dir = S_ISDIR(st.st_mode);
			op->src_fd = -2; /* exists: hide it */
			break;
		default:
			break;
		}
	}
	return 0;
}

static bool has_children(const struct hutch_mount_plan *plan, size_t i)
{
	const char *path = plan->ops[i].path;

	for (size_t j = i + 1; j < plan->n; j++) {
		if (!hutch_path_has_prefix(plan->ops[j].path, path))
			return false;
		if (strcmp(plan->ops[j].path, path))
			return true;
	}
	return false;
}

static int apply_hide(struct hutch_mount_plan *plan, size_t i, struct tree *t)
{
	struct hutch_mount_op *op = &plan->ops[i];
	_cleanup_close_ int fd = -1, tfd = -1;
	int r;

	if (hutch_path_has_prefix(op->path, "/proc")) {
		/* Dir or file from the new tree: this procfs, not the host's. */
		struct stat st;
		tfd = open_in_root(t->root, op->path, O_PATH);
		if (tfd < 0)
			return tfd == -ENOENT ? 0 : tfd;
		if (fstat(tfd, &st) < 0)
			return -errno;
		op->src_is_dir = S_ISDIR(st.st_mode);
	} else if (op->src_fd == -1) {
		return 0; /* nothing there */
	}
	if (op->src_is_dir && has_children(plan, i)) {
		/* Something beneath is exposed again: a tmpfs made read-only at the end. */
		fd = new_tmpfs(0755, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
		if (fd < 0)
			return fd;
		r = tfd >= 0 ? tree_attach(t, fd, tfd, op->path) : attach(t, fd, op->path);
		if (r < 0)
			return r == -ENOENT ? 0 : r;
		t->ro_later[t->n_ro_later++] = TAKE_FD(fd);
		return 0;
	}
	/* The staging tmpfs is read-only, nosuid, nodev and noexec: so is the clone. */
	fd = open_tree(t->stage, op->src_is_dir ? SCRATCH_DIR : SCRATCH_FILE,
		       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = tfd >= 0 ? tree_attach(t, fd, tfd, op->path) : attach(t, fd, op->path);
	return r == -ENOENT ? 0 : r; /* not part of the view: nothing to hide */
}

static int apply_rebind_ro(struct tree *t, const char *path)
{
	_cleanup_close_ int fd = -1;
	_cleanup_close_ int tfd = open_in_root(t->root, path, O_PATH);
	int r;

	if (tfd < 0)
		return tfd == -ENOENT ? 0 : tfd;
	fd = open_tree(tfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (fd < 0)
		return -errno;
	r = set_attr(fd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true);
	if (r < 0)
		return r;
	return tree_attach(t, fd, tfd, path);
}

/*
 * A protected path: resolved beneath the workspace without following any
 * symlink (a .git swapped for a symlink during start-up is refused, not
 * followed), then bound read-only onto itself through the same fd.
 */
/*
 * The writable root the protected paths lie in, opened once for all of them
 * (they come one after the other: pass 1 holds only them and the pins).
 */
static int top_fd(struct tree *t, const char *top)
{
	if (t->topfd >= 0 && t->top && !strcmp(t->top, top))
		return t->topfd;
	if (t->topfd >= 0)
		close(t->topfd);
	t->top = top;
	t->topfd = open_in_root(t->root, top, O_PATH | O_DIRECTORY);
	return t->topfd;
}

static int apply_protect(struct tree *tr, const char *top, const char *path, bool readonly)
{
	int wsfd = top_fd(tr, top);
	_cleanup_close_ int t = -1, fd = -1;
	const char *sub;
	int r;

	if (wsfd < 0)
		return wsfd;
	sub = path + strlen(top);
	while (*sub == '/')
		sub++;
	/*
	 * Every planned path exists now (placeholders were made for the missing
	 * ones): if it vanished or became a symlink, something raced the start-up.
	 * Fail closed rather than leave it unprotected.
	 */
	t = sys_openat2(wsfd, sub, O_PATH | O_CLOEXEC | O_NOFOLLOW,
			RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (t < 0)
		return errno == ENOENT || errno == ELOOP || errno == EXDEV ? -ESTALE : -errno;
	fd = open_tree(t, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (fd < 0)
		return -errno;
	r = set_attr(fd, (readonly ? MOUNT_ATTR_RDONLY : 0) | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
		     true);
	if (r < 0)
		return r;
	return tree_attach(tr, fd, t, path);
}

/*
 * A device node in the sandbox's /dev (our tmpfs, holding nothing else yet):
 * its mount point is made there and the node attached by name in the same
 * directory, one lookup of /dev for the run of them. The name was just made
 * with O_EXCL by this process, alone in its mount namespace: not a symlink.
 */
static int attach_device(struct tree *t, struct hutch_mount_op *op)
{
	_cleanup_free_ char *dir = strdup(op->path);
	const char *name;
	int dfd, fd;

	if (!dir)
		return -ENOMEM;
	*strrchr(dir, '/') = '\0';
	name = strrchr(op->path, '/') + 1;
	dfd = tree_dir(t, dir[0] ? dir : "/");
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return -errno;
	close(fd);
	if (move_mount(op->src_fd, "", dfd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -errno;
	close(op->src_fd);
	op->src_fd = -1;
	return 0;
}

static int apply_bind(struct tree *t, struct hutch_mount_op *op)
{
	unsigned long long attrs = MOUNT_ATTR_NOSUID;
	_cleanup_close_ int tfd = -1;
	int r;

	if (op->src_fd < 0)
		return 0; /* optional and missing */
	switch (op->kind) {
	case MOUNT_BIND_RO:
		attrs |= MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV;
		break;
	case MOUNT_BIND_DEV:
		attrs |= MOUNT_ATTR_NOEXEC;
		break;
	default:
		attrs |= MOUNT_ATTR_NODEV;
		break;
	}
	r = set_attr(op->src_fd, attrs, true);
	if (r < 0)
		return r;
	if (op->kind == MOUNT_BIND_DEV)
		return attach_device(t, op);
	/* Usually the mount point exists (host trees): one lookup. Else create it in our tmpfs. */
	tfd = open_in_root(t->root, op->path, O_PATH);
	if (tfd == -ENOENT) {
		struct stat st;
		if (!op->src_is_dir && fstat(op->src_fd, &st) == 0)
			op->src_is_dir = S_ISDIR(st.st_mode);
		r = op->src_is_dir ? mkdir_in_root(t, op->path, 0755) : mkfile_in_root(t, op->path);
		if (r < 0 && r != -EEXIST)
			return (r == -EROFS && op->optional) ? 0 : r;
		tfd = open_in_root(t->root, op->path, O_PATH);
	}
	if (tfd < 0)
		return tfd;
	r = tree_attach(t, op->src_fd, tfd, op->path);
	if (r < 0)
		return r;
	close(op->src_fd);
	op->src_fd = -1;
	return 0;
}

/* The directory of the staging tmpfs behind private directory op @i (MOUNT_TMPFS). */
static void private_name(char *buf, size_t size, size_t i)
{
	snprintf(buf, size, "private-%zu", i);
}

/* Private directory op @i: its directory of the staging tmpfs, writable, nosuid, nodev. */
static int private_dir(struct tree *t, size_t i)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				  .attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC};
	char name[32];
	int fd;

	private_name(name, sizeof(name), i);
	fd = open_tree(t->stage, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int apply_one(struct hutch_mount_plan *plan, size_t i, struct tree *t)
{
	struct hutch_mount_op *op = &plan->ops[i];
	_cleanup_close_ int fd = -1, tfd = -1;
	const char *name;
	int pfd;

	switch (op->kind) {
	case MOUNT_BASE:
		return 0; /* the new root itself */
	case MOUNT_BIND_RO:
	case MOUNT_BIND_RW:
	case MOUNT_BIND_DEV:
	case MOUNT_BIND_SOCKET:
	case MOUNT_OVERLAY:
		return apply_bind(t, op);
	case MOUNT_TMPFS:
		tfd = mount_point_dir(t, op->path, 0755);
		if (tfd < 0)
			return op->optional ? 0 : tfd;
		fd = private_dir(t, i);
		if (fd < 0)
			return fd;
		return tree_attach(t, fd, tfd, op->path);
	case MOUNT_DIR:
		return mkdir_in_root(t, op->path, op->mode);
	case MOUNT_SYMLINK: {
		_cleanup_free_ char *parent = strdup(op->path);
		if (!parent)
			return -ENOMEM;
		*strrchr(parent, '/') = '\0';
		pfd = tree_dir(t, parent[0] ? parent : "/");
		if (pfd < 0)
			return pfd;
		name = strrchr(op->path, '/') + 1;
		if (symlinkat(op->source, pfd, name) < 0 && errno != EEXIST)
			return -errno;
		return 0;
	}
	case MOUNT_PROC:
		tfd = mount_point_dir(t, op->path, 0555);
		if (tfd < 0)
			return tfd;
		fd = new_fs("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
		if (fd < 0)
			return fd;
		return tree_attach(t, fd, tfd, op->path);
	case MOUNT_DEVPTS: {
		/* Every devpts mount is a new instance on current kernels. */
		const char *opts[][2] = {{"ptmxmode", "0666"}, {"mode", "0620"}, {NULL, NULL}};
		tfd = mount_point_dir(t, op->path, 0755);
		if (tfd < 0)
			return tfd;
		fd = new_fs("devpts", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
		if (fd < 0)
			return fd;
		return tree_attach(t, fd, tfd, op->path);
	}
	case MOUNT_HIDE:
		return apply_hide(plan, i, t);
	case MOUNT_REBIND_RO:
		return apply_rebind_ro(t, op->path);
	case MOUNT_PROTECT:
		if (op->source && hutch_path_has_prefix(op->path, op->source))
			return apply_protect(t, op->source, op->path, true);
		return apply_rebind_ro(t, op->path);
	case MOUNT_PIN:
		return apply_protect(t, op->source, op->path, false);
	case MOUNT_WATCH:
		return 0; /* checked by the supervisor after the session */
	}
	return 0;
}

/*
 * The staging tmpfs: where the new root is attached, the empty sources of
 * hidden paths, and a directory for each private one (/tmp, /var/tmp, /run,
 * /dev, /dev/shm, ...), bound there: one tmpfs for all of them, not one each
 * (each tmpfs is a superblock to set up and to tear down again).
 */
static int make_stage(struct hutch_mount_plan *plan, int stagefd)
{
	char name[32];
	int fd;

	if (mkdirat(stagefd, SCRATCH_DIR, 0755) < 0 || mkdirat(stagefd, ROOT_DIR, 0755) < 0)
		return -errno;
	fd = openat(stagefd, SCRATCH_FILE, O_CREAT | O_WRONLY | O_CLOEXEC | O_EXCL, 0444);
	if (fd < 0)
		return -errno;
	close(fd);
	for (size_t i = 0; i < plan->n; i++) {
		if (plan->ops[i].kind != MOUNT_TMPFS)
			continue;
		private_name(name, sizeof(name), i);
		/* the mode exactly (no umask), as a fresh tmpfs's mode= option sets it */
		if (mkdirat(stagefd, name, 0700) < 0 ||
		    fchmodat(stagefd, name, plan->ops[i].mode, 0) < 0)
			return -errno;
	}
	return 0;
}

/* The new root, attached in the staging area: the host's / (MOUNT_BASE) or a tmpfs. */
static int make_root(struct hutch_mount_plan *plan, int stagefd, hutch_error *err)
{
	_cleanup_close_ int mfd = -1;
	int fd;

	if (plan->n && plan->ops[0].kind == MOUNT_BASE) {
		mfd = TAKE_FD(plan->ops[0].src_fd);
	} else {
		mfd = new_tmpfs(0755, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
		if (mfd < 0)
			return hutch_err(err, mfd, "mount: creating the root tmpfs");
	}
	if (move_mount(mfd, "", stagefd, ROOT_DIR, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return hutch_err(err, errno, "mount: attaching the new root");
	fd = openat(stagefd, ROOT_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hutch_err(err, errno, "mount: opening the new root");
	return fd;
}

/*
 * pivot_root(".", ".") stacks the old root on top of the new one, at "/";
 * umount2("/") follows the stack at its last component (as umount2(".")
 * does after the pivot) and detaches the old root, which is on top. Called
 * once, after the pivot, while the process's root is still the new root.
 */
int hutch_mount_detach_old_root(hutch_error *err)
{
	if (umount2("/", MNT_DETACH) < 0)
		return hutch_err(err, errno, "mount: detaching the old root");
	return 0;
}

static int do_pivot(int rootfd, const char *cwd, bool detach_later, hutch_error *err)
{
	int r = 0;

	if (fchdir(rootfd) < 0)
		return hutch_err(err, errno, "mount: entering the new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return hutch_err(err, errno, "mount: pivot_root");
	if (!detach_later)
		r = hutch_mount_detach_old_root(err);
	if (r < 0)
		return r;
	if (chdir("/") < 0)
		return hutch_err(err, errno, "mount: chdir /");
	{
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
						      MOUNT_ATTR_NODEV};
		/* the new root itself (the old one may still be stacked on it) */
		if (mount_setattr(rootfd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
			return hutch_err(err, errno, "mount: making the root read-only");
	}
	if (chdir(cwd) < 0)
		return hutch_err(err, errno, "mount: chdir %s", cwd);
	return 0;
}

static int set_stage_readonly(int stagefd, bool readonly)
{
	struct mount_attr attr = {0};

	if (readonly)
		attr.attr_set = MOUNT_ATTR_RDONLY;
	else
		attr.attr_clr = MOUNT_ATTR_RDONLY;
	return mount_setattr(stagefd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0 ? -errno : 0;
}

/* Step 3: the staging tmpfs on /tmp, the new root in it. */
static int make_tree(struct hutch_mount_plan *plan, struct tree *t, hutch_error *err)
{
	_cleanup_close_ int sfd = -1;
	int r;

	sfd = new_tmpfs_sized(0755, plan->tmpfs_size,
			      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (sfd < 0)
		return hutch_err(err, sfd, "mount: creating the staging tmpfs");
	if (move_mount(sfd, "", AT_FDCWD, "/tmp", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return hutch_err(err, errno, "mount: attaching the staging tmpfs");
	t->stage = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->stage < 0)
		return hutch_err(err, errno, "mount: opening the staging tmpfs");
	r = make_stage(plan, t->stage);
	if (r < 0)
		return hutch_err(err, r, "mount: preparing the staging tmpfs");
	t->root = make_root(plan, t->stage, err);
	if (t->root < 0)
		return t->root;
	/* Read-only from now on: each hidden path's clone of it is read-only too. */
	r = set_stage_readonly(t->stage, true);
	if (r < 0)
		return hutch_err(err, r, "mount: sealing the staging tmpfs");
	t->ro_later = calloc(plan->n + 1, sizeof(int));
	return t->ro_later ? 0 : -ENOMEM;
}

/* The hidden directories with something beneath, read-only now that it is mounted. */
static int seal_hidden(struct tree *t)
{
	/* Hidden directories are now an unlinked directory: nothing can be created in them. */
	if (set_stage_readonly(t->stage, false) == 0) {
		unlinkat(t->stage, SCRATCH_FILE, 0);
		unlinkat(t->stage, SCRATCH_DIR, AT_REMOVEDIR);
	}
	while (t->n_ro_later > 0) {
		int fd = t->ro_later[--t->n_ro_later];
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
		int r = mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr));

		close(fd);
		if (r < 0)
			return -errno;
	}
	return 0;
}

struct hutch_mount_tree {
	struct tree t;
	size_t n_sorted;   /* plan->ops sorted and applied: by begin, then by each apply */
	size_t n_begin;	   /* those of begin: their protect kinds go with the first apply */
	bool protect_some; /* an apply happened */
};

void hutch_mount_tree_free(struct hutch_mount_tree *tree)
{
	if (!tree)
		return;
	tree_done(&tree->t);
	free(tree);
}

/* The ops [@from, @to) of @plan that are (@protect) or are not protected paths and pins. */
static int apply_pass(struct hutch_mount_plan *plan, struct tree *t, bool protect, size_t from,
		      size_t to, hutch_error *err)
{
	for (size_t i = from; i < to; i++) {
		int r;

		if (hutch_mount_is_protect_kind(plan->ops[i].kind) != protect)
			continue;
		r = apply_one(plan, i, t);
		if (r == -ESTALE)
			return hutch_errx(err, ESTALE,
					  "mount: protected path %s changed (removed, renamed or "
					  "replaced by a symlink) while the sandbox started: "
					  "refusing to run",
					  plan->ops[i].path);
		if (r < 0)
			return hutch_err(err, r, "mount: %s", plan->ops[i].path);
	}
	return 0;
}

int hutch_mount_tree_begin(struct hutch_mount_plan *plan, struct hutch_mount_tree **out,
			   hutch_error *err)
{
	struct hutch_mount_tree *tree = calloc(1, sizeof(*tree));
	int r;

	*out = NULL;
	if (!tree)
		return -ENOMEM;
	tree->t = (struct tree){.root = -1, .stage = -1, .dirfd = -1, .topfd = -1};
	qsort(plan->ops, plan->n, sizeof(plan->ops[0]), hutch_mount_op_cmp);
	tree->n_sorted = tree->n_begin = plan->n;
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		r = hutch_err(err, errno, "mount: making mounts private");
	else
		r = clone_sources(plan, err);
	if (r >= 0)
		r = make_tree(plan, &tree->t, err);
	if (r >= 0)
		r = apply_pass(plan, &tree->t, false, 0, plan->n, err);
	if (r < 0) {
		hutch_mount_tree_free(tree);
		return r;
	}
	*out = tree;
	return 0;
}

int hutch_mount_tree_apply(struct hutch_mount_plan *plan, struct hutch_mount_tree *tree,
			   hutch_error *err)
{
	size_t from = tree->n_sorted;
	int r = 0;

	/* begin's own protected paths first, then those added since, sorted among themselves */
	if (!tree->protect_some)
		r = apply_pass(plan, &tree->t, true, 0, tree->n_begin, err);
	tree->protect_some = true;
	if (r < 0)
		return r;
	if (plan->n > from)
		qsort(plan->ops + from, plan->n - from, sizeof(plan->ops[0]), hutch_mount_op_cmp);
	tree->n_sorted = plan->n;
	return apply_pass(plan, &tree->t, true, from, plan->n, err);
}

int hutch_mount_tree_finish(struct hutch_mount_plan *plan, struct hutch_mount_tree *tree,
			    bool detach_later, hutch_error *err)
{
	int r = hutch_mount_tree_apply(plan, tree, err);

	if (r < 0)
		return r;
	r = seal_hidden(&tree->t);
	if (r < 0)
		return hutch_err(err, r, "mount: sealing a hidden directory");
	return do_pivot(tree->t.root, plan->cwd, detach_later, err);
}
