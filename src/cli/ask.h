/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The terminal side of `hutch run --ask`: when the proxy meets a destination
 * outside the allowlist it calls cli_ask() (hutch_run_opts.ask, on a thread
 * of the supervisor), which asks the user on /dev/tty: allow once, for this
 * session, always (saved to the user policy) or deny. Only when stdin is a
 * terminal; otherwise --ask is a plain denial.
 *
 * A sandboxed process can time a connection for when the user is typing:
 * typing must never answer. What was typed before the question, and in its
 * first CLI_ASK_SETTLE_MS, is discarded; an answer is a word (or its first
 * letter) followed by Enter; "always" writes the user policy only after a
 * second question answered "yes".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hutch.h"

#define CLI_ASK_TIMEOUT_MS 60000 /* no answer: deny */
#define CLI_ASK_SETTLE_MS 400	 /* keys typed as a question appears: discarded */

struct cli_ask {
	int tty;		 /* /dev/tty, or -1: not asking */
	unsigned timeout_ms;	 /* per question (and its confirmation) */
	unsigned settle_ms;	 /* CLI_ASK_SETTLE_MS */
	char *policy_path;	 /* where "always" adds the destination */
	unsigned asked, allowed; /* counters, for tests and -v */
};

/*
 * Prepare to ask: opens /dev/tty when stdin is a terminal (else a->tty = -1,
 * and the caller leaves hutch_run_opts.ask NULL). @policy_path NULL: the
 * user policy (cli_user_policy_path()). Returns 0 or -errno.
 */
int cli_ask_init(struct cli_ask *a, const char *policy_path);
void cli_ask_done(struct cli_ask *a);

/* hutch_run_opts.ask: @data is the struct cli_ask; @cancel_fd readable: DENY at once. */
enum hutch_ask_decision cli_ask(const char *host, uint16_t port, int cancel_fd, void *data);

/* $XDG_CONFIG_HOME/hutch/policy.json (absolute XDG_CONFIG_HOME), else ~/.config/...; malloc'd. */
char *cli_user_policy_path(void);

/*
 * Add @pattern to network.allow of the policy file @path (created with mode
 * 0600, its directory 0700, when missing), atomically: a temporary file in
 * the same directory, fsync, rename, under an flock of the directory so two
 * sessions do not lose each other's entry. The rest of the file is kept (key
 * order too); a file that is not a valid policy object is left alone and an
 * error returned. 0 (also when already there) or -errno with @why filled.
 */
int cli_policy_allow_append(const char *path, const char *pattern, char *why, size_t why_size);
