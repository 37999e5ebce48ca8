/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Metadata snapshots of the writable roots and their comparison (see filescan.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/path.h"
#include "audit/filescan.h"

struct fent {
	size_t off; /* path in names[], NUL-terminated */
	uint32_t len;
	uint32_t mode;
	uint64_t size, ino, dev;
	int64_t mtime, ctime; /* ns */
};

struct hutch_fsnap {
	struct fent *v;
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
	const char *cut;
	size_t max_entries;
	struct timespec deadline;
	const char **exclude; /* sorted */
	size_t n_exclude;
	unsigned tick;
};

int hutch_fsnap_path_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;

	for (size_t i = 0; i < n; i++) {
		int ca = a[i] == '/' ? 0 : (int)(unsigned char)a[i] + 1;
		int cb = b[i] == '/' ? 0 : (int)(unsigned char)b[i] + 1;
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return an < bn ? -1 : an > bn ? 1 : 0;
}

static bool past_deadline(struct hutch_fsnap *s)
{
	struct timespec now;

	if ((++s->tick & 63) != 0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > s->deadline.tv_sec ||
	       (now.tv_sec == s->deadline.tv_sec && now.tv_nsec >= s->deadline.tv_nsec);
}

static int record(struct hutch_fsnap *s, const char *path, size_t len, const struct stat *st)
{
	struct fent *e;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct fent *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	if (s->names_len + len + 1 > s->names_cap) {
		size_t cap = s->names_cap ? s->names_cap : 64 * 1024;
		char *v;
		while (cap < s->names_len + len + 1)
			cap *= 2;
		v = realloc(s->names, cap);
		if (!v)
			return -ENOMEM;
		s->names = v;
		s->names_cap = cap;
	}
	e = &s->v[s->n++];
	e->off = s->names_len;
	e->len = (uint32_t)len;
	memcpy(s->names + s->names_len, path, len);
	s->names[s->names_len + len] = '\0';
	s->names_len += len + 1;
	e->mode = st->st_mode;
	e->size = (uint64_t)st->st_size;
	e->ino = (uint64_t)st->st_ino;
	e->dev = (uint64_t)st->st_dev;
	e->mtime = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	e->ctime = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* Read every name of the directory @fd (taken); -E2BIG when over @max. */
static int read_names(int fd, size_t max, struct names *l)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (l->n >= max) {
			r = -E2BIG;
			break;
		}
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 32;
			char **v = realloc(l->v, cap * sizeof(*v));
			if (!v) {
				r = -ENOMEM;
				break;
			}
			l->v = v;
			l->cap = cap;
		}
		l->v[l->n] = strdup(de->d_name);
		if (!l->v[l->n]) {
			r = -ENOMEM;
			break;
		}
		l->n++;
	}
	closedir(d);
	if (r == 0 && l->n > 1) /* qsort(NULL, 0, ...) is undefined (UBSan) */
		qsort(l->v, l->n, sizeof(char *), name_cmp);
	return r;
}

/* Record the entries under the directory @fd (taken), whose path is @path[0..plen). */
static int walk(struct hutch_fsnap *s, int fd, char *path, size_t plen, unsigned depth)
{
	struct names l = {0};
	_cleanup_close_ int dfd = -1;
	int r;

	if (depth >= HUTCH_FSCAN_MAX_DEPTH) {
		close(fd);
		s->cut = "depth";
		return 0;
	}
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0) {
		close(fd);
		return 0;
	}
	/* all names of the directory (sorted), then as many as the budget allows */
	r = read_names(fd, s->max_entries > 65536 ? s->max_entries : 65536, &l);
	if (r == -E2BIG) {
		s->cut = "entries";
		names_free(&l);
		return 0;
	}
	if (r < 0) {
		names_free(&l);
		return r == -ENOMEM ? r : 0; /* unreadable: skipped */
	}
	for (size_t i = 0; i < l.n && !s->cut; i++) {
		size_t nl = strlen(l.v[i]);
		struct stat st;

		if (plen + 1 + nl >= PATH_MAX)
			continue;
		path[plen] = '/';
		memcpy(path + plen + 1, l.v[i], nl + 1);
		if (s->n_exclude && bsearch(&(const char *){path}, s->exclude, s->n_exclude,
					    sizeof(char *), str_cmp))
			continue;
		if (fstatat(dfd, l.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		if (s->n >= s->max_entries) {
			s->cut = "entries";
			break;
		}
		if (past_deadline(s)) {
			s->cut = "time";
			break;
		}
		r = record(s, path, plen + 1 + nl, &st);
		if (r < 0)
			break;
		if (S_ISDIR(st.st_mode)) {
			int cfd =
				openat(dfd, l.v[i],
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
			if (cfd >= 0) {
				r = walk(s, cfd, path, plen + 1 + nl, depth + 1);
				if (r < 0)
					break;
			}
		}
		r = 0;
	}
	path[plen] = '\0';
	names_free(&l);
	return r;
}

static int root_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	return hutch_fsnap_path_cmp(x, strlen(x), y, strlen(y));
}

int hutch_fsnap_take(const char *const *roots, size_t n_roots, const char *const *exclude,
		     size_t n_exclude, const struct hutch_fscan_limits *lim,
		     struct hutch_fsnap **out)
{
	_cleanup_free_ const char **sorted = NULL;
	struct hutch_fsnap *s;
	char path[PATH_MAX];
	uint64_t ms;
	int r = 0;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->max_entries = lim && lim->max_entries ? lim->max_entries : HUTCH_FSCAN_DEFAULT_ENTRIES;
	ms = lim && lim->max_ms ? lim->max_ms : HUTCH_FSCAN_DEFAULT_MS;
	clock_gettime(CLOCK_MONOTONIC, &s->deadline);
	s->deadline.tv_sec += (time_t)(ms / 1000);
	s->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (s->deadline.tv_nsec >= 1000000000L) {
		s->deadline.tv_sec++;
		s->deadline.tv_nsec -= 1000000000L;
	}
	sorted = calloc(n_roots ? n_roots : 1, sizeof(char *));
	s->exclude = calloc(n_exclude ? n_exclude : 1, sizeof(char *));
	if (!sorted || !s->exclude) {
		free(s->exclude);
		free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_exclude; i++)
		if (exclude[i])
			s->exclude[s->n_exclude++] = exclude[i];
	qsort(s->exclude, s->n_exclude, sizeof(char *), str_cmp);
	memcpy(sorted, roots, n_roots * sizeof(char *));
	qsort(sorted, n_roots, sizeof(char *), root_cmp);
	for (size_t i = 0; i < n_roots && !s->cut && r >= 0; i++) {
		size_t len = strlen(sorted[i]);
		bool nested = false;
		int fd;

		for (size_t j = 0; j < i; j++)
			if (hutch_path_has_prefix(sorted[i], sorted[j]))
				nested = true;
		if (nested || sorted[i][0] != '/' || len >= PATH_MAX)
			continue;
		if (len == 1)
			len = 0; /* "/": children are "/x" */
		memcpy(path, sorted[i], len);
		path[len] = '\0';
		fd = open(len ? path : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			continue;
		r = walk(s, fd, path, len, 0);
	}
	free(s->exclude);
	s->exclude = NULL;
	s->n_exclude = 0;
	if (r < 0) {
		hutch_fsnap_free(s);
		return r;
	}
	*out = s;
	return 0;
}

void hutch_fsnap_free(struct hutch_fsnap *s)
{
	if (!s)
		return;
	free(s->v);
	free(s->names);
	free(s);
}

size_t hutch_fsnap_count(const struct hutch_fsnap *s)
{
	return s ? s->n : 0;
}

const char *hutch_fsnap_cut_reason(const struct hutch_fsnap *s)
{
	return s ? s->cut : NULL;
}

static const char *path_of(const struct hutch_fsnap *s, const struct fent *e)
{
	return s->names + e->off;
}

int hutch_fsnap_merge_tail(struct hutch_fsnap *s, const struct hutch_fsnap *older)
{
	const struct fent *last;
	size_t i = 0;

	if (!s->cut)
		return 0;
	if (s->n) {
		last = &s->v[s->n - 1];
		/* binary search: the first entry of @older after @s's last */
		size_t lo = 0, hi = older->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			const struct fent *e = &older->v[mid];
			if (hutch_fsnap_path_cmp(path_of(older, e), e->len, path_of(s, last),
						 last->len) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		i = lo;
	}
	for (; i < older->n; i++) {
		const struct fent *e = &older->v[i];
		struct fent *d;
		int r;

		/* record() takes a struct stat: copy the entry as is instead */
		r = record(s, path_of(older, e), e->len, &(struct stat){0});
		if (r < 0)
			return r;
		d = &s->v[s->n - 1];
		*d = (struct fent){.off = d->off,
				   .len = e->len,
				   .mode = e->mode,
				   .size = e->size,
				   .ino = e->ino,
				   .dev = e->dev,
				   .mtime = e->mtime,
				   .ctime = e->ctime};
	}
	s->cut = older->cut;
	return 0;
}

static void emit(hutch_fchange_cb cb, void *data, const char *path, enum hutch_fchange kind,
		 const struct fent *e)
{
	struct hutch_fchange_info c = {
		.path = path,
		.change = kind,
		.mode = e->mode & S_IFMT,
		.size = e->size,
	};
	cb(&c, data);
}

/* Is @e at or before the point where @s was cut (or @s complete)? */
static bool covered(const struct hutch_fsnap *s, const struct hutch_fsnap *e_snap,
		    const struct fent *e)
{
	const struct fent *last;

	if (!s->cut)
		return true;
	if (s->n == 0)
		return false;
	last = &s->v[s->n - 1];
	return hutch_fsnap_path_cmp(path_of(e_snap, e), e->len, path_of(s, last), last->len) <= 0;
}

bool hutch_fsnap_diff(const struct hutch_fsnap *b, const struct hutch_fsnap *a, hutch_fchange_cb cb,
		      void *data)
{
	size_t i = 0, j = 0;

	while (i < b->n || j < a->n) {
		const struct fent *x = i < b->n ? &b->v[i] : NULL;
		const struct fent *y = j < a->n ? &a->v[j] : NULL;
		int c;

		if (x && y)
			c = hutch_fsnap_path_cmp(path_of(b, x), x->len, path_of(a, y), y->len);
		else
			c = x ? -1 : 1;
		if (c < 0) {
			if (covered(a, b, x))
				emit(cb, data, path_of(b, x), HUTCH_FILE_DELETED, x);
			i++;
		} else if (c > 0) {
			if (covered(b, a, y))
				emit(cb, data, path_of(a, y), HUTCH_FILE_CREATED, y);
			j++;
		} else {
			bool type_changed = (x->mode & S_IFMT) != (y->mode & S_IFMT);
			if (type_changed ||
			    (!S_ISDIR(y->mode) &&
			     (x->size != y->size || x->mtime != y->mtime || x->ctime != y->ctime ||
			      x->ino != y->ino || x->dev != y->dev || x->mode != y->mode)))
				emit(cb, data, path_of(a, y), HUTCH_FILE_MODIFIED, y);
			i++;
			j++;
		}
	}
	return !b->cut && !a->cut;
}
