/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The end-of-run check's last complete walk of a writable root (gitguard.c),
 * remembered between runs, so that a directory that did not change since is
 * not read again: at ~300 directories the walk is most of hutch's cost after a
 * run, in a node_modules-like tree of 100,000 files tens of milliseconds.
 *
 * For every directory walked: its path relative to the root, device, inode
 * and ctime, what the check acts on in it (HUTCH_WALK_*: the shape of a git
 * directory, a ".env" or an agent's local instructions that is not a
 * directory) and, the records being in the walk's order (depth first, a
 * directory before what lies beneath it), how many directories the walk went
 * into beneath it. gitguard.c decides whether a record still holds (a
 * directory's ctime changes with every entry created, removed or renamed in
 * it, and no one can set it back); this file only stores them.
 *
 * One file per root in hutch's state directory, STATE/walk/<sha256 of the
 * root's path>, which the sandbox cannot see: the workload can neither read
 * nor forge it. Binary, native byte order (the cache is of this machine):
 *
 *   header   "hutch-walk 1", root length, record count, save time,
 *            length of the names, a checksum of what follows
 *   root     the root's path (a cache for another root is none)
 *   records  dev ino ctime flags subtree name-offset name-length
 *   names    the relative paths, each NUL-terminated ("" for the root)
 *
 * A file of another size, version, root or checksum, or whose records do not
 * form one tree (each path its parent's plus one name, subtrees nested), is
 * no cache: the check walks everything.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* What the check acts on in a directory (gitguard.c walk_root()). */
enum {
	HUTCH_WALK_HEAD = 1,	/* an entry HEAD */
	HUTCH_WALK_OBJECTS = 2, /* an entry objects */
	HUTCH_WALK_REFS = 4,	/* an entry refs */
	HUTCH_WALK_ENV = 8,	/* a ".env" that is not a directory */
	HUTCH_WALK_LOCAL = 16,	/* an agent's local instructions, not a directory */
};

struct hutch_walk_rec {
	uint64_t dev, ino;
	int64_t sec;
	uint32_t nsec;
	uint32_t flags;	  /* HUTCH_WALK_* */
	uint32_t subtree; /* records beneath it: the next ones */
	uint32_t rel_off; /* its relative path: names + rel_off, NUL-terminated */
};

struct hutch_walkcache {
	struct hutch_walk_rec *recs;
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
	struct timespec saved; /* when it was written (loaded caches) */
	uint32_t *slots;       /* index by path: record + 1, 0 for none */
	size_t n_slots;
};

/* The cache of @root in @cache_dir: 0, -ENOENT if there is none (or it is not one), -ENOMEM. */
int hutch_walkcache_load(const char *cache_dir, const char *root, struct hutch_walkcache *c);
void hutch_walkcache_free(struct hutch_walkcache *c);

static inline const char *hutch_walkcache_rel(const struct hutch_walkcache *c, size_t i)
{
	return c->names + c->recs[i].rel_off;
}

/*
 * How many directories the cache of @root in @cache_dir holds, from its
 * header alone (not checked: an estimate of the next walk's length), or -1.
 */
long hutch_walkcache_count(const char *cache_dir, const char *root);

/* The record of @rel in a loaded cache, or -1. */
long hutch_walkcache_find(const struct hutch_walkcache *c, const char *rel);

/* Building a cache: a record appended (its subtree set by the caller later); its index or -ENOMEM.
 */
long hutch_walkcache_add(struct hutch_walkcache *c, const struct hutch_walk_rec *r,
			 const char *rel);

/* Write @c as the cache of @root (atomically: concurrent runs see one whole cache). */
int hutch_walkcache_save(const char *cache_dir, const char *root, const struct hutch_walkcache *c,
			 const struct timespec *saved);

/*
 * Was a ctime @ctime too close to @saved, the time the cache was written, to
 * be trusted? A filesystem stamps with the coarse clock (resolution @res_ns):
 * a change in the same tick as the one recorded leaves the ctime as it was
 * (git's "racy git" problem). Such a record is never trusted.
 */
bool hutch_walkcache_racy(int64_t sec, uint32_t nsec, const struct timespec *saved,
			  long long res_ns);
