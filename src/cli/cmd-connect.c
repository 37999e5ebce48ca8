/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hutch connect [--proxy HOST:PORT] HOST PORT
 *
 * Open a tunnel to HOST:PORT through the sandbox's HTTP proxy (CONNECT) and
 * relay it to stdin/stdout: the ssh ProxyCommand inside the sandbox, so git
 * over ssh works without netcat. The proxy decides as for any client; a
 * refusal is reported on stderr with the proxy's reason and exit status 1.
 *
 * The proxy address: --proxy, else $HTTPS_PROXY / $https_proxy /
 * $HTTP_PROXY / $http_proxy (http://HOST:PORT), else 127.0.0.1:3128.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/file.h"
#include "cli.h"

#define CONNECT_HEAD_MAX 16384
#define RELAY_BUF 65536

/* "http://127.0.0.1:3128/" or "127.0.0.1:3128" -> host, port (numeric, loopback only) */
static int parse_proxy(const char *s, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *p = s, *colon, *end;

	if (!strncmp(p, "http://", 7))
		p += 7;
	end = p + strcspn(p, "/");
	colon = memrchr(p, ':', (size_t)(end - p));
	if (!colon || colon == p || (size_t)(colon - p) >= hcap ||
	    (size_t)(end - colon - 1) >= pcap || end == colon + 1)
		return -EINVAL;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	memcpy(port, colon + 1, (size_t)(end - colon - 1));
	port[end - colon - 1] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	return 0;
}

/*
 * A numeric address (IPv4 or IPv6) and port, by hand rather than with
 * getaddrinfo(): hutch is linked statically, where that would load the C
 * library's name service modules.
 */
static int dial(const char *host, const char *port)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr *sa;
	socklen_t len;
	char *end;
	unsigned long p;
	int fd;

	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || !*port || *end || !p || p > 65535) {
		errno = EINVAL;
		return -EINVAL;
	}
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		sin.sin_port = htons((uint16_t)p);
		sa = (struct sockaddr *)&sin;
		len = sizeof(sin);
	} else if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
		sin6.sin6_port = htons((uint16_t)p);
		sa = (struct sockaddr *)&sin6;
		len = sizeof(sin6);
	} else {
		errno = EINVAL;
		return -EINVAL;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, sa, len) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Relay stdin -> sock and sock -> stdout until both directions ended. */
static int relay(int sock, const char *early, size_t early_len)
{
	static char buf[RELAY_BUF];
	bool in_open = true, out_open = true;

	if (early_len && hutch_write_all(STDOUT_FILENO, early, early_len) < 0)
		return 1;
	while (out_open) {
		struct pollfd p[2] = {{.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
				      {.fd = sock, .events = POLLIN}};
		ssize_t k;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (in_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			k = read(STDIN_FILENO, buf, sizeof(buf));
			if (k > 0) {
				if (hutch_write_all(sock, buf, (size_t)k) < 0)
					return 1;
			} else if (k == 0 || errno != EINTR) {
				in_open = false;
				shutdown(sock, SHUT_WR);
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			k = read(sock, buf, sizeof(buf));
			if (k > 0) {
				if (hutch_write_all(STDOUT_FILENO, buf, (size_t)k) < 0)
					return 1;
			} else if (k == 0 || errno != EINTR) {
				out_open = false;
			}
		}
	}
	return 0;
}

/* The value of header @name in @head (NUL-terminated), copied into @out. */
static void header_value(const char *head, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
		const char *v = l + 2;
		size_t n;

		if (strncasecmp(v, name, nl) || v[nl] != ':')
			continue;
		v += nl + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		n = strcspn(v, "\r\n");
		if (n >= cap)
			n = cap - 1;
		memcpy(out, v, n);
		out[n] = '\0';
		return;
	}
}

int cmd_connect(int argc, char **argv)
{
	const char *proxy = NULL, *host, *port;
	char phost[256], pport[16], req[600], deny[512];
	static char head[CONNECT_HEAD_MAX + 1];
	size_t n = 0;
	char *end = NULL;
	int i = 1, sock, status = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("Usage: hutch connect [--proxy HOST:PORT] HOST PORT\n\n"
			       "Inside a sandbox with --net proxy: tunnel stdin/stdout to HOST "
			       "PORT\n"
			       "through the sandbox's proxy (default: $HTTPS_PROXY), for ssh:\n"
			       "  ssh -o ProxyCommand='hutch connect %%h %%p' git@github.com\n");
			return 0;
		}
		if (!strcmp(argv[i], "--proxy") && i + 1 < argc)
			proxy = argv[++i];
		else if (!strncmp(argv[i], "--proxy=", 8))
			proxy = argv[i] + 8;
		else if (!strcmp(argv[i], "--"))
			break;
		else
			return cli_cmd_error("connect", "unknown option '%s'", argv[i]);
	}
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (argc - i != 2)
		return cli_cmd_error("connect",
				     "expected HOST PORT (hutch connect [--proxy HOST:PORT] "
				     "HOST PORT)");
	host = argv[i];
	port = argv[i + 1];
	if (!*host || strpbrk(host, " \r\n\t") || !*port ||
	    strspn(port, "0123456789") != strlen(port))
		return cli_cmd_error("connect", "invalid destination %s:%s", host, port);
	if (!proxy)
		proxy = getenv("HTTPS_PROXY");
	if (!proxy)
		proxy = getenv("https_proxy");
	if (!proxy)
		proxy = getenv("HTTP_PROXY");
	if (!proxy)
		proxy = getenv("http_proxy");
	if (!proxy)
		proxy = "127.0.0.1:3128";
	if (parse_proxy(proxy, phost, sizeof(phost), pport, sizeof(pport)) < 0)
		return cli_usage_error("connect: invalid proxy address %s", proxy);
	sock = dial(phost, pport);
	if (sock < 0) {
		fprintf(stderr, "%s: connect %s:%s: cannot reach the proxy at %s:%s: %s\n",
			cli_prog, host, port, phost, pport, strerror(errno));
		return 1;
	}
	snprintf(req, sizeof(req), "CONNECT %s%s%s:%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n\r\n",
		 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port,
		 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port);
	if (hutch_write_all(sock, req, strlen(req)) < 0) {
		fprintf(stderr, "%s: connect %s:%s: proxy write failed\n", cli_prog, host, port);
		return 1;
	}
	while (!end && n < CONNECT_HEAD_MAX) {
		ssize_t k = read(sock, head + n, CONNECT_HEAD_MAX - n);

		if (k <= 0)
			break;
		n += (size_t)k;
		head[n] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	if (!end || sscanf(head, "HTTP/1.%*d %d", &status) != 1) {
		fprintf(stderr, "%s: connect %s:%s: no valid answer from the proxy\n", cli_prog,
			host, port);
		return 1;
	}
	if (status != 200) {
		size_t line;
		const char *cause;

		*end = '\0';
		header_value(head, "X-Hutch-Deny", deny, sizeof(deny));
		if (!deny[0])
			header_value(head, "X-Hutch-Error", deny, sizeof(deny));
		/* the status line without the cause hutch's proxy adds to it (shown once, below) */
		line = strcspn(head, "\r\n");
		cause = deny[0] ? strstr(head, " (hutch: ") : NULL;
		if (cause && (size_t)(cause - head) < line)
			line = (size_t)(cause - head);
		fprintf(stderr, "%s: connect %s:%s: %.*s%s%s\n", cli_prog, host, port, (int)line,
			head, deny[0] ? ": " : "", deny);
		if (status == 403)
			fprintf(stderr, "%s: hint: allow it with --allow %s (or network.allow)\n",
				cli_prog, host);
		return 1;
	}
	end += 4;
	return relay(sock, end, (size_t)(head + n - end));
}
