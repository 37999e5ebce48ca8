/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox's own cgroups: one cgroup v2 directory when this user can
 * have one with the controllers needed, else (as root) one directory per
 * cgroup v1 controller (memory, pids, cpu). Created by the supervisor before
 * clone(), init moved in before it runs anything, events read at the end,
 * everything killed and removed at the end — and leftovers of a hutch that
 * was killed removed by the next one (names carry the supervisor's pid).
 *
 * Names: hutch-<pid namespace inode>-<supervisor pid>-<sandbox id>.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hutch.h"

enum hutch_cg_ctrl {
	HUTCH_CG_MEMORY,
	HUTCH_CG_PIDS,
	HUTCH_CG_CPU,
	_HUTCH_CG_CTRL_MAX,
};
#define HUTCH_CG_BIT(c) (1u << (c))

/* The v1 hierarchies looked at, at most this many lines of /proc/self/cgroup. */
#define HUTCH_CG_MAX_PROC_LINES 64
/* How long hutch_cgroup_free waits for a cgroup to empty before giving up. */
#define HUTCH_CG_REMOVE_TIMEOUT_MS 2000

/* Where this process's cgroups are, and what it could do there. */
struct hutch_cg_layout {
	/* cgroup v2: the mount, our cgroup in it, where a sandbox's cgroup would go. */
	char v2_mount[PATH_MAX];  /* "" when there is no cgroup2 mount */
	char v2_self[PATH_MAX];	  /* "/user.slice/...", from the 0:: line */
	char v2_parent[PATH_MAX]; /* "" when this user cannot have a v2 child cgroup */
	enum {
		HUTCH_CG_V2_DIRECT,    /* v2_parent is the root of our cgroup namespace */
		HUTCH_CG_V2_SLICE,     /* as root: hutch's own cgroup under the root, made on use */
		HUTCH_CG_V2_MOVE_SELF, /* a delegated cgroup holding only us: we move into a leaf */
	} v2_how;
	unsigned v2_ctrls; /* controllers that v2_parent's children can get */
	/* cgroup v1: our cgroup in each controller's hierarchy, "" if none or not writable */
	char v1_dir[_HUTCH_CG_CTRL_MAX][PATH_MAX];
};

/*
 * Pure: from the text of /proc/self/cgroup, our v2 path (the "0::" line) and
 * our path in the v1 hierarchy holding each controller ("" when absent).
 * Returns 0, or -EINVAL on malformed or oversized input.
 */
int hutch_cg_parse_proc(const uint8_t *buf, size_t len, char v2[PATH_MAX],
			char v1[_HUTCH_CG_CTRL_MAX][PATH_MAX]);

/*
 * Pure: the value of @key in a flat keyed file ("oom_kill 3\nmax 0\n", as
 * memory.events, pids.events, cpu.stat, memory.oom_control). -ENOENT if absent.
 */
int hutch_cg_keyed(const uint8_t *buf, size_t len, const char *key, uint64_t *out);

/* Pure: "memory pids cpu" (cgroup.controllers) -> HUTCH_CG_BIT mask. */
unsigned hutch_cg_parse_controllers(const uint8_t *buf, size_t len);

/*
 * Find this process's cgroups under @root (normally /sys/fs/cgroup; v2 at
 * @root or @root/unified, v1 at @root/<controller>). @proc is the text of
 * /proc/self/cgroup. With @check_fs the file system types are verified
 * (statfs); unit tests pass false to use a fake tree. Never creates anything.
 */
void hutch_cg_detect(const char *root, const uint8_t *proc, size_t proc_len, uid_t euid,
		     bool check_fs, struct hutch_cg_layout *out);
/* The same for this process (reads /proc/self/cgroup, root /sys/fs/cgroup). */
void hutch_cg_detect_self(struct hutch_cg_layout *out);

struct hutch_cg_values {
	uint64_t memory;     /* bytes, 0 = no limit */
	uint64_t pids;	     /* 0 = no limit */
	uint64_t cpus_milli; /* 0 = no limit */
};

/* What the limits fired (read at the end of the session). */
struct hutch_cg_events {
	uint64_t oom_kill;	   /* processes killed by the OOM killer */
	uint64_t memory_max;	   /* times usage hit the limit (v2 "max", v1 failcnt) */
	uint64_t memory_peak;	   /* bytes, 0 when unknown */
	uint64_t pids_max;	   /* forks refused */
	uint64_t cpu_throttled;	   /* periods throttled */
	uint64_t cpu_throttled_us; /* time throttled */
};

/* One created cgroup directory (a v2 one, or one v1 controller's). */
struct hutch_cg_dir {
	int version;	/* 2 or 1 */
	unsigned ctrls; /* HUTCH_CG_BIT of the controllers limited here */
	int parent_fd;	/* O_DIRECTORY of the parent, for removal */
	int fd;		/* O_DIRECTORY of the cgroup itself */
	char path[PATH_MAX];
};

struct hutch_cgroup {
	struct hutch_cg_dir d[_HUTCH_CG_CTRL_MAX + 1];
	size_t n;
	unsigned v2_ctrls, v1_ctrls; /* what each version enforces */
	char name[96];		     /* hutch-<pidns>-<pid>-<id> */
	int self_fd;		     /* HUTCH_CG_V2_MOVE_SELF: our delegated cgroup, else -1 */
	int slice_parent_fd;	     /* HUTCH_CG_V2_SLICE: the v2 root (hutch/ removed if empty) */
	char fail[_HUTCH_CG_CTRL_MAX][160]; /* why a wanted controller could not be set up */
};

/*
 * Create the sandbox's cgroups for the limits in @v (0 = none) following
 * @layout: v2 for what it can, v1 for the rest. A controller that fails is
 * left out (see cg->fail[]), never an error here: the caller decides from
 * cg->v2_ctrls/v1_ctrls whether some other mechanism covers the limit. Stale
 * cgroups of dead hutch processes next to ours are removed first.
 * Returns 0 (*out NULL when nothing was created) or -ENOMEM.
 */
int hutch_cgroup_create(const struct hutch_cg_layout *layout, const struct hutch_cg_values *v,
			const char *id, struct hutch_cgroup **out);

/*
 * Write the limits into a cgroup directory @dirfd (version 2 or 1) for the
 * controllers in @ctrls. Separate for the unit tests (fake directory trees).
 */
int hutch_cg_write_limits(int dirfd, int version, unsigned ctrls, const struct hutch_cg_values *v,
			  hutch_error *err);
/* Read the events files of @dirfd (version 2 or 1) and add them into @ev. */
void hutch_cg_read_dir_events(int dirfd, int version, unsigned ctrls, struct hutch_cg_events *ev);

/* Move @pid (0: the caller) into every cgroup of @cg. */
int hutch_cgroup_enter(struct hutch_cgroup *cg, pid_t pid, hutch_error *err);
/* Read what fired. */
void hutch_cgroup_events(struct hutch_cgroup *cg, struct hutch_cg_events *ev);
/*
 * Kill whatever is left in them, remove them (and put the caller back where
 * it was, if it moved itself aside), free @cg. 0, or -EBUSY if one stays.
 */
int hutch_cgroup_free(struct hutch_cgroup *cg);

/*
 * A named session's daemon: @pid (the hutch that started it, waiting for its
 * first command) may share the delegated cgroup hutch moves out of; it is
 * moved into the same leaf.
 */
void hutch_cgroup_allow_companion(pid_t pid);

/*
 * Remove the cgroups hutch-<pidns>-<pid>-* under @parent_fd whose supervisor
 * (same pid namespace) is gone, killing what they still hold. Returns how
 * many were removed.
 */
int hutch_cg_remove_stale(int parent_fd, int version);

const char *hutch_cg_ctrl_name(enum hutch_cg_ctrl c);
