/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a session's layer changes in the workspace: a walk of the overlay's
 * upper directory against the workspace as it is now.
 *
 *   whiteout (char 0/0, or an empty file with user.overlay.whiteout)
 *                      the workspace entry is deleted (a directory: everything in it)
 *   opaque directory   (user.overlay.opaque = "y") replaces the workspace's:
 *                      what is only in the workspace is deleted
 *   other entries      added, or modified when the content, target or mode differs
 *
 * Placeholders of protected paths are never reported; protected paths are
 * flagged with the policy's semantics (relative entries at the workspace root
 * and in every git repository, ".git/X" in every git directory).
 */
#pragma once

#include <sys/types.h>

#include "hutch.h"
#include "session/session.h"

#define HUTCH_MAX_CHANGES (2u * 1000u * 1000u)
#define HUTCH_BINARY_PROBE 8000

/*
 * How deep the walk goes (it holds a directory fd per level, and paths are
 * not bounded by PATH_MAX); a directory beneath is reported with
 * uncompared set, and what it holds is not listed.
 */
#define HUTCH_WALK_MAX_DEPTH 4096

/* Walk flags: apply does not need to know which files look binary. */
#define HUTCH_CHANGES_NO_SNIFF 1u

/*
 * The walk, one change at a time (a directory before what it holds, a deleted
 * directory after): memory does not grow with the number of changes. @fn's
 * change (and its path) lives during the call only; a negative return stops
 * the walk and is returned.
 */
int hutch_changes_walk(hutch_session *s, const struct hutch_snapshot *snap, unsigned flags,
		       hutch_change_fn fn, void *data, hutch_error *err);

/* Walk with a snapshot already loaded (apply keeps it to record what it wrote). */
int hutch_changes_compute(hutch_session *s, const struct hutch_snapshot *snap, unsigned flags,
			  struct hutch_changes *out, hutch_error *err);

/*
 * Pure matcher: is @rel (relative to the workspace) protected by the relative
 * entries @rel_entries (at the root, and in every directory @is_repo says is a
 * git repository; ".git/X" in every git directory, submodules' included) or
 * the workspace-relative @anchored entries? A ".git" file (worktree, submodule
 * link) is protected too when @gitfile.
 */
bool hutch_protected_match(char *const *rel_entries, size_t n_rel, char *const *anchored,
			   size_t n_anchored, const char *rel, bool gitfile,
			   bool (*is_repo)(const char *dir, void *data), void *data);

enum hutch_file_type hutch_file_type_of(mode_t mode);
