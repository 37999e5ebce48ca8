/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Storage of the repository search's cache (see scancache.h; protect.c
 * decides whether it still holds). One file per root,
 * STATE/scan/<sha256 of the root's path>, NUL-separated fields (paths may
 * hold any byte but NUL, names any but NUL and '/'):
 *
 *   "hutch-scan 2" root
 *   "d" "DEV INO SEC NSEC READ GIT COUNT" relpath subdirs   a directory
 *   "r" relpath                                             a repository found
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic.h"
#include "base/cleanup.h"
#include "base/file.h"
#include "base/statedir.h"
#include "sandbox/scancache.h"

#define MAGIC "hutch-scan 2"
#define CACHE_MAX_BYTES (4 * 1024 * 1024)

/* The next NUL-terminated field at *off, or NULL at the end. */
static const char *field(const char *buf, size_t len, size_t *off)
{
	const char *f;

	if (*off >= len)
		return NULL;
	f = buf + *off;
	*off += strlen(f) + 1;
	return *off <= len ? f : NULL;
}

void hutch_scancache_free(struct hutch_scan_cache *c)
{
	for (size_t i = 0; i < c->n_dirs; i++) {
		free(c->dirs[i].rel);
		free(c->dirs[i].subdirs);
	}
	for (size_t i = 0; i < c->n_repos; i++)
		free(c->repos[i]);
	free(c->dirs);
	free(c->repos);
	*c = (struct hutch_scan_cache){0};
}

/*
 * The next number of a record's "DEV INO SEC NSEC READ GIT COUNT" at *p:
 * decimal digits (a '-' first when @sign: then it fits an intmax_t), then
 * @end (a space, or the end of the field after the last). sscanf() took
 * ~1 us a record, and every run reads every record of its workspace's cache
 * before it sends the protected paths.
 */
static bool next_num(const char **p, bool sign, char end, uintmax_t *v)
{
	const char *c = *p;
	bool neg = sign && *c == '-';
	uintmax_t x = 0, max = sign ? (uintmax_t)INTMAX_MAX : UINTMAX_MAX;

	c += neg;
	if (*c < '0' || *c > '9')
		return false;
	for (; *c >= '0' && *c <= '9'; c++) {
		unsigned digit = (unsigned)(*c - '0');

		if (x > (max - digit) / 10)
			return false;
		x = x * 10 + digit;
	}
	if (*c != end)
		return false;
	*p = c + 1;
	*v = neg ? (uintmax_t) - (intmax_t)x : x;
	return true;
}

static int parse_dir(const char *ids, const char *rel, const char *subdirs,
		     struct hutch_scan_dir *d)
{
	uintmax_t n[7];
	const char *p = ids;

	for (size_t i = 0; i < 7; i++)
		if (!next_num(&p, i == 2 || i == 3, i < 6 ? ' ' : '\0', &n[i]))
			return -EBADMSG;
	*d = (struct hutch_scan_dir){.dev = (dev_t)n[0],
				     .ino = (ino_t)n[1],
				     .ctime = {(time_t)(intmax_t)n[2], (long)(intmax_t)n[3]},
				     .read = n[4] != 0,
				     .has_git = n[5] != 0,
				     .count = (size_t)n[6]};
	d->rel = strdup(rel);
	d->subdirs = strdup(subdirs);
	return d->rel && d->subdirs ? 0 : -ENOMEM;
}

int hutch_scancache_load(const char *cache_dir, const char *root, struct hutch_scan_cache *c)
{
	_cleanup_free_ char *buf = NULL;
	const char *f, *a, *b, *d;
	size_t len = 0, off = 0;
	int r = 0;

	*c = (struct hutch_scan_cache){0};
	if (!cache_dir)
		return -ENOENT;
	buf = hutch_state_read_keyed(cache_dir, root, CACHE_MAX_BYTES, &len);
	if (!buf)
		return -ENOENT;
	f = field(buf, len, &off);
	if (!f || strcmp(f, MAGIC) || !(f = field(buf, len, &off)) || strcmp(f, root))
		return -ENOENT;
	/* at most one record per three bytes */
	c->dirs = calloc(len / 3 + 1, sizeof(*c->dirs));
	c->repos = calloc(len / 3 + 1, sizeof(char *));
	if (!c->dirs || !c->repos)
		r = -ENOMEM;
	while (r >= 0 && (f = field(buf, len, &off))) {
		if (!strcmp(f, "d") && (a = field(buf, len, &off)) && (b = field(buf, len, &off)) &&
		    (d = field(buf, len, &off))) {
			r = parse_dir(a, b, d, &c->dirs[c->n_dirs]);
			if (r >= 0 || c->dirs[c->n_dirs].rel || c->dirs[c->n_dirs].subdirs)
				c->n_dirs++; /* freed with the rest on failure */
		} else if (!strcmp(f, "r") && (a = field(buf, len, &off))) {
			c->repos[c->n_repos] = strdup(a);
			r = c->repos[c->n_repos] ? 0 : -ENOMEM;
			c->n_repos += r >= 0;
		} else {
			r = -EBADMSG;
		}
	}
	if (r < 0) {
		hutch_scancache_free(c);
		return r == -ENOMEM ? r : -ENOENT;
	}
	return 0;
}

static int put_field(FILE *f, const char *s)
{
	return fputs(s, f) < 0 || fputc('\0', f) == EOF ? -EIO : 0;
}

static int put_dir(FILE *f, const struct hutch_scan_dir *d)
{
	char ids[160];
	int r;

	snprintf(ids, sizeof(ids), "%ju %ju %jd %jd %d %d %ju", (uintmax_t)d->dev,
		 (uintmax_t)d->ino, (intmax_t)d->ctime.tv_sec, (intmax_t)d->ctime.tv_nsec,
		 d->read ? 1 : 0, d->has_git ? 1 : 0, (uintmax_t)d->count);
	r = put_field(f, "d");
	if (r >= 0)
		r = put_field(f, ids);
	if (r >= 0)
		r = put_field(f, d->rel);
	if (r >= 0)
		r = put_field(f, d->subdirs ? d->subdirs : "");
	return r;
}

int hutch_scancache_save(const char *cache_dir, const char *root, const struct hutch_scan_cache *c)
{
	_cleanup_atomic_ struct hutch_atomic a = HUTCH_ATOMIC_INIT;
	_cleanup_free_ char *path = NULL, *tmp = NULL;
	FILE *f;
	int r;

	if (!cache_dir)
		return 0;
	if (mkdir(cache_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	path = hutch_state_keyed_path(cache_dir, root);
	if (!path || asprintf(&tmp, "%s.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	r = hutch_atomic_begin(&a, AT_FDCWD, path, tmp, 0600);
	if (r < 0)
		return r;
	f = hutch_atomic_stream(&a);
	if (!f)
		return -ENOMEM;
	r = put_field(f, MAGIC);
	if (r >= 0)
		r = put_field(f, root);
	for (size_t i = 0; r >= 0 && i < c->n_dirs; i++)
		r = put_dir(f, &c->dirs[i]);
	for (size_t i = 0; r >= 0 && i < c->n_repos; i++) {
		r = put_field(f, "r");
		if (r >= 0)
			r = put_field(f, c->repos[i]);
	}
	if (fclose(f) != 0 && r >= 0)
		r = -EIO;
	if (r >= 0)
		r = hutch_atomic_commit(&a, 0);
	return r;
}
