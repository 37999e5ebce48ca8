/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The search for git repositories beneath a writable root (protect.c),
 * remembered between runs: reading a hundred directories costs about a
 * millisecond on ext4 at every start-up, checking them far less.
 *
 * For every directory the search read, the cache keeps its device, inode and
 * ctime, and what the search took from it: how many entries, whether one is
 * ".git", and the subdirectories it went into. For a directory whose ".git"
 * was only looked for (the deepest level), whether it had one. The next run
 * trusts the cached result when each directory is the same inode and either
 * has the same ctime (no entry was created, removed or renamed in it, and no
 * one can set a ctime back, unlike an mtime) or, read again, gives the same
 * count, ".git" and subdirectories (a file came and went: the workspace
 * root's ctime changes at every run, as placeholders come and go). Anything
 * else and the search runs again. A search cut short by its entry budget is
 * not cached.
 *
 * The cache lives in hutch's state directory, which the sandbox cannot see:
 * the workload can neither read nor forge it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

/* One directory the search depends on, relative to the root ("." for the root). */
struct hutch_scan_dir {
	char *rel;
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
	bool read;     /* its entries were read (else only its ".git" looked for) */
	bool has_git;  /* it has a ".git" entry */
	size_t count;  /* entries read */
	char *subdirs; /* read: the subdirectories searched, sorted, '/'-separated ("" if none) */
};

struct hutch_scan_cache {
	struct hutch_scan_dir *dirs;
	size_t n_dirs;
	char **repos; /* relative to the root */
	size_t n_repos;
};

/* The cache for @root: 0, or -ENOENT if there is none (or it is not one). */
int hutch_scancache_load(const char *cache_dir, const char *root, struct hutch_scan_cache *c);
void hutch_scancache_free(struct hutch_scan_cache *c);

/* Remember a search (atomically: concurrent runs see the old or the new cache). */
int hutch_scancache_save(const char *cache_dir, const char *root, const struct hutch_scan_cache *c);
