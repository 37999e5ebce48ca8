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
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/path.h"
#include "protect.h"

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

/* Breadth-limited search for directories containing ".git". */
static int find_repos(const char *dir, int depth, size_t *budget, struct strlist *repos)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	if (depth > SCAN_MAX_DEPTH || *budget == 0)
		return 0;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && *budget > 0) {
		_cleanup_free_ char *sub = NULL, *git = NULL;

		(*budget)--;
		if (de->d_type != DT_DIR || de->d_name[0] == '\0' || !strcmp(de->d_name, ".") ||
		    !strcmp(de->d_name, "..") || skip_name(de->d_name))
			continue;
		sub = hutch_path_join(dir, de->d_name);
		git = hutch_path_join(sub, ".git");
		if (!sub || !git)
			return -ENOMEM;
		if (access(git, F_OK) == 0) {
			r = strlist_add_take(repos, strdup(sub));
			if (r < 0)
				return r;
		}
		r = find_repos(sub, depth + 1, budget, repos);
		if (r < 0)
			return r;
	}
	return 0;
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

static int consider(struct hutch_mount_plan *plan, const char *root, char *path,
		    struct strlist *missing)
{
	_cleanup_free_ char *parent = NULL;
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
	if (!is_dir(parent)) {
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

static int protect_root(const struct hutch_policy *p, const char *root,
			struct hutch_mount_plan *plan, struct strlist *missing)
{
	struct strlist repos = {.max = MAX_REPOS}, gitdirs = {.max = MAX_GITDIRS};
	size_t budget = SCAN_MAX_ENTRIES;
	_cleanup_free_ char *rootgit = hutch_path_join(root, ".git");
	int r;

	if (!rootgit)
		return -ENOMEM;
	r = strlist_add_take(&repos, strdup(root));
	if (r >= 0)
		r = find_repos(root, 1, &budget, &repos);
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
					     missing);
		} else {
			for (size_t i = 0; r >= 0 && i < repos.n; i++)
				r = consider(plan, root, hutch_path_join(repos.v[i], e), missing);
		}
	}
	strlist_free(&repos);
	strlist_free(&gitdirs);
	return r;
}

int hutch_protect_plan(const struct hutch_policy *p, struct hutch_mount_plan *plan, char ***missing,
		       size_t *n_missing, hutch_error *err)
{
	struct strlist miss = {.max = 1024};
	int r;

	r = protect_root(p, p->workspace, plan, &miss);
	for (size_t i = 0; r >= 0 && i < p->fs_writable.n; i++)
		if (is_dir(p->fs_writable.v[i].value))
			r = protect_root(p, p->fs_writable.v[i].value, plan, &miss);
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
			r = path ? consider(plan, root, path, &miss) : -ENOMEM;
		}
	}
	if (r < 0) {
		strlist_free(&miss);
		return hutch_err(err, r, 0, "protect: finding protected paths");
	}
	*missing = miss.v;
	*n_missing = miss.n;
	return 0;
}
