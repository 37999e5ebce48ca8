/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Resource limits (limits.c; this header is not "limits.h", which would
 * shadow <limits.h>): which mechanism enforces each limit (cgroup v2,
 * cgroup v1, rlimits, hutch's own clock), the sandbox's cgroups over a
 * session, and which limit ended or throttled it (docs/limits.md).
 *
 * In hutch_run (src/lib/run/run.c):
 *   prepare:   hutch_limits_prepare()  decide, refuse what cannot be enforced,
 *                                      create the cgroups
 *   clone():   hutch_limits_enter(init) before init runs the workload; init
 *              unshares its cgroup namespace afterwards (its cgroup is its "/")
 *   workload:  hutch_rlimits_apply(hutch_limits_rlimits())
 *   end:       hutch_limits_collect()  what fired: stderr messages, audit
 *              "limit" events; hutch_limits_free() kills and removes
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "limits/cgroup.h"
#include "policy/policy.h"

/* What each mechanism can enforce here (the input of the decision). */
struct hutch_limits_avail {
	unsigned v2;	      /* HUTCH_CG_BIT controllers of the sandbox's v2 cgroup */
	unsigned v1;	      /* ... through cgroup v1 */
	bool root;	      /* euid 0: RLIMIT_NPROC does not bind root */
	const char *v2_where; /* parent directory, for the details (may be NULL) */
	const char *v1_where[_HUTCH_CG_CTRL_MAX];
	const char *why[_HUTCH_CG_CTRL_MAX]; /* why no cgroup has the controller (may be NULL) */
};

/*
 * Pure: which mechanism enforces each limit of @l given @a. With @all every
 * limit is described as if it were set (hutch check).
 */
void hutch_limits_decide(const struct hutch_limits *l, const struct hutch_limits_avail *a, bool all,
			 struct hutch_limit_info out[_HUTCH_LIMIT_MAX]);

/*
 * Pure: a set limit that nothing enforces is an error (status 125, naming the
 * limit and why) unless @allow_degraded. 0 or -EOPNOTSUPP.
 */
int hutch_limits_check(const struct hutch_limit_info info[_HUTCH_LIMIT_MAX], bool allow_degraded,
		       hutch_error *err);

/*
 * Pure: the limits rlimits must enforce given the decision: fileSize and
 * openFiles always, memory (RLIMIT_DATA) and pids (RLIMIT_NPROC) when no
 * cgroup does, and an RLIMIT_CPU budget (cpus x timeout) for an unenforced
 * cpus limit; zero for everything a cgroup enforces.
 */
void hutch_limits_for_rlimits(const struct hutch_limits *l,
			      const struct hutch_limit_info info[_HUTCH_LIMIT_MAX],
			      struct hutch_limits *out);

/* "128M", "1.5", "2s", "64" */
void hutch_limit_format(enum hutch_limit which, uint64_t v, char *buf, size_t size);

/* A limit that fired during the session. */
struct hutch_limit_hit {
	enum hutch_limit which;
	const char *what;  /* audit "limit": memory | pids | cpus | timeout | fileSize */
	uint64_t value;	   /* the limit, in the unit of enum hutch_limit */
	uint64_t count;	   /* OOM kills, refused forks, throttled periods; 1 for a timeout */
	bool ended;	   /* it ended the command (killed it), not just throttled it */
	bool quiet;	   /* a throttle nobody asked to hear about (shown with -v) */
	char message[256]; /* the stderr line, without "hutch: " */
};
#define HUTCH_MAX_LIMIT_HITS 6

/*
 * Pure: from the events (NULL when no cgroup), the sandbox's exit status
 * (@exit_status as hutch reports it: 128+N for signal N) and @timed_out,
 * the limits that fired. Returns how many were stored (at most @max).
 */
size_t hutch_limits_hits(const struct hutch_limit_info info[_HUTCH_LIMIT_MAX],
			 const struct hutch_cg_events *ev, int exit_status, bool timed_out,
			 struct hutch_limit_hit *out, size_t max);

/* ---- one session ------------------------------------------------------------ */

struct hutch_limits_state;

/*
 * Decide, refuse what cannot be enforced (unless p->allow_degraded), create
 * the cgroups (named after the sandbox @id). Cheap when no memory, pids or
 * cpus limit is set: no file system access at all.
 */
int hutch_limits_prepare(const struct hutch_policy *p, const char *id,
			 struct hutch_limits_state **out, hutch_error *err);
/* The decision, for the start event, -v and --dry-run. */
const struct hutch_limit_info *hutch_limits_info(const struct hutch_limits_state *s);
/* A cgroup was created: the sandbox must join it and unshare its cgroup namespace after. */
bool hutch_limits_uses_cgroup(const struct hutch_limits_state *s);
/* Move @pid (0: the caller) into the sandbox's cgroups (nothing when there are none). */
int hutch_limits_enter(struct hutch_limits_state *s, pid_t pid, hutch_error *err);
/* What the workload's rlimits step applies. */
const struct hutch_limits *hutch_limits_rlimits(const struct hutch_limits_state *s);
/*
 * After the sandbox ended (init reaped): read the cgroups' events and
 * return the limits that fired (see hutch_limits_hits). Also kept in the
 * state: hutch_limits_fired().
 */
size_t hutch_limits_collect(struct hutch_limits_state *s, int exit_status, bool timed_out);
/*
 * Named sessions: the cgroup's event counters now (zeros without a cgroup),
 * and what fired since @since (one command's life in a shared sandbox).
 */
void hutch_limits_events(const struct hutch_limits_state *s, struct hutch_cg_events *ev);
size_t hutch_limits_collect_since(struct hutch_limits_state *s, const struct hutch_cg_events *since,
				  int exit_status);
const struct hutch_limit_hit *hutch_limits_fired(const struct hutch_limits_state *s, size_t *n);
/* How hutch_limits_say_* report a line (struct hutch_run_opts.warn). */
typedef void (*hutch_limits_warn_fn)(const char *msg, void *data);
/*
 * Before the run: a warning for each limit that is not enforced (allowed by
 * --allow-degraded); with @verbose, one line per limit saying what enforces it.
 */
void hutch_limits_say_plan(const struct hutch_limits_state *s, bool verbose,
			   hutch_limits_warn_fn warn, void *data);
/*
 * After hutch_limits_collect: one line per limit that fired (not the timeout:
 * run.c says it when it fires; CPU throttling only with @verbose).
 */
void hutch_limits_say_fired(const struct hutch_limits_state *s, bool verbose,
			    hutch_limits_warn_fn warn, void *data);
/* Kill what is left, remove the cgroups, free. 0 or -EBUSY (a cgroup could not be removed). */
int hutch_limits_free(struct hutch_limits_state *s);
