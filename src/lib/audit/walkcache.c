/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Storage of the end-of-run check's walk cache (walkcache.h; gitguard.c
 * decides whether a record still holds). The file layout follows
 * sandbox/scancache.c's (one file per root named by its path's hash, in the
 * state directory, written atomically), in binary: a node_modules tree has
 * thousands of directories, and the load is on the way out of every run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic.h"
#include "base/cleanup.h"
#include "base/file.h"
#include "base/statedir.h"
#include "audit/walkcache.h"

/* the version: a cache of another is none */
static const char magic[16] = "hutch-walk 1";
/* ~64 bytes a directory: a quarter of a million directories */
#define CACHE_MAX_BYTES (16u * 1024 * 1024)
#define CACHE_MAX_RECS (CACHE_MAX_BYTES / sizeof(struct hutch_walk_rec))

struct header {
	char magic[16];
	uint32_t root_len, n;
	int64_t saved_sec;
	uint32_t saved_nsec, names_len;
	uint64_t check; /* of the whole file, with this field 0 */
};

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/*
 * A checksum against a damaged file (not against a forger: the sandbox cannot
 * reach it), eight bytes at a time: the load is on every run's way out.
 */
static uint64_t checksum(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ len;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = 0;
		memcpy(&w, p + i, len - i < 8 ? len - i : 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return h;
}

static uint64_t path_hash(const char *s)
{
	return checksum(s, strlen(s));
}

void hutch_walkcache_free(struct hutch_walkcache *c)
{
	free(c->recs);
	free(c->names);
	free(c->slots);
	*c = (struct hutch_walkcache){0};
}

bool hutch_walkcache_racy(int64_t sec, uint32_t nsec, const struct timespec *saved,
			  long long res_ns)
{
	/* racy: ctime >= saved - 2 * res - 1 ms (gitguard.c's margin) */
	long long margin = 2 * res_ns + 1000000LL;
	int64_t lsec = saved->tv_sec - (int64_t)(margin / 1000000000LL);
	long long lnsec = saved->tv_nsec - margin % 1000000000LL;

	if (lnsec < 0) {
		lnsec += 1000000000LL;
		lsec--;
	}
	return sec > lsec || (sec == lsec && (long long)nsec >= lnsec);
}

long hutch_walkcache_add(struct hutch_walkcache *c, const struct hutch_walk_rec *r, const char *rel)
{
	size_t len = strlen(rel) + 1;

	if (c->n >= CACHE_MAX_RECS || c->names_len + len > CACHE_MAX_BYTES)
		return -ENOMEM;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct hutch_walk_rec *nr = realloc(c->recs, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		c->recs = nr;
		c->cap = cap;
	}
	if (c->names_len + len > c->names_cap) {
		size_t cap = c->names_cap ? c->names_cap : 1024;
		char *nn;
		while (cap < c->names_len + len)
			cap *= 2;
		nn = realloc(c->names, cap);
		if (!nn)
			return -ENOMEM;
		c->names = nn;
		c->names_cap = cap;
	}
	c->recs[c->n] = *r;
	c->recs[c->n].rel_off = (uint32_t)c->names_len;
	memcpy(c->names + c->names_len, rel, len);
	c->names_len += len;
	return (long)c->n++;
}

long hutch_walkcache_find(const struct hutch_walkcache *c, const char *rel)
{
	size_t mask = c->n_slots - 1;

	if (!c->n_slots)
		return -1;
	for (size_t i = path_hash(rel) & mask;; i = (i + 1) & mask) {
		uint32_t s = c->slots[i];
		if (!s)
			return -1;
		if (!strcmp(hutch_walkcache_rel(c, s - 1), rel))
			return (long)s - 1;
	}
}

/* Is @rel @parent's path plus one name (not "." or "..")? */
static bool child_of(const char *parent, const char *rel)
{
	size_t pl = strlen(parent);
	const char *name = rel;

	if (pl) {
		if (strncmp(rel, parent, pl) || rel[pl] != '/')
			return false;
		name = rel + pl + 1;
	}
	return *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

/*
 * The records form one tree in the walk's order: the first is the root (""),
 * each next one is a child of the innermost record whose subtree still holds
 * it, and a subtree ends within its parent's.
 */
static int check_tree(const struct hutch_walkcache *c)
{
	_cleanup_free_ size_t *stack = NULL;
	size_t depth = 0;

	if (!c->n || *hutch_walkcache_rel(c, 0) || c->recs[0].subtree != c->n - 1)
		return -EBADMSG;
	stack = malloc(c->n * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	stack[depth++] = 0;
	for (size_t i = 1; i < c->n; i++) {
		size_t p;
		while (depth && i > stack[depth - 1] + c->recs[stack[depth - 1]].subtree)
			depth--;
		if (!depth)
			return -EBADMSG;
		p = stack[depth - 1];
		if (i + c->recs[i].subtree > p + c->recs[p].subtree ||
		    !child_of(hutch_walkcache_rel(c, p), hutch_walkcache_rel(c, i)))
			return -EBADMSG;
		stack[depth++] = i;
	}
	return 0;
}

static int index_paths(struct hutch_walkcache *c)
{
	size_t n = 16;

	while (n < 2 * c->n)
		n *= 2;
	c->slots = calloc(n, sizeof(*c->slots));
	if (!c->slots)
		return -ENOMEM;
	c->n_slots = n;
	for (size_t r = 0; r < c->n; r++) {
		size_t i = path_hash(hutch_walkcache_rel(c, r)) & (n - 1);
		while (c->slots[i]) {
			if (!strcmp(hutch_walkcache_rel(c, c->slots[i] - 1),
				    hutch_walkcache_rel(c, r)))
				return -EBADMSG; /* a path twice */
			i = (i + 1) & (n - 1);
		}
		c->slots[i] = (uint32_t)r + 1;
	}
	return 0;
}

/* The parts of the file @buf (@len bytes) into @c; -EBADMSG if it is not a cache of @root. */
static int parse(char *buf, size_t len, const char *root, struct hutch_walkcache *c)
{
	struct header h;
	size_t rl = strlen(root), off = sizeof(h), recs_len;

	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, magic, sizeof(magic)) || h.root_len != rl || !h.n ||
	    h.n > CACHE_MAX_RECS || h.saved_nsec >= 1000000000u || !h.names_len)
		return -EBADMSG;
	recs_len = (size_t)h.n * sizeof(struct hutch_walk_rec);
	if (len != sizeof(h) + pad8(rl) + recs_len + h.names_len || memcmp(buf + off, root, rl) ||
	    buf[len - 1] != '\0')
		return -EBADMSG;
	{
		uint64_t want = h.check;
		h.check = 0;
		memcpy((char *)buf, &h, sizeof(h));
		if (checksum(buf, len) != want)
			return -EBADMSG;
	}
	off += pad8(rl);
	c->recs = malloc(recs_len);
	c->names = malloc(h.names_len);
	if (!c->recs || !c->names)
		return -ENOMEM;
	memcpy(c->recs, buf + off, recs_len);
	memcpy(c->names, buf + off + recs_len, h.names_len);
	c->n = c->cap = h.n;
	c->names_len = c->names_cap = h.names_len;
	c->saved = (struct timespec){(time_t)h.saved_sec, (long)h.saved_nsec};
	for (size_t i = 0; i < c->n; i++)
		if (c->recs[i].rel_off >= h.names_len || c->recs[i].nsec >= 1000000000u ||
		    c->recs[i].subtree >= c->n - i ||
		    (c->recs[i].rel_off && c->names[c->recs[i].rel_off - 1] != '\0'))
			return -EBADMSG;
	if (check_tree(c) < 0)
		return -EBADMSG;
	return index_paths(c);
}

int hutch_walkcache_load(const char *cache_dir, const char *root, struct hutch_walkcache *c)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	*c = (struct hutch_walkcache){0};
	buf = hutch_state_read_keyed(cache_dir, root, CACHE_MAX_BYTES, &len);
	if (!buf)
		return -ENOENT;
	r = parse(buf, len, root, c);
	if (r < 0) {
		hutch_walkcache_free(c);
		return r == -ENOMEM ? r : -ENOENT;
	}
	return 0;
}

long hutch_walkcache_count(const char *cache_dir, const char *root)
{
	_cleanup_free_ char *path = cache_dir ? hutch_state_keyed_path(cache_dir, root) : NULL;
	_cleanup_close_ int fd = path ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
	struct header h;

	if (fd < 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, magic, sizeof(magic)))
		return -1;
	return (long)h.n;
}

int hutch_walkcache_save(const char *cache_dir, const char *root, const struct hutch_walkcache *c,
			 const struct timespec *saved)
{
	_cleanup_atomic_ struct hutch_atomic a = HUTCH_ATOMIC_INIT;
	_cleanup_free_ char *path = NULL, *tmp = NULL, *buf = NULL;
	struct header h = {0};
	size_t rl = strlen(root), recs_len = c->n * sizeof(*c->recs), len, off = sizeof(h);
	int r;

	if (!cache_dir || !c->n)
		return 0;
	len = sizeof(h) + pad8(rl) + recs_len + c->names_len;
	if (rl > UINT32_MAX || len > CACHE_MAX_BYTES)
		return -EFBIG;
	if (mkdir(cache_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	buf = calloc(1, len);
	path = hutch_state_keyed_path(cache_dir, root);
	if (!buf || !path || asprintf(&tmp, "%s.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	memcpy(h.magic, magic, sizeof(magic));
	memcpy(buf + off, root, rl);
	off += pad8(rl);
	memcpy(buf + off, c->recs, recs_len);
	memcpy(buf + off + recs_len, c->names, c->names_len);
	h.root_len = (uint32_t)rl;
	h.n = (uint32_t)c->n;
	h.saved_sec = saved->tv_sec;
	h.saved_nsec = (uint32_t)saved->tv_nsec;
	h.names_len = (uint32_t)c->names_len;
	memcpy(buf, &h, sizeof(h));
	h.check = checksum(buf, len);
	memcpy(buf, &h, sizeof(h));
	r = hutch_atomic_begin(&a, AT_FDCWD, path, tmp, 0600);
	if (r >= 0)
		r = hutch_write_all(a.fd, buf, len);
	if (r >= 0)
		r = hutch_atomic_commit(&a, 0);
	return r;
}
