/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --ephemeral=root: the rest of the filesystem under a layer of the session's
 * own, next to the workspace layer and never applied:
 *
 *   SESSION/root/upper/X   the upper layer of the overlay over each top-level
 *                          directory X of the host (/usr, /etc, /var, ...),
 *                          with X's mode: the merged X takes its attributes
 *   SESSION/root/work/X    the work directory of that overlay
 *   SESSION/root/stamp     written when the layer was made (see changed())
 *
 * (One overlay per top-level directory: in a user namespace the kernel
 * refuses a lower layer with other mounts beneath it, as / always has.)
 *
 * Run unprivileged, the sandbox's uid 0 is the user: it can create files only
 * in directories the upper layer holds already (their owner is then the
 * user). The layer starts with a skeleton of the directories package managers
 * write to and copies of the state and lock files they rewrite in place.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "hutch.h"

/*
 * Make SESSION/root when it does not exist yet (through root.tmp, renamed at
 * the end: complete or absent); @skeleton: pre-create the table's directories
 * and files (unprivileged runs). Returns 1 when it was made now, 0 when it
 * existed.
 */
int hutch_rootlayer_make(const char *session_dir, bool skeleton, hutch_error *err);
/* Before each run: upper/X and work/X for every top-level directory X of the host. */
int hutch_rootlayer_prepare(const char *session_dir, hutch_error *err);
/* Did anything write into the layer since it was made (beyond its skeleton)? */
bool hutch_rootlayer_changed(const char *session_dir);
