/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding what to protect. Relative protected entries ("`.git/hooks`",
 * "`.envrc`") apply at every writable root and in every git repository found
 * beneath one within a small budget (depth and directory entries), so a
 * start-up never walks a whole monorepo. Entries starting with ".git/" apply
 * to every git directory: the repository's own and its submodules' under
 * .git/modules.
 *
 * Git directories are the repositories' own and, at any depth under
 * .git/modules, every directory holding HEAD and objects/ or config (a
 * submodule named "third_party/lib" lives in .git/modules/third_party/lib),
 * within a bound that fails closed when exceeded. Linked worktrees' private
 * directories (.git/worktrees/NAME) get their config.worktree, commondir and
 * gitdir protected: git reads them for that worktree.
 *
 * Every repository root and git directory found is also pinned (bound onto
 * itself), and so is every directory between a writable root and anything
 * protected, pinned or hidden beneath it: a mount point cannot be renamed or
 * removed, so neither "mv .git x; mkdir -p .git/hooks" nor "mv .git/modules
 * x; cp -a x .git/modules" can replace a protected directory by an
 * unprotected copy. A ".git" *file* (worktrees, submodules) is read-only:
 * rewriting its "gitdir:" line would point git at hooks of the sandbox's
 * choosing.
 *
 * A protected path that is a symbolic link is protected, and so is what it
 * points to when that lies beneath the same writable root (resolved with
 * openat2(RESOLVE_BENEATH) from the root, never leaving it); a missing
 * target gets a placeholder like a missing protected path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/escape.h"
#include "base/homedir.h"
#include "base/path.h"
#include "policy/profiles.h"
#include "sandbox/protect.h"
#include "sandbox/scancache.h"

#define SCAN_MAX_DEPTH 3
#define SCAN_MAX_ENTRIES 4096
#define MAX_REPOS 256
#define MAX_GITDIRS 512
/* Bounds of the walk of .git/modules: nested directories, and directories read. */
#define MODULES_MAX_DEPTH 16
#define MODULES_MAX_DIRS 4096
/* Symbolic links followed from one protected path to what it points to. */
#define MAX_LINK_HOPS 8

/*
 * .git/commondir (in the default protected list) redirects where git takes
 * config and hooks from. Git fails on a directory there, so its placeholder
 * is a read-only file holding "." (journal.c).
 */

/* Directories never searched for nested repositories: large and never repos' roots. */
static const char *const scan_skip[] = {
	".git",	 "node_modules", "target", "vendor", ".venv",	    "venv", "__pycache__",
	"build", "dist",	 ".cache", ".tox",   ".mypy_cache", NULL,
};

struct strlist {
	char **v;
	size_t n, cap, max;
};

static int strlist_add_take(struct strlist *l, char *s)
{
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s)) {
			free(s);
			return 0;
		}
	if (l->n >= l->max) {
		free(s);
		return 0; /* budget reached: the rest is not searched */
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			free(s);
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return 0;
}

static void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool skip_name(const char *name)
{
	for (size_t i = 0; scan_skip[i]; i++)
		if (!strcmp(name, scan_skip[i]))
			return true;
	return false;
}

/* What the search takes from one directory it reads (also to check a cached search). */
struct level {
	size_t count;	/* entries read */
	bool has_git;	/* one of them is ".git", of any type */
	bool cut;	/* the entry budget ran out in it */
	char **subdirs; /* the subdirectories to search, sorted */
	size_t n_subdirs, cap;
};

static void level_free(struct level *lv)
{
	for (size_t i = 0; i < lv->n_subdirs; i++)
		free(lv->subdirs[i]);
	free(lv->subdirs);
	*lv = (struct level){0};
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries straight from getdents64, at most *budget of them (decremented). */
static int read_level(int fd, size_t *budget, struct level *lv)
{
	char buf[8192] __attribute__((aligned(8)));
	long n;

	*lv = (struct level){0};
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;
		     off += ((struct dirent64 *)(void *)(buf + off))->d_reclen) {
			const struct dirent64 *de = (const struct dirent64 *)(void *)(buf + off);

			if (*budget == 0) {
				lv->cut = true;
				return 0;
			}
			(*budget)--;
			lv->count++;
			if (!strcmp(de->d_name, ".git"))
				lv->has_git = true;
			if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, "..") || !strcmp(de->d_name, ".git") ||
			    skip_name(de->d_name))
				continue;
			if (lv->n_subdirs == lv->cap) {
				size_t cap = lv->cap ? lv->cap * 2 : 16;
				char **v = realloc(lv->subdirs, cap * sizeof(*v));
				if (!v)
					return -ENOMEM;
				lv->subdirs = v;
				lv->cap = cap;
			}
			lv->subdirs[lv->n_subdirs] = strdup(de->d_name);
			if (!lv->subdirs[lv->n_subdirs])
				return -ENOMEM;
			lv->n_subdirs++;
		}
	}
	if (n < 0)
		return -errno;
	if (lv->n_subdirs > 1)
		qsort(lv->subdirs, lv->n_subdirs, sizeof(char *), cmp_str);
	return 0;
}

/* "a/b/c" from the sorted subdirectories (names hold no '/'). */
static char *join_subdirs(const struct level *lv)
{
	size_t len = 1, at = 0;
	char *s;

	for (size_t i = 0; i < lv->n_subdirs; i++)
		len += strlen(lv->subdirs[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < lv->n_subdirs; i++) {
		size_t l = strlen(lv->subdirs[i]);
		if (i)
			s[at++] = '/';
		memcpy(s + at, lv->subdirs[i], l + 1);
		at += l;
	}
	return s;
}

/* What one search depended on, for the cache (when a cache directory was given). */
struct scan_rec {
	struct hutch_scan_cache c;
	size_t cap;
	bool on;
	bool cut;	/* the budget ran out: not cached */
	size_t rootlen; /* path[0..rootlen) is the root */
};

static int rec_add(struct scan_rec *rec, const char *path, const struct stat *st,
		   const struct level *lv, bool has_git)
{
	struct hutch_scan_dir *d;
	const char *rel = path + rec->rootlen;

	if (!rec->on)
		return 0;
	if (rec->c.n_dirs == rec->cap) {
		size_t cap = rec->cap ? rec->cap * 2 : 64;
		struct hutch_scan_dir *v = realloc(rec->c.dirs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		rec->c.dirs = v;
		rec->cap = cap;
	}
	while (*rel == '/')
		rel++;
	d = &rec->c.dirs[rec->c.n_dirs];
	*d = (struct hutch_scan_dir){.dev = st->st_dev,
				     .ino = st->st_ino,
				     .ctime = st->st_ctim,
				     .read = lv != NULL,
				     .has_git = has_git,
				     .count = lv ? lv->count : 0};
	d->rel = strdup(*rel ? rel : ".");
	d->subdirs = lv ? join_subdirs(lv) : strdup("");
	rec->c.n_dirs++;
	return d->rel && d->subdirs ? 0 : -ENOMEM;
}

static int scan_child(int fd, const char *name, char *path, size_t len, int depth, size_t *budget,
		      struct strlist *repos, bool *has_git, struct scan_rec *rec);

/*
 * One directory of the search: @dfd (owned) open on @path (PATH_MAX bytes of
 * room, @len used), at @depth. A ".git" of any type (a directory, a gitdir
 * file, a symlink) makes it a repository.
 */
static int scan_dir(int dfd, char *path, size_t len, int depth, size_t *budget,
		    struct strlist *repos, bool *has_git, struct scan_rec *rec)
{
	_cleanup_close_ int fd = dfd;
	struct level lv;
	struct stat st;
	int r;

	r = read_level(fd, budget, &lv);
	*has_git = lv.has_git;
	if (lv.cut)
		rec->cut = true;
	if (r >= 0 && rec->on)
		r = fstat(fd, &st) < 0 ? -errno : rec_add(rec, path, &st, &lv, lv.has_git);
	for (size_t i = 0; r >= 0 && i < lv.n_subdirs; i++) {
		size_t nl = strlen(lv.subdirs[i]);
		bool child_git = false;

		if (len + 1 + nl >= PATH_MAX)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, lv.subdirs[i], nl + 1);
		r = scan_child(fd, lv.subdirs[i], path, len + 1 + nl, depth, budget, repos,
			       &child_git, rec);
		if (r >= 0 && child_git)
			r = strlist_add_take(repos, strdup(path));
		path[len] = '\0';
	}
	level_free(&lv);
	return r;
}

/* A subdirectory @name of @fd: read it (above the deepest level) or look for its ".git". */
static int scan_child(int fd, const char *name, char *path, size_t len, int depth, size_t *budget,
		      struct strlist *repos, bool *has_git, struct scan_rec *rec)
{
	char git[NAME_MAX + 6];
	struct stat st;
	int cfd;

	*has_git = false;
	if (depth < SCAN_MAX_DEPTH) {
		cfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd >= 0)
			return scan_dir(cfd, path, len, depth + 1, budget, repos, has_git, rec);
	}
	/* not read (the deepest level, or not readable): its ".git" by name */
	snprintf(git, sizeof(git), "%s/.git", name);
	*has_git = fstatat(fd, git, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (rec->on && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return rec_add(rec, path, &st, NULL, *has_git);
	return 0;
}

/* Does what the cached search took from directory @d still hold? */
static bool still_holds(int rootfd, const struct hutch_scan_dir *d)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *subdirs = NULL;
	struct level lv;
	size_t budget = SIZE_MAX;
	struct stat st;
	bool same;

	if (fstatat(rootfd, d->rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_dev != d->dev || st.st_ino != d->ino)
		return false;
	if (st.st_ctim.tv_sec == d->ctime.tv_sec && st.st_ctim.tv_nsec == d->ctime.tv_nsec)
		return true;
	if (!d->read) {
		char git[PATH_MAX];
		if (snprintf(git, sizeof(git), "%s/.git", d->rel) >= (int)sizeof(git))
			return false;
		return (fstatat(rootfd, git, &st, AT_SYMLINK_NOFOLLOW) == 0) == d->has_git;
	}
	/* something changed in it: the same entries as far as the search goes? */
	fd = openat(rootfd, d->rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || read_level(fd, &budget, &lv) < 0)
		return false;
	subdirs = join_subdirs(&lv);
	same = subdirs && lv.count == d->count && lv.has_git == d->has_git &&
	       !strcmp(subdirs, d->subdirs);
	level_free(&lv);
	return same;
}

/* The repositories of a cached search of @root, if it still holds: 1, else 0. */
static int from_cache(const char *cache_dir, const char *root, struct strlist *repos)
{
	struct hutch_scan_cache c;
	_cleanup_close_ int rootfd = -1;
	int r;

	r = hutch_scancache_load(cache_dir, root, &c);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	r = rootfd >= 0 && c.n_dirs > 0;
	for (size_t i = 0; r > 0 && i < c.n_dirs; i++)
		r = still_holds(rootfd, &c.dirs[i]);
	for (size_t i = 0; r > 0 && i < c.n_repos; i++) {
		int e = strlist_add_take(repos, hutch_path_join(root, c.repos[i]));
		if (e < 0)
			r = e;
	}
	hutch_scancache_free(&c);
	return r;
}

/* Store a search's repositories (@repos from op @from on) relative to @root. */
static void to_cache(const char *cache_dir, const char *root, struct scan_rec *rec,
		     const struct strlist *repos, size_t from)
{
	size_t rl = strlen(root);

	rec->c.repos = calloc(repos->n - from + 1, sizeof(char *));
	if (!rec->c.repos)
		return;
	for (size_t i = from; i < repos->n; i++) {
		const char *rel = repos->v[i] + rl;
		if (strncmp(repos->v[i], root, rl) || *rel != '/')
			return; /* not beneath the root: do not cache */
		rec->c.repos[rec->c.n_repos] = strdup(rel + 1);
		if (!rec->c.repos[rec->c.n_repos])
			return;
		rec->c.n_repos++;
	}
	(void)hutch_scancache_save(cache_dir, root, &rec->c);
}

/*
 * Breadth-limited search for directories containing ".git" beneath @dir, or
 * its result from the cache in @cache_dir (may be NULL) when it still holds.
 */
static int find_repos(const char *dir, const char *cache_dir, size_t *budget, struct strlist *repos)
{
	struct scan_rec rec = {.on = cache_dir != NULL};
	char path[PATH_MAX];
	size_t len = strlen(dir), n0 = repos->n;
	bool has_git;
	int fd, r;

	if (len >= sizeof(path) || dir[0] != '/')
		return 0;
	memcpy(path, dir, len + 1);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	r = cache_dir ? from_cache(cache_dir, path, repos) : 0;
	if (r != 0)
		return r < 0 ? r : 0;
	rec.rootlen = len;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = scan_dir(fd, path, len == 1 ? 0 : len, 1, budget, repos, &has_git, &rec);
	if (r >= 0 && rec.on && !rec.cut && repos->n - n0 < MAX_REPOS - 1)
		to_cache(cache_dir, path, &rec, repos, n0);
	hutch_scancache_free(&rec.c);
	return r;
}

/* Is the directory @dfd a git directory: HEAD, and objects/ or config? */
static bool is_git_dir(int dfd)
{
	struct stat st;

	if (fstatat(dfd, "HEAD", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return (fstatat(dfd, "objects", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) ||
	       fstatat(dfd, "config", &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The git directories and linked worktrees' private directories found, within bounds. */
struct gitwalk {
	struct strlist gitdirs, worktrees;
	size_t dirs; /* directories looked at under modules/ */
	bool cut;    /* a bound was reached: the run is refused */
};

/* Add to a list that must not be cut: -E2BIG past its bound (the run is refused). */
static int strlist_add_all(struct gitwalk *w, struct strlist *l, char *s)
{
	if (l->n >= l->max) {
		free(s);
		w->cut = true;
		return -E2BIG;
	}
	return strlist_add_take(l, s);
}

static int add_gitdir(const char *gitdir, int depth, struct gitwalk *w);

/* Each directory under @dir (a modules/ tree, @depth levels down): a git dir, or more beneath. */
static int walk_modules(const char *dir, int depth, struct gitwalk *w)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd, r = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while (r >= 0 && (de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;
		_cleanup_close_ int sfd = -1;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		sfd = openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0)
			continue;
		if (depth >= MODULES_MAX_DEPTH || ++w->dirs > MODULES_MAX_DIRS) {
			w->cut = true;
			return -E2BIG;
		}
		sub = hutch_path_join(dir, de->d_name);
		if (!sub)
			return -ENOMEM;
		r = is_git_dir(sfd) ? add_gitdir(sub, depth, w) : walk_modules(sub, depth + 1, w);
	}
	return r;
}

/* The linked worktrees' private directories of @gitdir (worktrees/NAME). */
static int add_worktrees(const char *gitdir, struct gitwalk *w)
{
	_cleanup_free_ char *dir = hutch_path_join(gitdir, "worktrees");
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r = 0;

	if (!dir)
		return -ENOMEM;
	d = opendir(dir);
	if (!d)
		return 0;
	while (r >= 0 && (de = readdir(d))) {
		char *sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = hutch_path_join(dir, de->d_name);
		if (!sub)
			return -ENOMEM;
		if (!is_dir(sub)) {
			free(sub);
			continue;
		}
		r = strlist_add_all(w, &w->worktrees, sub);
	}
	return r;
}

/* A git directory, its linked worktrees, and the git directories under its modules/. */
static int add_gitdir(const char *gitdir, int depth, struct gitwalk *w)
{
	_cleanup_free_ char *modules = NULL;
	int r;

	r = strlist_add_all(w, &w->gitdirs, strdup(gitdir));
	if (r >= 0)
		r = add_worktrees(gitdir, w);
	if (r < 0)
		return r;
	modules = hutch_path_join(gitdir, "modules");
	if (!modules)
		return -ENOMEM;
	return walk_modules(modules, depth + 1, w);
}

/* The directory the last missing name was looked for in: most share the repository's. */
struct last_parent {
	char *path;
	bool is_dir;
};

static bool parent_is_dir(struct last_parent *lp, char *parent)
{
	if (lp->path && !strcmp(lp->path, parent)) {
		free(parent);
		return lp->is_dir;
	}
	free(lp->path);
	lp->path = parent;
	lp->is_dir = is_dir(parent);
	return lp->is_dir;
}

/*
 * openat2 beneath @dirfd without following any symbolic link, retried when
 * the kernel could not tell that a ".." stayed beneath (EAGAIN: a rename
 * anywhere on the system raced the lookup).
 */
static int openat2_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {.flags = (unsigned)flags | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
	int fd = -1;

	for (int i = 0; i < 64; i++) {
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd;
}

/* What an openat2 failure beneath a root means: nothing to follow (0), or a failure. */
static int beneath_error(int e)
{
	return e == ENOENT || e == ENOTDIR || e == EXDEV || e == EACCES ? 0 : -e;
}

/* The host path @fd is open on, when it lies beneath @root (or is it: @may_be_root). */
static int fd_path_beneath(int fd, const char *root, bool may_be_root, char **out)
{
	char buf[PATH_MAX];

	*out = NULL;
	if (hutch_fd_path(fd, buf, sizeof(buf)) <= 0)
		return 0;
	if (!hutch_path_has_prefix(buf, root) || (!may_be_root && !strcmp(buf, root)))
		return 0;
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

/*
 * What the symbolic link @path (beneath @root) names, one link at a time, when
 * that lies beneath @root too: its text, with the directory part resolved
 * from the root with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so neither
 * ".." nor an absolute target leads out of it. The last component is left as
 * it is (it may be missing, or another link: the caller follows it in turn).
 * *@out is NULL when there is nothing to follow (a target out of the root or
 * in a missing directory); -ELOOP when the directory part holds a link (that
 * link could be swapped from inside: not protectable).
 */
static int link_target(const char *root, const char *path, char **out)
{
	_cleanup_close_ int rfd = -1, fd = -1;
	_cleanup_free_ char *rel = NULL, *dir = NULL, *d = NULL;
	const char *sub = path + strlen(root), *base, *dirpart;
	char t[PATH_MAX], *slash;
	ssize_t n;
	int r;

	*out = NULL;
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return 0;
	while (*sub == '/')
		sub++;
	n = readlinkat(rfd, sub, t, sizeof(t) - 1);
	if (n <= 0)
		return 0;
	t[n] = '\0';
	while (n > 1 && t[n - 1] == '/')
		t[--n] = '\0';
	if (t[0] == '/') {
		if (!hutch_path_has_prefix(t, root))
			return 0;
		rel = strdup(t + strlen(root));
	} else {
		dir = strdup(sub);
		if (!dir)
			return -ENOMEM;
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		rel = slash ? hutch_path_join(dir, t) : strdup(t);
	}
	if (!rel)
		return -ENOMEM;
	slash = strrchr(rel, '/');
	base = slash ? slash + 1 : rel;
	if (!*base || !strcmp(base, "."))
		return 0;
	dirpart = ".";
	if (slash) {
		*slash = '\0';
		dirpart = rel;
		while (*dirpart == '/')
			dirpart++;
		if (!*dirpart)
			dirpart = ".";
	}
	if (!strcmp(base, "..")) {
		/* "a/.." or "..": the directory it names, resolved the same way */
		dir = hutch_path_join(dirpart, "..");
		if (!dir)
			return -ENOMEM;
		dirpart = dir;
		base = NULL;
	}
	fd = openat2_beneath(rfd, dirpart, O_PATH | O_DIRECTORY);
	if (fd < 0 && errno == ELOOP)
		return -ELOOP;
	if (fd < 0) /* its directory is missing or out of the root */
		return beneath_error(errno);
	r = fd_path_beneath(fd, root, !!base, &d);
	if (r < 0 || !d)
		return r;
	*out = base ? hutch_path_join(d, base) : TAKE_PTR(d);
	return *out ? 0 : -ENOMEM;
}

struct protect_ctx {
	struct hutch_mount_plan *plan;
	struct strlist *missing;
	struct last_parent lp;
	const char *cut_root;	  /* the writable root where the git directories' bound was hit */
	char *bad_link;		  /* a protected link hutch cannot follow safely (-ELOOP) */
	struct hutch_homes homes; /* loaded when a shell rc file is missing somewhere */
};

static int consider_at(struct protect_ctx *c, const char *root, char *path, int hops);

/* A protected path that is a symbolic link: what it points to is protected too. */
static int follow_link(struct protect_ctx *c, const char *root, const char *path, int hops)
{
	char *target = NULL;
	int r;

	r = hops >= MAX_LINK_HOPS ? -ELOOP : link_target(root, path, &target);
	if (r == -ELOOP && !c->bad_link)
		c->bad_link = strdup(path);
	if (r < 0 || !target)
		return r;
	if (!strcmp(target, path)) {
		free(target);
		return 0;
	}
	return consider_at(c, root, target, hops + 1);
}

static int consider_at(struct protect_ctx *c, const char *root, char *path, int hops)
{
	char *parent;
	struct stat st;
	int r;

	if (lstat(path, &st) == 0) {
		r = hutch_mount_plan_add(c->plan, MOUNT_PROTECT, path, root, 0, true);
		if (r >= 0 && S_ISLNK(st.st_mode))
			r = follow_link(c, root, path, hops);
		free(path);
		return r;
	}
	parent = strdup(path);
	if (!parent) {
		free(path);
		return -ENOMEM;
	}
	*strrchr(parent, '/') = '\0';
	if (!parent_is_dir(&c->lp, parent)) {
		free(path);
		return 0; /* e.g. .git/hooks outside a repository: nothing can hold it */
	}
	r = hutch_mount_plan_add(c->plan, MOUNT_PROTECT, path, root, 0, true);
	if (r < 0) {
		free(path);
		return r;
	}
	return strlist_add_take(c->missing, path);
}

static int consider(struct protect_ctx *c, const char *root, char *path)
{
	return path ? consider_at(c, root, path, 0) : -ENOMEM;
}

/* Files git reads from a linked worktree's private directory (.git/worktrees/NAME). */
static const char *const worktree_files[] = {"config.worktree", "commondir", "gitdir", NULL};

static int protect_worktree(struct protect_ctx *c, const char *root, const char *wt)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && worktree_files[i]; i++) {
		char *f = hutch_path_join(wt, worktree_files[i]);
		struct stat st;

		/* commondir and gitdir are git's own: a placeholder would break the worktree */
		if (f && i > 0 && lstat(f, &st) < 0) {
			free(f);
			continue;
		}
		r = consider(c, root, f);
	}
	return r;
}

/*
 * A shell rc file (hutch_shell_rc_files) at @path in @dir: protected when it
 * exists (a dotfiles repository's file that a home's link points to) or when
 * @dir is a home (base/homedir.h); a missing one anywhere else is read by no
 * shell, so it gets no placeholder.
 */
static bool rc_matters(struct protect_ctx *c, const char *dir, const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 || errno != ENOENT)
		return true;
	if (stat(dir, &st) < 0)
		return true;
	return hutch_homes_is_home(&c->homes, dir, &st);
}

static int protect_root(const struct hutch_policy *p, const char *root, const char *cache_dir,
			struct protect_ctx *c)
{
	struct strlist repos = {.max = MAX_REPOS};
	struct gitwalk w = {.gitdirs = {.max = MAX_GITDIRS}, .worktrees = {.max = MAX_GITDIRS}};
	size_t budget = SCAN_MAX_ENTRIES;
	_cleanup_free_ char *rootgit = hutch_path_join(root, ".git");
	int r;

	if (!rootgit)
		return -ENOMEM;
	r = strlist_add_take(&repos, strdup(root));
	if (r >= 0)
		r = find_repos(root, cache_dir, &budget, &repos);
	for (size_t i = 0; r >= 0 && i < repos.n; i++) {
		_cleanup_free_ char *g = hutch_path_join(repos.v[i], ".git");
		struct stat st;

		if (!g) {
			r = -ENOMEM;
			break;
		}
		if (strcmp(repos.v[i], root))
			r = hutch_mount_plan_add(c->plan, MOUNT_PIN, repos.v[i], root, 0, true);
		if (r < 0 || lstat(g, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			r = add_gitdir(g, 0, &w);
		} else if (S_ISREG(st.st_mode)) {
			r = hutch_mount_plan_add(c->plan, MOUNT_PROTECT, g, root, 0, true);
		} else if (S_ISLNK(st.st_mode)) {
			/* .git -> a directory in this root: that directory is the git dir. */
			_cleanup_free_ char *real = realpath(g, NULL);
			if (real && is_dir(real) && hutch_path_has_prefix(real, root) &&
			    strcmp(real, root))
				r = add_gitdir(real, 0, &w);
		}
	}
	for (size_t j = 0; r >= 0 && j < w.gitdirs.n; j++)
		r = hutch_mount_plan_add(c->plan, MOUNT_PIN, w.gitdirs.v[j], root, 0, true);
	for (size_t j = 0; r >= 0 && j < w.worktrees.n; j++)
		r = protect_worktree(c, root, w.worktrees.v[j]);
	for (size_t k = 0; r >= 0 && k < p->fs_protected.n; k++) {
		const char *e = p->fs_protected.v[k].value;

		if (e[0] == '/')
			continue;
		if (!strncmp(e, ".git/", 5)) {
			for (size_t i = 0; r >= 0 && i < w.gitdirs.n; i++)
				r = consider(c, root, hutch_path_join(w.gitdirs.v[i], e + 5));
		} else {
			bool rc = hutch_profile_is_shell_rc(e);

			for (size_t i = 0; r >= 0 && i < repos.n; i++) {
				char *path = hutch_path_join(repos.v[i], e);

				if (rc && path && !rc_matters(c, repos.v[i], path)) {
					free(path);
					continue;
				}
				r = consider(c, root, path);
			}
		}
	}
	if (w.cut)
		c->cut_root = root;
	strlist_free(&repos);
	strlist_free(&w.gitdirs);
	strlist_free(&w.worktrees);
	return r;
}

/* A directory between a writable root and something that must stay where it is. */
struct ancestor {
	char *path;
	const char *root;
	bool pinned; /* already a pin of the plan */
};

struct ancestors {
	struct ancestor *v;
	size_t n, cap;
};

static int anc_add(struct ancestors *a, const char *path, size_t len, const char *root, bool pinned)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct ancestor *v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n].path = strndup(path, len);
	if (!a->v[a->n].path)
		return -ENOMEM;
	a->v[a->n].root = root;
	a->v[a->n].pinned = pinned;
	a->n++;
	return 0;
}

/* Every directory strictly between @root and @path. */
static int anc_add_between(struct ancestors *a, const char *path, const char *root)
{
	size_t rl = strlen(root);
	int r = 0;

	if (!hutch_path_has_prefix(path, root))
		return 0;
	for (const char *s = path + rl + 1; r >= 0 && (s = strchr(s, '/')); s++)
		r = anc_add(a, path, (size_t)(s - path), root, false);
	return r;
}

static int anc_cmp(const void *x, const void *y)
{
	const struct ancestor *a = x, *b = y;
	int r = strcmp(a->path, b->path);

	return r ? r : (int)b->pinned - (int)a->pinned;
}

/*
 * Pin every directory between a writable root and a protected path, a pin
 * (repository root, git directory), a hidden or a private path beneath it, once each:
 * renaming one of them would carry the protected mount away and leave an
 * unprotected copy in its place.
 */
static int pin_ancestors(const struct hutch_policy *p, struct hutch_mount_plan *plan, size_t from)
{
	const struct hutch_rules *lists[] = {&p->fs_hidden, &p->fs_private};
	struct ancestors a = {0};
	size_t n = plan->n;
	int r = 0;

	for (size_t i = from; r >= 0 && i < n; i++) {
		const struct hutch_mount_op *op = &plan->ops[i];

		if (!hutch_mount_is_protect_kind(op->kind) || !op->source)
			continue;
		if (op->kind == MOUNT_PIN)
			r = anc_add(&a, op->path, strlen(op->path), op->source, true);
		if (r >= 0)
			r = anc_add_between(&a, op->path, op->source);
	}
	/* hidden and private paths: their mounts would be carried away the same way */
	for (size_t k = 0; k < ARRAY_SIZE(lists); k++)
		for (size_t i = 0; r >= 0 && i < lists[k]->n; i++) {
			const char *h = lists[k]->v[i].value;
			const char *root = hutch_mount_writable_root_of(p, h);
			if (root)
				r = anc_add_between(&a, h, root);
		}
	if (r >= 0 && a.n > 1)
		qsort(a.v, a.n, sizeof(a.v[0]), anc_cmp);
	for (size_t i = 0; r >= 0 && i < a.n; i++) {
		struct stat st;

		if ((i > 0 && !strcmp(a.v[i].path, a.v[i - 1].path)) || a.v[i].pinned)
			continue;
		/* only real directories: a symlink there is not followed into by the sandbox */
		if (lstat(a.v[i].path, &st) == 0 && S_ISDIR(st.st_mode))
			r = hutch_mount_plan_add(plan, MOUNT_PIN, a.v[i].path, a.v[i].root, 0,
						 true);
	}
	for (size_t i = 0; i < a.n; i++)
		free(a.v[i].path);
	free(a.v);
	return r;
}

/* Why the protected paths could not all be found, with how to fix it. */
static int protect_error(const struct protect_ctx *c, int r, hutch_error *err)
{
	char shown[PATH_MAX];

	if (c->cut_root) {
		hutch_errx(err, E2BIG,
			   "protect: more than %d git directories (or directories nested more "
			   "than %d deep under .git/modules) in %s: hutch cannot protect them all",
			   MAX_GITDIRS, MODULES_MAX_DEPTH,
			   hutch_escape_str(c->cut_root, shown, sizeof(shown), 0));
		hutch_err_hint(err,
			       "remove the git directories of submodules no longer used "
			       "(.git/modules/...) or of stale worktrees (git worktree prune)");
		return r;
	}
	if (c->bad_link) {
		hutch_errx(err, ELOOP,
			   "protect: %s is a symbolic link hutch cannot follow safely (more than "
			   "%d links, or a link in its target's directories)",
			   hutch_escape_str(c->bad_link, shown, sizeof(shown), 0), MAX_LINK_HOPS);
		hutch_err_hint(err, "point the link straight at the real file or directory");
		return r;
	}
	return hutch_err(err, r, "protect: finding protected paths");
}

int hutch_protect_plan(const struct hutch_policy *p, struct hutch_mount_plan *plan,
		       const char *cache_dir, char ***missing, size_t *n_missing, hutch_error *err)
{
	struct strlist miss = {.max = 1024};
	struct protect_ctx c = {.plan = plan, .missing = &miss};
	size_t from = plan->n;
	int r;

	r = protect_root(p, p->workspace, cache_dir, &c);
	for (size_t i = 0; r >= 0 && i < p->fs_writable.n; i++)
		if (is_dir(p->fs_writable.v[i].value) &&
		    !hutch_profile_is_state_dir(p->fs_writable.v[i].value, getenv("HOME")))
			r = protect_root(p, p->fs_writable.v[i].value, cache_dir, &c);
	/*
	 * Absolute entries (an agent profile's ~/.claude/settings.json, a policy
	 * file read for this run) matter only inside a writable root; there they
	 * are protected like the relative ones, with a placeholder when missing
	 * (a file the application accepts for the settings files it reads:
	 * journal.c).
	 */
	for (size_t k = 0; r >= 0 && k < p->fs_protected.n; k++) {
		const char *e = p->fs_protected.v[k].value;
		const char *root = e[0] == '/' ? hutch_mount_writable_root_of(p, e) : NULL;

		if (root)
			r = consider(&c, root, strdup(e));
	}
	if (r >= 0)
		r = pin_ancestors(p, plan, from);
	free(c.lp.path);
	hutch_homes_free(&c.homes);
	if (r < 0) {
		strlist_free(&miss);
		r = protect_error(&c, r, err);
		free(c.bad_link);
		return r;
	}
	free(c.bad_link);
	*missing = miss.v;
	*n_missing = miss.n;
	return 0;
}
