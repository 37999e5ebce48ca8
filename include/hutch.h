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
	int code;	/* negative errno */
	int status;	/* suggested exit status (125, 126, 127) */
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
	/* a port of the host's loopback the sandbox's 127.0.0.1:PORT leads to ("11434") */
	HUTCH_LIST_NET_HOST_PORTS,
	/* a directory the sandbox gets empty and writable, never the host's (--private) */
	HUTCH_LIST_PRIVATE,
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
	/* "true": a workspace or writable path may be $HOME, above it or a system directory */
	HUTCH_KEY_ALLOW_DANGEROUS_WORKSPACE,
	HUTCH_KEY_AUDIT_MAX_SIZE, /* a size: the audit log's bound per session */
	/* "true" (default) / "false": transparent egress under --net proxy (docs/network.md) */
	HUTCH_KEY_NET_TRANSPARENT,
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
/* The last profile applied to @p (by name, or a policy file's "extends"), or NULL. */
const char *hutch_policy_profile(const hutch_policy *p);
/*
 * Create the state directories an agent profile keeps writable (~/.claude for
 * claude-code, ...) when they are missing, mode 0700, so the agent can keep
 * its login and settings; @home NULL: $HOME. 0 for profiles without any.
 */
int hutch_profile_prepare(const char *name, const char *home, hutch_error *err);

/* Merge a JSON policy file. Errors carry file:line:column. */
int hutch_policy_load_file(hutch_policy *p, const char *path, enum hutch_source src,
			   hutch_error *err);
/*
 * Protect the policy file @path (as read for this run) in the run: added to
 * the protected paths, so it is read-only when it lies in a writable root.
 * hutch_policy_load_file does it for the files it reads.
 */
int hutch_policy_protect_file(hutch_policy *p, const char *path, hutch_error *err);
/* Merge a JSON policy from memory; @name is used in messages. */
int hutch_policy_load_data(hutch_policy *p, const char *name, const char *data, size_t len,
			   enum hutch_source src, hutch_error *err);

int hutch_policy_add(hutch_policy *p, enum hutch_list list, const char *value, const char *origin,
		     hutch_error *err);
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

/*
 * Validate a file for `hutch policy validate` as `hutch run --profile PROFILE
 * -p FILE` would use it (@profile NULL: "default"), without the system and
 * user policies: merged on the profile, paths resolved, every check run
 * except those about the current directory as the workspace.
 */
int hutch_policy_validate_file(const char *path, const char *profile, hutch_error *err);

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
	HUTCH_FEAT_TRANSPARENT, /* nf_tables in a user namespace's netns: transparent egress */
	_HUTCH_FEAT_MAX,
};

struct hutch_feature_info {
	const char *name; /* short name: "userns", "landlock", ... */
	bool available;
	int version;	  /* e.g. Landlock ABI, 0 when meaningless */
	char detail[256]; /* what was found */
	const char *fix;  /* one-line fix when unavailable, may be NULL */
};

/* Probe one feature. Never fails: unavailability is described in @info. */
void hutch_probe(enum hutch_feature f, struct hutch_feature_info *info);

/* ---- OCI runtime (hutch oci, docs/oci.md) ----------------------------------- */

/* Where hutch's init is bind-mounted in a container (src/oci/oci-init.c). */
#define HUTCH_OCI_INIT_DEST "/.hutch/init"
/* The runtime-wide policy read when no --hutch-policy is given, if it exists. */
#define HUTCH_OCI_DEFAULT_POLICY "/etc/hutch/oci.json"

struct hutch_oci_opts {
	const char *bundle; /* the bundle directory (holds config.json); NULL: "." */
	const char
		*policy_file;  /* the runtime-wide policy; NULL: HUTCH_OCI_DEFAULT_POLICY if any */
	const char *init_path; /* the static init on the host (hutch-oci-init) */
	bool allow_degraded;   /* run without Landlock where the kernel has none */
	/* where delete's check of the writable binds quarantines (recorded at create) */
	const char *quarantine_dir;
};

/*
 * Before `runc create|run`: compile the container's policy (the annotation
 * dev.hutch.policy over the runtime-wide policy, else hutch's default) into the
 * bundle's layers file and rewrite config.json so that hutch's init runs first
 * (the engine's file is kept as config.json.orig). Fails, changing nothing
 * that runc would use, when the policy cannot be enforced in a container.
 */
int hutch_oci_prepare(const struct hutch_oci_opts *o, hutch_error *err);
/* The "bundle" of `runc state` output (malloc'd into *bundle). */
int hutch_oci_state_bundle(const char *json, size_t len, char **bundle, hutch_error *err);
/* 1 if hutch_oci_prepare() rewrote @bundle's container, 0 if not, or -errno. */
int hutch_oci_bundle_wrapped(const char *bundle);
/* Rewrite a `runc exec --process` file in place so that hutch's init runs first. */
int hutch_oci_wrap_process_file(const char *path, hutch_error *err);
/* The "pid" of `runc state` output. */
int hutch_oci_state_pid(const char *json, size_t len, int *pid, hutch_error *err);
/*
 * 1 if hutch_oci_prepare() gave @bundle's container a network allowlist: it needs its
 * network daemon (hutch_oci_netd_start()) between `runc create` and `start`. 0 if not.
 */
int hutch_oci_bundle_netd(const char *bundle);
/*
 * After `runc create`: start the network daemon of container @id (process @pid, waiting
 * for `start`) of bundle o->bundle: hutch's proxy and resolver, served from the host,
 * the container's network namespace routed through them (docs/oci.md). Returns once
 * the daemon serves; it ends when the container's process ends.
 */
int hutch_oci_netd_start(const struct hutch_oci_opts *o, const char *id, int pid, hutch_error *err);
/* What the check of a container's writable binds did (hutch_oci_persist_check()). */
struct hutch_persist_item;
typedef void (*hutch_oci_persist_fn)(const struct hutch_persist_item *it, void *data);
/*
 * delete, after runc delete: the host directories bound writable into @bundle's container
 * (recorded at create) are checked as hutch run's end-of-run check does (docs/oci.md,
 * "Persistence: the mounted workspace"): what can run code on the host and was made or
 * changed since create goes to Q/@id, Q the quarantine_dir recorded at create, else
 * @quarantine_base (delete may run without the HOME create had: rootless Podman's cleanup).
 * Each action goes to @fn and to the
 * policy's audit file. 1 if something was reported, 0 if not (or nothing recorded), or
 * -errno.
 */
int hutch_oci_persist_check(const char *bundle, const char *id, const char *quarantine_base,
			    hutch_oci_persist_fn fn, void *data, hutch_error *err);
/*
 * 1 if @bundle's container has writable binds of host directories (recorded by
 * hutch_oci_prepare()): their protected paths are bound read-only after `runc create`
 * (hutch_oci_protect_binds()). 0 if not.
 */
int hutch_oci_bundle_binds(const char *bundle);
/*
 * After `runc create`, before `start`: in the mount namespace of the container's process
 * @pid, the protected paths of hutch run (.git/hooks, .git/config, editors' and agents'
 * config, ...) that exist in each writable bind of @bundle are bound read-only onto
 * themselves (docs/oci.md, "Persistence: the mounted workspace"). The number of mounts
 * made, or -errno (a bind with shared propagation is refused).
 */
int hutch_oci_protect_binds(const char *bundle, int pid, hutch_error *err);
/* End @bundle's network daemon, if it runs (delete); 0 when there is none. */
int hutch_oci_netd_stop(const char *bundle, hutch_error *err);
/*
 * delete: the container @id leaves its pod's namespace's daemon, if it joined one
 * (docs/oci.md, "A network of its own: pods"); after the last one, that daemon has ended.
 */
int hutch_oci_netd_leave(const char *bundle, const char *id, hutch_error *err);

/* ---- resource limits (docs/limits.md) ----------------------------------- */

enum hutch_limit {
	HUTCH_LIMIT_MEMORY,	/* bytes */
	HUTCH_LIMIT_PIDS,	/* processes and threads */
	HUTCH_LIMIT_CPUS,	/* milli-CPUs (1000 = one CPU) */
	HUTCH_LIMIT_TIMEOUT,	/* ms of wall clock */
	HUTCH_LIMIT_FILE_SIZE,	/* bytes per file */
	HUTCH_LIMIT_OPEN_FILES, /* descriptors per process */
	_HUTCH_LIMIT_MAX,
};

/* What enforces a limit. */
enum hutch_limit_mech {
	HUTCH_MECH_NONE,    /* the policy does not ask for this limit */
	HUTCH_MECH_CGROUP2, /* a cgroup v2 of the sandbox's own (memory.max, pids.max, cpu.max) */
	HUTCH_MECH_CGROUP1, /* cgroup v1 controllers (as root on hosts without v2 controllers) */
	HUTCH_MECH_RLIMIT,  /* setrlimit in the sandbox (per process, see detail) */
	HUTCH_MECH_SUPERVISOR, /* hutch's own wall clock (timeout) */
	HUTCH_MECH_UNENFORCED, /* nothing here can: an error unless --allow-degraded */
};

struct hutch_limit_info {
	const char *name;   /* policy key: memory, pids, cpus, timeout, fileSize, openFiles */
	bool set;	    /* the policy asks for it */
	uint64_t value;	    /* in the unit of enum hutch_limit */
	char value_str[32]; /* "128M", "64", "1.5", "2s" ("" when not set) */
	enum hutch_limit_mech mech;
	const char *mech_name; /* "cgroup v2", "cgroup v1", "rlimit", "supervisor", "none" */
	bool partial;	       /* enforced, but more weakly than asked (per process...) */
	char detail[256];      /* how exactly, or why it cannot be enforced */
};

/*
 * Which mechanism enforces each limit on this machine for this user, as
 * hutch_run would decide it (creates nothing; a cgroup that then cannot be
 * created falls back the same way). @p NULL: every limit as if it were set
 * (hutch check). Never fails.
 */
void hutch_limits_probe(const hutch_policy *p, struct hutch_limit_info out[_HUTCH_LIMIT_MAX]);
/* "memory 128M: cgroup v1 (memory.limit_in_bytes ...)" into @buf; returns @buf. */
const char *hutch_limit_describe(const struct hutch_limit_info *li, char *buf, size_t size);

/* ---- running ------------------------------------------------------------- */

/* What happened in a session, as data for the exit summary (the caller prints it). */
struct hutch_run_summary {
	bool valid;	  /* filled: the sandbox was started */
	char sandbox[17]; /* the session id (HUTCH_SANDBOX inside, "sandbox" in the log) */
	uint64_t duration_ms;
	int status; /* the exit status hutch_run stored */
	int signal; /* N when the command died of signal N, else 0 */
	bool timed_out;
	bool audited;	   /* an audit log was written */
	bool exec_tracked; /* commands were seen (exec auditing or command rules on) */
	uint64_t commands, commands_denied, packages;
	uint64_t net_allowed, net_denied; /* connections made; refused */
	uint64_t net_failed;		  /* allowed but not made (or no response) */
	bool files_tracked;		  /* before/after comparison of the writable roots done */
	bool files_incomplete;		  /* ... but cut short by its budget */
	uint64_t files_created, files_modified, files_deleted;
	uint64_t audit_errors;	   /* events that could not be written */
	char denied_hosts[256];	   /* "evil.com:443, 10.0.0.1:80 (+2 more)" */
	char denied_commands[256]; /* "sudo ls; ssh host (+1 more)" */
	char failed_hosts[512];	   /* "github.com:443: cannot resolve github.com: ..." */
	char audit_error[256];	   /* the first write error, "" if none */
	/* the end-of-run check for planted git code (docs/THREAT_MODEL.md, "Persistence") */
	bool persist_checked;
	uint64_t persist_neutralised, persist_failed;
	/* writes the sandbox refused (docs/audit.md, "Refused writes") */
	bool writes_watched;
	uint64_t writes_refused;
	char refused_writes[512]; /* "/home/me/.npm/_cacache, /etc/foo (+3 more)" */
	char refused_why[64];	  /* "read-only, protected" */
};

/*
 * One thing the end-of-run check did to code planted in a git repository
 * (a hook, a config key that runs a program) created or changed during the run.
 */
enum hutch_persist_action {
	HUTCH_PERSIST_MOVED,	 /* @path moved to @quarantine */
	HUTCH_PERSIST_SANITIZED, /* @path moved to @quarantine, a copy without @detail at @path */
	HUTCH_PERSIST_FAILED,	 /* @path could not be checked or neutralised: @detail says why */
};

struct hutch_persist_item {
	enum hutch_persist_action action;
	const char *path;	/* absolute */
	const char *quarantine; /* absolute; NULL when FAILED */
	const char *what;	/* "hook", "git config", ... */
	const char *detail;	/* SANITIZED: the keys removed; FAILED: the error; else NULL */
};

/*
 * --ask: the answer to "allow a connection to HOST:PORT?". hutch_run_opts.ask
 * is called on a thread of its own while the supervisor's event loop goes on
 * (other connections, exec notifications, the timeout, signals; the terminal
 * relay holds still meanwhile), one question at a time; it must return DENY
 * at once when @cancel_fd becomes readable (the sandbox is stopping). Only
 * for a destination refused for no other reason than not being in network.allow:
 * never for a network.deny match, a private, loopback or metadata address,
 * a malformed name, or when the system policy fixes the allowlist. One
 * question at a time; an answer for HOST:PORT is remembered for the rest of
 * the run (DENY too, so a retry loop does not ask again), except ONCE.
 */
enum hutch_ask_decision {
	HUTCH_ASK_DENY = 0, /* refuse this connection (and this HOST:PORT for the run) */
	HUTCH_ASK_ONCE,	    /* allow this connection only */
	HUTCH_ASK_SESSION,  /* allow HOST:PORT for the rest of this run */
	HUTCH_ASK_ALWAYS,   /* as SESSION; the caller also saved it to the user policy */
};

struct hutch_run_opts {
	int verbose; /* 0 quiet-ish, 1 -v */
	bool quiet;
	bool dry_run;
	/* Non-fatal notices (a degraded layer, an exposed socket): the caller prints them. */
	void (*warn)(const char *msg, void *data);
	void *data;
	/* Filled at exit when not NULL (also when hutch_run fails after starting). */
	struct hutch_run_summary *summary;
	/* --ephemeral: the workspace is an overlay whose layer is this session's (see below). */
	struct hutch_session *session;
	/* --ask: see enum hutch_ask_decision. NULL: a destination outside the allowlist is denied.
	 */
	enum hutch_ask_decision (*ask)(const char *host, uint16_t port, int cancel_fd, void *data);
	void *ask_data;
	/*
	 * --stop-timeout: after SIGTERM, SIGINT or SIGHUP to hutch (passed on to the
	 * command) or --timeout (SIGTERM to every process of the sandbox), how long
	 * before SIGKILL ends the whole sandbox. Not set: HUTCH_STOP_TIMEOUT_MS.
	 */
	bool stop_timeout_set;
	uint64_t stop_timeout_ms;
	/* Each action of the end-of-run check for planted git code (may be NULL). */
	void (*persist)(const struct hutch_persist_item *it, void *data);
	void *persist_data;
};

#define HUTCH_STOP_TIMEOUT_MS 10000

/* A duration as the policy and the command line write it: 30s 10m 2h 1500ms; 0 or -errno. */
int hutch_parse_duration(const char *s, uint64_t *ms);

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
 * return when it is ready. Commands run in it with hutch_named_exec().
 */
int hutch_named_start(const hutch_policy *p, const char *name, hutch_error *err);
/*
 * Run @argv in the named session with this process's stdio (a pty if a
 * terminal). @warn (may be NULL) gets the lines to show the user: a limit of
 * the session that fired while the command ran.
 */
int hutch_named_exec(const char *name, char *const argv[],
		     void (*warn)(const char *msg, void *data), void *data, int64_t stop_timeout_ms,
		     int *status, hutch_error *err);
/*
 * End the named session: SIGTERM to every process in it, SIGKILL to what is
 * left after @stop_timeout_ms (< 0: HUTCH_STOP_TIMEOUT_MS); the commands end
 * for their clients with their status, the daemon exits. Returns once it did.
 * Before it returns, an agent profile's state is carried back as hutch_run's
 * caller does it (hutch_agentstate_end): @warn (may be NULL) gets what was refused.
 * In hutch_named_exec, @stop_timeout_ms is the same grace period between a
 * SIGTERM, SIGINT or SIGHUP passed on to the command and SIGKILL.
 */
int hutch_named_stop(const char *name, int64_t stop_timeout_ms,
		     void (*warn)(const char *msg, void *data), void *data, hutch_error *err);

/* ---- disposable sessions: --ephemeral, diff, apply, fork (docs/sessions.md) ---- */

/*
 * A session keeps the agent's writes in a layer of its own on disk
 * ($XDG_STATE_HOME/hutch/sessions/ID, mode 0700) over the real workspace; the
 * reviewer diffs, applies, forks or discards it. Pass it to hutch_run() in
 * hutch_run_opts.session.
 */
typedef struct hutch_session hutch_session;

/* A new session for the finalized policy's workspace; @id NULL: a random one. */
int hutch_session_create(const hutch_policy *p, const char *id, hutch_session **out,
			 hutch_error *err);
/*
 * Open a session by id (or a unique prefix of one); with @id NULL, the latest
 * ephemeral session whose workspace contains @path (NULL: the current directory).
 */
int hutch_session_open(const char *id, const char *path, hutch_session **out, hutch_error *err);
/* A new session @new_id (NULL: random) whose layer starts as a copy of @src's. */
int hutch_session_fork(hutch_session *src, const char *new_id, hutch_session **out,
		       hutch_error *err);
/*
 * --ephemeral=root: the rest of the filesystem (/usr, /etc, /var, ...) goes
 * under a layer of the session too, from its next run on; that layer is never
 * applied and goes with the session. Stays on once set.
 */
int hutch_session_set_root(hutch_session *s, hutch_error *err);
bool hutch_session_is_root(const hutch_session *s);
/* Remove the session's files (refused while it runs or is being applied). */
int hutch_session_discard(hutch_session *s, hutch_error *err);
void hutch_session_free(hutch_session *s);
const char *hutch_session_id(const hutch_session *s);
const char *hutch_session_workspace(const hutch_session *s);
const char *hutch_session_dir(const hutch_session *s);
/* new, running, stopped, interrupted (hutch was killed), applying, applied, partial */
const char *hutch_session_state(const hutch_session *s);
bool hutch_session_running(const hutch_session *s);

struct hutch_session_info {
	char id[65];
	char kind[16];	 /* "ephemeral" or "named" */
	char state[24];	 /* as hutch_session_state(); named: running | stale */
	char *workspace; /* NULL when unknown */
	char *parent;	 /* the session it was forked from, or NULL */
	int64_t created; /* Unix time, 0 when unknown */
	uint64_t size;	 /* bytes in the layer (both layers of a root session) */
	bool root;	 /* --ephemeral=root */
};
/* Every session (ephemeral and named) of this user. */
int hutch_session_list(struct hutch_session_info **out, size_t *n, hutch_error *err);
void hutch_session_list_free(struct hutch_session_info *v, size_t n);

enum hutch_change_kind {
	HUTCH_CHANGE_ADDED,
	HUTCH_CHANGE_MODIFIED,
	HUTCH_CHANGE_DELETED,
};

enum hutch_file_type {
	HUTCH_FILE_NONE,
	HUTCH_FILE_REGULAR,
	HUTCH_FILE_DIR,
	HUTCH_FILE_SYMLINK,
	HUTCH_FILE_FIFO,
	HUTCH_FILE_OTHER, /* sockets, devices: reported, never applied */
};

/*
 * One change of the layer against the workspace as it is now. A type change
 * (a file replaced by a directory) is a DELETED then an ADDED record; a deleted
 * directory is one record per entry beneath it, children first.
 */
struct hutch_change {
	char *path; /* relative to the workspace */
	enum hutch_change_kind kind;
	enum hutch_file_type type;     /* in the layer (ADDED, MODIFIED) */
	enum hutch_file_type old_type; /* in the workspace (MODIFIED, DELETED) */
	unsigned mode, old_mode;       /* permission bits */
	uint64_t size, old_size;
	bool content_changed; /* MODIFIED: false when only the mode changed */
	bool binary;	      /* a NUL byte in the first 8000 bytes of either side */
	bool protected_path;  /* a protected path (DESIGN section 2): apply refuses it */
	bool conflict;	      /* the workspace entry changed since the session started */
	/*
	 * Not NULL: this directory could not be compared (nested too deep, out of
	 * file descriptors): why. Nothing beneath it is listed; apply leaves it.
	 */
	const char *uncompared;
};

struct hutch_changes {
	struct hutch_change *v;
	size_t n;
};

int hutch_session_changes(hutch_session *s, struct hutch_changes *out, hutch_error *err);
/*
 * The same, one change at a time in the same order, without keeping them:
 * @c lives during the call only; a negative return from @fn stops and is
 * returned.
 */
typedef int (*hutch_change_fn)(const struct hutch_change *c, void *data);
int hutch_session_changes_each(hutch_session *s, hutch_change_fn fn, void *data, hutch_error *err);
void hutch_changes_free(struct hutch_changes *c);
/* Is there any change at all (cheap for an empty layer)? */
int hutch_session_has_changes(hutch_session *s, bool *any, hutch_error *err);
/*
 * Unified diff hunks (no file header) of a text change with @context lines;
 * *out is NULL for binary files, directories and special files. Counts of
 * added and removed lines are stored when not NULL.
 */
/* Larger text files are diffed as a whole replacement, streamed (see src/cli/cmd-diff.c). */
#define HUTCH_DIFF_MAX_FILE (1024u * 1024u)

int hutch_change_diff(hutch_session *s, const struct hutch_change *c, unsigned context, char **out,
		      size_t *len, unsigned *added, unsigned *removed, hutch_error *err);
/*
 * The old (workspace, @new_side false) or new (layer) side of a change, for
 * reading in chunks: a file's fd, a symlink's target (its length).
 */
int hutch_change_open(hutch_session *s, const struct hutch_change *c, bool new_side,
		      hutch_error *err);
int hutch_change_readlink(hutch_session *s, const struct hutch_change *c, bool new_side, char *out,
			  size_t size);
/* git's object id of a regular file's content (SHA-1 of "blob SIZE\0" and the data), hex. */
int hutch_git_blob_id(int fd, char out[41]);
/* The same over two buffers (pure): hunks turning @a into @b. */
int hutch_udiff(const char *a, size_t alen, const char *b, size_t blen, unsigned context,
		char **out, size_t *len, unsigned *added, unsigned *removed);

enum hutch_apply_result {
	HUTCH_APPLIED,
	HUTCH_APPLY_CONFLICT,  /* changed in the workspace meanwhile: not overwritten */
	HUTCH_APPLY_PROTECTED, /* a protected path, and include_protected is off */
	HUTCH_APPLY_SKIPPED,   /* sockets, devices; a directory left because not empty */
	HUTCH_APPLY_FAILED,
};

struct hutch_apply_opts {
	bool include_protected;
	bool dry_run;
	/* Called once per change; @detail says where the agent's version was left, or why. */
	void (*report)(const struct hutch_change *c, enum hutch_apply_result r, const char *detail,
		       void *data);
	void *data;
};

struct hutch_apply_summary {
	size_t applied, conflicts, refused, skipped, failed;
};

/*
 * Apply the layer to the real workspace: per file atomically (a temporary
 * file in the target directory, then rename), modes kept (set-id bits
 * dropped), deletions, opaque directories. Interrupted, it can be run again
 * and finishes. Returns 0 when it went through (see @sum for what was not
 * applied), a negative errno on a hutch error.
 */
int hutch_session_apply(hutch_session *s, const struct hutch_apply_opts *o,
			struct hutch_apply_summary *sum, hutch_error *err);

/* ---- sandbox-runtime settings (hutch run --srt-settings, hutch policy import) ---- */

/*
 * Anthropic sandbox-runtime ("srt") settings files mapped onto the hutch policy
 * (docs/hutch-policy.5.scd, SANDBOX-RUNTIME SETTINGS); what hutch does not honour
 * is said in notes.
 */
#define HUTCH_SRT_MAX_NOTES 256

typedef struct hutch_srt hutch_srt;

/*
 * Parse srt settings (@data, @len bytes of JSON; @name is used in messages)
 * into a mapped policy. Pure: no file system access, no environment.
 */
int hutch_srt_parse(const char *name, const char *data, size_t len, hutch_srt **out,
		    hutch_error *err);
/* The same for a file (a regular file of at most 1 MiB). */
int hutch_srt_load_file(const char *path, hutch_srt **out, hutch_error *err);
void hutch_srt_free(hutch_srt *s);

/*
 * The notes: settings hutch does not honour, one line each
 * ("file:line:col: network.mitmProxy: ..."), in file order. *weaker says
 * whether hutch enforces less than srt would for it.
 */
size_t hutch_srt_n_notes(const hutch_srt *s);
const char *hutch_srt_note(const hutch_srt *s, size_t i, bool *weaker);
size_t hutch_srt_n_weaker(const hutch_srt *s);

/*
 * Merge the mapped settings into @p like a policy file given with -p. With
 * weaker notes present and !@allow_weaker this fails (-EPERM) before
 * changing anything, naming the first such setting.
 */
int hutch_srt_apply(const hutch_srt *s, hutch_policy *p, bool allow_weaker, hutch_error *err);

/* The equivalent hutch policy file, as pretty JSON (malloc'd), or NULL on ENOMEM. */
char *hutch_srt_to_json(const hutch_srt *s);

/* ---- agent state (docs/profiles.md, "State the agent writes") ---- */

/*
 * Agent state files the agent must write but that also hold settings which
 * run code later (Claude Code's ~/.claude.json): a working copy inside the
 * sandbox, only what is safe carried back after.
 */
typedef struct hutch_agentstate hutch_agentstate;

/* A message for the user (a refusal, a note); the library never prints. */
typedef void (*hutch_agentstate_note_fn)(const char *msg, void *data);

/*
 * Before hutch_policy_finalize: the protected entries that depend on the
 * workspace and on what exists in the state directory (Claude Code's
 * auto-memory directories ~/.claude/projects/<project>/memory). @ws is the
 * workspace as given (NULL: the current directory).
 */
int hutch_agentstate_policy(struct hutch_policy *p, const char *home, const char *ws,
			    hutch_error *err);

/*
 * Before the run: make the working copies (for the claude-code profile,
 * ~/.claude/.claude.json from ~/.claude.json). *@out stays NULL when the
 * policy's profile keeps no such state.
 */
int hutch_agentstate_begin(const struct hutch_policy *p, const char *home, hutch_agentstate **out,
			   hutch_error *err);

/*
 * After the run: carry back the safe parts of each working copy into the
 * host's file (atomically, mode kept), remove the working copy, and call
 * @note once per refused key or other remark.
 */
int hutch_agentstate_end(hutch_agentstate *s, hutch_agentstate_note_fn note, void *data,
			 hutch_error *err);

void hutch_agentstate_free(hutch_agentstate *s);

#ifdef __cplusplus
}
#endif
