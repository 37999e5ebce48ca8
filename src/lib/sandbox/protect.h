/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Protected paths: files that run code later, outside the sandbox (git hooks,
 * rc files, editor and agent config). They are read-only even inside writable
 * roots, including the ones that do not exist yet.
 */
#pragma once

#include "sandbox/mount.h"
#include "policy/policy.h"

struct hutch_placeholders;

/*
 * Expand the policy's relative protected entries at each writable root and
 * in each git repository found cheaply beneath it; add MOUNT_PROTECT ops for
 * the paths that exist, and collect the missing ones whose parent exists in
 * @missing (malloc'd strings) so placeholders can be made for them. The
 * search for repositories is cached in @cache_dir (NULL: not cached; see
 * scancache.h).
 */
int hutch_protect_plan(const struct hutch_policy *p, struct hutch_mount_plan *plan,
		       const char *cache_dir, char ***missing, size_t *n_missing, hutch_error *err);

/*
 * Placeholders (journal.c): empty directories created on the host for
 * protected paths that do not exist yet, so a read-only mount can cover them.
 * Every placeholder is written to a journal first; hutch removes them at the
 * end, and any run cleans up the journals of runs that died (SIGKILL).
 * Placeholders shared by concurrent runs are removed by the last one.
 */
int hutch_placeholders_create(const char *state_dir, char **missing, size_t n_missing,
			      char *const *existing, size_t n_existing,
			      struct hutch_placeholders **out, hutch_error *err);
/*
 * Every removal goes through the placeholder's directory opened without
 * following symbolic links and touches only the inode hutch placed there.
 * Both return how many placeholders were left in place because what was
 * found was not what hutch placed (each is noted, with why, in
 * STATE/placeholders/.refused), or -errno.
 */
int hutch_placeholders_remove(struct hutch_placeholders *ph);
/* Remove leftovers of dead runs; cheap when there are none. */
int hutch_placeholders_cleanup_stale(const char *state_dir);
