/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DNS over TCP's framing and connections (net/dns-tcp.c): a child process is the client
 * (blocking sockets), the parent runs the loop serving it with an answer function of the
 * test's own; the child reports one line per check through a pipe, which ends the loop.
 * Queries split byte by byte, several in one write, answers in order when the client reads
 * only after sending thousands (the server stops reading meanwhile), an empty or oversized
 * length, "send nothing", and the bound on connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/loop.h"
#include "net/dns-msg.h"
#include "net/dns-tcp.h"
#include "tap.h"

#define MANY 3000

/* The test's answer: "A:" + the query, padded to 200 bytes; a query starting with 'Z': nothing. */
static size_t answer(void *data, const uint8_t *q, size_t len, uint8_t *out, size_t cap)
{
	unsigned *calls = data;

	(*calls)++;
	if (len && q[0] == 'Z')
		return 0;
	if (cap < 200 || len > 190)
		return 0;
	memset(out, '.', 200);
	memcpy(out, "A:", 2);
	memcpy(out + 2, q, len);
	return 200;
}

/* ---- the client (child) ------------------------------------------------------------------ */

static int report;
static struct sockaddr_in srv;

static void say(int pass, const char *what)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%d %s\n", pass, what);

	if (write(report, line, (size_t)n) != n)
		_exit(3);
}

static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, small = 4096;
	struct timeval tv = {10, 0};

	/* a small receive buffer (and the server's small send buffer): answers back up at once */
	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (fd < 0 || connect(fd, (struct sockaddr *)&srv, sizeof(srv)) < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int send_all(int fd, const void *b, size_t n)
{
	const char *p = b;

	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int recv_all(int fd, void *b, size_t n)
{
	char *p = b;

	while (n) {
		ssize_t k = recv(fd, p, n, 0);

		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* frame @q into @out: its length */
static size_t frame(const char *q, uint8_t *out)
{
	size_t n = strlen(q);

	out[0] = (uint8_t)(n >> 8);
	out[1] = (uint8_t)n;
	memcpy(out + 2, q, n);
	return n + 2;
}

/* read one answer: 1 when it answers @q, 0 otherwise, -1 at the end of the connection */
static int read_answer(int fd, const char *q)
{
	uint8_t h[2], a[600];
	size_t n;

	if (recv_all(fd, h, 2) < 0)
		return -1;
	n = ((size_t)h[0] << 8) | h[1];
	if (n > sizeof(a) || recv_all(fd, a, n) < 0)
		return -1;
	return n == 200 && memcmp(a, "A:", 2) == 0 && memcmp(a + 2, q, strlen(q)) == 0;
}

/* Has the server closed @fd (EOF or reset, not a timeout)? */
static int closed(int fd)
{
	char c;
	ssize_t k = recv(fd, &c, 1, 0);

	return k == 0 || (k < 0 && errno == ECONNRESET);
}

static void client(void)
{
	uint8_t buf[MANY * 16];
	int fd = dial(), fds[HUTCH_DNS_TCP_MAX_CONNS], all = 1, extra;
	size_t n;

	/* one query, then a second on the same connection */
	n = frame("one", buf);
	say(fd >= 0 && send_all(fd, buf, n) == 0 && read_answer(fd, "one") == 1,
	    "a query gets its answer, framed");
	n = frame("two", buf);
	say(send_all(fd, buf, n) == 0 && read_answer(fd, "two") == 1,
	    "a second query on the same connection");
	/* split byte by byte */
	n = frame("split-query", buf);
	for (size_t i = 0; i < n; i++)
		all &= send_all(fd, buf + i, 1) == 0;
	say(all && read_answer(fd, "split-query") == 1, "a query sent byte by byte");
	/* three in one write */
	n = frame("p1", buf);
	n += frame("p2", buf + n);
	n += frame("p3", buf + n);
	say(send_all(fd, buf, n) == 0 && read_answer(fd, "p1") == 1 && read_answer(fd, "p2") == 1 &&
		    read_answer(fd, "p3") == 1,
	    "three queries in one write: three answers, in order");
	/* thousands sent before reading any answer: all answered, in order */
	n = 0;
	for (int i = 0; i < MANY; i++) {
		char q[16];

		snprintf(q, sizeof(q), "m%d", i);
		n += frame(q, buf + n);
	}
	all = send_all(fd, buf, n) == 0;
	for (int i = 0; i < MANY && all; i++) {
		char q[16];

		snprintf(q, sizeof(q), "m%d", i);
		all = read_answer(fd, q) == 1;
	}
	say(all, "3000 queries sent before reading (600 KB of answers, far over the socket "
		 "buffers): every answer, in order");
	close(fd);

	/* a length of 0, over 512, "send nothing": the connection is closed */
	fd = dial();
	say(fd >= 0 && send_all(fd, "\0\0", 2) == 0 && closed(fd), "a length of 0 closes it");
	close(fd);
	fd = dial();
	memset(buf, 'x', 600);
	buf[0] = 0x02, buf[1] = 0x01; /* 513 */
	say(fd >= 0 && send_all(fd, buf, 2 + 513) == 0 && closed(fd),
	    "a length over 512 bytes closes it");
	close(fd);
	fd = dial();
	n = frame("Zilch", buf);
	say(fd >= 0 && send_all(fd, buf, n) == 0 && closed(fd), "a query not answered closes it");
	close(fd);

	/* the bound: HUTCH_DNS_TCP_MAX_CONNS open and answered, one more is closed at once */
	all = 1;
	for (int i = 0; i < HUTCH_DNS_TCP_MAX_CONNS; i++) {
		fds[i] = dial();
		n = frame("c", buf);
		all &= fds[i] >= 0 && send_all(fds[i], buf, n) == 0 &&
		       read_answer(fds[i], "c") == 1;
	}
	say(all, "64 connections at once are served");
	extra = dial();
	say(extra >= 0 && (send_all(extra, buf, n) < 0 || closed(extra)),
	    "one more is closed at accept");
	close(extra);
	for (int i = 0; i < HUTCH_DNS_TCP_MAX_CONNS; i++)
		close(fds[i]);
	/* once they are gone, a new one is served (the server sees the closes in its own time) */
	all = 0;
	for (int i = 0; i < 200 && !all; i++) {
		fd = dial();
		all = fd >= 0 && send_all(fd, buf, n) == 0 && read_answer(fd, "c") == 1;
		close(fd);
		if (!all)
			usleep(10000);
	}
	say(all, "after they closed, a new connection is served");
}

/* ---- the server (parent) ------------------------------------------------------------------ */

struct results {
	char text[8192];
	size_t len;
};

static int on_report(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct results *res = data;
	ssize_t k = read(fd, res->text + res->len, sizeof(res->text) - 1 - res->len);

	(void)events;
	if (k <= 0) {
		hutch_loop_quit(loop, 0);
		return 0;
	}
	res->len += (size_t)k;
	return 0;
}

int main(void)
{
	struct hutch_loop *loop = NULL;
	struct hutch_dns_tcp *t = NULL;
	struct results res = {.len = 0};
	socklen_t sl = sizeof(srv);
	unsigned calls = 0;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), p[2], status = 0;
	pid_t pid;

	signal(SIGPIPE, SIG_IGN);
	srv.sin_family = AF_INET;
	srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* accepted sockets inherit it: a fixed 16 KiB send buffer, no autotuning */
	(void)setsockopt(lfd, SOL_SOCKET, SO_SNDBUF, &(int){16384}, sizeof(int));
	ok(lfd >= 0 && bind(lfd, (struct sockaddr *)&srv, sizeof(srv)) == 0 &&
		   listen(lfd, 256) == 0 && getsockname(lfd, (struct sockaddr *)&srv, &sl) == 0,
	   "a listening socket on 127.0.0.1");
	is_int(hutch_loop_new(&loop), 0, "loop");
	is_int(hutch_dns_tcp_new(loop, lfd, answer, &calls, &t, NULL), 0, "DNS over TCP served");
	ok(pipe2(p, O_CLOEXEC) == 0, "report pipe");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		report = p[1];
		client();
		_exit(0);
	}
	close(p[1]);
	hutch_loop_add(loop, p[0], EPOLLIN, on_report, &res);
	hutch_loop_run(loop);
	waitpid(pid, &status, 0);
	is_int(status, 0, "the client finished");
	res.text[res.len] = '\0';
	for (char *line = strtok(res.text, "\n"); line; line = strtok(NULL, "\n"))
		ok(line[0] == '1', "%s", line + 2);
	ok(calls >= MANY, "the answer function was called for each query (%u)", calls);
	hutch_loop_del(loop, p[0]);
	close(p[0]);
	hutch_dns_tcp_free(t);
	hutch_loop_free(loop);
	return done_testing();
}
