/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Coarse timeouts for the proxy, integrated with the supervisor's loop
 * without touching loop.c: one timerfd (CLOCK_MONOTONIC, absolute) armed for
 * the earliest deadline, and fixed-duration lists. Every node of a list has
 * the same timeout, so appending keeps a list sorted by deadline and
 * refreshing a node on activity is O(1) (unlink + append). A wake-up that
 * finds nothing expired (the head was refreshed since) just re-arms.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct hutch_loop;

struct hutch_tnode {
	struct hutch_tnode *prev, *next;
	struct hutch_tlist *list; /* NULL when not armed */
	uint64_t deadline;	  /* CLOCK_MONOTONIC, ms */
};

struct hutch_tlist {
	struct hutch_tnode head; /* sentinel */
	uint64_t timeout_ms;
};

struct hutch_timer;
/* Called when the timerfd fires, with the current time. */
typedef void (*hutch_timer_cb)(struct hutch_timer *t, uint64_t now, void *data);

struct hutch_timer {
	int fd;
	struct hutch_loop *loop;
	uint64_t armed; /* absolute deadline the timerfd is set to, 0 = disarmed */
	hutch_timer_cb cb;
	void *data;
};

uint64_t hutch_now_ms(void);

int hutch_timer_init(struct hutch_timer *t, struct hutch_loop *loop, hutch_timer_cb cb, void *data);
void hutch_timer_fini(struct hutch_timer *t);
/* Make sure the timer fires no later than @deadline (0 = nothing to do). */
int hutch_timer_arm(struct hutch_timer *t, uint64_t deadline);

void hutch_tlist_init(struct hutch_tlist *l, uint64_t timeout_ms);
/* (Re)insert @n at the tail of @l with deadline now + timeout, arming @t if needed. */
void hutch_tnode_arm(struct hutch_timer *t, struct hutch_tlist *l, struct hutch_tnode *n,
		     uint64_t now);
void hutch_tnode_disarm(struct hutch_tnode *n);
/* The head of @l if it expired at @now, else NULL. */
struct hutch_tnode *hutch_tlist_expired(struct hutch_tlist *l, uint64_t now);
/* The earliest deadline in @l, or 0 if empty. */
uint64_t hutch_tlist_next(const struct hutch_tlist *l);
