/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "loop.h"

#define LOOP_MAX_EVENTS 64

struct hutch_watch {
	int fd;
	hutch_io_cb cb;
	void *data;
	bool dead;
	struct hutch_watch *next_dead;
};

struct hutch_loop {
	int epfd;
	bool quit;
	int code;
	/* fd -> watch; fds are small integers so a growable array is enough */
	struct hutch_watch **by_fd;
	size_t n_by_fd;
	struct hutch_watch *dead; /* freed after each dispatch round */
};

int hutch_loop_new(struct hutch_loop **out)
{
	struct hutch_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int r = -errno;
		free(l);
		return r;
	}
	*out = l;
	return 0;
}

static void free_dead(struct hutch_loop *l)
{
	while (l->dead) {
		struct hutch_watch *w = l->dead;
		l->dead = w->next_dead;
		free(w);
	}
}

void hutch_loop_free(struct hutch_loop *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_by_fd; i++)
		free(l->by_fd[i]);
	free_dead(l);
	free(l->by_fd);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
}

static int ensure_slot(struct hutch_loop *l, int fd)
{
	size_t n;
	struct hutch_watch **v;

	if ((size_t)fd < l->n_by_fd)
		return 0;
	n = l->n_by_fd ? l->n_by_fd : 64;
	while (n <= (size_t)fd)
		n *= 2;
	/* NOLINTBEGIN(bugprone-sizeof-expression): an array of pointers, sized by element */
	v = realloc(l->by_fd, n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(v + l->n_by_fd, 0, (n - l->n_by_fd) * sizeof(*v));
	/* NOLINTEND(bugprone-sizeof-expression) */
	l->by_fd = v;
	l->n_by_fd = n;
	return 0;
}

int hutch_loop_add(struct hutch_loop *l, int fd, uint32_t events, hutch_io_cb cb, void *data)
{
	struct epoll_event ev = {.events = events};
	struct hutch_watch *w;
	int r;

	if (fd < 0)
		return -EBADF;
	r = ensure_slot(l, fd);
	if (r < 0)
		return r;
	if (l->by_fd[fd])
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->cb = cb;
	w->data = data;
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		free(w);
		return r;
	}
	l->by_fd[fd] = w;
	return 0;
}

int hutch_loop_mod(struct hutch_loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events};

	if (fd < 0 || (size_t)fd >= l->n_by_fd || !l->by_fd[fd])
		return -ENOENT;
	ev.data.ptr = l->by_fd[fd];
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int hutch_loop_del(struct hutch_loop *l, int fd)
{
	struct hutch_watch *w;

	if (fd < 0 || (size_t)fd >= l->n_by_fd || !l->by_fd[fd])
		return -ENOENT;
	w = l->by_fd[fd];
	l->by_fd[fd] = NULL;
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->dead = true;
	w->next_dead = l->dead;
	l->dead = w;
	return 0;
}

int hutch_loop_run(struct hutch_loop *l)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];

	l->quit = false; /* a loop can be run again after hutch_loop_quit() */
	while (!l->quit) {
		int n = epoll_wait(l->epfd, evs, LOOP_MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->quit; i++) {
			struct hutch_watch *w = evs[i].data.ptr;
			int r;

			if (w->dead)
				continue;
			r = w->cb(l, w->fd, evs[i].events, w->data);
			if (r < 0) {
				free_dead(l);
				return r;
			}
		}
		free_dead(l);
	}
	return l->code;
}

void hutch_loop_quit(struct hutch_loop *l, int code)
{
	l->quit = true;
	l->code = code;
}

int hutch_loop_exit_code(const struct hutch_loop *l)
{
	return l->code;
}
