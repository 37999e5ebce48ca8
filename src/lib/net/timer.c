/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Coarse timeouts on one timerfd: see timer.h. */
#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/loop.h"
#include "net/timer.h"

uint64_t hutch_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int on_timerfd(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct hutch_timer *t = data;
	uint64_t ticks;

	(void)loop;
	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return 0;
	t->armed = 0;
	t->cb(t, hutch_now_ms(), t->data);
	return 0;
}

int hutch_timer_init(struct hutch_timer *t, struct hutch_loop *loop, hutch_timer_cb cb, void *data)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	t->loop = loop;
	t->cb = cb;
	t->data = data;
	r = hutch_loop_add(loop, t->fd, EPOLLIN, on_timerfd, t);
	if (r < 0) {
		close(t->fd);
		t->fd = -1;
		return r;
	}
	return 0;
}

void hutch_timer_fini(struct hutch_timer *t)
{
	if (t->fd >= 0) {
		hutch_loop_del(t->loop, t->fd);
		close(t->fd);
		t->fd = -1;
	}
}

int hutch_timer_arm(struct hutch_timer *t, uint64_t deadline)
{
	struct itimerspec its = {0};

	if (!deadline || (t->armed && t->armed <= deadline))
		return 0;
	its.it_value.tv_sec = (time_t)(deadline / 1000);
	its.it_value.tv_nsec = (long)(deadline % 1000) * 1000000;
	if (timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	t->armed = deadline;
	return 0;
}

void hutch_tlist_init(struct hutch_tlist *l, uint64_t timeout_ms)
{
	l->head.prev = l->head.next = &l->head;
	l->head.list = l;
	l->timeout_ms = timeout_ms;
}

void hutch_tnode_disarm(struct hutch_tnode *n)
{
	if (!n->list)
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
	n->list = NULL;
}

void hutch_tnode_arm(struct hutch_timer *t, struct hutch_tlist *l, struct hutch_tnode *n,
		     uint64_t now)
{
	hutch_tnode_disarm(n);
	n->deadline = now + l->timeout_ms;
	n->list = l;
	n->prev = l->head.prev;
	n->next = &l->head;
	l->head.prev->next = n;
	l->head.prev = n;
	(void)hutch_timer_arm(t, n->deadline);
}

struct hutch_tnode *hutch_tlist_expired(struct hutch_tlist *l, uint64_t now)
{
	struct hutch_tnode *n = l->head.next;

	if (n == &l->head || n->deadline > now)
		return NULL;
	return n;
}

uint64_t hutch_tlist_next(const struct hutch_tlist *l)
{
	return l->head.next == &l->head ? 0 : l->head.next->deadline;
}
