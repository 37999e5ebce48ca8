/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A conservative reader of git's config syntax (git-config(1), "CONFIGURATION
 * FILE"): sections, "subsections" with escapes, the old [section.sub] form,
 * keys with or without a value, quoted values, escapes, comments and
 * backslash-newline continuations. What it cannot read with certainty
 * (a key after a section header on the same line, an unknown escape, an
 * unterminated quote, a NUL byte, a file over HUTCH_GITCONFIG_MAX) is an error:
 * the caller then treats the whole file as unsafe.
 *
 * Which keys can make git run a program (the table is in gitconfig.c and
 * docs/THREAT_MODEL.md): hutch_gitconfig_dangerous().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HUTCH_GITCONFIG_MAX (4u << 20)

struct hutch_gitconfig_entry {
	const char *section;	/* lower case */
	const char *subsection; /* as written (case matters), NULL when none */
	const char *key;	/* lower case */
	const char *value;	/* unquoted; NULL for a bare "key" (true) */
	size_t start, end;	/* the bytes of the entry's lines in the file, [start, end) */
};

/* Called per entry; the strings live during the call only. Non-zero stops the parse. */
typedef int (*hutch_gitconfig_fn)(const struct hutch_gitconfig_entry *e, void *data);

/* 0, -EINVAL when the text is not plain git config, or what @fn returned. */
int hutch_gitconfig_parse(const char *buf, size_t len, hutch_gitconfig_fn fn, void *data);

/* Can this entry make git run a program (or pull in another file that can)? */
bool hutch_gitconfig_dangerous(const struct hutch_gitconfig_entry *e);

/*
 * @buf without its dangerous entries, each replaced by a comment line naming
 * it; @removed gets "core.fsmonitor, alias.x" (both malloc'd). Returns the
 * number of entries removed (0: @out is NULL) or -EINVAL / -ENOMEM.
 */
int hutch_gitconfig_sanitize(const char *buf, size_t len, char **out, size_t *out_len,
			     char **removed);

/*
 * A config that keeps a repository usable when its own could not be read:
 * [core] repositoryformatversion, bare and filemode (defaults 0, false, true).
 */
char *hutch_gitconfig_minimal(bool bare);
