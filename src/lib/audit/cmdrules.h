/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Command rules (policy commands.allow / commands.deny), pure matching.
 *
 * A pattern is "PROGRAM [ARGS]": PROGRAM is a glob matched against the
 * executable (its full path when PROGRAM contains a '/', else its basename;
 * both as executed and with symlinks resolved, and for deny rules argv[0]'s
 * basename too); ARGS is a glob matched against the arguments after argv[0]
 * joined by single spaces. No ARGS matches any arguments; a trailing " *"
 * also matches no arguments ("sudo *" matches a bare "sudo").
 * Globs: '*' any run of bytes (spaces and slashes too), '?' one byte, '\x' a
 * literal x.
 *
 * These are guard rails against accidents, not a security boundary: a process
 * can race its own argv memory between the check and the exec, and argument
 * spellings vary ("git push -f", "git -C dir push --force"). The boundary is
 * the filesystem, network and syscall layers.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct hutch_rules;
struct hutch_rule;

/* Longest joined argument string considered (the rest is not matched). */
#define HUTCH_CMD_MAX_ARGS_JOINED (64 * 1024)

struct hutch_cmd {
	const char *path;	 /* absolute path as executed, NULL if unknown */
	const char *real_path;	 /* with symlinks resolved, NULL if unknown */
	const char *const *argv; /* argv[0..argc) */
	const size_t *arglen;	 /* lengths, NULL: strlen */
	size_t argc;
	const char *args; /* argv[1..] joined by ' ' (hutch_cmd_join_args) */
	size_t args_len;
};

/* Glob (see above) of @pat against @s: O(len(pat) * len(s)) at worst, no exponential backtracking.
 */
bool hutch_glob(const char *pat, size_t plen, const char *s, size_t n);

/*
 * Join argv[1..argc) with single spaces into @buf (@cap bytes, NUL-terminated,
 * cut at @cap - 1). Returns the length.
 */
size_t hutch_cmd_join_args(const char *const *argv, const size_t *arglen, size_t argc, char *buf,
			   size_t cap);

/* Does @pattern match @c? @for_deny: argv[0]'s basename is a name of the program too. */
bool hutch_cmd_pattern_match(const char *pattern, const struct hutch_cmd *c, bool for_deny);

/*
 * Decide one exec: any deny rule that matches refuses it; else, when allow
 * rules exist, one of them must match. Returns true when allowed; *rule is
 * the deciding rule (NULL when no rule decided: no allow rules, or none matched).
 */
bool hutch_cmdrules_decide(const struct hutch_rules *allow, const struct hutch_rules *deny,
			   const struct hutch_cmd *c, const struct hutch_rule **rule);
