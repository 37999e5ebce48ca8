/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The protected paths of a container's writable binds, read-only before its workload
 * runs (docs/oci.md, "Persistence: the mounted workspace"). After `runc create` the
 * container's process waits for `start` with every mount made. A child of hutch-oci
 * enters its mount and PID namespaces (setns through its pidfd) and a grandchild, a
 * member of that PID namespace so that the container's /proc shows it, does the work
 * from the container's own view:
 *
 *   1. each writable bind of a host directory recorded at create (persist.c, the set
 *      delete checks) is opened at its destination from "/" without following a
 *      symbolic link, and must be the directory recorded (device and inode);
 *   2. hutch run's search (sandbox/protect.c, hutch_protect_plan()) runs with those
 *      destinations as its writable roots and hutch's default protected list: the
 *      repositories beneath them, their git directories, submodules and worktrees, what
 *      a protected symbolic link points to beneath the same root, the directories to
 *      pin;
 *   3. each path found that exists is opened beneath its root with
 *      openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and bound onto itself through that
 *      descriptor (open_tree(OPEN_TREE_CLONE), mount_setattr, move_mount): read-only,
 *      nosuid, nodev for a protected path, nosuid, nodev for a pin. What is bound is
 *      always what lies in the volume at that path, whatever another container sharing
 *      the volume swaps in (a symbolic link fails the create).
 *
 * The mounts live in the container's mount namespace alone, and go with it. A bind
 * whose mount propagates to peers (shared) would carry them to the host: refused.
 * Paths that do not exist yet get no placeholder (it would be made in the user's
 * project, on the host): delete's check covers them.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/escape.h"
#include "base/file.h"
#include "base/path.h"
#include "oci/oci-int.h"
#include "policy/policy.h"
#include "policy/profiles.h"
#include "sandbox/mount.h"
#include "sandbox/protect.h"

#define MAX_RECORD_BYTES (1024 * 1024)
#define MAX_MOUNTINFO_BYTES (16 * 1024 * 1024)
#define MAX_VOLUMES 256

#define _cleanup_json_ _cleanup_(json_decrefp)

struct volume {
	char *dest; /* in the container, normalized */
	dev_t dev;
	ino_t ino;
	int fd; /* the destination, opened in the container */
};

struct work {
	struct volume v[MAX_VOLUMES];
	size_t n;
	char *mountinfo; /* the container's /proc/self/mountinfo, read once */
	size_t mountinfo_len;
	int mounts;
	/* the mounts made here: private (attached under mounts that are not shared) */
	unsigned long long *ours;
	size_t n_ours, cap_ours;
};

int hutch_oci_bundle_binds(const char *bundle)
{
	_cleanup_close_ int dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	return dirfd >= 0 &&
	       fstatat(dirfd, HUTCH_OCI_PERSIST_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode);
}

static const char *shown(const char *path, char *buf, size_t size)
{
	return hutch_escape_str(path, buf, size, 0);
}

/* The destinations of the record, the last of each (a later mount covers an earlier one). */
static int read_volumes(json_t *rec, struct work *w, hutch_error *err)
{
	json_t *roots = json_object_get(rec, "roots"), *root;
	size_t i;

	json_array_foreach(roots, i, root)
	{
		const char *d = json_string_value(json_object_get(root, "dest"));
		char *dest = d && d[0] == '/' && !hutch_path_has_dotdot(d) ? hutch_path_normalize(d)
									   : NULL;
		size_t k;

		if (!dest)
			return hutch_errx(err, EINVAL, "bundle: %s: a bind without its destination",
					  HUTCH_OCI_PERSIST_FILE);
		for (k = 0; k < w->n && strcmp(w->v[k].dest, dest); k++)
			;
		if (k == w->n && w->n >= MAX_VOLUMES) {
			free(dest);
			return hutch_errx(err, E2BIG, "more than %d writable binds", MAX_VOLUMES);
		}
		if (k < w->n)
			free(w->v[k].dest);
		w->v[k] = (struct volume){
			dest, (dev_t)json_integer_value(json_object_get(root, "dev")),
			(ino_t)json_integer_value(json_object_get(root, "ino")), -1};
		if (k == w->n)
			w->n++;
	}
	return 0;
}

/* ---- in the container's namespaces ------------------------------------------------------- */

/* Each destination, from "/" without a symbolic link, the directory recorded at create. */
static int open_volumes(struct work *w, hutch_error *err)
{
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char b[PATH_MAX];

	if (rootfd < 0)
		return hutch_err(err, errno, "protect: the container's root");
	for (size_t i = 0; i < w->n; i++) {
		struct stat st;
		const char *sub = w->v[i].dest + strspn(w->v[i].dest, "/");

		w->v[i].fd =
			*sub ? hutch_open_beneath(rootfd, sub, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0)
			     : -EINVAL;
		if (w->v[i].fd < 0) {
			hutch_err(err, -w->v[i].fd,
				  "protect: the writable bind at %s in the container",
				  shown(w->v[i].dest, b, sizeof(b)));
			hutch_err_hint(err, "bind volumes at a path of the image without symbolic "
					    "links");
			return -ESTALE;
		}
		if (fstat(w->v[i].fd, &st) < 0)
			return hutch_err(err, errno, "protect: %s",
					 shown(w->v[i].dest, b, sizeof(b)));
		if (st.st_dev != w->v[i].dev || st.st_ino != w->v[i].ino)
			return hutch_errx(err, ESTALE,
					  "protect: %s in the container is not the host directory "
					  "bound there at create",
					  shown(w->v[i].dest, b, sizeof(b)));
	}
	return 0;
}

/* hutch run's search, with the destinations as writable roots (sandbox/protect.c). */
static int plan_volumes(const struct work *w, struct hutch_mount_plan *plan, hutch_error *err)
{
	hutch_policy *p = hutch_policy_new();
	char **missing = NULL;
	size_t n_missing = 0;
	int r = 0;

	if (!p)
		return hutch_err(err, ENOMEM, "protect");
	p->workspace = strdup(w->v[0].dest);
	if (!p->workspace)
		r = -ENOMEM;
	for (size_t i = 1; r >= 0 && i < w->n; i++)
		r = hutch_rules_add(&p->fs_writable, w->v[i].dest, "writable bind", false);
	for (size_t i = 0; r >= 0 && hutch_default_protected[i]; i++)
		r = hutch_rules_add(&p->fs_protected, hutch_default_protected[i], "built-in",
				    false);
	if (r < 0) {
		hutch_policy_free(p);
		return hutch_err(err, -r, "protect");
	}
	r = hutch_protect_plan(p, plan, NULL, &missing, &n_missing, err);
	for (size_t i = 0; i < n_missing; i++)
		free(missing[i]); /* no placeholders in the user's project: delete checks them */
	free(missing);
	hutch_policy_free(p);
	if (r >= 0 && plan->n > 1)
		qsort(plan->ops, plan->n, sizeof(plan->ops[0]), hutch_mount_op_cmp);
	return r;
}

/* The container's mountinfo: through its /proc, which shows this process. */
static int read_mountinfo(struct work *w, hutch_error *err)
{
	int r = hutch_read_file_at(AT_FDCWD, "/proc/self/mountinfo", MAX_MOUNTINFO_BYTES,
				   &w->mountinfo, &w->mountinfo_len);

	if (r < 0) {
		hutch_err(err, -r, "protect: reading the container's /proc/self/mountinfo");
		hutch_err_hint(err, "the container needs /proc (a procfs of its PID namespace) for "
				    "hutch to protect its writable binds");
		return r;
	}
	return 0;
}

/* Does mount @id propagate to peers ("shared:N" among its optional fields)? */
static bool mount_shared(const struct work *w, unsigned long long id)
{
	const char *s = w->mountinfo, *end = w->mountinfo + w->mountinfo_len;

	for (size_t i = 0; i < w->n_ours; i++)
		if (w->ours[i] == id)
			return false;

	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		char *after;
		unsigned long long mid;

		if (!eol)
			eol = end;
		mid = strtoull(s, &after, 10);
		if (after != s && mid == id) {
			const char *sep = memmem(s, (size_t)(eol - s), " - ", 3);
			const char *sh = memmem(s, (size_t)(eol - s), " shared:", 8);

			return sh && (!sep || sh < sep);
		}
		s = eol + 1;
	}
	return true; /* not found: assume the worst */
}

static int check_propagation(const struct work *w, int fd, const char *path, hutch_error *err)
{
	struct statx stx;
	char b[PATH_MAX];

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
		return hutch_err(err, errno, "protect: %s", shown(path, b, sizeof(b)));
	if (!(stx.stx_mask & STATX_MNT_ID) || mount_shared(w, stx.stx_mnt_id)) {
		hutch_errx(err, EPERM,
			   "protect: %s is on a mount with shared propagation: the read-only "
			   "binds that protect it would propagate out of the container",
			   shown(path, b, sizeof(b)));
		hutch_err_hint(err, "give the volume private or slave propagation (Docker's and "
				    "Podman's default rprivate, or -v SRC:DST:rslave)");
		return -EPERM;
	}
	return 0;
}

static int volume_fd(const struct work *w, const char *root)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->v[i].dest, root))
			return w->v[i].fd;
	return -1;
}

/* The mount just attached through @fd: one of ours. */
static int remember(struct work *w, int fd, hutch_error *err)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
		return hutch_err(err, errno, "protect: statx");
	if (w->n_ours == w->cap_ours) {
		size_t cap = w->cap_ours ? w->cap_ours * 2 : 64;
		unsigned long long *v = realloc(w->ours, cap * sizeof(*v));

		if (!v)
			return hutch_err(err, ENOMEM, "protect");
		w->ours = v;
		w->cap_ours = cap;
	}
	w->ours[w->n_ours++] = stx.stx_mnt_id;
	return 0;
}

/* One path of the plan, bound onto itself through a descriptor resolved beneath its root. */
static int bind_one(struct work *w, const struct hutch_mount_op *op, hutch_error *err)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					      (op->kind == MOUNT_PROTECT ? MOUNT_ATTR_RDONLY : 0)};
	_cleanup_close_ int t = -1, fd = -1;
	int rootfd = volume_fd(w, op->source);
	const char *sub = op->path + strlen(op->source);
	char b[PATH_MAX];
	int r;

	if (rootfd < 0 || !hutch_path_has_prefix(op->path, op->source))
		return hutch_errx(err, EINVAL, "protect: %s: not beneath a writable bind",
				  shown(op->path, b, sizeof(b)));
	sub += strspn(sub, "/");
	if (!*sub)
		return 0;
	t = hutch_open_beneath(rootfd, sub, O_PATH | O_NOFOLLOW, 0);
	if (t == -ENOENT)
		return 0; /* not there (yet): delete's check covers it */
	if (t < 0) {
		hutch_err(err, t == -ELOOP || t == -EXDEV ? ESTALE : -t,
			  "protect: %s changed while hutch protected it (a symbolic link in its "
			  "path now?)",
			  shown(op->path, b, sizeof(b)));
		return -ESTALE;
	}
	r = check_propagation(w, t, op->path, err);
	if (r < 0)
		return r;
	fd = open_tree(t, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (fd < 0 ||
	    mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0 ||
	    move_mount(fd, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hutch_err(err, errno, "protect: binding %s read-only",
				 shown(op->path, b, sizeof(b)));
	w->mounts++;
	return remember(w, fd, err);
}

static int protect_in_container(struct work *w, hutch_error *err)
{
	struct hutch_mount_plan *plan = calloc(1, sizeof(*plan));
	int r;

	if (!plan)
		return hutch_err(err, ENOMEM, "protect");
	r = open_volumes(w, err);
	if (r >= 0)
		r = read_mountinfo(w, err);
	if (r >= 0)
		r = plan_volumes(w, plan, err);
	for (size_t i = 0; r >= 0 && i < plan->n; i++) {
		const struct hutch_mount_op *op = &plan->ops[i];

		if (!hutch_mount_is_protect_kind(op->kind) || !op->source)
			continue;
		if (i > 0 && op->kind == plan->ops[i - 1].kind &&
		    !strcmp(op->path, plan->ops[i - 1].path))
			continue;
		r = bind_one(w, op, err);
	}
	hutch_mount_plan_free(plan);
	return r < 0 ? r : w->mounts;
}

static void work_free(struct work *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].dest);
		if (w->v[i].fd >= 0)
			close(w->v[i].fd);
	}
	free(w->mountinfo);
	free(w->ours);
	free(w);
}

static void work_freep(struct work **w)
{
	work_free(*w);
}

/* ---- the helper processes ----------------------------------------------------------------- */

struct report {
	int r;
	hutch_error err;
};

static void send_report(int fd, int r, const hutch_error *err)
{
	struct report rep = {.r = r};

	if (err)
		rep.err = *err;
	(void)!write(fd, &rep, sizeof(rep));
}

static int wait_exit(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The child: into the container's namespaces; its child does the work there. */
static int enter_and_protect(int pidfd, struct work *w, int out)
{
	hutch_error err = {0};
	pid_t pid;

	if (setns(pidfd, CLONE_NEWNS | CLONE_NEWPID) < 0) {
		hutch_err(&err, errno, "protect: entering the container's mount namespace");
		send_report(out, -errno, &err);
		return 1;
	}
	pid = fork(); /* in the container's PID namespace: its /proc shows it */
	if (pid < 0) {
		hutch_err(&err, errno, "protect: fork");
		send_report(out, -errno, &err);
		return 1;
	}
	if (pid == 0) {
		int r;

		unsetenv("HOME"); /* the host's home says nothing of the container's paths */
		r = protect_in_container(w, &err);
		work_free(w);
		send_report(out, r, r < 0 ? &err : NULL);
		_exit(r < 0 ? 1 : 0);
	}
	return wait_exit(pid) == 0 ? 0 : 1;
}

int hutch_oci_protect_binds(const char *bundle, int pid, hutch_error *err)
{
	_cleanup_close_ int dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int pidfd = -1, rd = -1, wr = -1;
	_cleanup_(work_freep) struct work *w = calloc(1, sizeof(*w));
	_cleanup_free_ char *text = NULL, *got = NULL;
	_cleanup_json_ json_t *rec = NULL;
	struct report rep = {0};
	int p[2], r, st;
	size_t len, n = 0;
	pid_t child;

	if (!w)
		return hutch_err(err, ENOMEM, "protect");
	if (dirfd < 0)
		return hutch_err(err, errno, "bundle %s", bundle);
	r = hutch_read_file_at(dirfd, HUTCH_OCI_PERSIST_FILE, MAX_RECORD_BYTES, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return hutch_err(err, -r, "bundle: reading %s", HUTCH_OCI_PERSIST_FILE);
	rec = json_loadb(text, len, 0, NULL);
	if (!rec)
		return hutch_errx(err, EINVAL, "bundle: %s: not hutch's record",
				  HUTCH_OCI_PERSIST_FILE);
	r = read_volumes(rec, w, err);
	if (r < 0 || w->n == 0)
		return r;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return hutch_err(err, errno, "protect: the container's process %d", pid);
	if (pipe2(p, O_CLOEXEC) < 0)
		return hutch_err(err, errno, "protect: pipe");
	rd = p[0];
	wr = p[1];
	child = fork();
	if (child < 0)
		return hutch_err(err, errno, "protect: fork");
	if (child == 0) {
		close(rd);
		_exit(enter_and_protect(pidfd, w, wr));
	}
	close(TAKE_FD(wr));
	r = hutch_read_fd(rd, sizeof(rep) + 1, &got, &n);
	st = wait_exit(child);
	if (r >= 0 && n == sizeof(rep))
		memcpy(&rep, got, sizeof(rep));
	if (r >= 0 && n == sizeof(rep) && rep.r < 0) {
		*err = rep.err;
		return rep.r;
	}
	if (r < 0 || n != sizeof(rep) || st != 0)
		return hutch_errx(err, EIO,
				  "protect: the helper in the container ended (status %d)", st);
	return rep.r;
}
