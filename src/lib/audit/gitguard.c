/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The end-of-run check for code planted in git repositories (gitguard.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic.h"
#include "base/cleanup.h"
#include "base/file.h"
#include "base/error.h"
#include "base/path.h"
#include "audit/dotenv.h"
#include "audit/rebasetodo.h"
#include "audit/gitconfig.h"
#include "audit/gitguard.h"
#include "audit/walkcache.h"

/* Deeper than this a directory is reported as not checked (one fd per level). */
#define GG_MAX_DEPTH 4096
/* Includes followed from one config, and their depth (git stops at 10). */
#define GG_MAX_INCLUDES 64
#define GG_MAX_INCLUDE_DEPTH 10
/*
 * A timestamp counts as "during the run" from a little before the start:
 * filesystems stamp with the coarse clock, up to a tick behind CLOCK_REALTIME
 * (clock_getres(CLOCK_REALTIME_COARSE)); twice that plus this is the margin,
 * on the side of checking more.
 */
#define GG_MARGIN_NS 1000000LL
#define GG_DENTS_BUF 4096

/* ---- the rules, shared with hutch apply ---------------------------------- */

enum code_kind { CODE_HOOKS, CODE_CONFIG, CODE_LINK, CODE_REBASE };

/* What, inside a git directory, makes git run code or look elsewhere for it. */
static const struct {
	const char *name;
	enum code_kind kind;
} code_names[] = {
	{"hooks", CODE_HOOKS},	       {"config", CODE_CONFIG}, {"config.worktree", CODE_CONFIG},
	{"commondir", CODE_LINK},      /* a worktree's common directory (its hooks and config) */
	{"gitdir", CODE_LINK},	       /* a worktree's way back to its checkout */
	{"rebase-merge", CODE_REBASE}, /* a stopped rebase's commands: exec (rebasetodo.h) */
};

bool hutch_gitguard_is_gitdir(bool (*has)(const char *name, bool want_dir, void *data), void *data)
{
	/* git's own test (setup.c, is_git_directory): HEAD, objects/ and refs/;
	 * a worktree's has HEAD and commondir; a common dir may lack HEAD. */
	return has("HEAD", false, data) || (has("objects", true, data) && has("refs", true, data));
}

static int code_name(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++)
		if (strlen(code_names[i].name) == n && !memcmp(s, code_names[i].name, n))
			return (int)i;
	return -1;
}

bool hutch_gitguard_is_code_path(const char *rel, bool is_dir,
				 bool (*is_gitdir)(const char *dir, void *data), void *data)
{
	const char *last = strrchr(rel, '/');
	_cleanup_free_ char *dir = NULL;
	size_t len = strlen(rel);

	if (!is_dir && !strcmp(last ? last + 1 : rel, ".git"))
		return true;
	dir = malloc(len + 1);
	if (!dir)
		return true; /* when in doubt, protected */
	/* every ancestor P (the root too): rel = P/NAME/..., NAME one of code_names */
	for (size_t i = 0; i <= len; i++) {
		const char *name, *end;
		bool gd;

		if (i > 0 && rel[i - 1] != '/')
			continue;
		name = rel + i;
		end = strchr(name, '/');
		if (code_name(name, end ? (size_t)(end - name) : strlen(name)) < 0)
			continue;
		memcpy(dir, rel, i ? i - 1 : 0);
		dir[i ? i - 1 : 0] = '\0';
		{
			const char *b = strrchr(dir, '/');
			gd = !strcmp(b ? b + 1 : dir, ".git") ||
			     (is_gitdir && is_gitdir(dir, data));
		}
		if (gd)
			return true;
	}
	return false;
}

/* ---- the walk's state ---------------------------------------------------- */

struct root {
	const char *path;
	int fd;
};

struct guard {
	struct root *roots;
	size_t n_roots;
	struct timespec since;
	int qfd; /* the quarantine directory of this run */
	const char *qpath;
	dev_t qdev;
	ino_t qino;
	hutch_gitguard_fn fn;
	void *data;
	struct hutch_gitguard_stats *st;
	const char *home;
	/*
	 * Checking what lies in a directory that came to its place during the run (not
	 * where the last walk saw it: moved there, or made): everything in it counts as
	 * changed, whatever its own ctime (a hook written in an earlier run, elsewhere).
	 */
	bool fresh;
	/* read-only for the whole run (protected mounts): the sandbox changed nothing there */
	const char *const *held;
	size_t n_held;
	const char *cache_dir; /* the walks' caches (walkcache.h), or NULL */
	long long res_ns;      /* of CLOCK_REALTIME_COARSE */
};

/* Did @st's inode change during the run (its ctime, which userspace cannot set back)? */
static bool in_run(const struct guard *g, const struct stat *st)
{
	return st->st_ctim.tv_sec > g->since.tv_sec ||
	       (st->st_ctim.tv_sec == g->since.tv_sec && st->st_ctim.tv_nsec >= g->since.tv_nsec);
}

/* Is @st, in what is being checked, to be treated as made or changed during the run? */
static bool changed(const struct guard *g, const struct stat *st)
{
	return g->fresh || in_run(g, st);
}

static char *abs_path(const struct guard *g, size_t root, const char *rel)
{
	const char *r = g->roots[root].path;
	char *s = NULL;

	if (!*rel)
		return strdup(r);
	if (asprintf(&s, "%s%s%s", r, strcmp(r, "/") ? "/" : "", rel) < 0)
		return NULL;
	return s;
}

static char *join(const char *a, const char *b)
{
	char *s = NULL;

	if (!*a)
		return strdup(b);
	if (asprintf(&s, "%s/%s", a, b) < 0)
		return NULL;
	return s;
}

static void report(struct guard *g, enum hutch_persist_action action, size_t root, const char *rel,
		   const char *quarantine, const char *what, const char *detail)
{
	_cleanup_free_ char *p = abs_path(g, root, rel);
	struct hutch_persist_item it = {action, p ? p : rel, quarantine, what, detail};

	if (action == HUTCH_PERSIST_FAILED)
		g->st->failed++;
	else
		g->st->neutralised++;
	if (g->fn)
		g->fn(&it, g->data);
}

static void report_errno(struct guard *g, size_t root, const char *rel, const char *what,
			 int errnum)
{
	report(g, HUTCH_PERSIST_FAILED, root, rel, NULL, what, strerror(errnum));
}

/* ---- the quarantine ------------------------------------------------------ */

/*
 * The quarantine directory of this run, made (mode 0700) when the first item
 * goes there: most runs quarantine nothing, and on ext4 a mkdir()/rmdir()
 * pair costs more than the rest of a small workspace's walk.
 */
static int quarantine_open(struct guard *g)
{
	struct stat st;
	int r;

	if (g->qfd >= 0)
		return 0;
	r = hutch_mkdir_p(g->qpath, 0700);
	if (r < 0)
		return r;
	g->qfd = open(g->qpath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (g->qfd < 0 || fstat(g->qfd, &st) < 0)
		return -errno;
	if (st.st_uid != geteuid() || (st.st_mode & 0077)) {
		if (fchmod(g->qfd, 0700) < 0 || st.st_uid != geteuid())
			return -EPERM; /* not private to this user */
	}
	g->qdev = st.st_dev;
	g->qino = st.st_ino;
	return 0;
}

/* Open (making it, mode 0700) the quarantine directory mirroring @rel's parent. */
static int qdir_open(struct guard *g, size_t root, const char *rel, const char **base)
{
	_cleanup_free_ char *full = NULL;
	const char *rp = g->roots[root].path;
	int fd;
	char *s, *slash;

	if (asprintf(&full, "%s/%s", rp[1] ? rp + 1 : "", rel) < 0)
		return -ENOMEM;
	fd = quarantine_open(g);
	if (fd < 0)
		return fd;
	fd = fcntl(g->qfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	for (s = full; (slash = strchr(s, '/')); s = slash + 1) {
		int nfd;
		*slash = '\0';
		if (!*s) /* the root "/" */
			continue;
		if (mkdirat(fd, s, 0700) < 0 && errno != EEXIST) {
			int e = -errno;
			close(fd);
			return e;
		}
		nfd = openat(fd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (nfd < 0)
			return -errno;
		fd = nfd;
	}
	*base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	return fd;
}

static int copy_file(int sfd, int dfd, const char *dname, mode_t mode)
{
	_cleanup_close_ int out =
		openat(dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0700);
	char buf[65536];
	ssize_t n;

	if (out < 0)
		return -errno;
	while ((n = read(sfd, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -EIO;
	return n < 0 ? -errno : 0;
}

/* Another filesystem: a copy, then the original removed. */
static int move_copy(int dfd, const char *name, const struct stat *st, int qd, const char *qn)
{
	int r;

	if (S_ISLNK(st->st_mode)) {
		char t[4096];
		ssize_t n = readlinkat(dfd, name, t, sizeof(t) - 1);
		if (n < 0)
			return -errno;
		t[n] = '\0';
		if (symlinkat(t, qd, qn) < 0)
			return -errno;
	} else if (S_ISREG(st->st_mode)) {
		_cleanup_close_ int in =
			openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (in < 0)
			return -errno;
		r = copy_file(in, qd, qn, st->st_mode);
		if (r < 0) {
			unlinkat(qd, qn, 0);
			return r;
		}
	} else {
		return -EXDEV;
	}
	return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
}

/*
 * Move @dfd/@name (@rel in root @root) into the quarantine; @qout gets where
 * it went. A name already there (an earlier item of this run) gets ".N".
 */
static int quarantine(struct guard *g, size_t root, int dfd, const char *name, const char *rel,
		      char **qout)
{
	_cleanup_close_ int qd = -1;
	const char *base = NULL;
	struct stat st;
	int r = -EEXIST;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	qd = qdir_open(g, root, rel, &base);
	if (qd < 0)
		return qd;
	for (int k = 0; k < 1000 && r == -EEXIST; k++) {
		_cleanup_free_ char *qn = NULL;
		if ((k ? asprintf(&qn, "%s.%d", base, k) : asprintf(&qn, "%s", base)) < 0)
			return -ENOMEM;
		if (faccessat(qd, qn, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (renameat(dfd, name, qd, qn) == 0)
			r = 0;
		else if (errno == EXDEV)
			r = move_copy(dfd, name, &st, qd, qn);
		else
			r = -errno;
		if (r == 0) {
			_cleanup_free_ char *rp = NULL;
			const char *q0 = g->roots[root].path;
			if (asprintf(&rp, "%s/%s%s%.*s%s", g->qpath, q0[1] ? q0 + 1 : "",
				     q0[1] ? "/" : "", (int)(base - rel), rel, qn) < 0)
				return -ENOMEM;
			*qout = rp;
			rp = NULL;
		}
	}
	return r;
}

/*
 * Was @rel (in root @root) read-only for the whole run? Then what its ctime
 * says happened before the sandbox started (the user's own hook or config,
 * made just before the run, within the margin of the start time).
 */
static bool held(const struct guard *g, size_t root, const char *rel)
{
	_cleanup_free_ char *abs = NULL;

	if (!g->n_held)
		return false;
	abs = abs_path(g, root, rel);
	for (size_t i = 0; abs && i < g->n_held; i++) {
		bool under_writable = false;

		if (!hutch_path_has_prefix(abs, g->held[i]))
			continue;
		/* a writable root bound beneath the read-only mount was writable all along */
		for (size_t j = 0; j < g->n_roots && !under_writable; j++)
			under_writable = strcmp(g->roots[j].path, g->held[i]) != 0 &&
					 hutch_path_has_prefix(g->roots[j].path, g->held[i]) &&
					 hutch_path_has_prefix(abs, g->roots[j].path);
		if (!under_writable)
			return true;
	}
	return false;
}

/* Is a writable root at or beneath @rel (relative to root @root)? */
static bool holds_root(const struct guard *g, size_t root, const char *rel)
{
	_cleanup_free_ char *abs = abs_path(g, root, rel);

	for (size_t j = 0; j < g->n_roots; j++)
		if (!abs || hutch_path_has_prefix(g->roots[j].path, abs))
			return true;
	return false;
}

static void neutralise(struct guard *g, size_t root, int dfd, const char *name, const char *rel,
		       const char *what)
{
	_cleanup_free_ char *q = NULL;
	int r;

	if (held(g, root, rel))
		return;
	r = quarantine(g, root, dfd, name, rel, &q);

	if (r < 0)
		report_errno(g, root, rel, what, -r);
	else
		report(g, HUTCH_PERSIST_MOVED, root, rel, q, what, NULL);
}

/* ---- paths named by symlinks and config values, inside a root ------------ */

/*
 * @target (a symlink's target or a config value) seen from @dir (relative to
 * root @root): which root and which relative path it names, if inside one.
 * Lexical: ".." is resolved on the path, and the open that follows refuses
 * any symlink, so the two agree.
 */
static char *resolve(const struct guard *g, size_t root, const char *dir, const char *target,
		     size_t *out_root)
{
	_cleanup_free_ char *abs = NULL, *norm = NULL, *base = NULL;

	if (!strncmp(target, "~/", 2) && g->home)
		abs = hutch_path_join(g->home, target + 2);
	else if (target[0] == '/')
		abs = strdup(target);
	else {
		base = abs_path(g, root, dir);
		abs = base ? hutch_path_join(base, target) : NULL;
	}
	if (!abs)
		return NULL;
	norm = hutch_path_normalize(abs);
	if (!norm)
		return NULL;
	for (size_t i = 0; i < g->n_roots; i++) {
		const char *rp = g->roots[i].path;
		size_t n = strlen(rp);
		if (!strcmp(norm, rp)) {
			*out_root = i;
			return strdup("");
		}
		if (hutch_path_has_prefix(norm, rp)) {
			*out_root = i;
			return strdup(norm + n + (rp[n - 1] == '/' ? 0 : 1));
		}
	}
	return NULL;
}

/* Open the parent of @rel beneath its root; @name gets the last component. */
static int open_parent(const struct guard *g, size_t root, const char *rel, const char **name)
{
	_cleanup_free_ char *p = strdup(rel);
	char *s;
	int fd;

	if (!p)
		return -ENOMEM;
	s = strrchr(p, '/');
	*name = s ? rel + (s - p) + 1 : rel;
	if (!s)
		return fcntl(g->roots[root].fd, F_DUPFD_CLOEXEC, 3);
	*s = '\0';
	fd = hutch_open_beneath(g->roots[root].fd, p, O_RDONLY | O_DIRECTORY, 0);
	return fd;
}

/* ---- hooks ---------------------------------------------------------------- */

static bool sample(const char *name)
{
	size_t n = strlen(name);

	return n > 7 && !strcmp(name + n - 7, ".sample");
}

/* A hook that is an older symlink: its target changed during the run? */
static void hook_link_target(struct guard *g, size_t root, int dfd, const char *name,
			     const char *dirrel)
{
	char t[4096];
	ssize_t n = readlinkat(dfd, name, t, sizeof(t) - 1);
	_cleanup_free_ char *rel = NULL;
	_cleanup_close_ int pfd = -1;
	const char *base;
	size_t troot;
	struct stat st;

	if (n <= 0)
		return;
	t[n] = '\0';
	rel = resolve(g, root, dirrel, t, &troot);
	if (!rel || !*rel)
		return; /* outside the writable roots: the sandbox could not change it */
	pfd = open_parent(g, troot, rel, &base);
	if (pfd < 0 || fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode) && changed(g, &st))
		neutralise(g, troot, pfd, base, rel, "hook (the target of a hook's symlink)");
}

static void guard_hooks_dir(struct guard *g, size_t root, int fd, const char *rel)
{
	_cleanup_close_ int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	_Alignas(struct dirent64) char buf[GG_DENTS_BUF]; /* getdents64 records: 8-byte aligned */
	ssize_t n;

	if (dfd < 0) {
		report_errno(g, root, rel, "hooks directory", errno);
		return;
	}
	while ((n = getdents64(dfd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			_cleanup_free_ char *crel = NULL;
			struct stat st;

			off += de->d_reclen;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
			    sample(de->d_name))
				continue;
			if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    S_ISDIR(st.st_mode))
				continue;
			crel = join(rel, de->d_name);
			if (!crel)
				continue;
			if (changed(g, &st))
				neutralise(g, root, dfd, de->d_name, crel, "hook");
			else if (S_ISLNK(st.st_mode))
				hook_link_target(g, root, dfd, de->d_name, rel);
		}
	}
	if (n < 0)
		report_errno(g, root, rel, "hooks directory", errno);
}

/* A hooks directory named by a path (core.hooksPath, an older "hooks" symlink). */
static void guard_hooks_at(struct guard *g, size_t root, const char *dir, const char *target)
{
	size_t troot;
	_cleanup_free_ char *rel = resolve(g, root, dir, target, &troot);
	_cleanup_close_ int fd = -1;

	if (!rel)
		return;
	fd = *rel ? hutch_open_beneath(g->roots[troot].fd, rel, O_RDONLY | O_DIRECTORY, 0)
		  : fcntl(g->roots[troot].fd, F_DUPFD_CLOEXEC, 3);
	if (fd >= 0)
		guard_hooks_dir(g, troot, fd, rel);
}

/* ---- config --------------------------------------------------------------- */

struct cfg_refs {
	char *hooks_path, *worktree;
	char *includes[GG_MAX_INCLUDES];
	size_t n_includes;
};

static void cfg_refs_free(struct cfg_refs *c)
{
	free(c->hooks_path);
	free(c->worktree);
	for (size_t i = 0; i < c->n_includes; i++)
		free(c->includes[i]);
	memset(c, 0, sizeof(*c));
}

static int collect(const struct hutch_gitconfig_entry *e, void *data)
{
	struct cfg_refs *c = data;

	if (!e->value)
		return 0;
	if (!strcmp(e->section, "core") && !e->subsection && !strcmp(e->key, "hookspath")) {
		free(c->hooks_path);
		c->hooks_path = strdup(e->value);
	} else if (!strcmp(e->section, "core") && !e->subsection && !strcmp(e->key, "worktree")) {
		free(c->worktree);
		c->worktree = strdup(e->value);
	} else if ((!strcmp(e->section, "include") || !strcmp(e->section, "includeif")) &&
		   !strcmp(e->key, "path") && c->n_includes < GG_MAX_INCLUDES) {
		c->includes[c->n_includes] = strdup(e->value);
		if (c->includes[c->n_includes])
			c->n_includes++;
	}
	return 0;
}

/*
 * Run as root over another user's files (hutch oci under a rootful engine, sudo hutch
 * run): the copy in place keeps the original's owner, so that the user can still write
 * it; else root's would be left in the user's repository.
 */
static int keep_owner(int fd, int dfd, const char *name)
{
	struct stat st;

	if (geteuid() != 0 || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid == 0)
		return 0;
	return fchown(fd, st.st_uid, st.st_gid) < 0 ? -errno : 0;
}

/* Put @text at @dfd/@name: a new file renamed over it after the original went away. */
static void replace_config(struct guard *g, size_t root, int dfd, const char *name, const char *rel,
			   const char *text, size_t len, mode_t mode, const char *what,
			   const char *detail)
{
	_cleanup_atomic_ struct hutch_atomic a = HUTCH_ATOMIC_INIT;
	_cleanup_free_ char *tmp = NULL, *q = NULL;
	int r;

	if (held(g, root, rel))
		return;
	if (asprintf(&tmp, ".%s.hutch-%d", name, (int)getpid()) < 0) {
		tmp = NULL;
		r = -ENOMEM;
	} else {
		r = hutch_atomic_begin(&a, dfd, name, tmp, mode & 0666);
	}
	if (r >= 0)
		r = hutch_write_all(a.fd, text, len);
	if (r >= 0)
		r = keep_owner(a.fd, dfd, name);
	if (r >= 0)
		r = hutch_atomic_close(&a, HUTCH_ATOMIC_FSYNC);
	if (r >= 0)
		r = quarantine(g, root, dfd, name, rel, &q);
	if (r >= 0)
		r = hutch_atomic_commit(&a, 0);
	if (r < 0) {
		report_errno(g, root, rel, what, -r);
		return;
	}
	report(g, HUTCH_PERSIST_SANITIZED, root, rel, q, what, detail);
}

static void guard_config_file(struct guard *g, size_t root, const char *rel, bool bare, int depth);

/* Follow what a config names: its includes, its hooksPath. */
static void follow_refs(struct guard *g, size_t root, const char *dir, const char *gitdir,
			bool bare, struct cfg_refs *c, int depth)
{
	for (size_t i = 0; i < c->n_includes && depth < GG_MAX_INCLUDE_DEPTH; i++) {
		size_t troot;
		_cleanup_free_ char *rel = resolve(g, root, dir, c->includes[i], &troot);
		if (rel && *rel)
			guard_config_file(g, troot, rel, bare, depth + 1);
	}
	if (c->hooks_path && gitdir) {
		/* relative to the checkout: core.worktree, the parent of ".git", else the git dir
		 */
		_cleanup_free_ char *wt = NULL;
		const char *b = strrchr(gitdir, '/');
		if (c->worktree)
			wt = join(gitdir, c->worktree);
		else if (!strcmp(b ? b + 1 : gitdir, ".git"))
			wt = b ? strndup(gitdir, (size_t)(b - gitdir)) : strdup("");
		else
			wt = strdup(gitdir);
		if (wt)
			guard_hooks_at(g, root, wt, c->hooks_path);
	}
}

/*
 * One config file: when it changed during the run and holds a key that runs
 * a program, the original goes to the quarantine and a copy without those
 * keys takes its place (unreadable: a minimal config). What it names is
 * followed in any case. @gitdir: the git directory whose config this is, or
 * NULL for an included file.
 */
static void guard_config(struct guard *g, size_t root, int dfd, const char *name, const char *rel,
			 const char *gitdir, bool bare, int depth)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL, *clean = NULL, *removed = NULL;
	_cleanup_free_ char *dir = NULL;
	struct cfg_refs refs = {0};
	const char *slash = strrchr(rel, '/');
	struct stat st;
	size_t len = 0, clen = 0;
	int r, parsed;

	dir = slash ? strndup(rel, (size_t)(slash - rel)) : strdup("");
	if (!dir)
		return;
	if (fd < 0) {
		if (errno == ENOENT)
			return;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && changed(g, &st)) {
			/* a symlink (or other) made during the run: a minimal config instead */
			_cleanup_free_ char *min = hutch_gitconfig_minimal(bare);
			if (min)
				replace_config(g, root, dfd, name, rel, min, strlen(min), 0644,
					       "git config (not a regular file)", "all");
		}
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	r = hutch_read_fd(fd, HUTCH_GITCONFIG_MAX, &buf, &len);
	parsed = r < 0 ? r : hutch_gitconfig_parse(buf, len, collect, &refs);
	if (changed(g, &st)) {
		if (parsed < 0) {
			_cleanup_free_ char *min = hutch_gitconfig_minimal(bare);
			if (min)
				replace_config(g, root, dfd, name, rel, min, strlen(min),
					       st.st_mode, "git config (unreadable, replaced)",
					       "all");
		} else {
			r = hutch_gitconfig_sanitize(buf, len, &clean, &clen, &removed);
			if (r > 0)
				replace_config(g, root, dfd, name, rel, clean, clen, st.st_mode,
					       "git config", removed);
			else if (r < 0)
				report_errno(g, root, rel, "git config", -r);
		}
	}
	follow_refs(g, root, dir, gitdir, bare, &refs, depth);
	cfg_refs_free(&refs);
}

static void guard_config_file(struct guard *g, size_t root, const char *rel, bool bare, int depth)
{
	const char *name;
	_cleanup_close_ int pfd = open_parent(g, root, rel, &name);

	if (pfd >= 0)
		guard_config(g, root, pfd, name, rel, NULL, bare, depth);
}

/* ---- .env files that agents load (dotenv.c) -------------------------------- */

/*
 * A regular ".env" changed during the run that sets a variable which runs
 * code or redirects an agent: the original goes to the quarantine and a copy
 * without those lines takes its place; one no dotenv reader agrees on (a NUL
 * byte, too large) is moved away whole.
 */
static void guard_dotenv_file(struct guard *g, size_t root, int dfd, const char *name,
			      const char *rel)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL, *clean = NULL, *removed = NULL;
	struct stat st;
	size_t len = 0, clen = 0;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !changed(g, &st))
		return;
	r = hutch_read_regular_fd(fd, HUTCH_DOTENV_MAX, &buf, &len);
	if (r >= 0)
		r = hutch_dotenv_sanitize(buf, len, &clean, &clen, &removed);
	if (r == -EINVAL || r == -EFBIG)
		neutralise(g, root, dfd, name, rel, ".env file (not plain text, or too large)");
	else if (r < 0)
		report_errno(g, root, rel, ".env file", -r);
	else if (r > 0)
		replace_config(g, root, dfd, name, rel, clean, clen, st.st_mode, ".env file",
			       removed);
}

/* A check of one regular file an agent loads (.env, local instructions). */
typedef void (*loaded_check_fn)(struct guard *g, size_t root, int dfd, const char *name,
				const char *rel);

/*
 * @name (at @rel) is a file an agent loads by itself. A regular one goes to
 * @check. A symbolic link is followed once, to a file inside a writable root
 * that the sandbox could change (not a protected path), which goes to @check;
 * where it points outside, or into a protected path, the sandbox wrote
 * nothing (Codex's private home links to its own files in ~/.codex). A chain
 * of links, or a link through one, is moved when either was made during the
 * run.
 */
static void guard_loaded(struct guard *g, size_t root, int dfd, const char *name, const char *rel,
			 loaded_check_fn check, const char *what)
{
	_cleanup_free_ char *dir = NULL, *trel = NULL;
	_cleanup_close_ int pfd = -1;
	const char *slash = strrchr(rel, '/'), *base;
	char t[4096];
	struct stat st, tst = {0};
	bool linked = false;
	size_t troot;
	ssize_t n;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
		return;
	if (!S_ISLNK(st.st_mode)) {
		check(g, root, dfd, name, rel);
		return;
	}
	n = readlinkat(dfd, name, t, sizeof(t) - 1);
	dir = slash ? strndup(rel, (size_t)(slash - rel)) : strdup("");
	if (n <= 0 || !dir)
		return;
	t[n] = '\0';
	trel = resolve(g, root, dir, t, &troot);
	if (!trel || !*trel || held(g, troot, trel))
		return; /* the sandbox could not change what it points to */
	pfd = open_parent(g, troot, trel, &base);
	if (pfd >= 0 && fstatat(pfd, base, &tst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(tst.st_mode))
		linked = changed(g, &tst);
	else if (pfd >= 0)
		check(g, troot, pfd, base, trel);
	if (linked || (changed(g, &st) && ((pfd < 0 && pfd != -ENOENT) || S_ISLNK(tst.st_mode))))
		neutralise(g, root, dfd, name, rel, what);
}

/* ---- what agents and editors load from where they start ------------------ */

/*
 * Files an agent or editor loads from the directory it is started in (or
 * from each directory between it and the project's root): Codex's
 * AGENTS.override.md, Claude Code's CLAUDE.local.md (instructions) and
 * .mcp.json (servers it starts), aider's .aider.*.yml/json, Cursor's and
 * Windsurf's rules, hutch's own .hutch.json. At the workspace's and the
 * repositories' roots they are protected (profiles.c); one created or changed
 * deeper down during the run is moved to the quarantine, since the user may
 * start the agent there.
 */
static const char *const start_files[] = {
	"AGENTS.override.md",
	"CLAUDE.local.md",
	".mcp.json",
	".hutch.json",
	".cursorrules",
	".windsurfrules",
	".aider.conf.yml",
	".aider.model.settings.yml",
	".aider.model.metadata.json",
	NULL,
};
/* The instruction files among them (said so when moved). */
static const char *const instruction_files[] = {"AGENTS.override.md", "CLAUDE.local.md", NULL};

/*
 * Directories of settings an agent or editor loads from where it starts
 * (hooks, MCP servers, commands, tasks): every file made or changed beneath
 * one during the run is moved to the quarantine, below the roots where they
 * are protected as a whole.
 */
static const char *const agent_dirs[] = {
	".claude",   ".gemini", ".codex",  ".cursor", ".windsurf",
	".continue", ".zed",	".vscode", ".idea",   NULL,
};
/*
 * Where no agent is started: hutch's own private homes of the agents (their
 * working copies, agentstate.c) and installed packages.
 */
static const char *const not_start_dirs[] = {".hutch-home", "node_modules", NULL};

static bool in_table(const char *const *t, const char *name, size_t n)
{
	for (; *t; t++)
		if (strlen(*t) == n && !memcmp(*t, name, n))
			return true;
	return false;
}

static bool is_start_file(const char *name)
{
	return in_table(start_files, name, strlen(name));
}

/* Does @rel (a path relative to a root) lie in a directory of agent_dirs? */
/*
 * How deep @rel (relative to a root, @n bytes of it) lies beneath the
 * outermost directory of agent_dirs on its way: 0 for one itself, 1 for its
 * subdirectory...; -1 when none, or beneath a directory of not_start_dirs.
 */
static int agent_depth(const char *rel, size_t n)
{
	int depth = -1;

	for (size_t i = 0; i < n;) {
		const char *c = rel + i, *end = memchr(c, '/', n - i);
		size_t len = end ? (size_t)(end - c) : n - i;

		if (in_table(not_start_dirs, c, len))
			return -1;
		if (depth >= 0)
			depth++;
		else if (in_table(agent_dirs, c, len))
			depth = 0;
		i += len + 1;
	}
	return depth;
}

static bool under_agent_dir(const char *rel)
{
	const char *last = strrchr(rel, '/');

	return last && agent_depth(rel, (size_t)(last - rel)) >= 0;
}

/*
 * An agent's settings directory and its two levels below (.claude/skills/NAME/,
 * .cursor/rules/GROUP/) are read at every check, their files checked by their
 * own ctime; deeper ones are trusted from the walk's cache like any other (a
 * file created there still changes its directory's ctime).
 */
#define AGENT_READ_DEPTH 2

bool hutch_gitguard_is_agent_path(const char *rel)
{
	const char *last = strrchr(rel, '/');

	return under_agent_dir(rel) || is_start_file(last ? last + 1 : rel);
}

static void guard_start_file(struct guard *g, size_t root, int dfd, const char *name,
			     const char *rel)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    changed(g, &st))
		neutralise(g, root, dfd, name, rel,
			   in_table(instruction_files, name, strlen(name))
				   ? "an agent's local instructions"
				   : "a file an agent or editor loads where it starts");
}

/* ---- a stopped rebase ------------------------------------------------------ */

/*
 * rebase-merge/git-rebase-todo made or changed during the run: its exec lines
 * are commented out (the original goes to the quarantine); one git would not
 * read as a plain list, or a link, is moved away whole.
 */
static void guard_rebase_todo(struct guard *g, size_t root, int dfd, const char *rel)
{
	const char *name = HUTCH_REBASE_TODO_NAME;
	_cleanup_free_ char *trel = join(rel, name), *buf = NULL, *clean = NULL;
	_cleanup_close_ int fd = -1;
	size_t len = 0, clen = 0;
	struct stat st;
	int r;

	if (!trel || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !changed(g, &st))
		return;
	if (!S_ISREG(st.st_mode)) {
		neutralise(g, root, dfd, name, trel, "a rebase's commands (not a regular file)");
		return;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	r = fd < 0 ? -errno : hutch_read_regular_fd(fd, HUTCH_REBASE_TODO_MAX, &buf, &len);
	if (r >= 0)
		r = hutch_rebase_todo_sanitize(buf, len, &clean, &clen);
	if (r == -EINVAL || r == -EFBIG)
		neutralise(g, root, dfd, name, trel,
			   "a rebase's commands (not plain text, or too large)");
	else if (r < 0)
		report_errno(g, root, trel, "a rebase's commands", -r);
	else if (r > 0)
		replace_config(g, root, dfd, name, trel, clean, clen, st.st_mode,
			       "a rebase's commands", "exec lines commented out");
}

/* ---- a git directory ------------------------------------------------------ */

static void guard_gitdir(struct guard *g, size_t root, int dfd, const char *rel)
{
	const char *b = strrchr(rel, '/');
	bool bare = strcmp(b ? b + 1 : rel, ".git") != 0;

	g->st->gitdirs++;
	for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++) {
		const char *name = code_names[i].name;
		_cleanup_free_ char *crel = join(rel, name);
		struct stat st;

		if (!crel || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		switch (code_names[i].kind) {
		case CODE_HOOKS:
			if (S_ISDIR(st.st_mode)) {
				_cleanup_close_ int hfd = openat(
					dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (hfd >= 0)
					guard_hooks_dir(g, root, hfd, crel);
			} else if (changed(g, &st)) {
				neutralise(g, root, dfd, name, crel, "hooks (not a directory)");
			} else if (S_ISLNK(st.st_mode)) {
				char t[4096];
				ssize_t n = readlinkat(dfd, name, t, sizeof(t) - 1);
				if (n > 0) {
					t[n] = '\0';
					guard_hooks_at(g, root, rel, t);
				}
			}
			break;
		case CODE_CONFIG:
			guard_config(g, root, dfd, name, crel, rel, bare, 0);
			break;
		case CODE_LINK:
			/* what it names lies in a writable root (walked) or out of reach */
			break;
		case CODE_REBASE:
			if (S_ISDIR(st.st_mode)) {
				_cleanup_close_ int rfd = openat(
					dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (rfd >= 0)
					guard_rebase_todo(g, root, rfd, crel);
			} else if (changed(g, &st)) {
				neutralise(g, root, dfd, name, crel,
					   "rebase state (not a directory)");
			}
			break;
		}
	}
}

/* ---- the walk ------------------------------------------------------------- */

/*
 * A directory on the walk's stack. Read: its listing, a getdents64 buffer at
 * a time. Trusted (walkcache.h): the same directory, unchanged, as in the
 * last complete walk; its subdirectories come from the cache, and its
 * descriptor (O_PATH when nothing in it is checked) is open only when it has
 * subdirectories or something to check (@fd -1 else).
 */
struct level {
	int fd;
	bool trusted;
	size_t path_len; /* of the directory's path in the buffer */
	unsigned shape;	 /* HUTCH_WALK_*, from the entries read so far (or the cache) */
	int has_head;	 /* looked up for skip_git_data(): -1 not yet, 0, 1 */
	long old;	 /* its record in the last walk's cache, or -1 */
	size_t rec;	 /* its record in this walk's (SIZE_MAX: none) */
	size_t next;	 /* trusted: its next subdirectory's record in the cache */
	bool agent;	 /* in a directory of agent_dirs: each file of it checked when read */
	bool changed;	 /* read: its ctime lies in the run */
	bool fresh; /* read: it came to its place during the run (or an agent dir above it did) */
	_Alignas(struct dirent64) char buf[GG_DENTS_BUF]; /* getdents64 records: 8-byte aligned */
	ssize_t n, off;
};

struct walk {
	struct level *lv;
	size_t depth, cap;
	char *path;
	size_t plen, pcap;
	/* the cache: the last complete walk of this root, this walk's */
	struct hutch_walkcache old, cur;
	bool caching; /* this walk's is recorded (a cache directory, no failure to record) */
	bool dirty;   /* and differs from the last in more than hutch's own placeholders */
	bool agent;   /* the next level pushed is in a directory of agent_dirs */
};

static int path_set(struct walk *w, size_t at, const char *name)
{
	size_t need = at + 1 + strlen(name) + 1;

	if (need > w->pcap) {
		size_t cap = w->pcap ? w->pcap : 256;
		char *p;
		while (cap < need)
			cap *= 2;
		p = realloc(w->path, cap);
		if (!p)
			return -ENOMEM;
		w->path = p;
		w->pcap = cap;
	}
	if (at)
		w->path[at++] = '/';
	memcpy(w->path + at, name, strlen(name) + 1);
	w->plen = at + strlen(name);
	return 0;
}

static bool shape_has(const char *name, bool want_dir, void *data)
{
	const unsigned *shape = data;

	(void)want_dir; /* any type: git's own test follows symlinks, so may this one */
	return (!strcmp(name, "HEAD") && (*shape & HUTCH_WALK_HEAD)) ||
	       (!strcmp(name, "objects") && (*shape & HUTCH_WALK_OBJECTS)) ||
	       (!strcmp(name, "refs") && (*shape & HUTCH_WALK_REFS));
}

static bool is_gitdir_shape(unsigned shape)
{
	return hutch_gitguard_is_gitdir(shape_has, &shape);
}

static void note_shape(struct level *l, const char *name)
{
	if (!strcmp(name, "HEAD"))
		l->shape |= HUTCH_WALK_HEAD;
	else if (!strcmp(name, "objects"))
		l->shape |= HUTCH_WALK_OBJECTS;
	else if (!strcmp(name, "refs"))
		l->shape |= HUTCH_WALK_REFS;
}

/*
 * A ".git" directory's own subdirectories that hold only git's data (objects,
 * refs, logs, ...): nothing there makes git run code, and nobody runs git in
 * them, so they are not walked; its hooks are read by guard_gitdir().
 * "modules" and "worktrees" (git directories of their own) are walked, and so
 * is everything in a directory of another name, even of git's shape: a
 * project's own logs/ beside a planted HEAD file is walked. The parent is a
 * git directory when it has a HEAD: one lookup, only for a directory of one
 * of these names in a ".git".
 */
static const char *const git_data_dirs[] = {
	"objects", "refs",     "logs",	       "info",	       "branches", "hooks",
	"lfs",	   "rr-cache", "rebase-merge", "rebase-apply", NULL,
};

static bool skip_git_data(struct level *parent, const char *parent_path, const char *name)
{
	const char *base = strrchr(parent_path, '/');

	if (strcmp(base ? base + 1 : parent_path, ".git") != 0)
		return false;
	for (const char *const *d = git_data_dirs; *d; d++)
		if (!strcmp(name, *d)) {
			if (parent->has_head < 0)
				parent->has_head = faccessat(parent->fd, "HEAD", F_OK,
							     AT_SYMLINK_NOFOLLOW) == 0;
			return parent->has_head;
		}
	return false;
}

/* ---- the walk's cache (walkcache.h) ---------------------------------------- */

/*
 * May the last walk's record @o be trusted, if the directory is still the
 * same inode with the same ctime? Not when that ctime lies in this run (the
 * directory changed while the sandbox ran), nor when it was racy when saved
 * (a change in the same clock tick would have left it as it was).
 */
static bool trustable(const struct guard *g, const struct walk *w, long o)
{
	const struct hutch_walk_rec *r = &w->old.recs[o];
	struct stat st = {.st_ctim = {(time_t)r->sec, (long)r->nsec}};

	return !in_run(g, &st) && !hutch_walkcache_racy(r->sec, r->nsec, &w->old.saved, g->res_ns);
}

static bool same_dir(const struct hutch_walk_rec *r, const struct stat *st)
{
	return S_ISDIR(st->st_mode) && r->dev == (uint64_t)st->st_dev &&
	       r->ino == (uint64_t)st->st_ino && r->sec == (int64_t)st->st_ctim.tv_sec &&
	       r->nsec == (uint32_t)st->st_ctim.tv_nsec;
}

static bool is_quarantine(const struct guard *g, const struct stat *st)
{
	return g->qfd >= 0 && st->st_dev == g->qdev && st->st_ino == g->qino;
}

/* This walk's record of the directory at w->path, as @st shows it. */
static size_t record(struct walk *w, const struct stat *st, unsigned flags)
{
	struct hutch_walk_rec r = {.dev = (uint64_t)st->st_dev,
				   .ino = (uint64_t)st->st_ino,
				   .sec = (int64_t)st->st_ctim.tv_sec,
				   .nsec = (uint32_t)st->st_ctim.tv_nsec,
				   .flags = flags};
	long i;

	if (!w->caching)
		return SIZE_MAX;
	i = hutch_walkcache_add(&w->cur, &r, w->plen ? w->path : "");
	if (i < 0)
		w->caching = false;
	return i < 0 ? SIZE_MAX : (size_t)i;
}

/*
 * The subdirectories of record @i of @c, but those at protected paths
 * (held(): hutch's placeholders come and go with each run, and the sandbox
 * could change nothing there).
 */
static size_t children(const struct guard *g, size_t root, const struct hutch_walkcache *c,
		       size_t i)
{
	size_t n = 0, end = i + c->recs[i].subtree;

	for (size_t k = i + 1; k <= end; k += c->recs[k].subtree + 1)
		n += !held(g, root, hutch_walkcache_rel(c, k));
	return n;
}

/*
 * Does @rel (in root @root) hold one of hutch's placeholders (the parent of a
 * protected path)? Its ctime changes at every run as they come and go, so it
 * is read at every run: a new ctime there alone is no reason to write the
 * cache again.
 */
static bool holds_placeholders(const struct guard *g, size_t root, const char *rel)
{
	_cleanup_free_ char *abs = g->n_held ? abs_path(g, root, rel) : NULL;
	size_t n = abs ? strlen(abs) : 0;

	for (size_t i = 0; abs && i < g->n_held; i++) {
		const char *h = g->held[i], *slash = strrchr(h, '/');
		size_t pl = slash ? (size_t)(slash - h) : 0;
		if ((pl == n && !strncmp(h, abs, n)) || (pl == 0 && !strcmp(abs, "/")))
			return true;
	}
	return false;
}

/*
 * A directory read whole: does this walk's record say the same as the last
 * (the same inode, entries that matter and subdirectories)? Protected paths
 * are left out on both sides: hutch's placeholders there differ at each run.
 */
static void compare_read(const struct guard *g, size_t root, struct walk *w, const struct level *l)
{
	const struct hutch_walk_rec *o, *c;

	if (!w->caching || w->dirty || l->rec == SIZE_MAX || held(g, root, w->path))
		return;
	if (l->old < 0) {
		w->dirty = true;
		return;
	}
	o = &w->old.recs[l->old];
	c = &w->cur.recs[l->rec];
	if (o->dev != c->dev || o->ino != c->ino || o->flags != c->flags ||
	    children(g, root, &w->old, (size_t)l->old) != children(g, root, &w->cur, l->rec))
		w->dirty = true;
	else if ((o->sec != c->sec || o->nsec != c->nsec ||
		  hutch_walkcache_racy(o->sec, o->nsec, &w->old.saved, g->res_ns)) &&
		 !holds_placeholders(g, root, w->path))
		w->dirty = true;
}

/* ---- the walk's steps ---------------------------------------------------- */

static struct level *push(struct walk *w, int fd, bool trusted, long old)
{
	struct level *l;

	if (w->depth == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct level *nl = realloc(w->lv, cap * sizeof(*nl));
		if (!nl)
			return NULL;
		w->lv = nl;
		w->cap = cap;
	}
	l = &w->lv[w->depth++];
	/* field by field: the listing's buffer is not cleared */
	l->fd = fd;
	l->trusted = trusted;
	l->path_len = w->plen;
	l->shape = 0;
	l->has_head = -1;
	l->old = old;
	l->rec = SIZE_MAX;
	l->next = (size_t)old + 1;
	l->agent = w->agent;
	w->agent = false;
	l->changed = l->fresh = false;
	l->n = l->off = 0;
	return l;
}

static bool push_read(struct guard *g, size_t root, struct walk *w, int fd, const struct stat *st,
		      long old)
{
	bool above = w->depth && w->lv[w->depth - 1].fresh;
	const struct hutch_walk_rec *o = old >= 0 ? &w->old.recs[old] : NULL;
	struct level *l = push(w, fd, false, old);

	if (!l) {
		close(fd);
		report_errno(g, root, w->path, "directory", ENOMEM);
		return false;
	}
	l->rec = record(w, st, 0);
	l->changed = in_run(g, st);
	/*
	 * Known only against the last walk (without one, a first run or hutch oci's
	 * check, each file's own ctime decides, as it always did). Inherited only
	 * within an agent's settings directory: a directory the user made since the
	 * last walk, then changed by the sandbox, must not make all it holds suspect.
	 */
	l->fresh = (above && l->agent) ||
		   (w->old.n && l->changed &&
		    (!o || o->dev != (uint64_t)st->st_dev || o->ino != (uint64_t)st->st_ino));
	g->st->dirs++;
	return true;
}

/*
 * A trusted directory (@fd: its descriptor, -1 for one without
 * subdirectories or entries to check): what it holds that the check reads
 * (a git directory's hooks and config, a ".env", local instructions) is
 * checked by its own ctime, as in a directory read.
 */
static bool push_trusted(struct guard *g, size_t root, struct walk *w, long o, int fd,
			 const struct stat *st)
{
	unsigned flags = w->old.recs[o].flags;
	size_t at = w->plen;
	struct level *l = push(w, fd, true, o);

	if (!l) {
		if (fd >= 0)
			close(fd);
		report_errno(g, root, w->path, "directory", ENOMEM);
		return false;
	}
	l->shape = flags;
	l->rec = record(w, st, flags);
	g->st->dirs++;
	g->st->trusted++;
	if (fd < 0)
		return true;
	if ((flags & HUTCH_WALK_ENV) && path_set(w, at, HUTCH_DOTENV_NAME) == 0)
		guard_loaded(g, root, fd, HUTCH_DOTENV_NAME, w->path, guard_dotenv_file,
			     ".env file (a chain of symbolic links)");
	for (const char *const *p = start_files; (flags & HUTCH_WALK_LOCAL) && *p; p++)
		if (path_set(w, at, *p) == 0)
			guard_loaded(g, root, fd, *p, w->path, guard_start_file,
				     "an agent's local instructions (a chain of symbolic links)");
	w->plen = at;
	w->path[at] = '\0';
	if (is_gitdir_shape(flags))
		guard_gitdir(g, root, fd, w->path);
	return true;
}

/*
 * The directory @name (at w->path) in the directory @pfd, if the last walk's
 * record @o still holds for it: the same inode and ctime, seen through a
 * descriptor opened beneath @pfd without following a symbolic link (O_PATH
 * when only its subdirectories are looked at, readable when entries in it are
 * checked), or one fstatat() for a directory without either. Then it is
 * trusted (true); a directory that changed since and was opened readable is
 * read (true); else false, and the caller reads it.
 */
static bool try_trusted(struct guard *g, size_t root, struct walk *w, int pfd, const char *name,
			long o)
{
	const struct hutch_walk_rec *r = &w->old.recs[o];
	bool check = (r->flags & (HUTCH_WALK_ENV | HUTCH_WALK_LOCAL)) || is_gitdir_shape(r->flags);
	struct stat st;
	int fd;

	if (!trustable(g, w, o))
		return false;
	if (!check && !r->subtree) {
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !same_dir(r, &st) ||
		    is_quarantine(g, &st))
			return false;
		push_trusted(g, root, w, o, -1, &st);
		return true;
	}
	fd = openat(pfd, name, (check ? O_RDONLY : O_PATH) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || is_quarantine(g, &st) || (!check && !same_dir(r, &st))) {
		close(fd);
		return false;
	}
	if (!same_dir(r, &st))
		push_read(g, root, w, fd, &st, o); /* changed since: read it */
	else
		push_trusted(g, root, w, o, fd, &st);
	return true; /* either way handled, failures reported */
}

/*
 * Go into the directory @name (at w->path) of the directory @pfd. @o: its
 * record in the last walk's cache, if known (-1: to be looked up, -2: none).
 * It is trusted when the cache holds for it (try_trusted()), else read.
 */
static void enter(struct guard *g, size_t root, struct walk *w, int pfd, const char *name, long o)
{
	struct stat st;
	bool agent;
	int cfd, depth;

	if (w->depth >= GG_MAX_DEPTH) {
		report_errno(g, root, w->path, "directory (too deep to check)", ELOOP);
		return;
	}
	depth = agent_depth(w->path, w->plen);
	agent = depth >= 0;
	if (o == -1 && w->old.n)
		o = hutch_walkcache_find(&w->old, w->path);
	if (o >= 0 && !(agent && depth <= AGENT_READ_DEPTH) &&
	    try_trusted(g, root, w, pfd, name, o))
		return;
	cfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/*
	 * Gone since the listing, or no longer a directory, at one of the protected
	 * paths: a concurrent run's placeholder, removed at its end. Anything else
	 * that vanishes under the walk is reported (it may have been moved away
	 * from the check).
	 */
	if (cfd < 0 && (errno == ENOENT || errno == ENOTDIR) && held(g, root, w->path))
		return;
	if (cfd < 0 || fstat(cfd, &st) < 0) {
		report_errno(g, root, w->path, "directory", errno);
		if (cfd >= 0)
			close(cfd);
		return;
	}
	if (is_quarantine(g, &st)) {
		close(cfd);
		return;
	}
	w->agent = agent;
	push_read(g, root, w, cfd, &st, o < 0 ? -1 : o);
}

/* The directory on top is done: a git directory read whole is checked, its record closed. */
static void pop(struct guard *g, size_t root, struct walk *w)
{
	struct level *l = &w->lv[w->depth - 1];

	if (!l->trusted) {
		/* read whole: its listing says whether it is a git directory */
		/*
		 * A git directory that came here during the run, or became one (the last
		 * walk saw the same directory without a git directory's shape): what it
		 * holds was staged, its hooks may be older than the run.
		 */
		if (is_gitdir_shape(l->shape)) {
			g->fresh = l->fresh || (l->changed && l->old >= 0 &&
						!is_gitdir_shape(w->old.recs[l->old].flags));
			guard_gitdir(g, root, l->fd, w->plen ? w->path : "");
			g->fresh = false;
		}
	}
	if (l->rec != SIZE_MAX && w->caching) {
		w->cur.recs[l->rec].subtree = (uint32_t)(w->cur.n - l->rec - 1);
		if (!l->trusted)
			w->cur.recs[l->rec].flags = l->shape;
	}
	if (!l->trusted)
		compare_read(g, root, w, l);
	if (l->fd >= 0)
		close(l->fd);
	w->depth--;
}

/* A trusted directory's next subdirectory, from the cache. */
static void step_trusted(struct guard *g, size_t root, struct walk *w)
{
	struct level *l = &w->lv[w->depth - 1];
	size_t c = l->next;
	const char *rel, *name;

	if (c > (size_t)l->old + w->old.recs[l->old].subtree) {
		pop(g, root, w);
		return;
	}
	l->next = c + w->old.recs[c].subtree + 1;
	rel = hutch_walkcache_rel(&w->old, c);
	name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	if (path_set(w, l->path_len, name) < 0) {
		report_errno(g, root, rel, "directory", ENOMEM);
		return;
	}
	enter(g, root, w, l->fd, name, (long)c);
}

/* A read directory's next entry. */
static void step_read(struct guard *g, size_t root, struct walk *w)
{
	struct level *l = &w->lv[w->depth - 1];
	struct dirent64 *de;
	struct stat st;

	if (l->off >= l->n) {
		l->n = getdents64(l->fd, l->buf, sizeof(l->buf));
		l->off = 0;
		if (l->n <= 0) {
			if (l->n < 0)
				report_errno(g, root, w->path, "directory", errno);
			pop(g, root, w);
			return;
		}
	}
	de = (struct dirent64 *)(l->buf + l->off);
	l->off += de->d_reclen;
	if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
		return;
	g->st->entries++;
	note_shape(l, de->d_name);
	g->fresh = l->fresh && l->agent; /* for the files checked below */
	/* ".env" as a directory is common too (a Python virtualenv): walked as one */
	if (de->d_type != DT_DIR && !strcmp(de->d_name, HUTCH_DOTENV_NAME) &&
	    path_set(w, l->path_len, de->d_name) == 0) {
		l->shape |= HUTCH_WALK_ENV;
		guard_loaded(g, root, l->fd, de->d_name, w->path, guard_dotenv_file,
			     ".env file (a chain of symbolic links)");
		if (de->d_type != DT_UNKNOWN)
			return;
	}
	if (de->d_type != DT_DIR && is_start_file(de->d_name) &&
	    path_set(w, l->path_len, de->d_name) == 0) {
		l->shape |= HUTCH_WALK_LOCAL;
		guard_loaded(g, root, l->fd, de->d_name, w->path, guard_start_file,
			     "an agent's local instructions (a chain of symbolic links)");
		if (de->d_type != DT_UNKNOWN)
			return;
	}
	if (l->agent && de->d_type != DT_DIR && path_set(w, l->path_len, de->d_name) == 0) {
		guard_loaded(g, root, l->fd, de->d_name, w->path, guard_start_file,
			     "an agent's or editor's settings (a chain of symbolic links)");
		if (de->d_type != DT_UNKNOWN)
			return;
	}
	g->fresh = false;
	if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
		return;
	/* d_type says enough, but for the quarantine itself (when it lies in a root) */
	if ((de->d_type == DT_UNKNOWN || de->d_ino == g->qino) &&
	    (fstatat(l->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
	     is_quarantine(g, &st)))
		return;
	w->plen = l->path_len;
	w->path[w->plen] = '\0';
	if (skip_git_data(l, w->path, de->d_name))
		return;
	if (path_set(w, l->path_len, de->d_name) < 0) {
		report_errno(g, root, w->path, "directory", ENOMEM);
		return;
	}
	/*
	 * Read-only for the whole run (a protected path, a placeholder), with no
	 * writable root at or beneath it: nothing there changed.
	 */
	if (held(g, root, w->path) && !holds_root(g, root, w->path))
		return;
	/* a directory not in the cache has no subdirectory there either */
	enter(g, root, w, l->fd, de->d_name, l->old < 0 ? -2 : -1);
}

/*
 * The root itself: trusted like any directory below it (a writable root
 * without placeholders, unchanged since the last walk), else read.
 */
static bool enter_root(struct guard *g, size_t root, struct walk *w)
{
	int fd = fcntl(g->roots[root].fd, F_DUPFD_CLOEXEC, 3);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		report_errno(g, root, "", "writable root", errno);
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (w->old.n && trustable(g, w, 0) && same_dir(&w->old.recs[0], &st))
		return push_trusted(g, root, w, 0, fd, &st);
	return push_read(g, root, w, fd, &st, w->old.n ? 0 : -1);
}

/*
 * The last complete walk's cache, if there is one (and it is of this root,
 * whole and undamaged: else none, and everything is read).
 */
static void cache_load(struct guard *g, size_t root, struct walk *w)
{
	w->caching = g->cache_dir != NULL;
	if (w->caching && hutch_walkcache_load(g->cache_dir, g->roots[root].path, &w->old) < 0)
		w->old = (struct hutch_walkcache){0};
}

/*
 * Saved after a complete walk only (no item failed), and only when it says
 * something new: not when no more than the directories that hold hutch's
 * placeholders changed (they are read at every run anyway).
 */
static void cache_save(struct guard *g, size_t root, struct walk *w, uint64_t failed0)
{
	struct timespec now;

	if (!w->caching || g->st->failed != failed0 || (w->old.n && !w->dirty))
		return;
	/* after the last stat of the walk: what is racy is judged against this */
	clock_gettime(CLOCK_REALTIME, &now);
	(void)hutch_walkcache_save(g->cache_dir, g->roots[root].path, &w->cur, &now);
}

static void walk_root(struct guard *g, size_t root)
{
	struct walk w = {0};
	uint64_t failed0 = g->st->failed;

	if (path_set(&w, 0, "") < 0) {
		report_errno(g, root, "", "writable root", ENOMEM);
		return;
	}
	cache_load(g, root, &w);
	if (enter_root(g, root, &w)) {
		while (w.depth) {
			struct level *l = &w.lv[w.depth - 1];

			w.plen = l->path_len;
			w.path[w.plen] = '\0';
			g->fresh = false; /* set only around the checks of a fresh directory's
					     entries */
			if (l->trusted)
				step_trusted(g, root, &w);
			else
				step_read(g, root, &w);
		}
		cache_save(g, root, &w, failed0);
	}
	hutch_walkcache_free(&w.old);
	hutch_walkcache_free(&w.cur);
	free(w.lv);
	free(w.path);
}

/* ---- entry point ------------------------------------------------------------ */

int hutch_gitguard_check(const char *const *roots, size_t n_roots, const char *const *held,
			 size_t n_held, const struct timespec *start, const char *quarantine_dir,
			 const char *cache_dir, hutch_gitguard_fn fn, void *data,
			 struct hutch_gitguard_stats *stats, hutch_error *err)
{
	struct guard g = {.fn = fn,
			  .data = data,
			  .st = stats,
			  .qfd = -1,
			  .held = held,
			  .n_held = n_held,
			  .cache_dir = cache_dir};
	struct rlimit old, rl;
	bool raised = false;
	int r;

	memset(stats, 0, sizeof(*stats));
	g.home = getenv("HOME");
	g.since = *start;
	{
		struct timespec res = {0, 10000000};
		long long ns;
		clock_getres(CLOCK_REALTIME_COARSE, &res);
		g.res_ns = (long long)res.tv_sec * 1000000000LL + res.tv_nsec;
		ns = (long long)g.since.tv_nsec - 2 * g.res_ns - GG_MARGIN_NS;
		while (ns < 0) {
			ns += 1000000000LL;
			g.since.tv_sec--;
		}
		g.since.tv_nsec = ns;
	}
	g.roots = calloc(n_roots ? n_roots : 1, sizeof(*g.roots));
	if (!g.roots)
		return -ENOMEM;
	g.qpath = quarantine_dir;
	r = 0;
	for (size_t i = 0; i < n_roots; i++) {
		g.roots[g.n_roots].path = roots[i];
		g.roots[g.n_roots].fd =
			open(roots[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (g.roots[g.n_roots].fd >= 0)
			g.n_roots++;
	}
	/* one fd per level of the walk: the hard limit, not the soft one, bounds it */
	if (getrlimit(RLIMIT_NOFILE, &old) == 0 && old.rlim_cur < old.rlim_max) {
		rl = old;
		rl.rlim_cur = old.rlim_max;
		raised = setrlimit(RLIMIT_NOFILE, &rl) == 0;
	}
	for (size_t i = 0; i < g.n_roots; i++) {
		bool inside = false;
		/* a root inside another is walked with it */
		for (size_t j = 0; j < g.n_roots && !inside; j++)
			inside = j != i &&
				 (hutch_path_has_prefix(g.roots[i].path, g.roots[j].path) &&
				  (strcmp(g.roots[i].path, g.roots[j].path) || j < i));
		if (!inside)
			walk_root(&g, i);
	}
	if (raised)
		setrlimit(RLIMIT_NOFILE, &old);
	for (size_t i = 0; i < g.n_roots; i++)
		close(g.roots[i].fd);
	free(g.roots);
	if (g.qfd >= 0)
		close(g.qfd);
	return r;
}
