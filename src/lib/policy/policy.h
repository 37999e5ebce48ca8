/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one validated policy model (internal view of hutch_policy): its functions; the data is
 * model.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hutch.h"
#include "policy/model.h"

/*
 * Rules helpers. hutch_rules_add dedupes by value (a duplicate keeps the first
 * origin unless the new one is locked, and becomes locked if either is) and
 * fails with -E2BIG beyond HUTCH_MAX_RULES. hutch_rules_remove refuses a locked
 * rule (-EPERM) and returns -ENOENT when absent.
 */
int hutch_rules_add(struct hutch_rules *r, const char *value, const char *origin, bool locked);
/* The same, taking @value and @origin (malloc'd, or origin NULL): freed unless kept. */
int hutch_rules_add_take(struct hutch_rules *r, char *value, char *origin, bool locked);
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
