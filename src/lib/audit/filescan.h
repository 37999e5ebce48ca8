/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File changes without a session layer: a metadata-only snapshot of the
 * writable roots (path, type, size, mtime, ctime, inode; no content) taken
 * before and after the session, compared in one merge.
 *
 * Snapshots have a budget (entries and time). A walk cut short records how
 * far it got: the walk visits each directory's entries sorted by name, so
 * the snapshot is sorted and "how far" is one path; changes beyond it are
 * not reported and the comparison says it was incomplete.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HUTCH_FSCAN_DEFAULT_ENTRIES 100000
#define HUTCH_FSCAN_DEFAULT_MS 750
#define HUTCH_FSCAN_MAX_DEPTH 64

struct hutch_fsnap;

struct hutch_fscan_limits {
	size_t max_entries; /* 0: HUTCH_FSCAN_DEFAULT_ENTRIES */
	uint64_t max_ms;    /* 0: HUTCH_FSCAN_DEFAULT_MS */
};

enum hutch_fchange {
	HUTCH_FILE_CREATED,
	HUTCH_FILE_MODIFIED,
	HUTCH_FILE_DELETED,
};

struct hutch_fchange_info {
	const char *path; /* absolute */
	enum hutch_fchange change;
	mode_t mode; /* S_IFMT bits of the entry (after, or before when deleted) */
	uint64_t size;
};

/*
 * Walk @roots (absolute, normalised; nested roots are walked once) without
 * following symlinks. The @n_exclude paths in @exclude (the audit log,
 * protected paths: the sandbox cannot change them, hutch's placeholders
 * come and go there) are left out, directories with all beneath them.
 * Fails only on allocation failure; unreadable directories are skipped.
 */
int hutch_fsnap_take(const char *const *roots, size_t n_roots, const char *const *exclude,
		     size_t n_exclude, const struct hutch_fscan_limits *lim,
		     struct hutch_fsnap **out);
void hutch_fsnap_free(struct hutch_fsnap *s);

/* Entries recorded; NULL reason when complete, else "entries", "time" or "depth". */
size_t hutch_fsnap_count(const struct hutch_fsnap *s);
const char *hutch_fsnap_cut_reason(const struct hutch_fsnap *s);

/*
 * Report created, modified (not directories: their mtime follows their
 * entries) and deleted entries, in path order. Returns true when the
 * comparison was complete (neither snapshot was cut short).
 */
typedef void (*hutch_fchange_cb)(const struct hutch_fchange_info *c, void *data);
bool hutch_fsnap_diff(const struct hutch_fsnap *before, const struct hutch_fsnap *after,
		      hutch_fchange_cb cb, void *data);

/*
 * @s was cut short: append the entries of @older (an earlier snapshot of the
 * same roots) that lie beyond the point where @s stopped, so that @s holds,
 * for every path, the state last seen. @s then counts as cut only when
 * @older was (its reason is taken over). Used by the periodic comparison: a
 * scan with a small budget compares what it reached and keeps the rest of
 * the previous baseline for the next scan. No-op when @s is complete.
 */
int hutch_fsnap_merge_tail(struct hutch_fsnap *s, const struct hutch_fsnap *older);

/* Path order of the snapshots: bytewise, with '/' before every other byte. */
int hutch_fsnap_path_cmp(const char *a, size_t an, const char *b, size_t bn);
