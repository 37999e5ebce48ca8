/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding what to protect. Relative protected entries ("`.git/hooks`",
 * "`.envrc`") apply at every writable root and in every git repository found
 * beneath one within a small budget (depth and directory entries), so a
 * start-up never walks a whole monorepo. Entries starting with ".git/" apply
 * to every git directory: the repository's own and its submodules' under
 * .git/modules.
 *
 * Every repository root and git directory found is also pinned (bound onto
 * itself): a mount point cannot be renamed or removed, so "mv .git x; mkdir
 * -p .git/hooks" cannot replace a protected directory by an unprotected one.
 * A ".git" *file* (worktrees, submodules) is read-only: rewriting its
 * "gitdir:" line would point git at hooks of the sandbox's choosing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/path.h"
#include "protect.h"
#include "scancache.h"

#define SCAN_MAX_DEPTH 3
#define SCAN_MAX_ENTRIES 4096
#define MAX_REPOS 256
#define MAX_GITDIRS 512

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

/* The git directory of a repo root plus, recursively, its submodules' under modules/. */
static int add_gitdirs(const char *gitdir, int depth, struct strlist *gitdirs)
{
	_cleanup_free_ char *modules = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = strlist_add_take(gitdirs, strdup(gitdir));
	if (r < 0 || depth > 2)
		return r;
	modules = hutch_path_join(gitdir, "modules");
	if (!modules)
		return -ENOMEM;
	d = opendir(modules);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;
		if (de->d_name[0] == '.')
			continue;
		sub = hutch_path_join(modules, de->d_name);
		if (!sub)
			return -ENOMEM;
		if (is_dir(sub)) {
			r = add_gitdirs(sub, depth + 1, gitdirs);
			if (r < 0)
				return r;
		}
	}
	return 0;
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

static int consider(struct hutch_mount_plan *plan, const char *root, char *path,
		    struct strlist *missing, struct last_parent *lp)
{
	char *parent;
	struct stat st;
	int r;

	if (lstat(path, &st) == 0) {
		r = hutch_mount_plan_add(plan, MOUNT_PROTECT, path, root, 0, true);
		free(path);
		return r;
	}
	parent = strdup(path);
	if (!parent) {
		free(path);
		return -ENOMEM;
	}
	*strrchr(parent, '/') = '\0';
	if (!parent_is_dir(lp, parent)) {
		free(path);
		return 0; /* e.g. .git/hooks outside a repository: nothing can hold it */
	}
	r = hutch_mount_plan_add(plan, MOUNT_PROTECT, path, root, 0, true);
	if (r < 0) {
		free(path);
		return r;
	}
	return strlist_add_take(missing, path);
}

static int protect_root(const struct hutch_policy *p, const char *root, const char *cache_dir,
			struct hutch_mount_plan *plan, struct strlist *missing)
{
	struct strlist repos = {.max = MAX_REPOS}, gitdirs = {.max = MAX_GITDIRS};
	struct last_parent lp = {NULL, false};
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
			r = hutch_mount_plan_add(plan, MOUNT_PIN, repos.v[i], root, 0, true);
		if (r < 0 || lstat(g, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			r = add_gitdirs(g, 0, &gitdirs);
		} else if (S_ISREG(st.st_mode)) {
			r = hutch_mount_plan_add(plan, MOUNT_PROTECT, g, root, 0, true);
		} else if (S_ISLNK(st.st_mode)) {
			/* .git -> a directory in this root: that directory is the git dir. */
			_cleanup_free_ char *real = realpath(g, NULL);
			if (real && is_dir(real) && hutch_path_has_prefix(real, root) &&
			    strcmp(real, root))
				r = add_gitdirs(real, 0, &gitdirs);
		}
	}
	for (size_t j = 0; r >= 0 && j < gitdirs.n; j++) {
		r = hutch_mount_plan_add(plan, MOUNT_PIN, gitdirs.v[j], root, 0, true);
	}
	for (size_t k = 0; r >= 0 && k < p->fs_protected.n; k++) {
		const char *e = p->fs_protected.v[k].value;

		if (e[0] == '/')
			continue;
		if (!strncmp(e, ".git/", 5)) {
			for (size_t i = 0; r >= 0 && i < gitdirs.n; i++)
				r = consider(plan, root, hutch_path_join(gitdirs.v[i], e + 5),
					     missing, &lp);
		} else {
			for (size_t i = 0; r >= 0 && i < repos.n; i++)
				r = consider(plan, root, hutch_path_join(repos.v[i], e), missing,
					     &lp);
		}
	}
	free(lp.path);
	strlist_free(&repos);
	strlist_free(&gitdirs);
	return r;
}

int hutch_protect_plan(const struct hutch_policy *p, struct hutch_mount_plan *plan,
		       const char *cache_dir, char ***missing, size_t *n_missing, hutch_error *err)
{
	struct strlist miss = {.max = 1024};
	struct last_parent lp = {NULL, false};
	int r;

	r = protect_root(p, p->workspace, cache_dir, plan, &miss);
	for (size_t i = 0; r >= 0 && i < p->fs_writable.n; i++)
		if (is_dir(p->fs_writable.v[i].value))
			r = protect_root(p, p->fs_writable.v[i].value, cache_dir, plan, &miss);
	/*
	 * Absolute entries (an agent profile's ~/.claude/settings.json) matter only
	 * inside a writable root; there they are protected like the relative ones,
	 * with a placeholder when missing (a file the application accepts for the
	 * settings files it reads: journal.c).
	 */
	for (size_t k = 0; r >= 0 && k < p->fs_protected.n; k++) {
		const char *e = p->fs_protected.v[k].value;
		const char *root = NULL;

		if (e[0] != '/')
			continue;
		if (hutch_path_has_prefix(e, p->workspace) && strcmp(e, p->workspace))
			root = p->workspace;
		for (size_t i = 0; !root && i < p->fs_writable.n; i++)
			if (hutch_path_has_prefix(e, p->fs_writable.v[i].value) &&
			    strcmp(e, p->fs_writable.v[i].value))
				root = p->fs_writable.v[i].value;
		if (root) {
			char *path = strdup(e);
			r = path ? consider(plan, root, path, &miss, &lp) : -ENOMEM;
		}
	}
	free(lp.path);
	if (r < 0) {
		strlist_free(&miss);
		return hutch_err(err, r, 0, "protect: finding protected paths");
	}
	*missing = miss.v;
	*n_missing = miss.n;
	return 0;
}
