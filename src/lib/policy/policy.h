/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one validated policy model (internal view of hutch_policy). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hutch.h"

/* Hard maxima: every list has one (HACKING.md, conventions). */
#define HUTCH_MAX_RULES 4096
#define HUTCH_MAX_POLICY_BYTES (1024 * 1024)
#define HUTCH_MAX_HOST_PORTS 64 /* network.hostPorts: two listening sockets each */

/* One list entry and where it came from ("profile default", "/p.json:3:14", "--rw"). */
struct hutch_rule {
	char *value;
	char *origin;
	bool locked; /* from the system policy: cannot be removed or loosened */
	bool absent; /* hidden paths: nothing there when the policy was finalized */
	size_t hash; /* of value, for the list's index (hutch_rules_add() sets it) */
};

/*
 * A list in order of addition, with a hash index of the values (1 + the
 * position of each, 0 empty; open addressing, at most half full) so that
 * adding n rules without duplicates costs n lookups, not n²/2 string
 * comparisons: profiles and their expansion add hundreds.
 */
struct hutch_rules {
	struct hutch_rule *v;
	size_t n, cap;
	uint32_t *idx;
	size_t idx_cap; /* a power of two, or 0 */
};

enum hutch_net_mode {
	HUTCH_NET_NONE = 0,
	HUTCH_NET_PROXY = 1,
	HUTCH_NET_HOST = 2,
};

enum hutch_layer {
	HUTCH_LAYER_USERNS = 1u << 0,
	HUTCH_LAYER_LANDLOCK = 1u << 1,
	HUTCH_LAYER_SECCOMP = 1u << 2,
};

struct hutch_limits {
	uint64_t memory;     /* bytes, 0 = unset */
	uint64_t pids;	     /* 0 = unset */
	uint64_t cpus_milli; /* 1000 = one CPU, 0 = unset */
	uint64_t timeout_ms; /* 0 = unset */
	uint64_t file_size;  /* bytes, 0 = unset */
	uint64_t open_files; /* 0 = unset */
};

struct hutch_policy {
	bool finalized;
	char *workspace; /* absolute, canonical after finalize */
	char *profile;	 /* last profile applied */

	unsigned require;	 /* HUTCH_LAYER_* bitmask */
	unsigned require_locked; /* bits the system policy requires */
	bool allow_degraded;
	bool allow_dangerous_workspace; /* CLI only: see dangerous_dir() in policy.c */

	/* filesystem: after finalize every path is absolute and normalised */
	struct hutch_rules fs_readonly, fs_writable, fs_hidden, fs_protected, fs_sockets;

	/* network */
	enum hutch_net_mode net_mode;
	enum hutch_net_mode net_mode_max; /* ceiling set by the system policy */
	struct hutch_rules net_allow, net_deny;
	bool allow_private;
	bool allow_private_locked_off; /* system policy said false */
	uint16_t http_port, socks_port;
	/* host ports (decimal "1".."65535"): see src/lib/net/hostport.h */
	struct hutch_rules net_host_ports;

	/* commands */
	struct hutch_rules cmd_allow, cmd_deny;

	/* environment: glob patterns; set = NAME=VALUE */
	struct hutch_rules env_pass, env_drop, env_set;

	/* limits (system policy values are ceilings) */
	struct hutch_limits limits, limits_max;

	char *audit_file;
	uint64_t audit_max_size; /* bytes per session; 0: HUTCH_AUDIT_DEFAULT_MAX_SIZE (audit.h) */

	/* Policy files seen but not applied (untrusted project policy), for messages. */
	struct hutch_rules ignored;

	/* Where each scalar setting came from (NULL = built-in default). */
	char *key_origin[_HUTCH_KEY_MAX];
	/*
	 * Where the system policy fixed a key (network mode and limits are
	 * ceilings, allowPrivate false and the audit file are locked); NULL = free.
	 */
	char *key_lock_origin[_HUTCH_KEY_MAX];
	char *require_origin; /* origin of the system policy's require (require_locked) */
	/* The system policy listed network.allow: later sources cannot add hosts. */
	bool net_allow_locked;
	char *net_allow_lock_origin;
};

/*
 * Rules helpers. hutch_rules_add dedupes by value (a duplicate keeps the first
 * origin unless the new one is locked, and becomes locked if either is) and
 * fails with -E2BIG beyond HUTCH_MAX_RULES. hutch_rules_remove refuses a locked
 * rule (-EPERM) and returns -ENOENT when absent.
 */
int hutch_rules_add(struct hutch_rules *r, const char *value, const char *origin, bool locked);
bool hutch_rules_contains(const struct hutch_rules *r, const char *value);
const struct hutch_rule *hutch_rules_find(const struct hutch_rules *r, const char *value);

/*
 * @in for a one-line message: control bytes, quotes and backslashes escaped
 * (\n, \t, \xNN), cut with "..." to fit @size. Returns @buf.
 */
const char *hutch_policy_esc(const char *in, char *buf, size_t size);
int hutch_rules_remove(struct hutch_rules *r, const char *value);
void hutch_rules_clear(struct hutch_rules *r);

/* The rules behind a list (NULL for HUTCH_LIST_REQUIRE, which is a bitmask). */
struct hutch_rules *hutch_policy_rules(struct hutch_policy *p, enum hutch_list list);

/*
 * What hutch_policy_add/hutch_policy_set do, with @system telling whether the
 * value comes from the system policy (then it is locked or becomes a ceiling,
 * see the comment at the top of policy.c). Error messages start with "@origin: ".
 */
int hutch_policy_add_ex(struct hutch_policy *p, enum hutch_list list, const char *value,
			const char *origin, bool system, hutch_error *err);
int hutch_policy_set_ex(struct hutch_policy *p, enum hutch_key key, const char *value,
			const char *origin, bool system, hutch_error *err);
/* Replace the required layers ("require": [...] in a file); locked bits cannot go. */
int hutch_policy_set_require(struct hutch_policy *p, unsigned layers, const char *origin,
			     bool system, hutch_error *err);

/*
 * hutch_policy_finalize() without the checks about the directory hutch runs in
 * (the workspace may be anything): what `hutch policy validate` uses, so that
 * a file that validates is one hutch run accepts.
 */
int hutch_policy_finalize_check(struct hutch_policy *p, const char *home, hutch_error *err);

/* "userns" -> HUTCH_LAYER_USERNS; 0 if unknown. */
unsigned hutch_layer_from_name(const char *name);
const char *hutch_layer_name(unsigned layer_bit);
const char *hutch_net_mode_name(enum hutch_net_mode m);
/* A shell-style variable name: [A-Za-z_][A-Za-z0-9_]*, at most 255 bytes. */
bool hutch_env_name_valid(const char *s, size_t n);

/* Strict parsers shared by config.c and the CLI (0 or -EINVAL). */
int hutch_parse_size(const char *s, uint64_t *out);   /* 512K 4G 100M 123 */
int hutch_parse_cpus(const char *s, uint64_t *milli); /* 2 0.5 1.25 */
/* Strict unsigned decimal ("0".."max"), no sign, no spaces: 0 or -EINVAL / -ERANGE. */
int hutch_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* ---- JSON policy files (config.c) ---- */

/* Read a regular file of at most HUTCH_MAX_POLICY_BYTES (NUL-terminated copy). */
int hutch_read_policy_file(const char *path, char **out, size_t *len, hutch_error *err);

/* ---- trusted project policies (trust.c) ---- */

/* The trust store: $XDG_CONFIG_HOME/hutch/trusted (default ~/.config). malloc'd or NULL+errno. */
char *hutch_trust_store_path(void);
/*
 * hutch's configuration directory: $XDG_CONFIG_HOME/hutch when that is absolute,
 * else @home (NULL: $HOME)/.config/hutch. malloc'd, or NULL with errno.
 */
char *hutch_config_dir(const char *home);
/* Is (@realpath, sha256(@data)) pinned in the store? */
int hutch_trust_check_data(const char *realpath, const void *data, size_t len, bool *trusted,
			   hutch_error *err);
