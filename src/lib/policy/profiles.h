/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Built-in profiles and default tables (secret paths, protected paths, env patterns). */
#pragma once

#include "policy/policy.h"

extern const char *const hutch_default_hidden[];    /* "~/.ssh", ..., "/etc/shadow", NULL */
extern const char *const hutch_default_protected[]; /* ".git/hooks", ..., NULL */
/*
 * The protected entries a shell reads only from a home ($HOME, zsh's $ZDOTDIR):
 * a missing one gets a placeholder only in a directory that is a home
 * (base/homedir.h); an existing one is protected wherever it is.
 */
extern const char *const hutch_shell_rc_files[]; /* ".bashrc", ..., NULL */
bool hutch_profile_is_shell_rc(const char *entry);
extern const char *const hutch_default_env_drop[]; /* "*_TOKEN", ..., NULL */

/*
 * The hidden entries profile @name makes readable again (its agent's own
 * credential files), NULL-terminated; NULL when none or unknown.
 */
const char *const *hutch_profile_unhidden(const char *name);

/* Apply a built-in profile (its base first); origins are "profile NAME". */
int hutch_profile_apply(struct hutch_policy *p, const char *name, hutch_error *err);
/*
 * Same, as part of a policy source: @system makes its entries locked / ceilings
 * (a system policy's "extends"); @origin, when set, is used for every entry.
 */
int hutch_profile_apply_ex(struct hutch_policy *p, const char *name, const char *origin,
			   bool system, hutch_error *err);

/*
 * Is @path (absolute) an agent profile's state directory or the sandbox's
 * package cache under @home? Relative protected entries (".bashrc",
 * ".mcp.json") are for projects: they are not applied there (protect.c).
 */
/*
 * Is @path (absolute) the sandbox's package cache (~/.cache/hutch/pkg)? Only
 * sandboxes use it, never the host's own tools: the end-of-run git check
 * (gitguard.h) does not walk it.
 */
bool hutch_profile_is_pkg_cache(const char *path, const char *home);

bool hutch_profile_is_state_dir(const char *path, const char *home);
