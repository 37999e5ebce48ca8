/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sandbox's environment: pass, drop by pattern, set. */
#pragma once

#include "policy.h"

/*
 * Build the environment for the workload from @environ and the policy:
 * variables matching env_drop (and the built-in secret patterns in the
 * policy) are dropped unless passed by exact name with -e NAME; env_set
 * entries override. Result: malloc'd NULL-terminated array (hutch_env_free).
 */
int hutch_env_build(const struct hutch_policy *p, char *const *environ, char ***out,
		    hutch_error *err);
/* Set or replace NAME=VALUE in an array built by hutch_env_build. */
int hutch_env_set(char ***env, const char *name, const char *value);
void hutch_env_free(char **env);
