/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Agent state files the agent must write but that also hold settings which
 * run code later (Claude Code's ~/.claude.json): the agent writes a private
 * working copy inside the sandbox; at the end only what is safe is carried
 * back into the host's file, the rest is refused and reported.
 * docs/profiles.md ("State the agent writes") lists the keys.
 */
#pragma once

#include "base/error.h"
#include "policy/policy.h"

typedef struct hutch_agentstate hutch_agentstate;

/* A message for the user (a refusal, a note); the library never prints. */
typedef void (*hutch_agentstate_note_fn)(const char *msg, void *data);

/*
 * Before hutch_policy_finalize: the protected entries that depend on the
 * workspace and on what exists in the state directory (Claude Code's
 * auto-memory directories ~/.claude/projects/<project>/memory). @ws is the
 * workspace as given (NULL: the current directory).
 */
int hutch_agentstate_policy(struct hutch_policy *p, const char *home, const char *ws,
			    hutch_error *err);

/*
 * Before the run: make the working copies (for the claude-code profile,
 * ~/.claude/.claude.json from ~/.claude.json). *@out stays NULL when the
 * policy's profile keeps no such state.
 */
int hutch_agentstate_begin(const struct hutch_policy *p, const char *home, hutch_agentstate **out,
			   hutch_error *err);

/*
 * After the run: carry back the safe parts of each working copy into the
 * host's file (atomically, mode kept), remove the working copy, and call
 * @note once per refused key or other remark.
 */
int hutch_agentstate_end(hutch_agentstate *s, hutch_agentstate_note_fn note, void *data,
			 hutch_error *err);

void hutch_agentstate_free(hutch_agentstate *s);

/*
 * Merge @inside (the working copy) into @host (the host's current
 * ~/.claude.json, modified in place) for workspace @ws. Returns the number of
 * changes carried back; @note gets each refusal. Exposed for the unit tests.
 */
struct json_t;
int hutch_agentstate_merge_claude(struct json_t *host, const struct json_t *inside, const char *ws,
				  hutch_agentstate_note_fn note, void *data);
