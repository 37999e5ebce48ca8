/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Changes of a session's layer (see changes.h), and unified diffs of text
 * files: Myers' O((N+M)D) algorithm after stripping the common prefix and
 * suffix, with a bound on D beyond which a change is shown as a replacement.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/file.h"
#include "base/error.h"
#include "base/sha1.h"
#include "session/changes.h"
#include "audit/dotenv.h"
#include "audit/gitguard.h"
#include "base/path.h"
#include "session/rootlayer.h"

#define MAX_DIR_ENTRIES (1u << 20)
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define DIFF_MAX_D 2048
#define DIFF_MAX_OUT (64u * 1024u * 1024u)
/* Mode bits that count: set-uid and set-gid are never applied, so they are no change. */
#define APPLIED_MODE 01777

enum hutch_file_type hutch_file_type_of(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return HUTCH_FILE_REGULAR;
	case S_IFDIR:
		return HUTCH_FILE_DIR;
	case S_IFLNK:
		return HUTCH_FILE_SYMLINK;
	case S_IFIFO:
		return HUTCH_FILE_FIFO;
	default:
		return HUTCH_FILE_OTHER;
	}
}

/* ---- protected paths ------------------------------------------------------ */

/* @p equals @e or lies beneath it. */
static bool match_at(const char *p, const char *e)
{
	size_t n = strlen(e);

	while (n > 0 && e[n - 1] == '/')
		n--;
	return n > 0 && !strncmp(p, e, n) && (p[n] == '\0' || p[n] == '/');
}

static bool gitdir_match(const char *rest, const char *x)
{
	/*
	 * rest is what follows "<...>/.git/"; submodules live in modules/NAME,
	 * NAME may hold "/" and they nest: after "modules/", any component may
	 * begin a git directory.
	 */
	if (match_at(rest, x))
		return true;
	if (strncmp(rest, "modules/", 8))
		return false;
	for (const char *p = strchr(rest + 8, '/'); p; p = strchr(p + 1, '/'))
		if (match_at(p + 1, x))
			return true;
	return false;
}

bool hutch_protected_match(char *const *rel_entries, size_t n_rel, char *const *anchored,
			   size_t n_anchored, const char *rel, bool gitfile,
			   bool (*is_repo)(const char *dir, void *data), void *data)
{
	for (size_t i = 0; i < n_anchored; i++)
		if (match_at(rel, anchored[i]))
			return true;
	if (gitfile) {
		const char *last = strrchr(rel, '/');
		if (!strcmp(last ? last + 1 : rel, ".git"))
			return true;
	}
	for (size_t i = 0; i < n_rel; i++) {
		const char *e = rel_entries[i];

		while (!strncmp(e, "./", 2))
			e += 2;
		if (!*e)
			continue;
		if (!strncmp(e, ".git/", 5)) {
			for (const char *p = rel; p; p = strchr(p, '/')) {
				if (*p == '/')
					p++;
				if (!strncmp(p, ".git/", 5) && gitdir_match(p + 5, e + 5))
					return true;
			}
			continue;
		}
		for (const char *p = rel; p; p = strchr(p, '/')) {
			if (*p == '/')
				p++;
			if (!match_at(p, e))
				continue;
			if (p == rel)
				return true;
			{
				char dir[PATH_MAX];
				size_t dl = (size_t)(p - rel) - 1;
				if (dl >= sizeof(dir))
					continue;
				memcpy(dir, rel, dl);
				dir[dl] = '\0';
				if (!is_repo || is_repo(dir, data))
					return true;
			}
		}
	}
	return false;
}

/* ---- the walk ------------------------------------------------------------- */

#define GITDIR_CACHE 64

struct walk {
	hutch_session *s;
	const struct hutch_snapshot *snap;
	int uroot, lroot;
	bool sniff; /* look for NUL bytes in added and deleted files */
	hutch_change_fn fn;
	void *data;
	char *path; /* relative to the workspace; grows with the depth, never bounded by PATH_MAX */
	size_t cap;
	hutch_error *err;
	struct {
		char *dir;
		bool is;
	} gd_cache[GITDIR_CACHE]; /* merged_is_gitdir() */
	size_t gd_next;
};

static bool whiteout_at(int dfd, const char *name, const struct stat *st)
{
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
		return true;
	if (S_ISREG(st->st_mode) && st->st_size == 0) {
		_cleanup_close_ int fd =
			openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		return fd >= 0 && fgetxattr(fd, "user.overlay.whiteout", NULL, 0) >= 0;
	}
	return false;
}

static bool merged_is_repo(const char *dir, void *data)
{
	struct walk *w = data;
	_cleanup_free_ char *p = NULL;
	struct stat st;

	if (asprintf(&p, "%s%s.git", dir, *dir ? "/" : "") < 0 || strlen(p) >= PATH_MAX)
		return true; /* when in doubt, protected */
	if (fstatat(w->uroot, p, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return !whiteout_at(w->uroot, p, &st);
	return fstatat(w->lroot, p, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

struct merged_has {
	struct walk *w;
	const char *dir;
};

/* @name in @dir of the merged view (the layer over the workspace). */
static bool merged_has(const char *name, bool want_dir, void *data)
{
	struct merged_has *m = data;
	_cleanup_free_ char *p = NULL;
	struct stat st;
	int r;

	if (asprintf(&p, "%s%s%s", m->dir, *m->dir ? "/" : "", name) < 0)
		return true;
	r = fstatat(m->w->uroot, p, &st, AT_SYMLINK_NOFOLLOW);
	if (r == 0 && whiteout_at(m->w->uroot, p, &st))
		return false;
	if (r < 0 && fstatat(m->w->lroot, p, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return want_dir ? S_ISDIR(st.st_mode) : (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode));
}

/*
 * Is @dir a git directory in the merged view (gitguard.c's test)? The
 * answers for the last directories asked are kept: consecutive changes share
 * their ancestors.
 */
static bool merged_is_gitdir(const char *dir, void *data)
{
	struct walk *w = data;
	struct merged_has m = {w, dir};
	size_t slot;
	bool v;

	for (size_t i = 0; i < GITDIR_CACHE; i++)
		if (w->gd_cache[i].dir && !strcmp(w->gd_cache[i].dir, dir))
			return w->gd_cache[i].is;
	v = hutch_gitguard_is_gitdir(merged_has, &m);
	slot = w->gd_next++ % GITDIR_CACHE;
	free(w->gd_cache[slot].dir);
	w->gd_cache[slot].dir = strdup(dir);
	w->gd_cache[slot].is = v;
	return v;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	n->v = NULL;
	n->n = n->cap = 0;
}

static int names_add(struct names *n, const char *name)
{
	if (n->n >= MAX_DIR_ENTRIES)
		return -E2BIG;
	if (n->n == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 32;
		char **v = realloc(n->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		n->v = v;
		n->cap = cap;
	}
	n->v[n->n] = strdup(name);
	if (!n->v[n->n])
		return -ENOMEM;
	n->n++;
	return 0;
}

static int read_names(int dfd, struct names *n)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = dup(dfd), r = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	while (r >= 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = names_add(n, de->d_name);
	return r;
}

/* Sorted union of the names in @ufd and (when @lfd >= 0) @lfd. */
static int dir_names(int ufd, int lfd, struct names *out)
{
	struct names tmp = {0};
	int r = 0;

	if (ufd >= 0)
		r = read_names(ufd, &tmp);
	if (r >= 0 && lfd >= 0)
		r = read_names(lfd, &tmp);
	if (r < 0) {
		names_free(&tmp);
		return r;
	}
	if (tmp.n)
		qsort(tmp.v, tmp.n, sizeof(char *), name_cmp);
	*out = (struct names){0};
	for (size_t i = 0; i < tmp.n; i++) {
		if (out->n && !strcmp(out->v[out->n - 1], tmp.v[i])) {
			free(tmp.v[i]);
			continue;
		}
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 32;
			char **v = realloc(out->v, cap * sizeof(*v));
			if (!v) {
				for (size_t j = i; j < tmp.n; j++)
					free(tmp.v[j]);
				free(tmp.v);
				return -ENOMEM;
			}
			out->v = v;
			out->cap = cap;
		}
		out->v[out->n++] = tmp.v[i];
	}
	free(tmp.v);
	return 0;
}

/* Append "/NAME" (or "NAME" at the root) to the path; its new length, 0 when out of memory. */
static size_t path_push(struct walk *w, size_t len, const char *name)
{
	size_t nl = strlen(name), l2 = len;

	if (len + nl + 2 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		char *p;
		while (cap < len + nl + 2)
			cap *= 2;
		p = realloc(w->path, cap);
		if (!p)
			return 0;
		w->path = p;
		w->cap = cap;
	}
	if (len)
		w->path[l2++] = '/';
	memcpy(w->path + l2, name, nl + 1);
	return l2 + nl;
}

static ssize_t pread_full(int fd, char *buf, size_t cap, off_t off)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = pread(fd, buf + n, cap - n, off + (off_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

static bool looks_binary(int dfd, const char *name)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	char buf[HUTCH_BINARY_PROBE];
	ssize_t n;

	if (fd < 0)
		return false;
	n = pread_full(fd, buf, sizeof(buf), 0);
	return n > 0 && memchr(buf, '\0', (size_t)n) != NULL;
}

/* Compare two regular files' contents in chunks; also tells whether either looks binary. */
static int same_content(int udfd, int ldfd, const char *name, bool *same, bool *binary)
{
	_cleanup_close_ int a = openat(udfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	_cleanup_close_ int b = openat(ldfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	_cleanup_free_ char *ba = malloc(65536), *bb = malloc(65536);
	off_t off = 0;

	*same = true;
	*binary = false;
	if (a < 0 || b < 0)
		return -errno;
	if (!ba || !bb)
		return -ENOMEM;
	for (;;) {
		ssize_t na = pread_full(a, ba, 65536, off), nb = pread_full(b, bb, 65536, off);
		if (na < 0)
			return (int)na;
		if (nb < 0)
			return (int)nb;
		if (off == 0) {
			size_t pa =
				(size_t)na < HUTCH_BINARY_PROBE ? (size_t)na : HUTCH_BINARY_PROBE;
			size_t pb =
				(size_t)nb < HUTCH_BINARY_PROBE ? (size_t)nb : HUTCH_BINARY_PROBE;
			*binary = memchr(ba, '\0', pa) || memchr(bb, '\0', pb);
		}
		if (na != nb || memcmp(ba, bb, (size_t)na)) {
			*same = false;
			return 0;
		}
		if (na == 0)
			return 0;
		off += na;
	}
}

/* What push() sets beyond the two stats. */
struct extra {
	int content_changed; /* -1: the default (true but for MODIFIED) */
	bool binary;
	bool runs_code; /* a ".env" that runs code (dotenv_runs_code) */
	const char *uncompared;
};

/*
 * A ".env" that agents load, setting a variable that runs code or redirects
 * them (dotenv.c), or a link there: protected like git's code, as the
 * end-of-run check (gitguard.c) treats it.
 */
static bool dotenv_runs_code(int dfd, const char *name, const struct stat *st)
{
	_cleanup_free_ char *buf = NULL, *clean = NULL, *removed = NULL;
	size_t len = 0, clen = 0;
	int r;

	if (strcmp(name, HUTCH_DOTENV_NAME))
		return false;
	if (S_ISLNK(st->st_mode))
		return true;
	if (!S_ISREG(st->st_mode))
		return false;
	r = hutch_read_file_at(dfd, name, HUTCH_DOTENV_MAX, &buf, &len);
	if (r >= 0)
		r = hutch_dotenv_sanitize(buf, len, &clean, &clen, &removed);
	return r != 0;
}

#define EXTRA_DEFAULT ((struct extra){.content_changed = -1})

/* Hand one change to the caller; w->path is its path. */
static int push(struct walk *w, enum hutch_change_kind kind, const struct stat *ust,
		const struct stat *lst, const struct stat *now, struct extra x)
{
	struct hutch_change c = {0};

	c.path = w->path;
	c.kind = kind;
	if (ust && kind != HUTCH_CHANGE_DELETED) {
		c.type = hutch_file_type_of(ust->st_mode);
		c.mode = ust->st_mode & 07777;
		c.size = (uint64_t)ust->st_size;
	}
	if (lst && kind != HUTCH_CHANGE_ADDED) {
		c.old_type = hutch_file_type_of(lst->st_mode);
		c.old_mode = lst->st_mode & 07777;
		c.old_size = (uint64_t)lst->st_size;
	}
	c.content_changed =
		x.content_changed < 0 ? kind != HUTCH_CHANGE_MODIFIED : x.content_changed != 0;
	c.binary = x.binary;
	c.uncompared = x.uncompared;
	c.protected_path = hutch_protected_match(
		w->s->protected_rel, w->s->n_protected_rel, w->s->protected_anchored,
		w->s->n_protected_anchored, c.path,
		(c.type == HUTCH_FILE_REGULAR || c.old_type == HUTCH_FILE_REGULAR), merged_is_repo,
		w);
	if (!c.protected_path)
		c.protected_path =
			x.runs_code || (kind != HUTCH_CHANGE_DELETED && c.type != HUTCH_FILE_DIR &&
					hutch_gitguard_is_agent_path(c.path));
	/* git code in any layout: the rules of the end-of-run check (gitguard.c) */
	if (!c.protected_path)
		c.protected_path = hutch_gitguard_is_code_path(
			c.path,
			(kind == HUTCH_CHANGE_DELETED || c.type == HUTCH_FILE_DIR) &&
				(kind == HUTCH_CHANGE_ADDED || c.old_type == HUTCH_FILE_DIR),
			merged_is_gitdir, w);
	if ((kind == HUTCH_CHANGE_DELETED ? c.old_type : c.type) != HUTCH_FILE_DIR)
		c.conflict = hutch_snapshot_changed(w->snap, w->s->baseline_ns, c.path, now);
	return w->fn(&c, w->data);
}

static int emit_added(struct walk *w, int dfd, const char *name, const struct stat *st, size_t len,
		      int depth, const struct stat *now);
static int emit_deleted(struct walk *w, int dfd, const char *name, const struct stat *st,
			size_t len, int depth);

static int open_child(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int layer_error(struct walk *w, int r, const char *what)
{
	if (w->err && w->err->code)
		return r;
	return hutch_err(w->err, r, "session %s: %s %s", w->s->id, what,
			 w->path && w->path[0] ? w->path : ".");
}

/*
 * Why a directory cannot be walked into (its change is still reported, marked
 * uncompared), or NULL: too deep for the walk, or out of file descriptors or
 * memory at this depth. Other errors stop the walk.
 */
static const char *cannot_descend(int depth, int r)
{
	if (depth > HUTCH_WALK_MAX_DEPTH)
		return "nested deeper than hutch compares (" STRINGIFY(
			HUTCH_WALK_MAX_DEPTH) " levels)";
	switch (r) {
	case -EMFILE:
	case -ENFILE:
		return "too many open files at this depth";
	case -ENOMEM:
		return "out of memory at this depth";
	default:
		return NULL;
	}
}

static bool is_empty_dir(int dfd, const char *name)
{
	struct names n = {0};
	_cleanup_close_ int fd = open_child(dfd, name);
	bool empty;

	if (fd < 0 || read_names(fd, &n) < 0) {
		names_free(&n);
		return false;
	}
	empty = n.n == 0;
	names_free(&n);
	return empty;
}

/* A directory that only the layer has: everything beneath is added. */
static int added_children(struct walk *w, int fd, size_t len, int depth)
{
	struct names n = {0};
	int r = dir_names(fd, -1, &n);

	if (r < 0)
		return layer_error(w, r, "reading");
	for (size_t i = 0; i < n.n && r >= 0; i++) {
		struct stat cst;
		if (fstatat(fd, n.v[i], &cst, AT_SYMLINK_NOFOLLOW) < 0) {
			r = layer_error(w, -errno, "reading");
			break;
		}
		if (whiteout_at(fd, n.v[i], &cst))
			continue; /* nothing beneath a new directory to hide */
		r = emit_added(w, fd, n.v[i], &cst, len, depth + 1, NULL);
	}
	names_free(&n);
	return r;
}

static int emit_added(struct walk *w, int dfd, const char *name, const struct stat *st, size_t len,
		      int depth, const struct stat *now)
{
	struct extra x = EXTRA_DEFAULT;
	_cleanup_close_ int fd = -1;
	size_t l2 = path_push(w, len, name);
	int r = 0;

	if (!l2)
		return layer_error(w, -ENOMEM, "walking");
	if (S_ISDIR(st->st_mode) && now == NULL && hutch_session_is_placeholder(w->s, w->path) &&
	    is_empty_dir(dfd, name))
		goto out;
	if (S_ISREG(st->st_mode))
		x.binary = w->sniff && looks_binary(dfd, name);
	x.runs_code = dotenv_runs_code(dfd, name, st);
	if (S_ISDIR(st->st_mode)) {
		fd = depth > HUTCH_WALK_MAX_DEPTH ? -ELOOP : open_child(dfd, name);
		if (fd < 0 && !(x.uncompared = cannot_descend(depth, fd)))
			return layer_error(w, fd, "reading");
	}
	r = push(w, HUTCH_CHANGE_ADDED, st, NULL, now, x);
	if (r >= 0 && fd >= 0)
		r = added_children(w, fd, l2, depth);
out:
	w->path[len] = '\0';
	return r;
}

/* A directory that goes: everything the workspace has beneath it goes first. */
static int deleted_children(struct walk *w, int fd, size_t len, int depth)
{
	struct names n = {0};
	int r = dir_names(fd, -1, &n);

	if (r < 0)
		return layer_error(w, r, "reading the workspace at");
	for (size_t i = 0; i < n.n && r >= 0; i++) {
		struct stat cst;
		if (fstatat(fd, n.v[i], &cst, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		r = emit_deleted(w, fd, n.v[i], &cst, len, depth + 1);
	}
	names_free(&n);
	return r;
}

static int emit_deleted(struct walk *w, int dfd, const char *name, const struct stat *st,
			size_t len, int depth)
{
	struct extra x = EXTRA_DEFAULT;
	size_t l2 = path_push(w, len, name);
	int r = 0;

	if (!l2)
		return layer_error(w, -ENOMEM, "walking");
	if (S_ISDIR(st->st_mode)) {
		_cleanup_close_ int fd =
			depth > HUTCH_WALK_MAX_DEPTH ? -ELOOP : open_child(dfd, name);

		if (fd < 0 && !(x.uncompared = cannot_descend(depth, fd)))
			return layer_error(w, fd, "reading the workspace at");
		if (fd >= 0)
			r = deleted_children(w, fd, l2, depth);
		if (r < 0)
			return r;
	}
	if (S_ISREG(st->st_mode))
		x.binary = w->sniff && looks_binary(dfd, name);
	r = push(w, HUTCH_CHANGE_DELETED, NULL, st, st, x);
	w->path[len] = '\0';
	return r;
}

static bool has_xattr(int dfd, const char *name, const char *attr, char *val, size_t size)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = fgetxattr(fd, attr, val, size);
	return n >= 0;
}

/* Both sides have @name: what changed? */
static int compare(struct walk *w, int ufd, int lfd, const char *name, const struct stat *ust,
		   const struct stat *lst, size_t len, bool replace, int depth);

static int walk_dir(struct walk *w, int ufd, int lfd, size_t len, bool replace, int depth)
{
	struct names n = {0};
	int r;

	r = dir_names(ufd, replace ? lfd : -1, &n);
	if (r < 0)
		return layer_error(w, r, "reading");
	for (size_t i = 0; i < n.n && r >= 0; i++) {
		const char *name = n.v[i];
		struct stat ust, lst;
		bool u = ufd >= 0 && fstatat(ufd, name, &ust, AT_SYMLINK_NOFOLLOW) == 0;
		bool l = lfd >= 0 && fstatat(lfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0;

		if (u && whiteout_at(ufd, name, &ust)) {
			if (l && !replace)
				r = emit_deleted(w, lfd, name, &lst, len, depth + 1);
			continue;
		}
		if (!u) {
			if (l && replace)
				r = emit_deleted(w, lfd, name, &lst, len, depth + 1);
			continue;
		}
		if (!l) {
			r = emit_added(w, ufd, name, &ust, len, depth + 1, NULL);
			continue;
		}
		r = compare(w, ufd, lfd, name, &ust, &lst, len, replace, depth);
	}
	names_free(&n);
	return r;
}

/* Do two symlinks point to different targets (kept out of compare(): its frame is per level)? */
static __attribute__((noinline)) int links_differ(int ufd, int lfd, const char *name)
{
	char a[PATH_MAX], b[PATH_MAX];
	ssize_t na = readlinkat(ufd, name, a, sizeof(a));
	ssize_t nb = readlinkat(lfd, name, b, sizeof(b));

	if (na < 0 || nb < 0)
		return -errno;
	return na != nb || memcmp(a, b, (size_t)na);
}

static int compare_dirs(struct walk *w, int ufd, int lfd, const char *name, const struct stat *ust,
			const struct stat *lst, size_t l2, bool replace, int depth)
{
	_cleanup_close_ int cu = -1, cl = -1;
	struct extra x = EXTRA_DEFAULT;
	char v[8];
	bool opaque = has_xattr(ufd, name, "user.overlay.opaque", v, sizeof(v)) && v[0] == 'y';
	int r = 0;

	if (has_xattr(ufd, name, "user.overlay.redirect", v, sizeof(v)))
		return hutch_errx(w->err, EOPNOTSUPP,
				  "session %s: %s is a renamed directory (overlay redirect), "
				  "which hutch does not support",
				  w->s->id, w->path);
	if (depth + 1 > HUTCH_WALK_MAX_DEPTH) {
		cu = cl = -ELOOP;
	} else {
		cu = open_child(ufd, name);
		cl = cu < 0 ? -1 : open_child(lfd, name);
	}
	if (cu < 0 && !(x.uncompared = cannot_descend(depth + 1, cu)))
		return layer_error(w, cu, "reading");
	if (!x.uncompared && cl < 0 && !(x.uncompared = cannot_descend(depth + 1, cl)))
		return layer_error(w, cl, "reading the workspace at");
	if (x.uncompared || (ust->st_mode & APPLIED_MODE) != (lst->st_mode & APPLIED_MODE)) {
		x.content_changed = 0;
		r = push(w, HUTCH_CHANGE_MODIFIED, ust, lst, lst, x);
	}
	if (r >= 0 && !x.uncompared)
		r = walk_dir(w, cu, cl, l2, replace || opaque, depth + 1);
	return r;
}

static int compare(struct walk *w, int ufd, int lfd, const char *name, const struct stat *ust,
		   const struct stat *lst, size_t len, bool replace, int depth)
{
	struct extra x = EXTRA_DEFAULT;
	size_t l2;
	int r = 0;

	if ((ust->st_mode & S_IFMT) != (lst->st_mode & S_IFMT)) {
		/* a type change: the old entry goes, the new one comes */
		r = emit_deleted(w, lfd, name, lst, len, depth + 1);
		if (r >= 0)
			r = emit_added(w, ufd, name, ust, len, depth + 1, lst);
		return r;
	}
	l2 = path_push(w, len, name);
	if (!l2)
		return layer_error(w, -ENOMEM, "walking");
	if (S_ISDIR(ust->st_mode)) {
		r = compare_dirs(w, ufd, lfd, name, ust, lst, l2, replace, depth);
	} else if (S_ISREG(ust->st_mode)) {
		bool same = true, binary = false;

		if (ust->st_size != lst->st_size) {
			same = false;
			binary = looks_binary(ufd, name) || looks_binary(lfd, name);
		} else {
			r = same_content(ufd, lfd, name, &same, &binary);
			if (r < 0)
				return layer_error(w, r, "comparing");
		}
		if (!same || (ust->st_mode & APPLIED_MODE) != (lst->st_mode & APPLIED_MODE)) {
			x.content_changed = !same;
			x.binary = binary;
			x.runs_code = dotenv_runs_code(ufd, name, ust);
			r = push(w, HUTCH_CHANGE_MODIFIED, ust, lst, lst, x);
		}
	} else if (S_ISLNK(ust->st_mode)) {
		r = links_differ(ufd, lfd, name);
		if (r < 0)
			return layer_error(w, r, "reading the link");
		if (r > 0) {
			x.content_changed = 1;
			x.runs_code = dotenv_runs_code(ufd, name, ust);
			r = push(w, HUTCH_CHANGE_MODIFIED, ust, lst, lst, x);
		}
	} else if (S_ISFIFO(ust->st_mode)) {
		if ((ust->st_mode & APPLIED_MODE) != (lst->st_mode & APPLIED_MODE)) {
			x.content_changed = 0;
			r = push(w, HUTCH_CHANGE_MODIFIED, ust, lst, lst, x);
		}
	}
	w->path[len] = '\0';
	return r;
}

void hutch_changes_free(struct hutch_changes *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].path);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

int hutch_changes_walk(hutch_session *s, const struct hutch_snapshot *snap, unsigned flags,
		       hutch_change_fn fn, void *data, hutch_error *err)
{
	struct walk w = {.s = s,
			 .snap = snap,
			 .uroot = -1,
			 .lroot = -1,
			 .err = err,
			 .fn = fn,
			 .data = data,
			 .sniff = !(flags & HUTCH_CHANGES_NO_SNIFF)};
	struct stat ust, lst;
	int r;

	w.uroot = open(s->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.uroot < 0)
		return hutch_err(err, errno, "session %s: its layer %s", s->id, s->upper);
	w.lroot = open(s->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.lroot < 0) {
		r = hutch_err(err, errno, "session %s: workspace %s", s->id, s->workspace);
		close(w.uroot);
		return r;
	}
	w.path = calloc(1, 256);
	w.cap = 256;
	r = w.path ? 0 : hutch_err(err, ENOMEM, "session %s: walking its layer", s->id);
	if (r >= 0 && fstat(w.uroot, &ust) == 0 && fstat(w.lroot, &lst) == 0 &&
	    (ust.st_mode & APPLIED_MODE) != (lst.st_mode & APPLIED_MODE)) {
		struct extra x = {.content_changed = 0};
		r = push(&w, HUTCH_CHANGE_MODIFIED, &ust, &lst, &lst, x);
	}
	if (r >= 0)
		r = walk_dir(&w, w.uroot, w.lroot, 0, false, 0);
	close(w.uroot);
	close(w.lroot);
	free(w.path);
	for (size_t i = 0; i < GITDIR_CACHE; i++)
		free(w.gd_cache[i].dir);
	return r;
}

struct collect {
	struct hutch_changes out;
	size_t cap;
	hutch_session *s;
	hutch_error *err;
};

static int collect_one(const struct hutch_change *c, void *data)
{
	struct collect *k = data;
	struct hutch_change *v;

	if (k->out.n >= HUTCH_MAX_CHANGES)
		return hutch_errx(k->err, E2BIG, "session %s: more than %u changes", k->s->id,
				  HUTCH_MAX_CHANGES);
	if (k->out.n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		v = realloc(k->out.v, cap * sizeof(*v));
		if (!v)
			return hutch_err(k->err, ENOMEM, "session %s: its changes", k->s->id);
		k->out.v = v;
		k->cap = cap;
	}
	v = &k->out.v[k->out.n];
	*v = *c;
	v->path = strdup(c->path);
	if (!v->path)
		return hutch_err(k->err, ENOMEM, "session %s: its changes", k->s->id);
	k->out.n++;
	return 0;
}

int hutch_changes_compute(hutch_session *s, const struct hutch_snapshot *snap, unsigned flags,
			  struct hutch_changes *out, hutch_error *err)
{
	struct collect k = {.s = s, .err = err};
	int r = hutch_changes_walk(s, snap, flags, collect_one, &k, err);

	if (r < 0) {
		hutch_changes_free(&k.out);
		*out = (struct hutch_changes){0};
		return r;
	}
	*out = k.out;
	return 0;
}

static int stop_at_first(const struct hutch_change *c, void *data)
{
	(void)c;
	*(bool *)data = true;
	return -ECANCELED;
}

int hutch_session_has_changes(hutch_session *s, bool *any, hutch_error *err)
{
	struct hutch_snapshot none = {0}; /* conflicts do not matter here */
	int r;

	*any = false;
	if (s->root && hutch_rootlayer_changed(hutch_session_dir(s))) {
		*any = true; /* the root layer is never diffed: any write there counts */
		return 0;
	}
	if (hutch_session_layer_empty(s))
		return 0;
	r = hutch_changes_walk(s, &none, HUTCH_CHANGES_NO_SNIFF, stop_at_first, any, err);
	return *any ? 0 : r;
}

int hutch_session_changes(hutch_session *s, struct hutch_changes *out, hutch_error *err)
{
	struct hutch_snapshot snap;
	int r = hutch_snapshot_load(s, &snap, err);

	if (r < 0)
		return r;
	r = hutch_changes_compute(s, &snap, 0, out, err);
	hutch_snapshot_free(&snap);
	return r;
}

int hutch_session_changes_each(hutch_session *s, hutch_change_fn fn, void *data, hutch_error *err)
{
	struct hutch_snapshot snap;
	int r = hutch_snapshot_load(s, &snap, err);

	if (r < 0)
		return r;
	r = hutch_changes_walk(s, &snap, 0, fn, data, err);
	hutch_snapshot_free(&snap);
	return r;
}

/* ---- unified diff ------------------------------------------------------- */

struct line {
	const char *p;
	size_t len; /* with the newline, if any */
	uint64_t h;
};

struct buf {
	char *p;
	size_t len, cap;
	int err;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > DIFF_MAX_OUT) {
		b->err = -E2BIG;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static int split_lines(const char *s, size_t len, struct line **out, size_t *n)
{
	size_t cnt = 0, i = 0;
	struct line *v;

	for (size_t k = 0; k < len; k++)
		if (s[k] == '\n')
			cnt++;
	if (len && s[len - 1] != '\n')
		cnt++;
	v = calloc(cnt + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t start = 0; start < len;) {
		const char *nl = memchr(s + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - s) + 1 : len;
		uint64_t h = 1469598103934665603ULL;
		for (size_t k = start; k < end; k++) {
			h ^= (unsigned char)s[k];
			h *= 1099511628211ULL;
		}
		v[i].p = s + start;
		v[i].len = end - start;
		v[i].h = h;
		i++;
		start = end;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static bool line_eq(const struct line *a, const struct line *b)
{
	return a->h == b->h && a->len == b->len && (!a->len || !memcmp(a->p, b->p, a->len));
}

enum { OP_EQ, OP_DEL, OP_INS };

struct op {
	unsigned char kind;
	size_t a, b; /* line index in a (EQ, DEL), in b (EQ, INS) */
};

/*
 * Myers' greedy algorithm on a[0..n) and b[0..m), keeping V of every round to
 * walk back the path. Writes the edit script backwards into @ops from @end.
 * Returns the number of ops written, or -E2BIG when D exceeds the bound.
 */
static ssize_t myers(const struct line *a, size_t n, const struct line *b, size_t m, struct op *ops,
		     size_t end)
{
	size_t max = n + m, lim = max < DIFF_MAX_D ? max : DIFF_MAX_D;
	ssize_t off = (ssize_t)lim + 1;
	ssize_t *v = calloc(2 * lim + 3, sizeof(ssize_t));
	ssize_t **trace = calloc(lim + 1, sizeof(ssize_t *));
	ssize_t found = -1, x, y, w = (ssize_t)end;

	if (!v || !trace) {
		free(v);
		free(trace);
		return -ENOMEM;
	}
	for (ssize_t d = 0; d <= (ssize_t)lim && found < 0; d++) {
		trace[d] = malloc((2 * lim + 3) * sizeof(ssize_t));
		if (!trace[d]) {
			found = -2;
			break;
		}
		memcpy(trace[d], v, (2 * lim + 3) * sizeof(ssize_t));
		for (ssize_t k = -d; k <= d; k += 2) {
			if (k == -d || (k != d && v[off + k - 1] < v[off + k + 1]))
				x = v[off + k + 1];
			else
				x = v[off + k - 1] + 1;
			y = x - k;
			while (x < (ssize_t)n && y < (ssize_t)m && line_eq(&a[x], &b[y])) {
				x++;
				y++;
			}
			v[off + k] = x;
			if (x >= (ssize_t)n && y >= (ssize_t)m) {
				found = d;
				break;
			}
		}
	}
	if (found >= 0) {
		x = (ssize_t)n;
		y = (ssize_t)m;
		for (ssize_t d = found; d >= 0; d--) {
			ssize_t *pv = trace[d], k = x - y, pk, px, py;
			if (d == 0) {
				px = 0;
				py = 0;
			} else {
				if (k == -d || (k != d && pv[off + k - 1] < pv[off + k + 1]))
					pk = k + 1;
				else
					pk = k - 1;
				px = pv[off + pk];
				py = px - pk;
			}
			while (x > px && y > py) {
				x--;
				y--;
				ops[--w] = (struct op){OP_EQ, (size_t)x, (size_t)y};
			}
			if (d > 0) {
				if (x == px)
					ops[--w] = (struct op){OP_INS, 0, (size_t)py};
				else
					ops[--w] = (struct op){OP_DEL, (size_t)px, 0};
			}
			x = px;
			y = py;
		}
	}
	for (size_t d = 0; d <= lim; d++)
		free(trace[d]);
	free(trace);
	free(v);
	if (found == -2)
		return -ENOMEM;
	if (found < 0)
		return -E2BIG;
	return (ssize_t)end - w;
}

static void emit_line(struct buf *o, char tag, const struct line *l)
{
	char t[1] = {tag};

	buf_add(o, t, 1);
	buf_add(o, l->p, l->len);
	if (!l->len || l->p[l->len - 1] != '\n')
		buf_str(o, "\n\\ No newline at end of file\n");
}

static void range(struct buf *o, char tag, size_t start, size_t count)
{
	char tmp[64];

	/* GNU style: an empty range names the line before it; ",1" is left out */
	if (count == 1)
		snprintf(tmp, sizeof(tmp), "%c%zu", tag, start + 1);
	else
		snprintf(tmp, sizeof(tmp), "%c%zu,%zu", tag, count ? start + 1 : start, count);
	buf_str(o, tmp);
}

int hutch_udiff(const char *a, size_t alen, const char *b, size_t blen, unsigned context,
		char **out, size_t *len, unsigned *added, unsigned *removed)
{
	_cleanup_free_ struct line *la = NULL, *lb = NULL;
	_cleanup_free_ struct op *ops = NULL;
	_cleanup_free_ size_t *apos = NULL, *bpos = NULL;
	struct buf o = {0};
	size_t na, nb, pre = 0, suf = 0, nops = 0, total;
	unsigned nadd = 0, ndel = 0;
	ssize_t mid;
	int r;

	*out = NULL;
	*len = 0;
	r = split_lines(a, alen, &la, &na);
	if (r >= 0)
		r = split_lines(b, blen, &lb, &nb);
	if (r < 0)
		return r;
	while (pre < na && pre < nb && line_eq(&la[pre], &lb[pre]))
		pre++;
	while (suf < na - pre && suf < nb - pre && line_eq(&la[na - 1 - suf], &lb[nb - 1 - suf]))
		suf++;
	total = na + nb + 1;
	ops = calloc(total, sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	for (size_t i = 0; i < pre; i++)
		ops[nops++] = (struct op){OP_EQ, i, i};
	{
		size_t n = na - pre - suf, m = nb - pre - suf;
		/* the middle is written at the end of @ops, then moved after the prefix */
		mid = myers(la + pre, n, lb + pre, m, ops, total);
		if (mid == -E2BIG) {
			size_t w = total;
			for (size_t j = m; j-- > 0;)
				ops[--w] = (struct op){OP_INS, 0, j};
			for (size_t i = n; i-- > 0;)
				ops[--w] = (struct op){OP_DEL, i, 0};
			mid = (ssize_t)(n + m);
		}
		if (mid < 0)
			return (int)mid;
		memmove(ops + nops, ops + total - (size_t)mid, (size_t)mid * sizeof(*ops));
		for (size_t k = nops; k < nops + (size_t)mid; k++) {
			ops[k].a += pre;
			ops[k].b += pre;
		}
		nops += (size_t)mid;
	}
	for (size_t i = 0; i < suf; i++)
		ops[nops++] = (struct op){OP_EQ, na - suf + i, nb - suf + i};

	/* hunks: changes with up to @context equal lines around, merged when close */
	apos = calloc(nops + 1, sizeof(size_t));
	bpos = calloc(nops + 1, sizeof(size_t));
	if (!apos || !bpos)
		return -ENOMEM;
	for (size_t k = 0; k < nops; k++) {
		apos[k + 1] = apos[k] + (ops[k].kind != OP_INS);
		bpos[k + 1] = bpos[k] + (ops[k].kind != OP_DEL);
	}
	for (size_t i = 0, prev_end = 0; i < nops;) {
		size_t start, end;

		if (ops[i].kind == OP_EQ) {
			i++;
			continue;
		}
		start = i >= context ? i - context : 0;
		if (start < prev_end)
			start = prev_end;
		end = i;
		for (;;) {
			size_t j;
			while (end < nops && ops[end].kind != OP_EQ)
				end++;
			j = end;
			while (j < nops && ops[j].kind == OP_EQ)
				j++;
			if (j < nops && j - end <= 2 * (size_t)context) {
				end = j;
				continue;
			}
			end += (j - end) < context ? (j - end) : context;
			break;
		}
		buf_str(&o, "@@ ");
		range(&o, '-', apos[start], apos[end] - apos[start]);
		buf_str(&o, " ");
		range(&o, '+', bpos[start], bpos[end] - bpos[start]);
		buf_str(&o, " @@\n");
		for (size_t k = start; k < end; k++) {
			if (ops[k].kind == OP_EQ) {
				emit_line(&o, ' ', &la[ops[k].a]);
			} else if (ops[k].kind == OP_DEL) {
				emit_line(&o, '-', &la[ops[k].a]);
				ndel++;
			} else {
				emit_line(&o, '+', &lb[ops[k].b]);
				nadd++;
			}
		}
		prev_end = i = end;
	}
	if (o.err) {
		free(o.p);
		return o.err;
	}
	*out = o.p;
	*len = o.len;
	if (added)
		*added = nadd;
	if (removed)
		*removed = ndel;
	return 0;
}

int hutch_change_open(hutch_session *s, const struct hutch_change *c, bool new_side,
		      hutch_error *err)
{
	_cleanup_close_ int rfd =
		open(new_side ? s->upper : s->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd;

	if (rfd < 0)
		return hutch_err(err, errno, "session %s: opening %s", s->id,
				 new_side ? s->upper : s->workspace);
	fd = hutch_open_beneath(rfd, c->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
	if (fd < 0)
		return hutch_err(err, fd, "session %s: reading %s%s", s->id, c->path,
				 new_side ? " in its layer" : " in the workspace");
	return fd;
}

int hutch_change_readlink(hutch_session *s, const struct hutch_change *c, bool new_side, char *out,
			  size_t size)
{
	_cleanup_close_ int rfd =
		open(new_side ? s->upper : s->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (rfd < 0)
		return -errno;
	fd = hutch_open_beneath(rfd, c->path, O_PATH | O_NOFOLLOW, 0);
	if (fd < 0)
		return fd;
	n = readlinkat(fd, "", out, size - 1);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	return (int)n;
}

int hutch_git_blob_id(int fd, char out[41])
{
	static const char hex[] = "0123456789abcdef";
	_cleanup_free_ char *buf = malloc(65536);
	struct hutch_sha1 h;
	struct stat st;
	uint8_t md[20];
	char head[32];
	off_t off = 0;

	if (!buf)
		return -ENOMEM;
	if (fstat(fd, &st) < 0)
		return -errno;
	hutch_sha1_init(&h);
	hutch_sha1_update(&h, head,
			  (size_t)snprintf(head, sizeof(head), "blob %lld", (long long)st.st_size) +
				  1);
	for (;;) {
		ssize_t n = pread_full(fd, buf, 65536, off);
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		hutch_sha1_update(&h, buf, (size_t)n);
		off += n;
	}
	if (off != st.st_size)
		return -EAGAIN; /* it changed while we read */
	hutch_sha1_final(&h, md);
	for (int i = 0; i < 20; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[40] = '\0';
	return 0;
}

static int read_beneath(const char *root, const char *rel, char **out, size_t *len)
{
	_cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1;

	if (rfd < 0)
		return -errno;
	fd = hutch_open_beneath(rfd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	return hutch_read_regular_fd(fd, HUTCH_DIFF_MAX_FILE, out, len);
}

int hutch_change_diff(hutch_session *s, const struct hutch_change *c, unsigned context, char **out,
		      size_t *len, unsigned *added, unsigned *removed, hutch_error *err)
{
	_cleanup_free_ char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	bool old_reg = c->kind != HUTCH_CHANGE_ADDED && c->old_type == HUTCH_FILE_REGULAR;
	bool new_reg = c->kind != HUTCH_CHANGE_DELETED && c->type == HUTCH_FILE_REGULAR;
	int r;

	*out = NULL;
	*len = 0;
	if (added)
		*added = 0;
	if (removed)
		*removed = 0;
	if (c->binary || (!old_reg && !new_reg) || !c->content_changed)
		return 0;
	if (c->kind == HUTCH_CHANGE_MODIFIED && (!old_reg || !new_reg))
		return 0;
	if (old_reg) {
		r = read_beneath(s->workspace, c->path, &a, &alen);
		if (r == -EFBIG)
			return 0;
		if (r < 0)
			return hutch_err(err, r, "diff: reading %s/%s", s->workspace, c->path);
	}
	if (new_reg) {
		r = read_beneath(s->upper, c->path, &b, &blen);
		if (r == -EFBIG)
			return 0;
		if (r < 0)
			return hutch_err(err, r, "diff: reading %s in session %s", c->path, s->id);
	}
	r = hutch_udiff(a ? a : "", alen, b ? b : "", blen, context, out, len, added, removed);
	if (r < 0)
		return hutch_err(err, r, "diff of %s", c->path);
	return 0;
}
