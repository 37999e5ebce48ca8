/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --ask: the question on a thread of its own (see asker.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "run/asker.h"
#include "base/loop.h"

/* One message either way: well under PIPE_BUF, so each write is atomic. */
struct ask_msg {
	char host[256];
	uint16_t port;
	int32_t answer;
};

struct hutch_asker {
	struct hutch_loop *loop;
	enum hutch_ask_decision (*ask)(const char *host, uint16_t port, int cancel_fd, void *data);
	void *ask_data;
	hutch_asker_answer_cb cb;
	void *data;
	int req[2]; /* loop -> thread */
	int ans[2]; /* thread -> loop */
	int cancel; /* eventfd: readable once cancelled (never read) */
	pthread_t thread;
	bool started;
	unsigned busy;
};

static ssize_t full_io(int fd, void *buf, size_t n, bool wr)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = wr ? write(fd, (char *)buf + done, n - done)
			       : read(fd, (char *)buf + done, n - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : (ssize_t)done;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

static bool is_cancelled(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) > 0;
}

static void *thread_main(void *data)
{
	struct hutch_asker *a = data;
	struct ask_msg m;

	while (full_io(a->req[0], &m, sizeof(m), false) == (ssize_t)sizeof(m)) {
		m.host[sizeof(m.host) - 1] = '\0';
		m.answer = is_cancelled(a->cancel)
				   ? HUTCH_ASK_DENY
				   : (int32_t)a->ask(m.host, m.port, a->cancel, a->ask_data);
		if (full_io(a->ans[1], &m, sizeof(m), true) != (ssize_t)sizeof(m))
			break;
	}
	return NULL;
}

static int on_answer(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct hutch_asker *a = data;
	struct ask_msg m;
	ssize_t n = read(fd, &m, sizeof(m));

	(void)events;
	if (n != (ssize_t)sizeof(m)) {
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			hutch_loop_del(loop, fd);
		return 0;
	}
	m.host[sizeof(m.host) - 1] = '\0';
	if (a->busy)
		a->busy--;
	a->cb(m.host, m.port, (enum hutch_ask_decision)m.answer, a->busy, a->data);
	return 0;
}

int hutch_asker_new(struct hutch_loop *loop, const struct hutch_run_opts *opts,
		    hutch_asker_answer_cb cb, void *data, struct hutch_asker **out)
{
	struct hutch_asker *a;
	int r;

	if (!opts || !opts->ask)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	*a = (struct hutch_asker){.loop = loop,
				  .ask = opts->ask,
				  .ask_data = opts->ask_data,
				  .cb = cb,
				  .data = data,
				  .req = {-1, -1},
				  .ans = {-1, -1},
				  .cancel = -1};
	a->cancel = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->cancel < 0 || pipe2(a->req, O_CLOEXEC) < 0 || pipe2(a->ans, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	if (fcntl(a->ans[0], F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	r = hutch_loop_add(loop, a->ans[0], EPOLLIN, on_answer, a);
	if (r < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	hutch_asker_free(a);
	return r;
}

/* The thread starts with the first question: a run that asks nothing has none. */
static int start_thread(struct hutch_asker *a)
{
	sigset_t all, old;
	int r;

	/* every signal blocked in it: they are the loop's (signalfd) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&a->thread, NULL, thread_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	a->started = true;
	return 0;
}

int hutch_asker_ask(struct hutch_asker *a, const char *host, uint16_t port)
{
	struct ask_msg m;
	int r;

	if (!a || !host || strlen(host) >= sizeof(m.host))
		return -EINVAL;
	if (is_cancelled(a->cancel))
		return -ECANCELED;
	if (!a->started) {
		r = start_thread(a);
		if (r < 0)
			return r;
	}
	memset(&m, 0, sizeof(m));
	memcpy(m.host, host, strlen(host) + 1);
	m.port = port;
	if (full_io(a->req[1], &m, sizeof(m), true) != (ssize_t)sizeof(m))
		return -EIO;
	a->busy++;
	return 0;
}

unsigned hutch_asker_busy(const struct hutch_asker *a)
{
	return a ? a->busy : 0;
}

void hutch_asker_cancel(struct hutch_asker *a)
{
	uint64_t one = 1;

	if (a && a->cancel >= 0)
		(void)!write(a->cancel, &one, sizeof(one));
}

void hutch_asker_free(struct hutch_asker *a)
{
	if (!a)
		return;
	hutch_asker_cancel(a);
	if (a->req[1] >= 0)
		close(a->req[1]); /* the thread reads the end of its queue and returns */
	a->req[1] = -1;
	if (a->started)
		pthread_join(a->thread, NULL);
	if (a->ans[0] >= 0) {
		hutch_loop_del(a->loop, a->ans[0]);
		close(a->ans[0]);
	}
	for (int i = 0; i < 2; i++) {
		if (a->req[i] >= 0)
			close(a->req[i]);
		if (i == 1 && a->ans[i] >= 0)
			close(a->ans[i]);
	}
	if (a->cancel >= 0)
		close(a->cancel);
	free(a);
}
