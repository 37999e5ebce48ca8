/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `hutch connect HOST PORT` (the ssh ProxyCommand) against the real proxy
 * engine: relays both ways with half-close, reports refusals with the
 * proxy's reason. cmd-connect.c is compiled into this test; the proxy runs
 * in this process's loop, servers and clients on 127.0.0.1 only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/cli/cmd-connect.c"

#include "base/loop.h"
#include "policy/policy.h"
#include "net/proxy.h"
#include "tap.h"

/* what main.c provides to subcommands */
const char *cli_prog = "hutch";

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hutch: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return 125;
}

int cli_cmd_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hutch %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return 125;
}

static int listen_any(int *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Server: read to EOF, answer "got N", close. */
static pid_t count_server(int lfd)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			char buf[4096], msg[64];
			size_t total = 0;
			ssize_t k;
			int c = accept(lfd, NULL, NULL);

			if (c < 0)
				continue;
			send(c, "SSH-2.0-test\r\n", 14, MSG_NOSIGNAL); /* server speaks first */
			while ((k = recv(c, buf, sizeof(buf), 0)) > 0)
				total += (size_t)k;
			snprintf(msg, sizeof(msg), "got %zu\n", total);
			send(c, msg, strlen(msg), MSG_NOSIGNAL);
			close(c);
		}
	}
	close(lfd);
	return pid;
}

struct job {
	char *const *argv;
	const char *env_proxy;
};

/* The client side: run cmd_connect on a socketpair, talk through it, report. */
static void client(const struct job *j)
{
	int sv[2], ep[2], st;
	char out[256] = "", err[1024] = "";
	pid_t pid;
	size_t n = 0;
	ssize_t k;

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	if (pipe2(ep, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		int argc = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(sv[1], 0);
		dup2(sv[1], 1);
		dup2(ep[1], 2);
		unsetenv("HTTPS_PROXY");
		unsetenv("https_proxy");
		unsetenv("HTTP_PROXY");
		unsetenv("http_proxy");
		if (j->env_proxy)
			setenv("HTTPS_PROXY", j->env_proxy, 1);
		while (j->argv[argc])
			argc++;
		fflush(stderr);
		_exit(cmd_connect(argc, (char **)j->argv));
	}
	close(sv[1]);
	close(ep[1]);
	send(sv[0], "hello world", 11, MSG_NOSIGNAL);
	shutdown(sv[0], SHUT_WR);
	while (n + 1 < sizeof(out) && (k = read(sv[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	n = 0;
	while (n + 1 < sizeof(err) && (k = read(ep[0], err + n, sizeof(err) - 1 - n)) > 0)
		n += (size_t)k;
	err[n] = '\0';
	waitpid(pid, &st, 0);
	printf("STATUS=%d\nOUT=%s\nERR=%s\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1, out, err);
}

struct runner {
	pid_t pid;
	char buf[4096];
	size_t len;
	bool done, eof;
};

static int on_out(struct hutch_loop *l, int fd, uint32_t ev, void *data)
{
	struct runner *r = data;
	ssize_t k = read(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);

	(void)ev;
	if (k > 0) {
		r->len += (size_t)k;
		r->buf[r->len] = '\0';
	} else {
		hutch_loop_del(l, fd);
		r->eof = true;
		if (r->done)
			hutch_loop_quit(l, 0);
	}
	return 0;
}

static int on_exit_fd(struct hutch_loop *l, int fd, uint32_t ev, void *data)
{
	struct runner *r = data;

	(void)ev;
	hutch_loop_del(l, fd);
	waitpid(r->pid, NULL, 0);
	r->done = true;
	if (r->eof)
		hutch_loop_quit(l, 0);
	return 0;
}

static int hport;

static void run(const char *allow, const struct job *j, struct runner *r)
{
	static struct hutch_rule rule;
	struct hutch_policy pol;
	struct hutch_loop *loop;
	struct hutch_proxy *px;
	hutch_error err;
	int p[2], pidfd, lfd;

	memset(r, 0, sizeof(*r));
	memset(&pol, 0, sizeof(pol));
	rule = (struct hutch_rule){.value = (char *)allow, .origin = "test"};
	pol.net_allow = (struct hutch_rules){.v = &rule, .n = 1, .cap = 1};
	hport = 0;
	lfd = listen_any(&hport);
	hutch_loop_new(&loop);
	if (hutch_proxy_new(loop, &pol, lfd, -1, NULL, &px, &err) < 0) {
		diag("proxy: %s", err.msg);
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	fflush(stdout);
	r->pid = fork();
	if (r->pid == 0) {
		char port_s[16], proxy_s[64];
		char *argv[8];
		struct job jj = *j;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 1);
		snprintf(port_s, sizeof(port_s), "%d", hport);
		snprintf(proxy_s, sizeof(proxy_s), "127.0.0.1:%d", hport);
		/* "@" in the job's argv stands for the proxy address */
		for (int i = 0; i < 7 && j->argv[i]; i++) {
			argv[i] = strcmp(j->argv[i], "@") ? j->argv[i] : proxy_s;
			argv[i + 1] = NULL;
		}
		jj.argv = argv;
		if (jj.env_proxy && !strcmp(jj.env_proxy, "@"))
			jj.env_proxy = proxy_s;
		client(&jj);
		fflush(stdout);
		_exit(0);
	}
	close(p[1]);
	pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	hutch_loop_add(loop, p[0], EPOLLIN, on_out, r);
	hutch_loop_add(loop, pidfd, EPOLLIN, on_exit_fd, r);
	hutch_loop_run(loop);
	close(p[0]);
	close(pidfd);
	hutch_proxy_free(px);
	hutch_loop_free(loop);
}

int main(void)
{
	struct runner r;
	char allow[64], port_s[16], other_s[16];
	int sport = 0, other = 0, lfd = listen_any(&sport), ofd = listen_any(&other);
	pid_t srv = count_server(lfd);

	close(ofd);
	snprintf(allow, sizeof(allow), "127.0.0.1:%d", sport);
	snprintf(port_s, sizeof(port_s), "%d", sport);
	snprintf(other_s, sizeof(other_s), "%d", other);
	{
		char *argv[] = {"connect", "--proxy", "@", "127.0.0.1", port_s, NULL};
		struct job j = {argv, NULL};

		run(allow, &j, &r);
		like(r.buf, "STATUS=0\n", "tunnel opened and closed cleanly");
		like(r.buf, "OUT=SSH-2.0-test\r\ngot 11\n",
		     "server-first bytes, then the reply to "
		     "our half-closed input");
	}
	{
		char *argv[] = {"connect", "127.0.0.1", port_s, NULL};
		struct job j = {argv, "@"};

		run(allow, &j, &r);
		like(r.buf, "OUT=SSH-2.0-test\r\ngot 11\n", "proxy taken from $HTTPS_PROXY");
	}
	{
		char *argv[] = {"connect", "--proxy", "@", "127.0.0.1", other_s, NULL};
		struct job j = {argv, NULL};

		run(allow, &j, &r);
		like(r.buf, "STATUS=1\n", "refused tunnel: exit status 1");
		like(r.buf, "403 Forbidden: IP address not in allowlist",
		     "the proxy's reason shown");
		like(r.buf, "hint: allow it with --allow 127.0.0.1", "and what to do");
	}
	{
		char *argv[] = {"connect", "--proxy", "@", "127.0.0.1", NULL};
		struct job j = {argv, NULL};

		run(allow, &j, &r);
		like(r.buf, "STATUS=125\n", "usage error: 125");
	}
	{
		char *argv[] = {"connect", "--proxy", "@", "a b", "22", NULL};
		struct job j = {argv, NULL};

		run(allow, &j, &r);
		like(r.buf, "invalid destination", "a host with a space refused before connecting");
	}
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	return done_testing();
}
