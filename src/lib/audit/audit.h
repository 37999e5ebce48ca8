/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit log (docs/audit.md): one JSON object per line,
 * one write() per event on an O_APPEND descriptor (a file, stderr) or one
 * datagram per event to the syslog socket (RFC 5424, the JSON as message).
 *
 * Layers:
 *   - hutch_json_*: a bounded JSON writer (pure): escaping, truncation with a
 *     flag, invalid UTF-8 replaced by U+FFFD with the exact bytes kept under
 *     "raw" (base64), so every line is valid UTF-8 JSON and nothing is lost;
 *   - hutch_audit_sink_*: where the lines go;
 *   - struct hutch_audit: one session's events and counters (start, exec,
 *     deny, package, net, file, limit, end) and the exit summary. It always
 *     exists during hutch_run (the summary needs the counters), the sink
 *     only when auditing is configured.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "audit/execmon.h"
#include "base/escape.h"
#include "hutch.h"

struct hutch_policy;
struct hutch_rule;
struct hutch_loop;
struct hutch_proxy_record;
struct hutch_package;
struct hutch_mount_plan;

#define HUTCH_AUDIT_SCHEMA 1
/* One event, one write(): the hard maximum of a line, newline included. */
#define HUTCH_AUDIT_MAX_EVENT (64 * 1024)
/* A string value longer than this (bytes) is cut; the event gets "truncated": true. */
#define HUTCH_AUDIT_MAX_VALUE 4096
/* At most this many argv elements per event (process.args_count has the real count). */
#define HUTCH_AUDIT_MAX_ARGS 1024
_Static_assert(HUTCH_AUDIT_MAX_ARGS == HUTCH_EXECMON_MAX_ARGS &&
		       HUTCH_AUDIT_MAX_VALUE == HUTCH_EXECMON_MAX_VALUE,
	       "the exec monitor captures what the audit log keeps");
/*
 * Per session: at most this many bytes (policy audit.maxSize overrides); at
 * the bound a "limit" event is written and the sandbox stopped.
 */
#define HUTCH_AUDIT_DEFAULT_MAX_SIZE (256ull << 20)
/*
 * exec, deny, package and net events: at most this many of each kind per
 * second; the rest of that second is one "suppressed" event with the count.
 */
#define HUTCH_AUDIT_MAX_RATE 1000
/* Values with invalid UTF-8 whose exact bytes are kept under "raw", per event. */
#define HUTCH_AUDIT_MAX_RAW 32

/* ---- JSON writer (pure) ------------------------------------------------- */

struct hutch_event_raw {
	const char *key;
	const char *s; /* the bytes that were encoded (after any cut) */
	size_t n;
	long index; /* element index in an array value, -1 for a plain string */
};

/*
 * One event being built in a caller-provided buffer. Nothing overflows:
 * room for closing the object and the "truncated" flag is reserved; a
 * value that does not fit is cut (strings) or left out (the rest), and
 * "truncated": true is added.
 */
struct hutch_event {
	char *buf;
	size_t len, cap, reserve;
	unsigned depth;	  /* open containers: their closing bytes are reserved */
	unsigned nest;	  /* object_begin calls not yet ended */
	bool nest_ok[16]; /* ... and whether each was written */
	bool comma;
	bool truncated;
	bool done;
	size_t n_raw;
	bool raw_lost;
	struct hutch_event_raw raw[HUTCH_AUDIT_MAX_RAW];
};

/* Start {"v":1,"ts":"...","sandbox":"...","event":"@type" in @buf (@size >= 256). */
void hutch_event_begin(struct hutch_event *e, char *buf, size_t size, const char *type,
		       const char *sandbox, const struct timespec *ts);
void hutch_event_str(struct hutch_event *e, const char *key, const char *s);
/* A string of @n bytes (may hold any byte but NUL is escaped too); NULL -> null. */
void hutch_event_strn(struct hutch_event *e, const char *key, const char *s, size_t n);
void hutch_event_u64(struct hutch_event *e, const char *key, uint64_t v);
void hutch_event_i64(struct hutch_event *e, const char *key, int64_t v);
void hutch_event_bool(struct hutch_event *e, const char *key, bool v);
void hutch_event_null(struct hutch_event *e, const char *key);
/* An array of strings; @lens may be NULL (strlen). At most HUTCH_AUDIT_MAX_ARGS elements. */
void hutch_event_strv(struct hutch_event *e, const char *key, const char *const *v,
		      const size_t *lens, size_t n);
void hutch_event_object_begin(struct hutch_event *e, const char *key);
void hutch_event_object_end(struct hutch_event *e);
/* Close the event ("raw", "truncated", "}\n"); returns the line length. */
size_t hutch_event_end(struct hutch_event *e);

/* "2026-11-26T22:00:00.123456Z" (UTC, microseconds) into @out[32]. */
void hutch_audit_timestamp(const struct timespec *ts, char out[32]);

/* ---- sinks ----------------------------------------------------------------- */

struct hutch_audit_sink;

/*
 * Open @target: a path (appended to, created 0600 with its parent
 * directories 0700, never through a symlink), "-" for stderr, or "syslog"
 * for the local syslog socket /dev/log.
 */
int hutch_audit_sink_open(const char *target, struct hutch_audit_sink **out, hutch_error *err);
/*
 * Syslog to a datagram socket at @socket_path (RFC 5424). Internal: tests
 * bind their own socket; nothing the sandbox controls can choose it.
 */
int hutch_audit_sink_open_syslog(const char *socket_path, struct hutch_audit_sink **out,
				 hutch_error *err);
/*
 * Write one line (@len bytes, ending in '\n') as one write() or one
 * datagram. @msgid is the event type, @warning raises the syslog severity.
 */
int hutch_audit_sink_write(struct hutch_audit_sink *s, const char *msgid, bool warning,
			   const struct timespec *ts, const char *line, size_t len);
void hutch_audit_sink_free(struct hutch_audit_sink *s);

/*
 * RFC 5424 header "<PRI>1 TIMESTAMP HOST APP PROCID MSGID - " into @out
 * (NUL-terminated). Fields are reduced to printable US-ASCII without spaces
 * ("-" when empty), as the RFC requires. Returns the length, 0 if no room.
 */
size_t hutch_syslog_header(char *out, size_t cap, int pri, const char *timestamp, const char *host,
			   const char *app, long procid, const char *msgid);

/* ---- one session ------------------------------------------------------------ */

struct hutch_audit;

enum {
	/* a named session (hutch exec): commands come and go over its life */
	HUTCH_AUDIT_NAMED = 1 << 1,
};

/*
 * A session's audit state: the sink (from policy audit.file, if any), the
 * counters behind the summary. @sandbox_id is copied; @flags HUTCH_AUDIT_*.
 * @layer: the --ephemeral session whose layer is the workspace (NULL if
 * none): the workspace's file events come exactly from it, not from a
 * before/after comparison.
 */
int hutch_audit_new(const struct hutch_policy *p, const char *sandbox_id, unsigned flags,
		    hutch_session *layer, struct hutch_audit **out, hutch_error *err);
/* Like hutch_audit_new with an already opened sink (taken over); tests. */
int hutch_audit_new_with_sink(const struct hutch_policy *p, const char *sandbox_id,
			      struct hutch_audit_sink *sink, struct hutch_audit **out);
void hutch_audit_free(struct hutch_audit *a);

/*
 * Fail closed: @cb is called (once, from the event loop) when the log cannot
 * go on: an event could not be written (ENOSPC, EIO, ...) or the size bound
 * was reached. The caller stops the sandbox; hutch_audit_stopped says why.
 */
void hutch_audit_on_stop(struct hutch_audit *a, void (*cb)(void *data), void *data);
/* 0, or the reason the log stopped in @err (exit status 125) as a negative errno. */
int hutch_audit_stopped(const struct hutch_audit *a, hutch_error *err);

/* An audit sink is open (events are written). */
bool hutch_audit_enabled(const struct hutch_audit *a);
/* Exec notification is needed: auditing is on or command rules exist. */
bool hutch_audit_wants_exec(const struct hutch_audit *a);
/* The policy has command rules (commands.allow or commands.deny). */
bool hutch_audit_has_rules(const struct hutch_audit *a);

/*
 * The sandbox is being set up: write "start" (@layers: HUTCH_LAYER_* bits
 * enforced; @landlock_abi when Landlock is one of them) and take the "before"
 * snapshot of the writable roots. With exec notification on, the workload
 * cannot run anything until the loop answers its first execve, so the
 * snapshot precedes every change it makes. @plan (may be NULL) names the
 * protected paths: read-only inside, left out of the comparison (hutch's
 * placeholders for them come and go, also other sessions').
 */
void hutch_audit_started(struct hutch_audit *a, unsigned layers, int landlock_abi, bool degraded,
			 char *const argv[], const struct hutch_mount_plan *plan);

/*
 * A container's process under hutch oci (oci/netd.c): "start" with the fields of
 * hutch_audit_started, the container's in place of hutch's own (its pid on the host, its
 * user, working directory and arguments in the container), and "container.bundle". No
 * file snapshot: the container's paths are not the host's. Its "end" is
 * hutch_audit_finish's.
 */
struct hutch_audit_container {
	unsigned layers; /* HUTCH_LAYER_* enforced by hutch's init */
	int landlock_abi;
	bool degraded;
	const char *network_mode; /* as the container has it (an allowlist: "proxy") */
	int pid;		  /* the container's process, on the host */
	int64_t uid;		  /* its user in the container (process.user.uid) */
	const char *cwd;	  /* process.cwd */
	const char *const *argv;  /* process.args (the engine's, without hutch's init) */
	size_t argc;
	const char *bundle;
};
void hutch_audit_container_started(struct hutch_audit *a, const struct hutch_audit_container *c);

/*
 * File events of a long session: every HUTCH_AUDIT_FLUSH_MS the writable
 * roots are compared to the previous comparison and what changed is
 * written then (a scan's budget: HUTCH_AUDIT_FLUSH_SCAN_MS). A path changed
 * in several intervals has one event per interval; the final comparison
 * reports what changed after the last one. The --ephemeral workspace is
 * reported at the end, from its session layer. Call after
 * hutch_audit_started; nothing is watched without a log.
 */
#define HUTCH_AUDIT_FLUSH_MS 10000
#define HUTCH_AUDIT_FLUSH_SCAN_MS 200
int hutch_audit_watch_files(struct hutch_audit *a, struct hutch_loop *loop);
/* One periodic comparison now (the timer's work; tests). */
void hutch_audit_flush_files(struct hutch_audit *a);

/*
 * Writes are notified too (seccomp notify_writes): count those the sandbox
 * refuses (writemon.h), one "write_refused" event for each of the first
 * HUTCH_EXECMON_MAX_WRITE_EVENTS. @landlock: Landlock is in force with the
 * @n @writable paths; @plan's protected paths name the refusals there. Call
 * before the first listener is added.
 */
int hutch_audit_watch_writes(struct hutch_audit *a, bool landlock, const char *const *writable,
			     size_t n, const struct hutch_mount_plan *plan);

/* Serve a seccomp user-notification listener (a thread; events through @loop; takes @fd). */
int hutch_audit_add_listener(struct hutch_audit *a, struct hutch_loop *loop, int fd);
/* The sandbox is gone: the execs still queued are written (before limits and "end"). */
void hutch_audit_drain_execs(struct hutch_audit *a);

struct hutch_limits_state;
/*
 * The limits that fired (limit.h, after hutch_limits_collect): one "limit"
 * event each (memory, pids, cpus, fileSize; the timeout was logged when it fired).
 */
void hutch_audit_limits_fired(struct hutch_audit *a, const struct hutch_limits_state *lim);

/* A limit was hit: @what "timeout" | "memory" | "pids"; @limit its value (ms, bytes, count). */
void hutch_audit_limit(struct hutch_audit *a, const char *what, uint64_t limit, const char *detail);

/* The end-of-run check neutralised planted git code (gitguard.c): a "persist" event. */
void hutch_audit_persist(struct hutch_audit *a, const struct hutch_persist_item *it);

/*
 * The session ended: file events (after snapshot), "end" (exit status or
 * signal, duration, counts), and the summary. @ret < 0: hutch_run failed
 * (@error says why, may be NULL); else @status is what it stores in *status.
 */
void hutch_audit_finish(struct hutch_audit *a, int ret, int status, bool timed_out,
			const hutch_error *error, struct hutch_run_summary *summary);

/* Events from execmon. @rule decided (NULL: default); @reason for a denial. */
void hutch_audit_exec(struct hutch_audit *a, const struct hutch_exec_info *x, bool allowed,
		      const struct hutch_rule *rule, const char *reason);
void hutch_audit_package(struct hutch_audit *a, const struct hutch_exec_info *x,
			 const struct hutch_package *pk, uint64_t starttime);

/*
 * The proxy's record hook (struct hutch_proxy_hooks.on_record), @userdata a
 * struct hutch_audit: "net" for an allowed connection, "deny" for a refused
 * one; counts and the denied hosts for the summary.
 */
void hutch_audit_proxy_record(const struct hutch_proxy_record *rec, void *userdata);
