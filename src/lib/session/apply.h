/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hutch apply: bring a session's layer over to the real workspace.
 *
 * Per entry, in the order of the change list (a new directory before what is
 * in it, a deleted directory after what was in it):
 *   - files, symlinks, fifos are written to a temporary (.NAME.hutch-ID.tmp)
 *     in the target directory with their mode (set-id bits dropped) and mtime,
 *     then renamed over the target: a reader sees the old or the new version,
 *     never half of one; a temporary left by an interrupted apply is replaced;
 *   - deletions unlink; a directory is removed only when empty (what the user
 *     added since stays, and is reported);
 *   - directories are made u+rwx while being filled and get their mode at the end;
 *   - every path is resolved beneath the workspace without following symlinks;
 *   - a protected path is refused unless include_protected;
 *   - a conflict (the user changed the entry since the session started) is not
 *     overwritten: the agent's version is written beside it as NAME.hutch-ID.
 *
 * Each entry written is recorded (its new stat) in the session's "applied"
 * journal, which overrides the start snapshot: a rerun after a crash recomputes
 * the changes (what was applied no longer differs), finishes the rest, and does
 * not mistake hutch's own writes for the user's.
 */
#pragma once

#include <stddef.h>

#include "hutch.h"

/* Name of the copy left beside a conflicting file: NAME.hutch-ID (into @out). */
int hutch_apply_beside_name(const char *name, const char *id, char *out, size_t size);
/* Name of the temporary for NAME: .NAME.hutch-ID.tmp (or a hash of a long NAME). */
void hutch_apply_tmp_name(const char *name, const char *id, char *out, size_t size);

struct hutch_session;
/*
 * Remove the temporaries an interrupted apply of @s may have left in the
 * workspace (hutch discard of a session whose apply was killed): one lookup per
 * entry of the layer.
 */
void hutch_apply_sweep(struct hutch_session *s);
