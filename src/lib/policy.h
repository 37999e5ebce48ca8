/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one validated policy model (internal view of hutch_policy). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hutch.h"

/* Hard maxima: every list has one (DESIGN section 7). */
#define HUTCH_MAX_RULES 4096
#define HUTCH_MAX_POLICY_BYTES (1024 * 1024)

/* One list entry and where it came from ("profile default", "/p.json:3:14", "--rw"). */
struct hutch_rule {
	char *value;
	char *origin;
	bool locked; /* from the system policy: cannot be removed or loosened */
};

struct hutch_rules {
	struct hutch_rule *v;
	size_t n, cap;
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
	uint64_t pids;       /* 0 = unset */
	uint64_t cpus_milli; /* 1000 = one CPU, 0 = unset */
	uint64_t timeout_ms; /* 0 = unset */
	uint64_t file_size;  /* bytes, 0 = unset */
	uint64_t open_files; /* 0 = unset */
};

struct hutch_policy {
	bool finalized;
	char *workspace; /* absolute, canonical after finalize */
	char *profile;   /* last profile applied */

	unsigned require;  /* HUTCH_LAYER_* bitmask */
	unsigned require_locked; /* bits the system policy requires */
	bool allow_degraded;

	/* filesystem: after finalize every path is absolute and normalised */
	struct hutch_rules fs_readonly, fs_writable, fs_hidden, fs_protected, fs_sockets;

	/* network */
	enum hutch_net_mode net_mode;
	enum hutch_net_mode net_mode_max; /* ceiling set by the system policy */
	struct hutch_rules net_allow, net_deny;
	bool allow_private;
	bool allow_private_locked_off; /* system policy said false */
	uint16_t http_port, socks_port;

	/* commands */
	struct hutch_rules cmd_allow, cmd_deny;

	/* environment: glob patterns; set = NAME=VALUE */
	struct hutch_rules env_pass, env_drop, env_set;

	/* limits (system policy values are ceilings) */
	struct hutch_limits limits, limits_max;

	char *audit_file;

	/* Policy files seen but not applied (untrusted project policy), for messages. */
	struct hutch_rules ignored;
};

/* Rules helpers. */
int hutch_rules_add(struct hutch_rules *r, const char *value, const char *origin, bool locked);
bool hutch_rules_contains(const struct hutch_rules *r, const char *value);
void hutch_rules_clear(struct hutch_rules *r);

/* Strict parsers shared by config.c and the CLI (0 or -EINVAL). */
int hutch_parse_size(const char *s, uint64_t *out);      /* 512K 4G 100M 123 */
int hutch_parse_duration(const char *s, uint64_t *ms);   /* 30s 10m 2h 1500ms */
int hutch_parse_cpus(const char *s, uint64_t *milli);    /* 2 0.5 1.25 */
