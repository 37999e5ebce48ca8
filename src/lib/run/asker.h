/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --ask off the event loop: the caller's question (hutch_run_opts.ask, which
 * waits for the user) runs on a thread of its own, one question at a time,
 * while the supervisor's loop goes on serving the other connections, the
 * exec notifications, the timeout and signals. Answers come back to the loop
 * through a pipe it watches. A cancel (the sandbox is stopping) ends the open
 * question and answers every later one DENY at once.
 */
#pragma once

#include <stdint.h>

#include "hutch.h"

struct hutch_loop;
struct hutch_asker;

/* Called in the loop for each answer; @busy: questions still open or queued. */
typedef void (*hutch_asker_answer_cb)(const char *host, uint16_t port,
				      enum hutch_ask_decision answer, unsigned busy, void *data);

int hutch_asker_new(struct hutch_loop *loop, const struct hutch_run_opts *opts,
		    hutch_asker_answer_cb cb, void *data, struct hutch_asker **out);
/* Queue a question (the thread starts with the first). 0, or -errno: not asked. */
int hutch_asker_ask(struct hutch_asker *a, const char *host, uint16_t port);
/* Questions open or queued. */
unsigned hutch_asker_busy(const struct hutch_asker *a);
/* For good: the open question ends (DENY), later ones are DENY without asking. */
void hutch_asker_cancel(struct hutch_asker *a);
/* Cancel, wait for the thread, free. NULL is fine. */
void hutch_asker_free(struct hutch_asker *a);
