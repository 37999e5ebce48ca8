/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Disposable sessions (--ephemeral): the workspace is an overlayfs whose upper
 * layer lives on disk, so it survives a crash and can be reviewed, applied,
 * forked or thrown away.
 *
 *   $XDG_STATE_HOME/hutch/sessions/ID/   (0700; ~/.local/state when unset)
 *     meta.json      v, id, kind, workspace, created, createdNs, baselineNs,
 *                    state, parent, pid, protected, protectedAnchored
 *     lock           flock: held (exclusive) by a run, an apply, a discard
 *     snapshot       the workspace at session start: one line per entry
 *     applied        apply journal: the state of each path hutch apply wrote
 *     placeholders   protected paths created in upper/ for this run
 *     upper/ work/   the overlay's layer and work directory
 *     root/          --ephemeral=root: the layer over / (rootlayer.h), never applied
 *
 * Named sessions (`hutch run --name`) live in $XDG_STATE_HOME/hutch/named/NAME;
 * `hutch ls` lists both, reading NAME/meta.json when the daemon wrote one.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "hutch.h"
#include "policy/policy.h"
#include "session/bounds.h"

struct hutch_snap_entry {
	char *path;    /* relative to the workspace */
	uint32_t mode; /* st_mode; 0 = known absent */
	uint64_t ino, size;
	int64_t mtime_ns, ctime_ns;
};

/* The workspace at session start, overridden by what hutch apply wrote since. */
struct hutch_snapshot {
	struct hutch_snap_entry *v;
	size_t n, cap;
	size_t *slots; /* open addressing, index + 1, 0 = empty */
	size_t nslots;
	bool complete; /* the start snapshot was taken to the end */
};

struct hutch_session {
	char id[HUTCH_SESSION_MAX_ID + 1];
	char *dir, *upper, *work;
	char *workspace;
	char *kind, *state, *parent;
	int64_t created_ns;   /* when this session was made */
	int64_t baseline_ns;  /* when its layer started (a fork: its origin's) */
	long pid;	      /* hutch process of the last run */
	char **protected_rel; /* relative protected entries (root + every repository) */
	size_t n_protected_rel;
	char **protected_anchored; /* workspace-relative paths of absolute entries */
	size_t n_protected_anchored;
	char **placeholders; /* loaded from the placeholders file */
	size_t n_placeholders;
	int lock_fd;
	pid_t snap_pid;
	bool root; /* --ephemeral=root: the rest of the filesystem has a layer too (root/) */
};

/* $XDG_STATE_HOME/hutch/sessions (malloc'd), or NULL when neither it nor HOME is set. */
char *hutch_sessions_dir(void);
int hutch_session_check_id(const char *id, hutch_error *err);

/* Take the session's lock without waiting: -EBUSY when a run or an apply holds it. */
int hutch_session_lock(hutch_session *s, hutch_error *err);
void hutch_session_unlock(hutch_session *s);
int hutch_session_set_state(hutch_session *s, const char *state, hutch_error *err);

/*
 * For hutch_run (run.c): lock the session, check that it belongs to @p's
 * workspace, clear stale placeholders, start the snapshot of the workspace in
 * a helper process when there is none yet, and return the overlay source for
 * the mount plan ("LOWER\nUPPER\nWORK", malloc'd). A root session also gets
 * the directory of its root layer (made on its first run) in @root_layer,
 * else NULL.
 */
int hutch_session_run_begin(hutch_session *s, const struct hutch_policy *p, char **overlay,
			    char **root_layer, hutch_error *err);
/*
 * Protected paths that do not exist yet: those under the workspace get their
 * placeholder directory in the session's upper layer (recorded first, removed
 * at the end, never shown by diff or apply); they are taken out of @paths
 * (freed), the rest (other writable roots) stay for host placeholders.
 */
int hutch_session_placeholders(hutch_session *s, char **paths, size_t *n, hutch_error *err);
/*
 * After the sandbox is gone: remove placeholders, wait for the snapshot (or
 * stop it when the layer stayed empty: nothing can conflict), unlock.
 */
void hutch_session_run_end(hutch_session *s);
/* Nothing at all in upper/ (placeholders removed). */
bool hutch_session_layer_empty(const hutch_session *s);
/* rmdir the recorded placeholders in upper/ (the lock must be held). */
void hutch_session_clear_placeholders(hutch_session *s);
bool hutch_session_is_placeholder(const hutch_session *s, const char *rel);

/* Snapshot + apply journal. */
int hutch_snapshot_load(const hutch_session *s, struct hutch_snapshot *snap, hutch_error *err);
void hutch_snapshot_free(struct hutch_snapshot *snap);
const struct hutch_snap_entry *hutch_snapshot_find(const struct hutch_snapshot *snap,
						   const char *rel);
/* Insert or replace (the apply journal overrides the start snapshot). */
int hutch_snapshot_put(struct hutch_snapshot *snap, const char *rel, const struct stat *st);
/*
 * Did the workspace entry @rel change since the session started? @now is its
 * current lstat, NULL when absent. Without a snapshot (the run was killed
 * before it was written) falls back to ctime against the session's start.
 */
bool hutch_snapshot_changed(const struct hutch_snapshot *snap, int64_t baseline_ns, const char *rel,
			    const struct stat *now);
/* One snapshot/journal line: "MODE INO SIZE MTIME CTIME PATH\n" (path escaped). */
int hutch_snapshot_format(char *buf, size_t size, const char *rel, const struct stat *st);

/* Escape a path for a line-based file (%XX for controls, '%' and space); unescape in place. */
int hutch_path_escape(const char *in, char *out, size_t size);
int hutch_path_unescape(char *s);
