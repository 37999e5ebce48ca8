/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The policy model's data (the internal view of hutch_policy): what the parts of
 * policy/ that read it (filter.c, env.c, proxy-env.c) include, so that they need not
 * include policy.h, whose functions call them. The functions are in policy.h.
 */
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
	/*
	 * private: an empty directory of the sandbox's own over each (a tmpfs,
	 * discarded at the end), so that what a program outside re-reads there
	 * (an agent's shell snapshots) is never what the sandbox wrote
	 */
	struct hutch_rules fs_private;

	/* network */
	enum hutch_net_mode net_mode;
	enum hutch_net_mode net_mode_max; /* ceiling set by the system policy */
	struct hutch_rules net_allow, net_deny;
	bool allow_private;
	bool allow_private_locked_off; /* system policy said false */
	/* --net proxy: every program's TCP through the allowlist (sandbox/nft.c), default true */
	bool net_transparent;
	bool net_transparent_locked_off; /* system policy said false */
	/* set to true by a policy (not the default): refuse to run where it cannot be set up */
	bool net_transparent_asked;
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
