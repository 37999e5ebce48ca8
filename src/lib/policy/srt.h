/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Anthropic sandbox-runtime ("srt") settings files -> the hutch policy
 * (docs/hutch-policy.5.scd, SANDBOX-RUNTIME SETTINGS), so people can switch without
 * rewriting their policy.
 *
 * The mapping is a table in srt.c. Every srt key is either honoured
 * (mapped onto hutch's policy), or reported in a note that says why it
 * is not. A note is "weaker" when hutch enforces less than srt would
 * (e.g. a glob in denyRead, which hutch cannot hide): hutch_srt_apply()
 * refuses those unless asked, so `hutch run --srt-settings` fails closed.
 * Keys srt does not define are an error with file:line:column, like in
 * hutch's own policy files: a misspelt "denyRaed" must not silently hide
 * nothing.
 *
 * Only public types appear here: the command-line tool uses this header.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "hutch.h"

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
