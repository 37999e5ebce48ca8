/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhutch: the public API used by the hutch command-line tool.
 *
 * Conventions: functions that can fail return an int (>= 0 on success, a
 * negative errno on failure) and fill an optional hutch_error. The library
 * never prints and never exits; the caller decides what to show and which
 * exit status to use (err->status suggests one, see DESIGN section 4).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HUTCH_VERSION "0.1.0"

/* Exit statuses (DESIGN section 4). */
enum {
	HUTCH_EXIT_TIMEOUT = 124,
	HUTCH_EXIT_ERROR = 125,
	HUTCH_EXIT_NOEXEC = 126,
	HUTCH_EXIT_NOTFOUND = 127,
};

typedef struct hutch_error {
	int code;       /* negative errno */
	int status;     /* suggested exit status (125, 126, 127) */
	char msg[1024]; /* "<what failed>: <why>" */
	char hint[512]; /* one line of what to do about it, may be empty */
} hutch_error;

/* ---- policy ------------------------------------------------------------ */

typedef struct hutch_policy hutch_policy;

/* Lists a caller can extend (CLI flags). */
enum hutch_list {
	HUTCH_LIST_READONLY,
	HUTCH_LIST_WRITABLE,
	HUTCH_LIST_HIDDEN,
	HUTCH_LIST_PROTECTED,
	HUTCH_LIST_SOCKETS,
	HUTCH_LIST_NET_ALLOW,
	HUTCH_LIST_NET_DENY,
	HUTCH_LIST_CMD_ALLOW,
	HUTCH_LIST_CMD_DENY,
	HUTCH_LIST_ENV_PASS, /* NAME or glob */
	HUTCH_LIST_ENV_DROP,
	HUTCH_LIST_ENV_SET, /* NAME=VALUE */
	HUTCH_LIST_REQUIRE, /* userns, landlock, seccomp */
	_HUTCH_LIST_MAX,
};

/* Scalar settings a caller can set (CLI flags); values are strings parsed strictly. */
enum hutch_key {
	HUTCH_KEY_WORKSPACE,
	HUTCH_KEY_NET_MODE, /* none | proxy | host */
	HUTCH_KEY_ALLOW_PRIVATE,
	HUTCH_KEY_MEMORY,
	HUTCH_KEY_PIDS,
	HUTCH_KEY_CPUS,
	HUTCH_KEY_TIMEOUT,
	HUTCH_KEY_FILE_SIZE,
	HUTCH_KEY_OPEN_FILES,
	HUTCH_KEY_AUDIT_FILE,
	HUTCH_KEY_ALLOW_DEGRADED, /* "true" / "false" */
	HUTCH_KEY_HTTP_PORT,
	HUTCH_KEY_SOCKS_PORT,
	_HUTCH_KEY_MAX,
};

/* Where a policy file came from: decides whether it may loosen anything. */
enum hutch_source {
	HUTCH_SOURCE_SYSTEM, /* /etc/hutch/policy.json: nothing later loosens it */
	HUTCH_SOURCE_USER,   /* $XDG_CONFIG_HOME/hutch/policy.json */
	HUTCH_SOURCE_FILE,   /* -p FILE */
	HUTCH_SOURCE_PROJECT /* trusted .hutch.json in the workspace */
};

hutch_policy *hutch_policy_new(void);
void hutch_policy_free(hutch_policy *p);

/* Apply a built-in profile by name ("default", "strict", ...). */
int hutch_policy_apply_profile(hutch_policy *p, const char *name, hutch_error *err);
/* Names of the built-in profiles, NULL-terminated. */
const char *const *hutch_profile_names(void);

/* Merge a JSON policy file. Errors carry file:line:column. */
int hutch_policy_load_file(hutch_policy *p, const char *path, enum hutch_source src,
			   hutch_error *err);
/* Merge a JSON policy from memory; @name is used in messages. */
int hutch_policy_load_data(hutch_policy *p, const char *name, const char *data, size_t len,
			   enum hutch_source src, hutch_error *err);

int hutch_policy_add(hutch_policy *p, enum hutch_list list, const char *value,
		     const char *origin, hutch_error *err);
int hutch_policy_set(hutch_policy *p, enum hutch_key key, const char *value, const char *origin,
		     hutch_error *err);

/*
 * Resolve everything that depends on the environment: the workspace
 * (default: @cwd), "~" and $VAR expansion against @home, relative paths.
 * After this the policy is immutable and ready for hutch_run().
 */
int hutch_policy_finalize(hutch_policy *p, const char *home, hutch_error *err);

/* The effective policy as pretty JSON (malloc'd). */
char *hutch_policy_to_json(const hutch_policy *p);
/* SHA-256 of the canonical JSON, as 64 hex characters + NUL. */
void hutch_policy_digest(const hutch_policy *p, char out[65]);

/* Validate a file alone (no merge), for `hutch policy validate`. */
int hutch_policy_validate_file(const char *path, hutch_error *err);

/*
 * Merge the standard sources: /etc/hutch/policy.json (HUTCH_SOURCE_SYSTEM; the
 * path cannot be overridden) then $XDG_CONFIG_HOME/hutch/policy.json (default
 * ~/.config; HUTCH_SOURCE_USER). Missing files are fine; unreadable, invalid,
 * or writable-by-others files are an error.
 */
int hutch_policy_load_standard(hutch_policy *p, hutch_error *err);
/*
 * If @workspace (NULL: current directory)/.hutch.json exists, merge it
 * (HUTCH_SOURCE_PROJECT) when `hutch trust` pinned its current content,
 * else record it as ignored (see hutch_policy_ignored).
 */
int hutch_policy_load_project(hutch_policy *p, const char *workspace, hutch_error *err);
/* The @i-th policy file seen but not applied (untrusted), or NULL past the end. */
const char *hutch_policy_ignored(const hutch_policy *p, size_t i);

/* Pin a project policy: its real path and SHA-256 (hex, out; may be NULL). */
int hutch_trust_add(const char *path, char sha256_hex[65], hutch_error *err);
/* Is @path pinned with its current content? */
int hutch_trust_check(const char *path, bool *trusted, hutch_error *err);

/* ---- machine features (hutch check) -------------------------------------- */

enum hutch_feature {
	HUTCH_FEAT_USERNS,
	HUTCH_FEAT_LANDLOCK,
	HUTCH_FEAT_SECCOMP,
	HUTCH_FEAT_SECCOMP_NOTIFY,
	HUTCH_FEAT_OVERLAY_USERNS,
	HUTCH_FEAT_CGROUP_V2,
	HUTCH_FEAT_MOUNT_API,
	_HUTCH_FEAT_MAX,
};

struct hutch_feature_info {
	const char *name;   /* short name: "userns", "landlock", ... */
	bool available;
	int version;        /* e.g. Landlock ABI, 0 when meaningless */
	char detail[256];   /* what was found */
	const char *fix;    /* one-line fix when unavailable, may be NULL */
};

/* Probe one feature. Never fails: unavailability is described in @info. */
void hutch_probe(enum hutch_feature f, struct hutch_feature_info *info);

/* ---- running ------------------------------------------------------------- */

struct hutch_run_opts {
	int verbose;           /* 0 quiet-ish, 1 -v */
	bool quiet;
	bool dry_run;
	/* Non-fatal notices (a degraded layer, an exposed socket): the caller prints them. */
	void (*warn)(const char *msg, void *data);
	void *data;
};

/*
 * Run @argv inside a sandbox described by the finalized policy @p and wait
 * for it. On success returns 0 and stores the exit status in @status (the
 * command's own, 128+N for a signal, 124 for a timeout). On failure to set
 * up the sandbox returns a negative errno with @err filled; err->status is
 * the exit status to use (125, 126 or 127).
 */
int hutch_run(const hutch_policy *p, char *const argv[], const struct hutch_run_opts *opts,
	      int *status, hutch_error *err);

/* ---- named sessions ------------------------------------------------------- */

/*
 * Start a sandbox named @name in the background (a daemon keeps it alive) and
 * return when it is ready. Commands run in it with hutch_session_exec().
 */
int hutch_session_start(const hutch_policy *p, const char *name, hutch_error *err);
/* Run @argv in the named session with this process's stdio (a pty if a terminal). */
int hutch_session_exec(const char *name, char *const argv[], int *status, hutch_error *err);
/* End the named session: every process in it is killed, the daemon exits. */
int hutch_session_stop(const char *name, hutch_error *err);

#ifdef __cplusplus
}
#endif
