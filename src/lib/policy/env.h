/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sandbox's environment: pass, drop by pattern, set. */
#pragma once

#include "policy/model.h"

/* Hard maxima for the environment we build. */
#define HUTCH_ENV_MAX_VARS 8192
#define HUTCH_ENV_MAX_ENTRY (128 * 1024)  /* the kernel's MAX_ARG_STRLEN */
#define HUTCH_ENV_MAX_BYTES (1024 * 1024) /* all entries together */

/*
 * Build the environment for the workload from @environ and the policy. For
 * each variable, in this order (first match decides):
 *   1. a drop entry locked by the system policy matches    -> dropped
 *   2. a pass entry names it exactly (-e NAME, "pass": ["NAME"]) -> passed
 *      (an explicit request by name beats the generic secret patterns)
 *   3. a drop entry (name or pattern) matches              -> dropped (deny beats allow)
 *   4. a pass pattern matches                              -> passed
 *   5. otherwise                                           -> dropped (fail closed)
 * Patterns are fnmatch(3) globs. Entries without "=" or with an invalid name
 * are dropped; a repeated name keeps its first value (as getenv does).
 * Then env_set entries override or add. Result: malloc'd NULL-terminated array
 * (hutch_env_free). -E2BIG beyond the maxima above.
 */
int hutch_env_build(const struct hutch_policy *p, char *const *environ, char ***out,
		    hutch_error *err);
/* Set or replace NAME=VALUE in an array built by hutch_env_build. 0, -EINVAL, -E2BIG, -ENOMEM. */
/* A shell-style variable name: [A-Za-z_][A-Za-z0-9_]*, at most 255 bytes. */
bool hutch_env_name_valid(const char *s, size_t n);

int hutch_env_set(char ***env, const char *name, const char *value);
void hutch_env_free(char **env);
