/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch apply (see apply.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "session/apply.h"
#include "base/atomic.h"
#include "base/cleanup.h"
#include "base/file.h"
#include "base/error.h"
#include "base/path.h"
#include "session/changes.h"
#include "session/session.h"

#define MAX_DIR_FIXUPS HUTCH_MAX_CHANGES

struct dir_fixup {
	char *rel;
	unsigned mode;
};

/* One write of this apply: @backup holds what was there (NULL: nothing was). */
struct undo {
	char *rel, *backup;
	bool dir;
	bool staged; /* @backup is in the staging directory, else beside @rel */
};

struct applier {
	hutch_session *s;
	const struct hutch_apply_opts *o;
	struct hutch_apply_summary *sum;
	struct hutch_snapshot snap;
	int wroot, uroot, jfd;
	char parent[PATH_MAX]; /* cached parent directory */
	int pfd;
	struct dir_fixup *fix;
	size_t nfix, capfix;
	bool preflight;	   /* the first pass: find every conflict before writing anything */
	struct undo *undo; /* what this apply wrote, to put back when it cannot finish */
	size_t nundo, capundo;
	int stage; /* WORKSPACE/.hutch-apply-ID: the backups, -1 until needed */
	/*
	 * A dry pass writes nothing, so a path it deleted is still there: the
	 * last one, so that what replaces it next (a file that became a directory
	 * and its content, or the reverse) is taken as created, not in the way.
	 */
	char *gone;
	unsigned long nstaged;
	char detail[PATH_MAX + 256];
};

int hutch_apply_beside_name(const char *name, const char *id, char *out, size_t size)
{
	int n = snprintf(out, size, "%s.hutch-%s", name, id);

	if (n < 0 || (size_t)n >= size || (size_t)n > NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static void report(struct applier *a, const struct hutch_change *c, enum hutch_apply_result r)
{
	switch (r) {
	case HUTCH_APPLIED:
		a->sum->applied++;
		break;
	case HUTCH_APPLY_CONFLICT:
		a->sum->conflicts++;
		break;
	case HUTCH_APPLY_PROTECTED:
		a->sum->refused++;
		break;
	case HUTCH_APPLY_SKIPPED:
		a->sum->skipped++;
		break;
	case HUTCH_APPLY_FAILED:
		a->sum->failed++;
		break;
	}
	if (a->o && a->o->report)
		a->o->report(c, r, a->detail, a->o->data);
	a->detail[0] = '\0';
}

static bool dry(const struct applier *a)
{
	return a->o->dry_run || a->preflight;
}

static void split(const char *rel, char *parent, size_t psize, const char **name)
{
	const char *slash = strrchr(rel, '/');

	if (!slash) {
		parent[0] = '\0';
		*name = rel;
		return;
	}
	snprintf(parent, psize, "%.*s", (int)(slash - rel), rel);
	*name = slash + 1;
}

/* mkdir -p of @rel beneath the workspace (u+rwx now, the layer's mode at the end). */
static int make_parents(struct applier *a, const char *rel)
{
	char buf[PATH_MAX];
	size_t len = strlen(rel);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, rel, len + 1);
	for (char *c = buf;; c++) {
		bool last = *c == '\0';
		if (*c != '/' && !last)
			continue;
		*c = '\0';
		{
			_cleanup_close_ int fd =
				hutch_open_beneath(a->wroot, buf, O_RDONLY | O_DIRECTORY, 0);
			if (fd == -ENOENT) {
				char pbuf[PATH_MAX];
				const char *nm;
				_cleanup_close_ int pfd = -1;
				struct stat ust;

				split(buf, pbuf, sizeof(pbuf), &nm);
				pfd = hutch_open_beneath(a->wroot, pbuf, O_RDONLY | O_DIRECTORY, 0);
				if (pfd < 0)
					return pfd;
				if (mkdirat(pfd, nm, 0700) < 0 && errno != EEXIST)
					return -errno;
				if (fstatat(a->uroot, buf, &ust, AT_SYMLINK_NOFOLLOW) == 0 &&
				    S_ISDIR(ust.st_mode)) {
					_cleanup_close_ int dfd = openat(
						pfd, nm,
						O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
					if (dfd >= 0)
						(void)fchmod(dfd, ust.st_mode & 01777);
				}
			} else if (fd < 0) {
				return fd;
			}
		}
		if (last)
			return 0;
		*c = '/';
	}
}

static int get_parent(struct applier *a, const char *parent, bool create)
{
	int fd;

	if (a->pfd >= 0 && !strcmp(a->parent, parent))
		return a->pfd;
	if (a->pfd >= 0) {
		close(a->pfd);
		a->pfd = -1;
	}
	fd = hutch_open_beneath(a->wroot, parent, O_RDONLY | O_DIRECTORY, 0);
	if (fd == -ENOENT && create) {
		int r = make_parents(a, parent);
		if (r < 0)
			return r;
		fd = hutch_open_beneath(a->wroot, parent, O_RDONLY | O_DIRECTORY, 0);
	}
	if (fd < 0)
		return fd;
	snprintf(a->parent, sizeof(a->parent), "%s", parent);
	a->pfd = fd;
	return fd;
}

void hutch_apply_tmp_name(const char *name, const char *id, char *out, size_t size)
{
	if (strlen(name) + strlen(id) + 16 <= NAME_MAX) {
		snprintf(out, size, ".%s.hutch-%s.tmp", name, id);
	} else {
		uint32_t h = 2166136261u;
		for (const unsigned char *p = (const unsigned char *)name; *p; p++)
			h = (h ^ *p) * 16777619u;
		snprintf(out, size, ".hutch-%s-%08x.tmp", id, h);
	}
}

static void tmp_name(struct applier *a, const char *name, char *out, size_t size)
{
	hutch_apply_tmp_name(name, a->s->id, out, size);
}

/* The directory where an apply keeps what it replaces until it is through. */
static void stage_name(const char *id, char *out, size_t size)
{
	snprintf(out, size, ".hutch-apply-%s", id);
}

/* Beneath @ufd (a directory of the layer) and @wfd (the same in the workspace). */
static void sweep_dir(const char *id, int ufd, int wfd, int depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (depth > HUTCH_SESSION_MAX_DEPTH || (fd = dup(ufd)) < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		char tmp[NAME_MAX + 1];
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		hutch_apply_tmp_name(de->d_name, id, tmp, sizeof(tmp));
		(void)unlinkat(wfd, tmp, 0);
		{
			char old[HUTCH_SESSION_MAX_ID + 8];
			snprintf(old, sizeof(old), "%s-old", id); /* see backup_name() */
			hutch_apply_tmp_name(de->d_name, old, tmp, sizeof(tmp));
			if (unlinkat(wfd, tmp, 0) < 0 && errno == EISDIR)
				(void)unlinkat(wfd, tmp, AT_REMOVEDIR);
		}
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(ufd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(st.st_mode))
				de->d_type = DT_DIR;
		}
		if (de->d_type == DT_DIR) {
			_cleanup_close_ int cu = openat(
				ufd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int cw =
				hutch_open_beneath(wfd, de->d_name, O_RDONLY | O_DIRECTORY, 0);
			if (cu >= 0 && cw >= 0)
				sweep_dir(id, cu, cw, depth + 1);
		}
	}
}

void hutch_apply_sweep(hutch_session *s)
{
	_cleanup_close_ int ufd = open(s->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int wfd = open(s->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	char st[NAME_MAX + 1];

	if (ufd >= 0 && wfd >= 0)
		sweep_dir(s->id, ufd, wfd, 0);
	if (wfd >= 0) {
		stage_name(s->id, st, sizeof(st));
		(void)hutch_remove_tree(wfd, st);
	}
}

/* Copy @in to @out; @size is what fstat said (the layer is at rest: it does not grow). */
static int copy_fd(int in, int out, uint64_t size)
{
	uint64_t done = 0;

	if (size == 0)
		return 0;
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0) {
			done += (uint64_t)n;
			if (done >= size)
				return 0;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		break;
	}
	for (;;) {
		char buf[65536];
		ssize_t n = read(in, buf, sizeof(buf)), w;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n; off += w) {
			w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0)
				return -errno;
		}
	}
}

/* A regular file: a temporary with data, mode and mtime, then renamed over @final. */
static int write_file(struct applier *a, int pfd, const char *rel, const char *final)
{
	_cleanup_close_ int in =
		hutch_open_beneath(a->uroot, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
	_cleanup_atomic_ struct hutch_atomic out = HUTCH_ATOMIC_INIT;
	char tmp[NAME_MAX + 1];
	struct stat st;
	int r;

	if (in < 0)
		return in;
	if (fstat(in, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL; /* changed since the walk */
	tmp_name(a, final, tmp, sizeof(tmp));
	r = hutch_atomic_begin(&out, pfd, final, tmp, 0600);
	if (r < 0)
		return r;
	r = copy_fd(in, out.fd, (uint64_t)st.st_size);
	if (r >= 0 && fchmod(out.fd, st.st_mode & 01777) < 0) /* set-id bits are dropped */
		r = -errno;
	if (r >= 0) {
		struct timespec ts[2] = {st.st_atim, st.st_mtim};
		(void)futimens(out.fd, ts);
	}
	if (r >= 0)
		r = hutch_atomic_commit(&out, 0);
	return r;
}

static int write_other(struct applier *a, int pfd, const struct hutch_change *c, const char *final)
{
	char tmp[NAME_MAX + 1];
	int r = 0;

	tmp_name(a, final, tmp, sizeof(tmp));
	(void)unlinkat(pfd, tmp, 0); /* left by an interrupted apply */
	if (c->type == HUTCH_FILE_SYMLINK) {
		char target[PATH_MAX];
		struct stat st;
		ssize_t n = readlinkat(a->uroot, c->path, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (symlinkat(target, pfd, tmp) < 0)
			return -errno;
		if (fstatat(a->uroot, c->path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			struct timespec ts[2] = {st.st_atim, st.st_mtim};
			(void)utimensat(pfd, tmp, ts, AT_SYMLINK_NOFOLLOW);
		}
	} else if (c->type == HUTCH_FILE_FIFO) {
		if (mknodat(pfd, tmp, S_IFIFO | (c->mode & 0777), 0) < 0)
			return -errno;
		(void)!fchmodat(pfd, tmp, c->mode & 0777, 0);
	} else {
		return -EOPNOTSUPP;
	}
	if (renameat(pfd, tmp, pfd, final) < 0) {
		r = -errno;
		(void)unlinkat(pfd, tmp, 0);
	}
	return r;
}

static int write_entry(struct applier *a, int pfd, const struct hutch_change *c, const char *final)
{
	if (c->type == HUTCH_FILE_REGULAR)
		return write_file(a, pfd, c->path, final);
	return write_other(a, pfd, c, final);
}

/* Where the version an apply replaces or deletes is kept until the apply is through. */
static void backup_name(struct applier *a, const char *name, char *out, size_t size)
{
	char id[HUTCH_SESSION_MAX_ID + 8];

	snprintf(id, sizeof(id), "%s-old", a->s->id);
	hutch_apply_tmp_name(name, id, out, size);
}

static int remember(struct applier *a, const char *rel, const char *backup, bool dir)
{
	struct undo *u;

	if (a->nundo == a->capundo) {
		size_t cap = a->capundo ? a->capundo * 2 : 64;
		u = realloc(a->undo, cap * sizeof(*u));
		if (!u)
			return -ENOMEM;
		a->undo = u;
		a->capundo = cap;
	}
	u = &a->undo[a->nundo];
	u->rel = strdup(rel);
	u->backup = backup ? strdup(backup) : NULL;
	u->dir = dir;
	u->staged = false;
	if (!u->rel || (backup && !u->backup)) {
		free(u->rel);
		free(u->backup);
		return -ENOMEM;
	}
	a->nundo++;
	return 0;
}

/* Keep the current @name (a file, link, fifo) as a backup before it is replaced: a hard link. */
static int keep_old(struct applier *a, int pfd, const char *name, const char *rel, bool move,
		    bool dir)
{
	char bak[NAME_MAX + 1];
	int r;

	if (a->stage < 0) {
		char st[NAME_MAX + 1];
		stage_name(a->s->id, st, sizeof(st));
		if (mkdirat(a->wroot, st, 0700) < 0 && errno != EEXIST)
			return -errno;
		a->stage = openat(a->wroot, st, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (a->stage < 0)
			return -errno;
	}
	/* in the staging directory (out of the way of a directory deleted next), else beside */
	snprintf(bak, sizeof(bak), "%lu", a->nstaged);
	if (move ? renameat(pfd, name, a->stage, bak) == 0
		 : linkat(pfd, name, a->stage, bak, 0) == 0) {
		a->nstaged++;
		r = remember(a, rel, bak, dir);
		if (r >= 0)
			a->undo[a->nundo - 1].staged = true;
		return r;
	}
	if (errno != EXDEV)
		return -errno;
	backup_name(a, name, bak, sizeof(bak));
	(void)unlinkat(pfd, bak, 0); /* left by an apply that was killed */
	if (move ? renameat(pfd, name, pfd, bak) < 0 : linkat(pfd, name, pfd, bak, 0) < 0)
		return -errno;
	return remember(a, rel, bak, dir);
}

static void journal(struct applier *a, int pfd, const char *name, const char *rel);

/* An apply that cannot finish: put back everything it wrote, newest first. */
static void rollback(struct applier *a)
{
	for (size_t i = a->nundo; i-- > 0;) {
		struct undo *u = &a->undo[i];
		char parent[PATH_MAX];
		const char *name;
		_cleanup_close_ int pfd = -1;

		split(u->rel, parent, sizeof(parent), &name);
		pfd = hutch_open_beneath(a->wroot, parent, O_RDONLY | O_DIRECTORY, 0);
		if (pfd < 0)
			continue;
		if (u->backup)
			(void)renameat(u->staged ? a->stage : pfd, u->backup, pfd, name);
		else
			(void)unlinkat(pfd, name, u->dir ? AT_REMOVEDIR : 0);
		journal(a, pfd, name, u->rel);
	}
}

/* The apply went through: drop the backups. */
static void drop_backups(struct applier *a)
{
	for (size_t i = 0; i < a->nundo; i++) {
		struct undo *u = &a->undo[i];
		char parent[PATH_MAX];
		const char *name;
		_cleanup_close_ int pfd = -1;

		if (!u->backup || u->staged)
			continue;
		split(u->rel, parent, sizeof(parent), &name);
		pfd = hutch_open_beneath(a->wroot, parent, O_RDONLY | O_DIRECTORY, 0);
		if (pfd >= 0)
			(void)unlinkat(pfd, u->backup, u->dir ? AT_REMOVEDIR : 0);
	}
}

/* Remove the staging directory and what is left in it. */
static void drop_stage(struct applier *a)
{
	char st[NAME_MAX + 1];

	if (a->stage >= 0) {
		close(a->stage);
		a->stage = -1;
	}
	stage_name(a->s->id, st, sizeof(st));
	(void)hutch_remove_tree(a->wroot, st);
}

static void free_undo(struct applier *a)
{
	for (size_t i = 0; i < a->nundo; i++) {
		free(a->undo[i].rel);
		free(a->undo[i].backup);
	}
	free(a->undo);
	a->undo = NULL;
	a->nundo = a->capundo = 0;
}

/*
 * Is @rel a git index (X/.git/index)? It is derived state: git status
 * rewrites it on its own (refreshed stat data) without a change of content.
 */
static bool is_git_index(const char *rel)
{
	size_t n = strlen(rel);

	return (n == 10 || (n > 10 && rel[n - 11] == '/')) && !strcmp(rel + n - 10, ".git/index");
}

/*
 * The workspace's index changed since the session started: was it only
 * refreshed (nothing staged against HEAD: `git diff --cached --quiet`)? Then
 * the session's index (the agent's git add) replaces it without loss. Any
 * doubt (git missing, something staged) keeps it a conflict.
 */
static bool index_only_refreshed(struct applier *a, const char *rel)
{
	_cleanup_free_ char *gitdir = NULL, *tree = NULL;
	size_t n = strlen(rel) - strlen("/index");
	extern char **environ;
	char **env = NULL;
	size_t ne = 0;
	int status = -1;
	pid_t pid;

	if (asprintf(&gitdir, "%s/%.*s", a->s->workspace, (int)n, rel) < 0)
		return false;
	if (asprintf(&tree, "%s/%.*s", a->s->workspace, (int)(n > 4 ? n - 5 : 0), rel) < 0) {
		tree = NULL;
		return false;
	}
	for (char **e = environ; e && *e; e++)
		ne++;
	env = calloc(ne + 1, sizeof(*env));
	if (!env)
		return false;
	ne = 0;
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, "GIT_", 4))
			env[ne++] = *e;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		char *argv[] = {"git",	   "--git-dir",
				gitdir,	   "--work-tree",
				tree,	   "--no-optional-locks",
				"-c",	   "core.fsmonitor=false",
				"diff",	   "--cached",
				"--quiet", NULL};
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execvpe("git", argv, env);
		_exit(127);
	}
	free(env);
	if (pid < 0)
		return false;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Remember what we wrote, so a rerun does not take it for the user's change. */
static void journal(struct applier *a, int pfd, const char *name, const char *rel)
{
	char line[PATH_MAX * 3 + 128];
	struct stat st;
	bool present = fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	int n = hutch_snapshot_format(line, sizeof(line), rel, present ? &st : NULL);

	if (n > 0 && a->jfd >= 0)
		(void)!write(a->jfd, line, (size_t)n);
	(void)hutch_snapshot_put(&a->snap, rel, present ? &st : NULL);
}

static int add_fixup(struct applier *a, const char *rel, unsigned mode)
{
	if (a->nfix >= MAX_DIR_FIXUPS)
		return -E2BIG;
	if (a->nfix == a->capfix) {
		size_t cap = a->capfix ? a->capfix * 2 : 64;
		struct dir_fixup *v = realloc(a->fix, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		a->fix = v;
		a->capfix = cap;
	}
	a->fix[a->nfix].rel = strdup(rel);
	if (!a->fix[a->nfix].rel)
		return -ENOMEM;
	a->fix[a->nfix].mode = mode;
	a->nfix++;
	return 0;
}

static bool is_empty_dir_at(int pfd, const char *name)
{
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (fd < 0)
		return errno == ENOENT;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			return false;
	return true;
}

static const char *errtext(int r)
{
	return strerror(r < 0 ? -r : r);
}

static enum hutch_apply_result apply_dir(struct applier *a, int pfd, const char *name,
					 const struct hutch_change *c, const struct stat *now)
{
	int r;

	if (now && !S_ISDIR(now->st_mode)) {
		snprintf(a->detail, sizeof(a->detail),
			 "something else is in the way in the workspace: kept");
		return HUTCH_APPLY_CONFLICT;
	}
	if (dry(a))
		return HUTCH_APPLIED;
	if (!now && mkdirat(pfd, name, 0700) < 0 && errno != EEXIST) {
		snprintf(a->detail, sizeof(a->detail), "%s", errtext(errno));
		return HUTCH_APPLY_FAILED;
	}
	if (!now && remember(a, c->path, NULL, true) < 0) {
		snprintf(a->detail, sizeof(a->detail), "%s", errtext(-ENOMEM));
		return HUTCH_APPLY_FAILED;
	}
	if (!now) {
		/* while it is being filled: writable for us */
		_cleanup_close_ int fd =
			openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			(void)fchmod(fd, 0700);
	}
	r = add_fixup(a, c->path, c->mode);
	if (r < 0) {
		snprintf(a->detail, sizeof(a->detail), "%s", errtext(r));
		return HUTCH_APPLY_FAILED;
	}
	return HUTCH_APPLIED;
}

/* A dry pass "deleted" @rel: remember it (see struct applier's gone). */
static enum hutch_apply_result dry_gone(struct applier *a, const char *rel)
{
	free(a->gone);
	a->gone = strdup(rel);
	return HUTCH_APPLIED;
}

/* In a dry pass, is @rel the path deleted last, or beneath it? */
static bool dry_beneath_gone(const struct applier *a, const char *rel)
{
	size_t n;

	if (!dry(a) || !a->gone)
		return false;
	n = strlen(a->gone);
	return strncmp(rel, a->gone, n) == 0 && (rel[n] == '\0' || rel[n] == '/');
}

static enum hutch_apply_result apply_delete(struct applier *a, int pfd, const char *name,
					    const struct hutch_change *c, const struct stat *now,
					    bool conflict)
{
	int r;

	if (!now)
		return HUTCH_APPLIED; /* gone already */
	if (c->old_type == HUTCH_FILE_DIR) {
		if (!S_ISDIR(now->st_mode)) {
			snprintf(a->detail, sizeof(a->detail),
				 "replaced by something else in the workspace: kept");
			return HUTCH_APPLY_CONFLICT;
		}
		if (dry(a))
			return dry_gone(a, c->path);
		if (!is_empty_dir_at(pfd, name)) {
			errno = ENOTEMPTY;
			goto not_removed;
		}
		if (keep_old(a, pfd, name, c->path, true, true) < 0) {
		not_removed:
			if (errno == ENOENT)
				return HUTCH_APPLIED;
			if (errno == ENOTEMPTY || errno == EEXIST) {
				snprintf(a->detail, sizeof(a->detail),
					 "directory not empty (it holds files the agent did not "
					 "delete): kept");
				return HUTCH_APPLY_SKIPPED;
			}
			snprintf(a->detail, sizeof(a->detail), "%s", errtext(errno));
			return HUTCH_APPLY_FAILED;
		}
		return HUTCH_APPLIED;
	}
	if (conflict || S_ISDIR(now->st_mode)) {
		snprintf(a->detail, sizeof(a->detail),
			 "changed in the workspace since the session started; the agent deleted "
			 "it: kept yours");
		return HUTCH_APPLY_CONFLICT;
	}
	if (dry(a))
		return dry_gone(a, c->path);
	r = keep_old(a, pfd, name, c->path, true, false);
	if (r < 0 && r != -ENOENT) {
		snprintf(a->detail, sizeof(a->detail), "%s", errtext(r));
		return HUTCH_APPLY_FAILED;
	}
	journal(a, pfd, name, c->path);
	return HUTCH_APPLIED;
}

static enum hutch_apply_result apply_one(struct applier *a, const struct hutch_change *c)
{
	char parent[PATH_MAX];
	const char *name;
	struct stat st;
	bool have, conflict;
	int pfd, r;

	if (c->protected_path && !a->o->include_protected) {
		snprintf(a->detail, sizeof(a->detail),
			 "protected path: not applied (use --include-protected after reviewing "
			 "it)");
		return HUTCH_APPLY_PROTECTED;
	}
	if (c->kind != HUTCH_CHANGE_DELETED && c->type == HUTCH_FILE_OTHER) {
		snprintf(a->detail, sizeof(a->detail), "sockets and device nodes are not applied");
		return HUTCH_APPLY_SKIPPED;
	}
	if (c->path[0] == '\0') {
		/* the workspace root's own mode */
		if (!dry(a) && fchmod(a->wroot, c->mode & 01777) < 0) {
			snprintf(a->detail, sizeof(a->detail), "%s", errtext(errno));
			return HUTCH_APPLY_FAILED;
		}
		return HUTCH_APPLIED;
	}
	if (c->kind != HUTCH_CHANGE_DELETED && dry_beneath_gone(a, c->path))
		return HUTCH_APPLIED; /* replaces what this pass deleted: would be created */
	split(c->path, parent, sizeof(parent), &name);
	pfd = get_parent(a, parent, c->kind != HUTCH_CHANGE_DELETED && !dry(a));
	if (pfd == -ENOENT && (c->kind == HUTCH_CHANGE_DELETED || dry(a)))
		return HUTCH_APPLIED; /* nothing left to delete / would be created */
	if (pfd < 0) {
		snprintf(a->detail, sizeof(a->detail), "%s%s",
			 pfd == -ELOOP || pfd == -EXDEV || pfd == -ENOTDIR
				 ? "a symlink or file is in the way in the workspace: "
				 : "",
			 errtext(pfd));
		return pfd == -ELOOP || pfd == -ENOTDIR ? HUTCH_APPLY_CONFLICT : HUTCH_APPLY_FAILED;
	}
	have = fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	/* checked again now: the user may have been editing while we listed */
	conflict = hutch_snapshot_changed(&a->snap, a->s->baseline_ns, c->path, have ? &st : NULL);
	if (conflict && have && S_ISREG(st.st_mode) && is_git_index(c->path))
		conflict = !index_only_refreshed(a, c->path);
	if (c->kind == HUTCH_CHANGE_DELETED)
		return apply_delete(a, pfd, name, c, have ? &st : NULL, conflict);
	if (c->type == HUTCH_FILE_DIR) {
		if (c->kind == HUTCH_CHANGE_MODIFIED && !have)
			return HUTCH_APPLIED;
		return apply_dir(a, pfd, name, c, have ? &st : NULL);
	}
	if (have && S_ISDIR(st.st_mode))
		conflict = true;
	if (conflict) {
		snprintf(a->detail, sizeof(a->detail),
			 "changed in the workspace since the session started: nothing was applied; "
			 "the agent's version stays in session %s",
			 a->s->id);
		return HUTCH_APPLY_CONFLICT;
	}
	if (dry(a))
		return HUTCH_APPLIED;
	r = have ? keep_old(a, pfd, name, c->path, false, false) : 0;
	if (r >= 0)
		r = write_entry(a, pfd, c, name);
	if (r >= 0 && !have)
		r = remember(a, c->path, NULL, false);
	if (r < 0) {
		snprintf(a->detail, sizeof(a->detail), "%s", errtext(r));
		return HUTCH_APPLY_FAILED;
	}
	journal(a, pfd, name, c->path);
	return HUTCH_APPLIED;
}

static void free_dir_fixups(struct applier *a)
{
	for (size_t i = 0; i < a->nfix; i++)
		free(a->fix[i].rel);
	free(a->fix);
	a->fix = NULL;
	a->nfix = a->capfix = 0;
}

static void finish_dirs(struct applier *a)
{
	/* deepest first, so a read-only directory is sealed after what is in it */
	for (size_t i = a->nfix; i-- > 0;) {
		_cleanup_close_ int fd =
			hutch_open_beneath(a->wroot, a->fix[i].rel, O_RDONLY | O_DIRECTORY, 0);
		if (fd >= 0)
			(void)fchmod(fd, a->fix[i].mode & 01777);
		free(a->fix[i].rel);
	}
	free(a->fix);
	a->fix = NULL;
	a->nfix = a->capfix = 0;
}

/*
 * All or nothing: a first pass finds every conflict and writes nothing; then
 * the changes are written, and when one fails (or a conflict appears
 * meanwhile) what was written is put back. Protected paths refused and
 * entries hutch never applies (sockets, a directory that is not empty) are
 * reported and do not stop the rest. Returns 1 when nothing was applied.
 */
static int apply_all(struct applier *a, const struct hutch_changes *ch)
{
	size_t bad = 0;

	if (!a->o->dry_run) {
		a->preflight = true;
		for (size_t i = 0; i < ch->n; i++) {
			enum hutch_apply_result r = apply_one(a, &ch->v[i]);
			if (r == HUTCH_APPLY_CONFLICT || r == HUTCH_APPLY_FAILED) {
				report(a, &ch->v[i], r);
				bad++;
			}
			a->detail[0] = '\0';
		}
		a->preflight = false;
		free(a->gone);
		a->gone = NULL;
		if (a->pfd >= 0) {
			close(a->pfd);
			a->pfd = -1;
		}
		free_dir_fixups(a);
		if (bad)
			return 1;
	}
	for (size_t i = 0; i < ch->n; i++) {
		enum hutch_apply_result r = apply_one(a, &ch->v[i]);
		if (!a->o->dry_run && (r == HUTCH_APPLY_CONFLICT || r == HUTCH_APPLY_FAILED)) {
			report(a, &ch->v[i], r);
			rollback(a);
			drop_stage(a);
			a->sum->applied = 0;
			free_dir_fixups(a);
			return 1;
		}
		report(a, &ch->v[i], r);
	}
	finish_dirs(a);
	drop_backups(a);
	drop_stage(a);
	return 0;
}

int hutch_session_apply(hutch_session *s, const struct hutch_apply_opts *o,
			struct hutch_apply_summary *sum, hutch_error *err)
{
	static const struct hutch_apply_opts none = {0};
	struct applier a = {.s = s,
			    .o = o ? o : &none,
			    .sum = sum,
			    .wroot = -1,
			    .uroot = -1,
			    .jfd = -1,
			    .pfd = -1,
			    .stage = -1};
	struct hutch_changes ch = {0};
	_cleanup_close_ int dfd = -1;
	char before[32] = "stopped";
	int r;

	memset(sum, 0, sizeof(*sum));
	r = hutch_session_lock(s, err);
	if (r < 0)
		return r;
	hutch_session_clear_placeholders(s);
	r = hutch_snapshot_load(s, &a.snap, err);
	if (r < 0)
		goto out;
	r = hutch_changes_compute(s, &a.snap, HUTCH_CHANGES_NO_SNIFF, &ch, err);
	if (r < 0)
		goto out;
	a.wroot = open(s->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	a.uroot = open(s->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a.wroot < 0 || a.uroot < 0 || dfd < 0) {
		r = hutch_err(err, errno, "apply %s: opening the workspace and the layer", s->id);
		goto out;
	}
	if (!a.o->dry_run) {
		a.jfd = openat(dfd, "applied",
			       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (a.jfd < 0) {
			r = hutch_err(err, errno, "apply %s: its journal", s->id);
			goto out;
		}
		snprintf(before, sizeof(before), "%s", s->state ? s->state : "stopped");
		r = hutch_session_set_state(s, "applying", err);
		if (r < 0)
			goto out;
	}
	if (!a.o->dry_run)
		drop_stage(&a); /* what an apply killed midway kept: it finishes now */
	r = apply_all(&a, &ch);
	if (r > 0 && !a.o->dry_run) { /* nothing applied: as it was */
		r = hutch_session_set_state(s, before, err);
		goto out;
	}
	if (r == 0 && !a.o->dry_run) {
		/*
		 * No syncfs()/fsync: it would flush every dirty page of the whole
		 * filesystem (seconds on a busy disk), and cp, git checkout or an
		 * editor do not either. Visibility is atomic per file; after a power
		 * loss a rerun recomputes what still differs.
		 */
		r = hutch_session_set_state(s, sum->refused || sum->skipped ? "partial" : "applied",
					    err);
	}
out:
	if (a.stage >= 0)
		close(a.stage);
	free_dir_fixups(&a);
	free_undo(&a);
	free(a.gone);
	if (a.pfd >= 0)
		close(a.pfd);
	if (a.wroot >= 0)
		close(a.wroot);
	if (a.uroot >= 0)
		close(a.uroot);
	if (a.jfd >= 0)
		close(a.jfd);
	hutch_changes_free(&ch);
	hutch_snapshot_free(&a.snap);
	hutch_session_unlock(s);
	return r < 0 ? r : 0;
}
