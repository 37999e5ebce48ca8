/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Agent state files the agent must write but that also hold settings which
 * run code later (Claude Code's ~/.claude.json): the agent writes a private
 * working copy inside the sandbox; at the end only what is safe is carried
 * back into the host's file, the rest is refused and reported.
 * docs/profiles.md ("State the agent writes") lists the keys.
 */
#pragma once

#include "hutch.h"
#include "base/error.h"
#include "policy/policy.h"

/* The interface the program uses is public: include/hutch.h ("agent state"). */

/*
 * Merge @inside (the working copy) into @host (the host's current
 * ~/.claude.json, modified in place) for workspace @ws. Returns the number of
 * changes carried back; @note gets each refusal. Exposed for the unit tests.
 */
struct json_t;
int hutch_agentstate_merge_claude(struct json_t *host, const struct json_t *inside, const char *ws,
				  hutch_agentstate_note_fn note, void *data);
