/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ".env" files that tools load on their own (docs/THREAT_MODEL.md,
 * "Persistence"): aider reads the git root's and the current directory's
 * .env at every start, Gemini CLI the first .env from the current directory
 * up, and both hand the variables to every program they start. A variable
 * such as LD_PRELOAD, NODE_OPTIONS or aider's lint command planted there runs
 * code outside the sandbox later; one that moves the agent's model endpoint or
 * settings lets someone else drive the agent.
 *
 * The reader is deliberately coarse, so that no dotenv dialect (npm's dotenv,
 * python-dotenv, Node's --env-file, direnv) can see a key it does not: any
 * line, also one inside a quoted multi-line value, whose first word (after
 * blanks, a byte-order mark, "export" and an opening quote) is a dangerous
 * name followed by "=" or ":" counts. "\r" ends a line, as it does for them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HUTCH_DOTENV_NAME ".env"
#define HUTCH_DOTENV_MAX (1u << 20)

/* Is @key (@n bytes) a variable that can run code or redirect an agent? Case-insensitive. */
bool hutch_dotenv_key_dangerous(const char *key, size_t n);

/*
 * @buf without the lines that set a dangerous variable, each replaced by a
 * comment naming it; @removed gets "LD_PRELOAD, AIDER_LINT_CMD" (both
 * malloc'd). Returns the number of lines removed (0: @out is NULL),
 * -EINVAL for a text no tool reads as a dotenv file the same way (a NUL byte,
 * over HUTCH_DOTENV_MAX) or -ENOMEM.
 */
int hutch_dotenv_sanitize(const char *buf, size_t len, char **out, size_t *out_len, char **removed);
