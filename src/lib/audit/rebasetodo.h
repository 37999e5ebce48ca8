/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An interactive rebase's command list (.git/rebase-merge/git-rebase-todo,
 * docs/THREAT_MODEL.md, "Persistence"): "exec CMD" (or "x CMD") runs CMD in a
 * shell at the user's next "git rebase --continue", and git status shows only
 * the next two commands of the list. A rebase left stopped by the sandbox
 * ("break", a conflict) with exec lines further down runs them outside.
 *
 * Read as git's sequencer reads it (sequencer.c, parse_insn_line): a line's
 * first word after blanks is the command, the full name or its one-letter
 * form; matched here without regard to case, on the side of removing more.
 */
#pragma once

#include <stddef.h>

#define HUTCH_REBASE_TODO_NAME "git-rebase-todo"
#define HUTCH_REBASE_TODO_MAX (4u << 20)

/*
 * @buf with each exec line turned into a comment ("# removed by hutch: ...");
 * @out malloc'd. Returns the number of lines changed (0: @out is NULL),
 * -EINVAL for a text git would not read as a plain list (a NUL byte, over
 * HUTCH_REBASE_TODO_MAX) or -ENOMEM.
 */
int hutch_rebase_todo_sanitize(const char *buf, size_t len, char **out, size_t *out_len);
