/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The proxy engine driven by real clients (curl, openssl s_client, raw
 * sockets) against real local servers (python3 http.server, openssl
 * s_server, dnsmasq, small servers forked here). One test per behaviour of
 * docs/network.md and per proxy bypass of docs/THREAT_MODEL.md.
 *
 * Everything runs in a private network namespace (unshare(2); a user
 * namespace too when not root) with only `lo`, which also carries
 * 169.254.169.254 and 1.2.3.4 so "metadata" and "own address" servers exist
 * and can prove that the proxy never connected to them. Nothing can leave
 * this machine. The proxy runs in this process's event loop; each client
 * runs in a child process while the loop serves it.
 *
 * `test-proxy --serve [--allow P]... [--deny P]... [--allow-private]` runs the
 * proxy alone on 127.0.0.1 (ports printed on stdout) for bench/proxy.sh.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "policy/env.h"
#include "base/loop.h"
#include "policy/policy.h"
#include "net/proxy.h"
#include "net/relay.h"
#include "net/timer.h"
#include "tap.h"

/* ---- fixtures ------------------------------------------------------------------ */

static char tmpdir[64];
static pid_t servers[16];
static size_t n_servers;
static int http_port, tls_port, echo_port, count_port, sink_port, dns_port, closed_port;
static int hport, sport;       /* the proxy's ports */
static int hfd = -1, sfd = -1; /* the proxy's listening sockets (dup'ed per instance) */
static int meta_fd = -1, own_fd = -1, meta_port, own_port;
static int blackhole_fd = -1, blackhole_port;
static const char *skip_reason;

struct rec {
	int via;
	char host[256], address[64], rule[256], reason[256], sni[256];
	unsigned port, requests;
	bool allowed;
	int outcome;
	uint64_t up, down, dur;
};
static struct rec recs[256]; /* END records */
static size_t n_recs;
static struct rec opens[256]; /* OPEN records, and how many END records came before each */
static size_t n_opens, opens_before[256];
static char denied_summary[2048];

static void on_record(const struct hutch_proxy_record *r, void *data)
{
	struct rec *x;

	(void)data;
	if (r->phase == HUTCH_PROXY_OPEN) {
		if (n_opens == ARRAY_SIZE(opens))
			return;
		opens_before[n_opens] = n_recs;
		x = &opens[n_opens++];
	} else {
		if (n_recs == ARRAY_SIZE(recs))
			return;
		x = &recs[n_recs++];
	}
	memset(x, 0, sizeof(*x));
	x->via = r->via;
	snprintf(x->host, sizeof(x->host), "%s", r->host);
	snprintf(x->address, sizeof(x->address), "%s", r->address);
	snprintf(x->rule, sizeof(x->rule), "%s", r->rule ? r->rule : "");
	snprintf(x->reason, sizeof(x->reason), "%s", r->reason ? r->reason : "");
	snprintf(x->sni, sizeof(x->sni), "%s", r->sni ? r->sni : "");
	x->port = r->port;
	x->requests = r->requests;
	x->allowed = r->allowed;
	x->outcome = r->outcome;
	x->up = r->bytes_up;
	x->down = r->bytes_down;
	x->dur = r->duration_ms;
}

/* The first record for @host (and @allowed unless -1), or NULL. */
static const struct rec *find_rec(const char *host, int allowed)
{
	for (size_t i = 0; i < n_recs; i++)
		if (!strcmp(recs[i].host, host) && (allowed < 0 || recs[i].allowed == allowed))
			return &recs[i];
	return NULL;
}

static size_t count_recs(const char *host, int allowed)
{
	size_t n = 0;

	for (size_t i = 0; i < n_recs; i++)
		if (!strcmp(recs[i].host, host) && (allowed < 0 || recs[i].allowed == allowed))
			n++;
	return n;
}

static void dump_recs(void)
{
	for (size_t i = 0; i < n_recs; i++)
		diag("record: via=%d host=%s port=%u addr=%s %s rule=%s reason=%s sni=%s up=%llu "
		     "down=%llu req=%u",
		     recs[i].via, recs[i].host, recs[i].port, recs[i].address,
		     recs[i].allowed ? "allow" : "deny", recs[i].rule, recs[i].reason, recs[i].sni,
		     (unsigned long long)recs[i].up, (unsigned long long)recs[i].down,
		     recs[i].requests);
}

/* ---- small socket helpers (used by the clients in children) ------------------- */

static int tcp_listen(const char *addr, int backlog, int *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, addr, &sin.sin_addr);
	sin.sin_port = htons((uint16_t)*port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* The kernel's range for port 0 (ephemeral ports), from the namespace's sysctl. */
static void ephemeral_range(int *lo, int *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	if (!f || fscanf(f, "%d %d", lo, hi) != 2) {
		*lo = 32768; /* the kernel's default */
		*hi = 60999;
	}
	if (f)
		fclose(f);
}

/*
 * A port for a server started as a program (python3, openssl, dnsmasq), which
 * binds it some time later: one outside the ephemeral range, never handed out
 * twice. A port the kernel picked for a bind to port 0 would be free again
 * until the program binds it, and the next bind to port 0 here (a forked
 * server, the proxy's sockets) could take it first: the program then fails to
 * start and the test talks to a stranger.
 */
static int free_port(void)
{
	static int next = 20000;
	int lo, hi;

	ephemeral_range(&lo, &hi);
	for (; next < 65536; next++) {
		int port = next, fd;

		if (port >= lo && port <= hi)
			continue;
		fd = tcp_listen("127.0.0.1", 1, &port);
		if (fd >= 0) {
			close(fd);
			next++;
			return port;
		}
	}
	/* a range that leaves nothing outside it: the kernel's choice, as before */
	{
		int port = 0, fd = tcp_listen("127.0.0.1", 1, &port);

		if (fd >= 0)
			close(fd);
		return port;
	}
}

static int tcp_connect(const char *addr, int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, addr, &sin.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const void *b, size_t n)
{
	const char *p = b;

	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * Read until @stop appears (if not NULL), EOF, @cap bytes or @timeout_ms.
 * Returns bytes read; *eof tells whether the peer closed (or reset).
 */
static size_t recv_until(int fd, char *buf, size_t cap, const char *stop, int timeout_ms, bool *eof)
{
	size_t n = 0;

	*eof = false;
	while (n + 1 < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t k;

		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		k = recv(fd, buf + n, cap - 1 - n, 0);
		if (k <= 0) {
			*eof = true;
			break;
		}
		n += (size_t)k;
		buf[n] = '\0';
		if (stop && strstr(buf, stop))
			break;
	}
	buf[n] = '\0';
	return n;
}

/* CONNECT through the proxy; returns the socket after a 200, or -1 (status in *status). */
static int proxy_connect(const char *target, int *status)
{
	char req[512], resp[4096];
	bool eof;
	int fd = tcp_connect("127.0.0.1", hport);

	*status = 0;
	if (fd < 0)
		return -1;
	snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
	send_all(fd, req, strlen(req));
	recv_until(fd, resp, sizeof(resp), "\r\n\r\n", 5000, &eof);
	if (sscanf(resp, "HTTP/1.%*d %d", status) != 1)
		*status = -1;
	printf("CONNECT %s -> %d\n", target, *status);
	if (*status != 200) {
		printf("%s\n", resp);
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- a synthetic ClientHello ---------------------------------------------------- */

static size_t client_hello(uint8_t *out, const char *sni, bool ech)
{
	uint8_t hs[600];
	size_t n = 4, e0, nl = sni ? strlen(sni) : 0;

	hs[n++] = 3;
	hs[n++] = 3;
	memset(hs + n, 0x42, 32);
	n += 32;
	hs[n++] = 0;
	hs[n++] = 0;
	hs[n++] = 2;
	hs[n++] = 0x13;
	hs[n++] = 0x01;
	hs[n++] = 1;
	hs[n++] = 0;
	e0 = n;
	n += 2;
	if (sni) {
		hs[n++] = 0;
		hs[n++] = 0;
		hs[n++] = (uint8_t)((nl + 5) >> 8);
		hs[n++] = (uint8_t)(nl + 5);
		hs[n++] = (uint8_t)((nl + 3) >> 8);
		hs[n++] = (uint8_t)(nl + 3);
		hs[n++] = 0;
		hs[n++] = (uint8_t)(nl >> 8);
		hs[n++] = (uint8_t)nl;
		memcpy(hs + n, sni, nl);
		n += nl;
	}
	if (ech) {
		memcpy(hs + n, "\xfe\x0d\x00\x04\x00\x01\x02\x03", 8);
		n += 8;
	}
	hs[e0] = (uint8_t)((n - e0 - 2) >> 8);
	hs[e0 + 1] = (uint8_t)(n - e0 - 2);
	hs[0] = 1;
	hs[1] = 0;
	hs[2] = (uint8_t)((n - 4) >> 8);
	hs[3] = (uint8_t)(n - 4);
	out[0] = 22;
	out[1] = 3;
	out[2] = 1;
	out[3] = (uint8_t)(n >> 8);
	out[4] = (uint8_t)n;
	memcpy(out + 5, hs, n);
	return n + 5;
}

/* ---- servers forked here -------------------------------------------------------- */

/*
 * Every process this test forks dies with its parent and holds no inherited
 * stdio: a leftover must never keep prove's pipe open.
 */
static void child_setup(bool quiet)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	if (quiet) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
}

/* HTTP server echoing the request head (and body) as its response body. */
static void serve_echo_conn(int c)
{
	char buf[65536];
	size_t n = 0;

	for (;;) {
		char *end, resp[70000];
		size_t head, cl = 0, have;
		bool close_it;
		const char *p;
		int w;

		while (!(end = memmem(buf, n, "\r\n\r\n", 4))) {
			ssize_t k = recv(c, buf + n, sizeof(buf) - n, 0);
			if (k <= 0)
				return;
			n += (size_t)k;
		}
		head = (size_t)(end - buf) + 4;
		p = memmem(buf, head, "Content-Length: ", 16);
		if (p)
			cl = strtoul(p + 16, NULL, 10);
		if (memmem(buf, head, "Transfer-Encoding: chunked", 26)) {
			/* read until the last chunk */
			while (!memmem(buf + head, n - head, "0\r\n\r\n", 5)) {
				ssize_t k = recv(c, buf + n, sizeof(buf) - n, 0);
				if (k <= 0)
					return;
				n += (size_t)k;
			}
			cl = (size_t)((char *)memmem(buf + head, n - head, "0\r\n\r\n", 5) -
				      (buf + head)) +
			     5;
		}
		while (n < head + cl) {
			ssize_t k = recv(c, buf + n, sizeof(buf) - n, 0);
			if (k <= 0)
				return;
			n += (size_t)k;
		}
		have = head + cl;
		close_it = strncmp(buf + 4, "/close", 6) == 0;
		if (close_it)
			w = snprintf(resp, sizeof(resp),
				     "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
		else
			w = snprintf(resp, sizeof(resp),
				     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", have);
		memcpy(resp + w, buf, have);
		send_all(c, resp, (size_t)w + have);
		if (close_it)
			return;
		memmove(buf, buf + have, n - have);
		n -= have;
	}
}

/* Read to EOF, answer "got N", close: proves half-close works. */
static void serve_count_conn(int c)
{
	char buf[65536], msg[64];
	size_t total = 0;
	ssize_t k;

	while ((k = recv(c, buf, sizeof(buf), 0)) > 0)
		total += (size_t)k;
	snprintf(msg, sizeof(msg), "got %zu\n", total);
	send_all(c, msg, strlen(msg));
}

/* Accept and never read or answer; leave when the peer goes away. */
static void serve_sink_conn(int c)
{
	struct pollfd p = {.fd = c, .events = POLLRDHUP};

	while (poll(&p, 1, -1) >= 0 && !(p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		;
}

/*
 * A minimal DNS responder for when dnsmasq cannot run (as an unprivileged
 * user dnsmasq insists on changing groups, which a user namespace forbids):
 * the same names as the dnsmasq command line below, A and AAAA only.
 */
static const struct {
	const char *suffix; /* the name and its subdomains */
	int family;
	const char *addr; /* NULL: NXDOMAIN */
} dns_table[] = {
	{"ok.test", AF_INET, "127.0.0.1"},
	{"wild.test", AF_INET, "127.0.0.1"},
	{"loop.test", AF_INET, "127.0.0.1"},
	{"evil.test", AF_INET, "127.0.0.1"},
	{"meta.test", AF_INET, "169.254.169.254"},
	{"own.test", AF_INET, "1.2.3.4"},
	{"v6.test", AF_INET6, "::1"},
	{"nx.test", 0, NULL},
};

static bool dns_match(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return !strcasecmp(name, suffix) ||
	       (n > k + 1 && name[n - k - 1] == '.' && !strcasecmp(name + n - k, suffix));
}

static void dns_serve(int fd)
{
	for (;;) {
		uint8_t q[512], a[600];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		char name[256];
		size_t i = 12, w = 0, qend;
		int qtype, rcode = 5, ans = 0;

		if (n < 17)
			continue;
		while (i < (size_t)n && q[i] && w + q[i] + 1 < sizeof(name)) {
			if (w)
				name[w++] = '.';
			memcpy(name + w, q + i + 1, q[i]);
			w += q[i];
			i += q[i] + 1;
		}
		name[w] = '\0';
		qend = i + 5;
		if (qend > (size_t)n)
			continue;
		qtype = q[i + 1] << 8 | q[i + 2];
		memcpy(a, q, qend);
		w = qend;
		for (size_t k = 0; k < ARRAY_SIZE(dns_table); k++) {
			if (!dns_match(name, dns_table[k].suffix))
				continue;
			rcode = dns_table[k].addr ? 0 : 3;
			if (dns_table[k].addr &&
			    ((qtype == 1 && dns_table[k].family == AF_INET) ||
			     (qtype == 28 && dns_table[k].family == AF_INET6))) {
				int len = dns_table[k].family == AF_INET ? 4 : 16;

				memcpy(a + w, "\xc0\x0c", 2);
				a[w + 2] = 0;
				a[w + 3] = (uint8_t)qtype;
				memcpy(a + w + 4, "\x00\x01\x00\x00\x00\x3c\x00", 7);
				a[w + 11] = (uint8_t)len;
				inet_pton(dns_table[k].family, dns_table[k].addr, a + w + 12);
				w += 12 + (size_t)len;
				ans = 1;
			}
			break;
		}
		a[2] = 0x81;
		a[3] = (uint8_t)(0x80 | rcode);
		a[6] = 0;
		a[7] = (uint8_t)ans;
		memset(a + 8, 0, 4);
		sendto(fd, a, w, 0, (struct sockaddr *)&from, fl);
	}
}

static pid_t fork_server(int lfd, void (*fn)(int))
{
	pid_t pid = fork();

	if (pid == 0) {
		child_setup(true);
		signal(SIGCHLD, SIG_IGN);
		for (;;) {
			int c = accept(lfd, NULL, NULL);

			if (c < 0)
				continue;
			if (fork() == 0) {
				child_setup(false);
				fn(c);
				_exit(0);
			}
			close(c);
		}
	}
	close(lfd);
	return pid;
}

static pid_t spawn(char *const argv[], bool quiet)
{
	pid_t pid = fork();

	if (pid == 0) {
		child_setup(quiet);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int spawn_wait(char *const argv[])
{
	int st;
	pid_t pid = spawn(argv, true);

	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Wait for @port to accept; give up early if @pid (when > 0) exited. */
static bool wait_port_pid(int port, pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		int fd = tcp_connect("127.0.0.1", port);

		if (fd >= 0) {
			close(fd);
			return true;
		}
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		usleep(25000);
	}
	return false;
}

/* Ask the DNS server on @port for ok.test until it answers (or @pid exits). */
static bool wait_dns(int port, pid_t pid)
{
	static const uint8_t q[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
				   "\x02ok\x04test\x00\x00\x01\x00\x01";
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = false;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	for (int i = 0; fd >= 0 && i < 100 && !ok; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint8_t a[512];

		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			break;
		(void)sendto(fd, q, sizeof(q) - 1, 0, (struct sockaddr *)&sin, sizeof(sin));
		if (poll(&p, 1, 100) == 1 && recv(fd, a, sizeof(a), 0) >= 12 && a[0] == 0x12 &&
		    a[7] >= 1)
			ok = true;
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

static void stop_servers(void)
{
	for (size_t i = 0; i < n_servers; i++) {
		if (servers[i] <= 0)
			continue;
		kill(servers[i], SIGKILL);
		waitpid(servers[i], NULL, 0);
	}
	n_servers = 0;
	if (tmpdir[0]) {
		char *rm[] = {"rm", "-rf", tmpdir, NULL};
		spawn_wait(rm);
	}
}

static int write_file(const char *name, size_t size)
{
	char path[128];
	uint8_t block[65536];
	uint64_t x = 88172645463325252ull;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	for (size_t off = 0; off < size; off += sizeof(block)) {
		for (size_t i = 0; i < sizeof(block); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			block[i] = (uint8_t)x;
		}
		if (write(fd, block, size - off < sizeof(block) ? size - off : sizeof(block)) < 0)
			break;
	}
	close(fd);
	return 0;
}

/* Private network namespace with lo up (and a user namespace when not root). */
static int enter_netns(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	struct ifreq ifr = {0};
	int fd;

	if (uid != 0) {
		char map[64];

		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
			return -errno;
		fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			(void)!write(fd, "deny", 4);
			close(fd);
		}
		snprintf(map, sizeof(map), "0 %u 1", uid);
		fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, map, strlen(map)) < 0)
			return -errno;
		close(fd);
		snprintf(map, sizeof(map), "0 %u 1", gid);
		fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, map, strlen(map)) < 0)
			return -errno;
		close(fd);
	} else if (unshare(CLONE_NEWNET) < 0) {
		return -errno;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return -errno;
	close(fd);
	return 0;
}

static const char *ip_bin(void)
{
	return access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip";
}

static int start_servers(void)
{
	char port_s[16], cert[128], key[128], dport[32], accept_s[64];
	pid_t dns_pid = -1, http_pid, tls_pid;
	int fd, port;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hutch-proxy-test.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	write_file("file", 1 << 20);
	write_file("big", 32 << 20);

	/* addresses for the metadata and own-address servers */
	{
		char *a1[] = {
			(char *)ip_bin(), "addr", "add", "169.254.169.254/32", "dev", "lo", NULL};
		char *a2[] = {(char *)ip_bin(), "addr", "add", "1.2.3.4/32", "dev", "lo", NULL};

		if (spawn_wait(a1) != 0 || spawn_wait(a2) != 0) {
			skip_reason = "cannot add addresses to lo in the test namespace";
			return -1;
		}
	}
	meta_port = 80;
	meta_fd = tcp_listen("169.254.169.254", 16, &meta_port);
	own_port = 0;
	own_fd = tcp_listen("1.2.3.4", 16, &own_port);

	/* python http.server */
	http_port = free_port();
	snprintf(port_s, sizeof(port_s), "%d", http_port);
	{
		char *argv[] = {"python3",   "-m",	    "http.server", port_s, "--bind",
				"127.0.0.1", "--directory", tmpdir,	   NULL};
		http_pid = spawn(argv, true);
		servers[n_servers++] = http_pid;
	}
	/* TLS server with a throwaway certificate */
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	{
		char *argv[] = {"openssl",
				"req",
				"-x509",
				"-newkey",
				"ec",
				"-pkeyopt",
				"ec_paramgen_curve:prime256v1",
				"-nodes",
				"-subj",
				"/CN=ok.test",
				"-days",
				"1",
				"-keyout",
				key,
				"-out",
				cert,
				NULL};
		if (spawn_wait(argv) != 0) {
			skip_reason = "openssl cannot make a test certificate";
			return -1;
		}
	}
	tls_port = free_port();
	snprintf(accept_s, sizeof(accept_s), "127.0.0.1:%d", tls_port);
	{
		char *argv[] = {"openssl", "s_server", "-accept", accept_s, "-cert", cert,
				"-key",	   key,	       "-www",	  "-quiet", NULL};
		tls_pid = spawn(argv, true);
		servers[n_servers++] = tls_pid;
	}
	/* dnsmasq: the names the tests use */
	dns_port = free_port();
	snprintf(dport, sizeof(dport), "--port=%d", dns_port);
	{
		char *argv[] = {"dnsmasq",
				"--keep-in-foreground",
				dport,
				"--listen-address=127.0.0.1",
				"--bind-interfaces",
				"--no-resolv",
				"--no-hosts",
				"--user=root",
				"--group=root",
				"--pid-file=",
				"--log-facility=/dev/null",
				"--address=/ok.test/127.0.0.1",
				"--address=/wild.test/127.0.0.1",
				"--address=/loop.test/127.0.0.1",
				"--address=/evil.test/127.0.0.1",
				"--address=/meta.test/169.254.169.254",
				"--address=/own.test/1.2.3.4",
				"--address=/v6.test/::1",
				"--address=/nx.test/",
				NULL};
		dns_pid = spawn(argv, true);
		servers[n_servers++] = dns_pid;
	}
	/* small servers */
	port = 0;
	fd = tcp_listen("127.0.0.1", 64, &port);
	echo_port = port;
	servers[n_servers++] = fork_server(fd, serve_echo_conn);
	port = 0;
	fd = tcp_listen("127.0.0.1", 64, &port);
	count_port = port;
	servers[n_servers++] = fork_server(fd, serve_count_conn);
	port = 0;
	fd = tcp_listen("127.0.0.1", 64, &port);
	sink_port = port;
	servers[n_servers++] = fork_server(fd, serve_sink_conn);
	closed_port = free_port();
	/* a DNS server that never answers */
	{
		struct sockaddr_in sin = {.sin_family = AF_INET};
		socklen_t sl = sizeof(sin);

		blackhole_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
		if (blackhole_fd < 0 ||
		    bind(blackhole_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
		    getsockname(blackhole_fd, (struct sockaddr *)&sin, &sl) < 0) {
			skip_reason = "cannot bind a UDP socket";
			return -1;
		}
		blackhole_port = ntohs(sin.sin_port);
	}
	/* the proxy's listening sockets */
	hport = sport = 0;
	hfd = tcp_listen("127.0.0.1", 1024, &hport);
	sfd = tcp_listen("127.0.0.1", 1024, &sport);
	if (!wait_port_pid(http_port, http_pid) || !wait_port_pid(tls_port, tls_pid)) {
		skip_reason = "local servers did not start";
		return -1;
	}
	/* dnsmasq readiness: a TCP query port also opens */
	if (!wait_dns(dns_port, dns_pid)) {
		struct sockaddr_in sin = {.sin_family = AF_INET,
					  .sin_port = htons((uint16_t)dns_port)};
		int ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		pid_t pid;

		diag("dnsmasq did not answer here: using the test's own DNS responder");
		if (waitpid(dns_pid, NULL, WNOHANG) == 0) {
			/* still running but not answering: stop it, it holds the port */
			kill(dns_pid, SIGKILL);
			waitpid(dns_pid, NULL, 0);
		}
		/* reaped: never signal that pid again */
		for (size_t i = 0; i < n_servers; i++)
			if (servers[i] == dns_pid)
				servers[i] = 0;
		inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
		if (ufd < 0 || bind(ufd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			skip_reason = "no DNS server for the tests";
			return -1;
		}
		pid = fork();
		if (pid == 0) {
			child_setup(true);
			dns_serve(ufd);
			_exit(0);
		}
		close(ufd);
		servers[n_servers++] = pid;
	}
	return 0;
}

/* ---- running the proxy with a client ---------------------------------------------- */

struct cfg {
	const char *const *allow; /* NULL-terminated */
	const char *const *deny;
	bool allow_private;
	struct hutch_proxy_opts opts;
	uint64_t memory; /* the policy's limits.memory (--memory), 0 = unset */
};

struct run {
	char out[1 << 16];
	size_t len;
	int status; /* exit status of the child, -1 if killed */
	uint64_t ms;
	struct hutch_proxy_stats stats;
};

struct runner {
	struct hutch_loop *loop;
	struct hutch_proxy *px;
	struct run *r;
	pid_t pid;
	int pidfd, outfd, tick;
	bool done, out_eof;
	uint64_t start, deadline, settle;
};

static int on_out(struct hutch_loop *l, int fd, uint32_t ev, void *data)
{
	struct runner *rn = data;
	ssize_t k = read(fd, rn->r->out + rn->r->len, sizeof(rn->r->out) - 1 - rn->r->len);

	(void)ev;
	if (k > 0) {
		rn->r->len += (size_t)k;
		rn->r->out[rn->r->len] = '\0';
	} else if (k == 0 || (errno != EAGAIN && errno != EINTR) ||
		   rn->r->len + 1 >= sizeof(rn->r->out)) {
		hutch_loop_del(l, fd);
		rn->out_eof = true;
	}
	return 0;
}

static int on_pidfd(struct hutch_loop *l, int fd, uint32_t ev, void *data)
{
	struct runner *rn = data;
	int st;

	(void)ev;
	hutch_loop_del(l, fd);
	if (waitpid(rn->pid, &st, 0) == rn->pid)
		rn->r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	rn->done = true;
	rn->settle = hutch_now_ms() + 3000;
	return 0;
}

static int on_tick(struct hutch_loop *l, int fd, uint32_t ev, void *data)
{
	struct runner *rn = data;
	struct hutch_proxy_stats st;
	uint64_t ticks, now = hutch_now_ms();

	(void)ev;
	(void)!read(fd, &ticks, sizeof(ticks));
	if (!rn->done && now > rn->deadline) {
		kill(rn->pid, SIGKILL);
		diag("client timed out");
	}
	hutch_proxy_get_stats(rn->px, &st);
	if (rn->done && rn->out_eof && (st.active == 0 || now > rn->settle))
		hutch_loop_quit(l, 0);
	return 0;
}

/* Run @fn in a child (stdout/stderr captured) while the proxy serves it. */
static int px_run(const struct cfg *cfg, void (*fn)(void *), void *arg, struct run *r)
{
	static struct hutch_rule av[64], dv[64];
	struct hutch_policy pol;
	struct hutch_proxy_hooks hooks = {.on_record = on_record};
	struct hutch_proxy_opts opts = cfg->opts;
	struct runner rn = {0};
	struct itimerspec its = {{0, 10000000}, {0, 10000000}};
	hutch_error err;
	char servers_s[64];
	int p[2], rc;

	memset(r, 0, sizeof(*r));
	memset(&pol, 0, sizeof(pol));
	for (size_t i = 0; cfg->allow && cfg->allow[i]; i++) {
		av[i] = (struct hutch_rule){.value = (char *)cfg->allow[i], .origin = "test"};
		pol.net_allow.n = i + 1;
	}
	for (size_t i = 0; cfg->deny && cfg->deny[i]; i++) {
		dv[i] = (struct hutch_rule){.value = (char *)cfg->deny[i], .origin = "test"};
		pol.net_deny.n = i + 1;
	}
	pol.net_allow.v = av;
	pol.net_deny.v = dv;
	pol.allow_private = cfg->allow_private;
	pol.limits.memory = cfg->memory;
	snprintf(servers_s, sizeof(servers_s), "127.0.0.1:%d", dns_port);
	if (!opts.dns_servers)
		opts.dns_servers = servers_s;
	n_recs = 0;
	n_opens = 0;
	rn.r = r;
	if (hutch_loop_new(&rn.loop) < 0)
		return -1;
	rc = hutch_proxy_new_opts(rn.loop, &pol, dup(hfd), dup(sfd), &hooks, &opts, &rn.px, &err);
	if (rc < 0) {
		diag("proxy: %s", err.msg);
		hutch_loop_free(rn.loop);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	rn.start = hutch_now_ms();
	rn.pid = fork();
	if (rn.pid == 0) {
		child_setup(false);
		dup2(p[1], 1);
		dup2(p[1], 2);
		syscall(SYS_close_range, 3, ~0U, 0);
		setvbuf(stdout, NULL, _IOLBF, 0);
		fn(arg);
		fflush(stdout);
		_exit(0);
	}
	close(p[1]);
	rn.outfd = p[0];
	rn.pidfd = (int)syscall(SYS_pidfd_open, rn.pid, 0);
	rn.tick = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	timerfd_settime(rn.tick, 0, &its, NULL);
	rn.deadline = rn.start + 60000;
	hutch_loop_add(rn.loop, rn.outfd, EPOLLIN, on_out, &rn);
	hutch_loop_add(rn.loop, rn.pidfd, EPOLLIN, on_pidfd, &rn);
	hutch_loop_add(rn.loop, rn.tick, EPOLLIN, on_tick, &rn);
	hutch_loop_run(rn.loop);
	r->ms = hutch_now_ms() - rn.start;
	if (getenv("TEST_PROXY_TIMING"))
		diag("run took %llu ms", (unsigned long long)r->ms);
	hutch_proxy_get_stats(rn.px, &r->stats);
	hutch_proxy_denied_summary(rn.px, denied_summary, sizeof(denied_summary));
	hutch_loop_del(rn.loop, rn.tick);
	hutch_loop_del(rn.loop, rn.outfd);
	close(rn.tick);
	close(rn.pidfd);
	close(rn.outfd);
	hutch_proxy_free(rn.px);
	hutch_loop_free(rn.loop);
	return 0;
}

/* A child running one command. */
static void exec_child(void *arg)
{
	char **argv = arg;
	char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", NULL};

	execve(argv[0][0] == '/' ? argv[0] : "/usr/bin/curl", argv, envp);
	printf("exec %s failed\n", argv[0]);
	_exit(127);
}

static char proxy_url[64], socks_arg[64];

/* curl through the HTTP proxy with @n URLs: headers to stdout, bodies discarded, codes. */
static void curl_urls(const struct cfg *cfg, struct run *r, const char *const *extra,
		      const char *const *urls)
{
	char *argv[64];
	size_t n = 0;

	argv[n++] = "/usr/bin/curl";
	argv[n++] = "-sS";
	argv[n++] = "--max-time";
	argv[n++] = "20";
	argv[n++] = "-x";
	argv[n++] = proxy_url;
	argv[n++] = "-D";
	argv[n++] = "-";
	argv[n++] = "-w";
	argv[n++] = "CODE=%{http_code}\n";
	for (size_t i = 0; extra && extra[i]; i++)
		argv[n++] = (char *)extra[i];
	for (size_t i = 0; urls[i]; i++) {
		argv[n++] = "-o";
		argv[n++] = "/dev/null";
		argv[n++] = (char *)urls[i];
	}
	argv[n] = NULL;
	px_run(cfg, exec_child, argv, r);
}

/* ---- the tests -------------------------------------------------------------------- */

static const char *const ALLOW_BASIC[] = {"ok.test", "*.wild.test", "127.0.0.1", NULL};
static const char *const DENY_BASIC[] = {"deny.wild.test", NULL};
static const struct cfg BASIC = {ALLOW_BASIC, DENY_BASIC, false, {0}, 0};

static char u1[128], u2[128], u3[128], u4[128], u5[128], u6[128];

/* names, wildcards, deny beats allow, suffix/prefix tricks, empty allowlist */
static void test_policy(void)
{
	struct run r;
	const char *urls[8];

	snprintf(u1, sizeof(u1), "http://ok.test:%d/a", echo_port);
	snprintf(u2, sizeof(u2), "http://x.wild.test:%d/b", echo_port);
	snprintf(u3, sizeof(u3), "http://deny.wild.test:%d/c", echo_port);
	snprintf(u4, sizeof(u4), "http://wild.test:%d/d", echo_port);
	snprintf(u5, sizeof(u5), "http://ok.test.evil.test:%d/e", echo_port);
	snprintf(u6, sizeof(u6), "http://evilok.test:%d/f", echo_port);
	urls[0] = u1, urls[1] = u2, urls[2] = u3, urls[3] = u4, urls[4] = u5, urls[5] = u6;
	urls[6] = NULL;
	curl_urls(&BASIC, &r, NULL, urls);
	like(r.out, "CODE=200\n", "allowed name served");
	{
		const char *p = r.out;
		int codes[6], n = 0;

		while (n < 6 && (p = strstr(p, "CODE="))) {
			codes[n++] = atoi(p + 5);
			p += 5;
		}
		ok(n == 6 && codes[0] == 200 && codes[1] == 200 && codes[2] == 403 &&
			   codes[3] == 403 && codes[4] == 403 && codes[5] == 403,
		   "ok/wildcard allowed; deny rule, apex, suffix and prefix tricks refused");
	}
	like(r.out, "X-Hutch-Deny: deny.wild.test (test)", "deny names the rule and its origin");
	like(r.out, "X-Hutch-Deny: not in allowlist", "unlisted host: reason");
	{
		const struct rec *a = find_rec("ok.test", 1), *d = find_rec("deny.wild.test", 0);

		ok(a && !strcmp(a->rule, "ok.test") && !strcmp(a->address, "127.0.0.1") &&
			   a->down > 0 && a->requests >= 1,
		   "allow record: rule, checked address, bytes");
		if (!a || a->down == 0)
			dump_recs();
		ok(d && !strcmp(d->rule, "deny.wild.test"), "deny record names the deny rule");
		ok(find_rec("ok.test.evil.test", 0) && find_rec("evilok.test", 0) &&
			   find_rec("wild.test", 0),
		   "suffix, prefix and apex denials recorded");
	}
	like(denied_summary, "deny.wild.test:", "denied hosts summary");
	like(denied_summary, "evilok.test:", "denied hosts summary lists every host");
	{
		static const char *const none[] = {NULL};
		struct cfg empty = {none, NULL, false, {0}, 0};

		urls[1] = NULL;
		curl_urls(&empty, &r, NULL, urls);
		like(r.out, "CODE=403", "empty allowlist allows nothing");
		like(r.out, "X-Hutch-Deny: allowlist is empty", "reason says the list is empty");
	}
}

struct raw_req {
	const char *data;
	size_t len;
	int port; /* 0: HTTP proxy port */
};

/* Send one raw request, print the response and whether the proxy closed. */
static void raw_child(void *arg)
{
	const struct raw_req *q = arg;
	char buf[8192];
	bool eof;
	int fd = tcp_connect("127.0.0.1", q->port ? q->port : hport);

	if (fd < 0) {
		printf("connect failed\n");
		return;
	}
	send_all(fd, q->data, q->len ? q->len : strlen(q->data));
	recv_until(fd, buf, sizeof(buf), NULL, 1000, &eof);
	printf("%s\n%s\n", buf, eof ? "EOF" : "OPEN");
}

static void raw(const struct cfg *cfg, const char *data, struct run *r)
{
	struct raw_req q = {data, 0, 0};

	px_run(cfg, raw_child, &q, r);
}

/* items 3-4: canonical names, literals in every notation */
static void test_literals(void)
{
	static const char *const names_only[] = {"ok.test", NULL};
	struct cfg c = {names_only, NULL, false, {0}, 0};
	const char *forms[] = {"2130706433",	     "0177.0.0.1", "0x7f.1", "127.1",
			       "[::ffff:127.0.0.1]", "0x7F000001", "[::1]",  "127.0.0.1."};
	char req[256];
	struct run r;

	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		snprintf(req, sizeof(req), "CONNECT %s:%d HTTP/1.1\r\n\r\n", forms[i], echo_port);
		raw(&c, req, &r);
		ok(strstr(r.out, "HTTP/1.1 403") && n_recs == 1 && !recs[0].allowed &&
			   (!strcmp(recs[0].host, "127.0.0.1") || !strcmp(recs[0].host, "::1")),
		   "CONNECT %s is the address %s, refused", forms[i], n_recs ? recs[0].host : "?");
	}
	snprintf(req, sizeof(req),
		 "GET http://2130706433:%d/ HTTP/1.1\r\nHost: 2130706433:%d\r\n\r\n", echo_port,
		 echo_port);
	raw(&c, req, &r);
	like(r.out, "HTTP/1.1 403", "absolute-form decimal literal refused");
	/* the same literal is the same destination when its address is allowed */
	snprintf(req, sizeof(req), "CONNECT 0x7f.1:%d HTTP/1.1\r\n\r\n", echo_port);
	raw(&BASIC, req, &r);
	ok(strstr(r.out, "HTTP/1.1 200") && n_recs == 1 && recs[0].allowed &&
		   !strcmp(recs[0].rule, "127.0.0.1"),
	   "hex literal of an allowed address allowed by that rule");
	snprintf(req, sizeof(req), "CONNECT OK.Test.:%d HTTP/1.1\r\nHost: ok.test:%d\r\n\r\n",
		 echo_port, echo_port);
	raw(&BASIC, req, &r);
	ok(strstr(r.out, "HTTP/1.1 200") && find_rec("ok.test", 1), "canonicalised name allowed");
	{
		static const char nul[] = "CONNECT ok.test\0.evil.test:443 HTTP/1.1\r\n\r\n";
		struct raw_req q = {nul, sizeof(nul) - 1, 0};

		px_run(&BASIC, raw_child, &q, &r);
		ok(strstr(r.out, "HTTP/1.1 400") && n_recs == 1 && !recs[0].allowed,
		   "NUL in a CONNECT host: 400, recorded");
	}
}

static bool nothing_accepted(int lfd)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};

	if (poll(&p, 1, 0) != 0) {
		int c = accept(lfd, NULL, NULL);

		if (c >= 0)
			close(c);
		return false;
	}
	return true;
}

/* resolved addresses are checked; no connection to refused ones */
static void test_addresses(void)
{
	static const char *const allow[] = {"ok.test",	 "meta.test", "own.test",
					    "loop.test", "v6.test",   NULL};
	struct cfg c = {allow, NULL, false, {0}, 0};
	struct cfg priv = {allow, NULL, true, {0}, 0};
	char req[256];
	struct run r;

	snprintf(req, sizeof(req), "CONNECT 169.254.169.254:%d HTTP/1.1\r\n\r\n", meta_port);
	raw(&c, req, &r);
	ok(strstr(r.out, "HTTP/1.1 403") && nothing_accepted(meta_fd),
	   "169.254.169.254 literal refused, never contacted");
	snprintf(req, sizeof(req), "CONNECT meta.test:%d HTTP/1.1\r\n\r\n", meta_port);
	raw(&c, req, &r);
	ok(strstr(r.out, "HTTP/1.1 403") && strstr(r.out, "link-local") &&
		   nothing_accepted(meta_fd),
	   "name resolving to 169.254.169.254 refused, never contacted");
	ok(n_recs == 1 && !recs[0].allowed && !strcmp(recs[0].address, "169.254.169.254"),
	   "record names the refused address");
	snprintf(req, sizeof(req), "CONNECT loop.test:%d HTTP/1.1\r\n\r\n", echo_port);
	raw(&c, req, &r);
	ok(strstr(r.out, "HTTP/1.1 403") && strstr(r.out, "X-Hutch-Deny: loopback"),
	   "name resolving to loopback refused while allowPrivate is false");
	raw(&priv, req, &r);
	ok(strstr(r.out, "HTTP/1.1 200") != NULL, "the same name allowed with allowPrivate");
	snprintf(req, sizeof(req), "CONNECT v6.test:%d HTTP/1.1\r\n\r\n", echo_port);
	raw(&c, req, &r);
	ok(strstr(r.out, "HTTP/1.1 403") && strstr(r.out, "loopback"),
	   "name resolving to ::1 refused");
	snprintf(req, sizeof(req), "CONNECT own.test:%d HTTP/1.1\r\n\r\n", own_port);
	raw(&c, req, &r);
	ok(strstr(r.out, "HTTP/1.1 403") && strstr(r.out, "own address") &&
		   nothing_accepted(own_fd),
	   "name resolving to one of the host's own addresses refused, never contacted");
	snprintf(req, sizeof(req), "CONNECT 1.2.3.4:%d HTTP/1.1\r\n\r\n", own_port);
	{
		static const char *const allow_own[] = {"1.2.3.0/24", NULL};
		struct cfg co = {allow_own, NULL, false, {0}, 0};

		raw(&co, req, &r);
		ok(strstr(r.out, "HTTP/1.1 403") && nothing_accepted(own_fd),
		   "own address refused even inside an allowed CIDR");
	}
}

/* DNS only here, asynchronous; unresolvable is 502 */
static void async_child(void *arg)
{
	char slow[128], fast[128];
	uint64_t t0;
	pid_t a;
	int st;

	(void)arg;
	snprintf(slow, sizeof(slow), "http://ok.test:%d/slow", echo_port);
	snprintf(fast, sizeof(fast), "http://127.0.0.1:%d/fast", echo_port);
	a = fork();
	if (a == 0) {
		child_setup(false);
		char *argv[] = {"/usr/bin/curl",       "-s", "-o",	"/dev/null", "-w",
				"SLOW=%{http_code}\n", "-x", proxy_url, slow,	     NULL};
		execv(argv[0], argv);
		_exit(127);
	}
	usleep(200000);
	t0 = hutch_now_ms();
	{
		pid_t b = fork();

		if (b == 0) {
			child_setup(false);
			char *argv[] = {"/usr/bin/curl",       "-s", "-o",	"/dev/null", "-w",
					"FAST=%{http_code}\n", "-x", proxy_url, fast,	     NULL};
			execv(argv[0], argv);
			_exit(127);
		}
		waitpid(b, &st, 0);
	}
	printf("FAST_MS=%llu\n", (unsigned long long)(hutch_now_ms() - t0));
	waitpid(a, &st, 0);
	printf("SLOW_MS=%llu\n", (unsigned long long)(hutch_now_ms() - t0));
}

static void test_dns(void)
{
	struct run r;
	const char *urls[2] = {u1, NULL};
	char bh[64];

	snprintf(u1, sizeof(u1), "http://nx.test:%d/", echo_port);
	{
		static const char *const allow[] = {"nx.test", NULL};
		struct cfg c = {allow, NULL, false, {0}, 0};

		curl_urls(&c, &r, NULL, urls);
		ok(strstr(r.out, "CODE=502") && find_rec("nx.test", 1) &&
			   strstr(find_rec("nx.test", 1)->reason, "cannot resolve"),
		   "unresolvable name: 502, recorded");
		ok(find_rec("nx.test", 1) &&
			   find_rec("nx.test", 1)->outcome == HUTCH_PROXY_FAILED && n_opens == 0 &&
			   r.stats.failed == 1,
		   "unresolvable name: recorded as allowed but failed, never opened");
	}
	snprintf(bh, sizeof(bh), "127.0.0.1:%d", blackhole_port);
	{
		struct cfg c = BASIC;
		unsigned long fast = 0, slow = 0;
		const char *p;

		c.opts.dns_servers = bh;
		c.opts.dns_timeout_ms = 2000;
		px_run(&c, async_child, NULL, &r);
		p = strstr(r.out, "FAST_MS=");
		if (p)
			fast = strtoul(p + 8, NULL, 10);
		p = strstr(r.out, "SLOW_MS=");
		if (p)
			slow = strtoul(p + 8, NULL, 10);
		ok(strstr(r.out, "FAST=200") && fast < 1000,
		   "a connection is served while another lookup hangs (%lu ms)", fast);
		ok(strstr(r.out, "SLOW=502") && slow >= 1000,
		   "the hanging lookup ends in 502 after the DNS timeout (%lu ms)", slow);
	}
}

/* CONNECT, keep-alive absolute-form, rewriting, 403/502/504, SOCKS5 */
static void test_http(void)
{
	struct run r;
	const char *urls[8];
	char url[128];

	/* keep-alive: each request checked anew, upstream reused for the same host */
	snprintf(u1, sizeof(u1), "http://ok.test:%d/1", echo_port);
	snprintf(u2, sizeof(u2), "http://ok.test:%d/2", echo_port);
	snprintf(u3, sizeof(u3), "http://x.wild.test:%d/3", echo_port);
	snprintf(u4, sizeof(u4), "http://deny.wild.test:%d/4", echo_port);
	urls[0] = u1, urls[1] = u2, urls[2] = u3, urls[3] = u4, urls[4] = NULL;
	curl_urls(&BASIC, &r, NULL, urls);
	{
		const char *p = r.out;
		int codes[4], n = 0;

		while (n < 4 && (p = strstr(p, "CODE="))) {
			codes[n++] = atoi(p + 5);
			p += 5;
		}
		ok(n == 4 && codes[0] == 200 && codes[1] == 200 && codes[2] == 200 &&
			   codes[3] == 403,
		   "kept-alive requests each checked (200 200 200 403)");
	}
	ok(count_recs("ok.test", 1) == 1 && find_rec("ok.test", 1)->requests == 2,
	   "two requests to one host share one upstream (one record, 2 requests)");
	ok(find_rec("x.wild.test", 1) && find_rec("deny.wild.test", 0),
	   "switching host on a kept-alive connection is a new checked destination");
	is_int(r.stats.accepted, 1, "all four requests came on one kept-alive client connection");

	/* rewriting and header stripping, seen by the echo server */
	snprintf(url, sizeof(url), "http://ok.test:%d/x?y=1", echo_port);
	{
		char *argv[] = {
			"/usr/bin/curl",  "-sS", "-x", proxy_url, "--proxy-user", "u:secret", "-H",
			"Proxy-Foo: bar", url,	 NULL};

		px_run(&BASIC, exec_child, argv, &r);
		ok(strstr(r.out, "GET /x?y=1 HTTP/1.1\r\n") != NULL,
		   "absolute-form rewritten to origin-form");
		ok(!strstr(r.out, "Proxy-") && !strstr(r.out, "secret") &&
			   !strstr(r.out, "dTpzZWNyZXQ"),
		   "Proxy-* headers and credentials stripped");
	}
	/* request bodies keep framing on a kept-alive connection */
	snprintf(u1, sizeof(u1), "http://ok.test:%d/post", echo_port);
	{
		char *argv[] = {"/usr/bin/curl",
				"-sS",
				"-x",
				proxy_url,
				"-d",
				"hello=world",
				u1,
				"--next",
				"-x",
				proxy_url,
				"-H",
				"Transfer-Encoding: chunked",
				"-d",
				"chunky",
				u1,
				"--next",
				"-x",
				proxy_url,
				u1,
				NULL};

		px_run(&BASIC, exec_child, argv, &r);
		ok(strstr(r.out, "\r\n\r\nhello=world") &&
			   strstr(r.out, "6\r\nchunky\r\n0\r\n\r\n") && find_rec("ok.test", 1) &&
			   find_rec("ok.test", 1)->requests == 3,
		   "Content-Length and chunked bodies forwarded, then the next request");
	}
	/* Host must agree with the target */
	{
		char req[256];

		snprintf(req, sizeof(req),
			 "GET http://ok.test:%d/ HTTP/1.1\r\nHost: evil.test:%d\r\n\r\n", echo_port,
			 echo_port);
		raw(&BASIC, req, &r);
		ok(strstr(r.out, "HTTP/1.1 400") && strstr(r.out, "does not match"),
		   "Host header disagreeing with the target: 400");
	}
	/* 502 connection refused, 504 upstream silent */
	snprintf(u1, sizeof(u1), "http://127.0.0.1:%d/", closed_port);
	urls[0] = u1, urls[1] = NULL;
	curl_urls(&BASIC, &r, NULL, urls);
	ok(strstr(r.out, "CODE=502") && find_rec("127.0.0.1", 1) &&
		   strstr(find_rec("127.0.0.1", 1)->reason, "refused"),
	   "connection refused: 502");
	ok(find_rec("127.0.0.1", 1) && find_rec("127.0.0.1", 1)->outcome == HUTCH_PROXY_FAILED &&
		   n_opens == 0,
	   "connection refused: outcome failed, no open record");
	{
		char resp[256], req[256];

		snprintf(req, sizeof(req),
			 "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", closed_port,
			 closed_port);
		raw(&BASIC, req, &r);
		snprintf(resp, sizeof(resp),
			 "HTTP/1.1 502 Bad Gateway (hutch: 127.0.0.1:%d: connect to", closed_port);
		ok(strstr(r.out, resp) && strstr(r.out, "\r\nX-Hutch-Error: 127.0.0.1:") &&
			   strstr(r.out, "Connection refused"),
		   "CONNECT to a closed port: the cause in the status line and X-Hutch-Error");
	}
	snprintf(u1, sizeof(u1), "http://127.0.0.1:%d/", sink_port);
	{
		struct cfg c = BASIC;

		c.opts.idle_timeout_ms = 1000;
		curl_urls(&c, &r, NULL, urls);
		ok(strstr(r.out, "CODE=504") != NULL, "upstream that never answers: 504");
	}
	/* 403 body */
	snprintf(u1, sizeof(u1), "http://not.test:%d/", echo_port);
	{
		char *argv[] = {"/usr/bin/curl", "-sS", "-i", "-x", proxy_url, u1, NULL};

		px_run(&BASIC, exec_child, argv, &r);
		ok(strstr(r.out, "HTTP/1.1 403 Forbidden") &&
			   strstr(r.out, "hutch: 403 Forbidden: connection to not.test:") &&
			   strstr(r.out, "Content-Type: text/plain"),
		   "403 has a body saying what was refused");
	}
	/* python http.server through the proxy: a 1 MiB file intact */
	{
		char out[128], path[128];

		snprintf(url, sizeof(url), "http://ok.test:%d/file", http_port);
		snprintf(out, sizeof(out), "%s/got-file", tmpdir);
		{
			char *argv[] = {
				"/usr/bin/curl", "-sS", "-x", proxy_url, "-o", out, url, NULL};
			px_run(&BASIC, exec_child, argv, &r);
		}
		snprintf(path, sizeof(path), "%s/file", tmpdir);
		{
			char *cmp[] = {"cmp", path, out, NULL};
			ok(spawn_wait(cmp) == 0, "file downloaded through the proxy is intact");
		}
	}
}

static void test_tls(void)
{
	struct run r;
	char url[128], target[128];

	/* a real TLS tunnel with a matching SNI */
	snprintf(url, sizeof(url), "https://ok.test:%d/", tls_port);
	{
		char *argv[] = {"/usr/bin/curl",
				"-sS",
				"-k",
				"--proxytunnel",
				"-x",
				proxy_url,
				"-o",
				"/dev/null",
				"-w",
				"CODE=%{http_code}\n",
				url,
				NULL};

		px_run(&BASIC, exec_child, argv, &r);
		ok(strstr(r.out, "CODE=200") && find_rec("ok.test", 1) &&
			   !strcmp(find_rec("ok.test", 1)->sni, "ok.test"),
		   "TLS through CONNECT with matching SNI; SNI recorded");
		ok(find_rec("ok.test", 1) && find_rec("ok.test", 1)->down > 0 &&
			   find_rec("ok.test", 1)->up > 0,
		   "tunnel bytes counted both ways");
	}
	/* domain fronting with a real client: CONNECT ok.test, SNI evil.test */
	snprintf(target, sizeof(target), "ok.test:%d", tls_port);
	{
		char proxy_hp[64];
		char *argv[] = {"/usr/bin/openssl", "s_client",	 "-proxy",
				proxy_hp,	    "-connect",	 target,
				"-servername",	    "evil.test", NULL};

		snprintf(proxy_hp, sizeof(proxy_hp), "127.0.0.1:%d", hport);
		px_run(&BASIC, exec_child, argv, &r);
		ok(find_rec("ok.test", 0) &&
			   strstr(find_rec("ok.test", 0)->reason, "does not match") &&
			   !strcmp(find_rec("ok.test", 0)->sni, "evil.test"),
		   "openssl s_client fronting (SNI evil.test via ok.test) refused and recorded");
		like(denied_summary, "(TLS ClientHello refused)", "summary marks the TLS refusal");
	}
}

struct hello_req {
	const char *target;
	const char *sni;
	bool ech;
};

static void hello_child(void *arg)
{
	const struct hello_req *h = arg;
	uint8_t hello[700];
	char buf[512];
	bool eof;
	int st, fd = proxy_connect(h->target, &st);
	size_t n;

	if (fd < 0)
		return;
	n = client_hello(hello, h->sni, h->ech);
	send_all(fd, hello, n);
	recv_until(fd, buf, sizeof(buf), NULL, 3000, &eof);
	printf("%s\n", eof ? "CLOSED" : "OPEN");
}

static void test_sni(void)
{
	char target[64], iptarget[64];
	struct hello_req h = {target, "evil.test", false};
	struct run r;

	snprintf(target, sizeof(target), "ok.test:%d", tls_port);
	snprintf(iptarget, sizeof(iptarget), "127.0.0.1:%d", tls_port);
	px_run(&BASIC, hello_child, &h, &r);
	ok(strstr(r.out, "CLOSED") && find_rec("ok.test", 0) &&
		   strstr(find_rec("ok.test", 0)->reason, "domain fronting") &&
		   !find_rec("ok.test", 0)->rule[0],
	   "SNI mismatch closes the tunnel, recorded as denial");
	h.sni = NULL;
	px_run(&BASIC, hello_child, &h, &r);
	ok(strstr(r.out, "CLOSED") && find_rec("ok.test", 0) &&
		   strstr(find_rec("ok.test", 0)->reason, "without server name"),
	   "missing SNI for a name-allowed host refused");
	h.sni = "ok.test";
	h.ech = true;
	px_run(&BASIC, hello_child, &h, &r);
	ok(strstr(r.out, "CLOSED") && find_rec("ok.test", 0) &&
		   strstr(find_rec("ok.test", 0)->reason, "ECH"),
	   "encrypted ClientHello refused");
	h.sni = "OK.test.";
	h.ech = false;
	px_run(&BASIC, hello_child, &h, &r);
	ok(find_rec("ok.test", 1) != NULL, "SNI compared after canonicalisation");
	h.target = iptarget;
	h.sni = "evil.test";
	px_run(&BASIC, hello_child, &h, &r);
	ok(find_rec("127.0.0.1", 1) != NULL,
	   "tunnel to an allowed address: no name to compare the SNI with");
}

/* SOCKS5 */
struct socks_req {
	const uint8_t *msg;
	size_t len;
};

static void socks_child(void *arg)
{
	const struct socks_req *q = arg;
	uint8_t buf[64];
	int fd = tcp_connect("127.0.0.1", sport);
	ssize_t n;

	if (fd < 0)
		return;
	send_all(fd, "\x05\x01\x00", 3);
	if (recv(fd, buf, 2, MSG_WAITALL) != 2) {
		printf("no greeting reply\n");
		return;
	}
	printf("METHOD=%02x\n", buf[1]);
	send_all(fd, q->msg, q->len);
	n = recv(fd, buf, 10, MSG_WAITALL);
	printf("REPLY=%02x len=%zd\n", n >= 2 ? buf[1] : 0xee, n);
	if (n == 10 && buf[1] == 0) {
		char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n", resp[1024];
		bool eof;

		send_all(fd, req, strlen(req));
		recv_until(fd, (char *)resp, sizeof(resp), "\r\n\r\n", 3000, &eof);
		printf("%s\n", resp);
	}
}

static void test_socks(void)
{
	uint8_t msg[300];
	struct socks_req q = {msg, 0};
	struct run r;
	size_t n;

	/* domain (socks5h) */
	memcpy(msg,
	       "\x05\x01\x00\x03\x07"
	       "ok.test",
	       12);
	n = 12;
	msg[n++] = (uint8_t)(echo_port >> 8);
	msg[n++] = (uint8_t)echo_port;
	q.len = n;
	px_run(&BASIC, socks_child, &q, &r);
	ok(strstr(r.out, "METHOD=00") && strstr(r.out, "REPLY=00") &&
		   strstr(r.out, "HTTP/1.1 200") && find_rec("ok.test", 1) &&
		   find_rec("ok.test", 1)->via == HUTCH_PROXY_VIA_SOCKS5,
	   "SOCKS5 CONNECT by name");
	/* NUL in the name: the sandbox-runtime bypass */
	memcpy(msg,
	       "\x05\x01\x00\x03\x12"
	       "ok.test\0.evil.test",
	       23);
	n = 23;
	msg[n++] = (uint8_t)(echo_port >> 8);
	msg[n++] = (uint8_t)echo_port;
	q.len = n;
	px_run(&BASIC, socks_child, &q, &r);
	ok(strstr(r.out, "REPLY=02") && n_recs == 1 && !recs[0].allowed &&
		   strstr(recs[0].reason, "NUL"),
	   "NUL in a SOCKS5 name: reply 0x02, recorded");
	/* denied name */
	memcpy(msg,
	       "\x05\x01\x00\x03\x08"
	       "not.test",
	       13);
	n = 13;
	msg[n++] = 0;
	msg[n++] = 80;
	q.len = n;
	px_run(&BASIC, socks_child, &q, &r);
	ok(strstr(r.out, "REPLY=02") && find_rec("not.test", 0), "SOCKS5 denied name: 0x02");
	/* IPv4 literal, checked as an address */
	memcpy(msg, "\x05\x01\x00\x01\x7f\x00\x00\x01", 8);
	n = 8;
	msg[n++] = (uint8_t)(echo_port >> 8);
	msg[n++] = (uint8_t)echo_port;
	q.len = n;
	px_run(&BASIC, socks_child, &q, &r);
	ok(strstr(r.out, "REPLY=00") && find_rec("127.0.0.1", 1), "SOCKS5 IPv4 allowed by address");
	{
		static const char *const names_only[] = {"ok.test", NULL};
		struct cfg c = {names_only, NULL, false, {0}, 0};

		px_run(&c, socks_child, &q, &r);
		ok(strstr(r.out, "REPLY=02") && find_rec("127.0.0.1", 0),
		   "SOCKS5 IPv4 literal refused when no address rule allows it");
	}
	/* IPv4-mapped IPv6 169.254.169.254 */
	memcpy(msg, "\x05\x01\x00\x04\0\0\0\0\0\0\0\0\0\0\xff\xff\xa9\xfe\xa9\xfe\x00\x50", 22);
	q.len = 22;
	px_run(&BASIC, socks_child, &q, &r);
	ok(strstr(r.out, "REPLY=02") && find_rec("169.254.169.254", 0) && nothing_accepted(meta_fd),
	   "SOCKS5 IPv4-mapped metadata address refused");
	/* BIND and UDP ASSOCIATE */
	memcpy(msg, "\x05\x02\x00\x01\0\0\0\0\0\0", 10);
	q.len = 10;
	px_run(&BASIC, socks_child, &q, &r);
	like(r.out, "REPLY=07", "BIND: command not supported (0x07)");
	memcpy(msg, "\x05\x03\x00\x01\0\0\0\0\0\0", 10);
	px_run(&BASIC, socks_child, &q, &r);
	like(r.out, "REPLY=07", "UDP ASSOCIATE: command not supported (0x07)");
	/* curl as a real socks5h client */
	snprintf(u1, sizeof(u1), "http://x.wild.test:%d/", echo_port);
	snprintf(socks_arg, sizeof(socks_arg), "127.0.0.1:%d", sport);
	{
		char *argv[] = {"/usr/bin/curl", "-sS", "--socks5-hostname",   socks_arg, "-o",
				"/dev/null",	 "-w",	"CODE=%{http_code}\n", u1,	  NULL};

		px_run(&BASIC, exec_child, argv, &r);
		ok(strstr(r.out, "CODE=200") && find_rec("x.wild.test", 1),
		   "curl --socks5-hostname through the proxy");
	}
	{
		struct raw_req rq = {"\x05\x01\x02", 3, sport};

		px_run(&BASIC, raw_child, &rq, &r);
		ok(r.out[0] == 5 && (uint8_t)r.out[1] == 0xff, "no acceptable auth method: 0xff");
	}
}

/* half-close, backpressure, limits, timeouts, integrity */
static void halfclose_child(void *arg)
{
	char target[64], buf[128];
	bool eof;
	int st, fd;

	(void)arg;
	snprintf(target, sizeof(target), "127.0.0.1:%d", count_port);
	fd = proxy_connect(target, &st);
	if (fd < 0)
		return;
	send_all(fd, "hello world", 11);
	shutdown(fd, SHUT_WR);
	recv_until(fd, buf, sizeof(buf), NULL, 5000, &eof);
	printf("RESULT=%s%s\n", buf, eof ? "EOF" : "");
}

static void backpressure_child(void *arg)
{
	char target[64];
	static char chunk[65536];
	size_t total = 0;
	int st, fd, fl;

	(void)arg;
	snprintf(target, sizeof(target), "127.0.0.1:%d", sink_port);
	fd = proxy_connect(target, &st);
	if (fd < 0)
		return;
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	for (int idle = 0; idle < 20 && total < (1u << 30);) {
		ssize_t k = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);

		if (k > 0) {
			total += (size_t)k;
			idle = 0;
		} else {
			idle++;
			usleep(50000);
		}
	}
	printf("SENT=%zu\n", total);
	{
		struct linger lg = {1, 0};

		/* reset: a FIN could not get through the full window anyway */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
}

/*
 * max_conns 4: four idle connections fill the proxy; a fifth (HTTP CONNECT) gets a 503
 * with the reason, a sixth (SOCKS5) a general-failure reply; past the overflow
 * allowance (HUTCH_PROXY_OVER_CAP_MAX connections waiting for their refusal) the
 * next ones are closed at once.
 */
static void limit_child(void *arg)
{
	enum { HELD = 4 + HUTCH_PROXY_OVER_CAP_MAX };
	int fds[HELD + 2], fd, st = 0;
	char req[256], resp[4096], buf[16];
	uint8_t sb[16];
	int closed = 0, held_closed = 0;
	bool eof;

	(void)arg;
	for (int i = 0; i < 4; i++)
		fds[i] = tcp_connect("127.0.0.1", hport);
	usleep(100000);
	fd = tcp_connect("127.0.0.1", hport);
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
		 sink_port, sink_port);
	send_all(fd, req, strlen(req));
	recv_until(fd, resp, sizeof(resp), "\r\n\r\n", 5000, &eof);
	if (sscanf(resp, "HTTP/1.%*d %d", &st) != 1)
		st = -1;
	printf("HTTP=%d\n%s\n", st, resp);
	close(fd);
	fd = tcp_connect("127.0.0.1", sport);
	send_all(fd, "\x05\x01\x00", 3);
	if (recv(fd, sb, 2, MSG_WAITALL) == 2) {
		uint8_t msg[10] = {5, 1, 0, 1, 127, 0, 0, 1};

		msg[8] = (uint8_t)(sink_port >> 8);
		msg[9] = (uint8_t)sink_port;
		send_all(fd, msg, sizeof(msg));
		printf("SOCKS=%02x\n", recv(fd, sb, 10, MSG_WAITALL) >= 2 ? sb[1] : 0xee);
	}
	close(fd);
	usleep(300000); /* the two refused connections are gone from the proxy */
	for (int i = 4; i < HELD + 2; i++)
		fds[i] = tcp_connect("127.0.0.1", hport);
	for (int i = 0; i < HELD + 2; i++) {
		struct pollfd p = {.fd = fds[i], .events = POLLIN};

		if (poll(&p, 1, i < HELD ? 0 : 300) == 1 &&
		    recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT) <= 0) {
			if (i < HELD)
				held_closed++;
			else
				closed++;
		}
	}
	printf("CLOSED=%d HELD_CLOSED=%d\n", closed, held_closed);
}

/* 16 idle connections, then a 17th asking for a tunnel: its answer. */
static void limit16_child(void *arg)
{
	int fds[16], fd;
	char req[256], resp[4096];
	bool eof;

	(void)arg;
	for (int i = 0; i < 16; i++)
		fds[i] = tcp_connect("127.0.0.1", hport);
	usleep(100000);
	fd = tcp_connect("127.0.0.1", hport);
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
		 sink_port, sink_port);
	send_all(fd, req, strlen(req));
	recv_until(fd, resp, sizeof(resp), "\r\n\r\n", 5000, &eof);
	printf("%s\n", resp);
	close(fd);
	for (int i = 0; i < 16; i++)
		close(fds[i]);
}

/* Fill a tunnel to a server that never reads, then wait for the proxy to give up on it. */
static void stall_child(void *arg)
{
	char target[64], buf[64];
	static char chunk[65536];
	bool eof = false;
	int st, fd, fl;

	(void)arg;
	snprintf(target, sizeof(target), "127.0.0.1:%d", sink_port);
	fd = proxy_connect(target, &st);
	if (fd < 0)
		return;
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	for (int idle = 0; idle < 4;) {
		if (send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL) > 0)
			idle = 0;
		else
			idle++, usleep(50000);
	}
	fcntl(fd, F_SETFL, fl);
	recv_until(fd, buf, sizeof(buf), NULL, 10000, &eof);
	printf("STALL_EOF=%d\n", eof);
}

/* Three tunnels to one destination when at most two may be open to it. */
static void per_dest_child(void *arg)
{
	char target[64];
	int st[3] = {0}, fds[3];

	(void)arg;
	snprintf(target, sizeof(target), "127.0.0.1:%d", sink_port);
	for (int i = 0; i < 3; i++)
		fds[i] = proxy_connect(target, &st[i]);
	printf("STATUS=%d,%d,%d\n", st[0], st[1], st[2]);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void idle_child(void *arg)
{
	char target[64], buf[64];
	bool eof;
	uint64_t t0;
	int st, fd;

	(void)arg;
	snprintf(target, sizeof(target), "127.0.0.1:%d", sink_port);
	fd = proxy_connect(target, &st);
	if (fd < 0)
		return;
	t0 = hutch_now_ms();
	recv_until(fd, buf, sizeof(buf), NULL, 5000, &eof);
	printf("IDLE_EOF=%d after %llu ms\n", eof, (unsigned long long)(hutch_now_ms() - t0));
}

static void slow_child(void *arg)
{
	char buf[1024];
	bool eof;
	int fd = tcp_connect("127.0.0.1", hport);

	(void)arg;
	send_all(fd, "GET http://ok.test/ HTTP/1.1\r\nHo", 32);
	recv_until(fd, buf, sizeof(buf), NULL, 5000, &eof);
	printf("%s\n%s\n", buf, eof ? "EOF" : "OPEN");
}

/* 20 tunnels, each moving a little data both ways, then idle: count the proxy's pipes. */
static void pipes_child(void *arg)
{
	char target[64], buf[64], path[64];
	int fds[20], st, pipes = 0, sockets = 0;
	DIR *d;
	struct dirent *e;

	(void)arg;
	snprintf(target, sizeof(target), "127.0.0.1:%d", echo_port);
	for (int i = 0; i < 20; i++) {
		bool eof;

		fds[i] = proxy_connect(target, &st);
		if (fds[i] < 0)
			return;
		/* two requests: the first goes through the peek buffer, the second is spliced */
		for (int k = 0; k < 2; k++) {
			send_all(fds[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 28);
			recv_until(fds[i], buf, sizeof(buf), "GET", 2000, &eof);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)getppid());
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char link[600], to[64] = "";

		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		if (readlink(link, to, sizeof(to) - 1) > 0) {
			pipes += !strncmp(to, "pipe:", 5);
			sockets += !strncmp(to, "socket:", 7);
		}
	}
	if (d)
		closedir(d);
	printf("PIPES=%d SOCKETS=%d\n", pipes, sockets);
}

static void test_datapath(void)
{
	struct run r;

	px_run(&BASIC, pipes_child, NULL, &r);
	{
		const char *p = strstr(r.out, "PIPES=");
		int pipes = p ? atoi(p + 6) : -1, sockets = p ? atoi(strstr(p, "SOCKETS=") + 8) : 0;

		ok(p && sockets >= 40 && pipes <= 2 * HUTCH_PIPE_POOL_MAX + 4,
		   "20 idle tunnels (%d sockets) hold no pipes of their own (%d pipe fds)", sockets,
		   pipes);
	}

	px_run(&BASIC, halfclose_child, NULL, &r);
	like(r.out, "RESULT=got 11\nEOF",
	     "half-close: the server saw EOF and its answer came back");
	px_run(&BASIC, backpressure_child, NULL, &r);
	{
		const char *p = strstr(r.out, "SENT=");
		unsigned long long sent = p ? strtoull(p + 5, NULL, 10) : 0;

		ok(p && sent > 0 && sent < (64ull << 20),
		   "backpressure: a server that does not read stops the client (%llu bytes "
		   "buffered)",
		   sent);
	}
	{
		struct cfg c = BASIC;

		c.opts.max_conns = 4;
		px_run(&c, limit_child, NULL, &r);
		like(r.out, "HTTP=503\n", "connection limit: an HTTP client over it gets 503");
		like(r.out, "X-Hutch-Error: 127.0.0.1:", "  with X-Hutch-Error");
		like(r.out, "too many connections through the proxy (4 open, at most 4)",
		     "  saying why");
		like(r.out, "SOCKS=01", "  a SOCKS5 client a general-failure reply");
		ok(count_recs("127.0.0.1", 1) == 2 &&
			   find_rec("127.0.0.1", 1)->outcome == HUTCH_PROXY_FAILED &&
			   strstr(find_rec("127.0.0.1", 1)->reason,
				  "too many connections through the proxy (4 open, at most 4)"),
		   "  both logged as failed with the reason");
		ok(strstr(r.out, "CLOSED=2 HELD_CLOSED=0") &&
			   r.stats.refused_limit == 2 + HUTCH_PROXY_OVER_CAP_MAX + 2,
		   "  past the overflow allowance, extra connections are closed at once");
	}
	{
		/* --memory 56M: 16 tunnels of at most 3.5 MiB each (the floor is 16 too) */
		struct cfg c = BASIC;

		c.memory = 56ull << 20;
		px_run(&c, limit16_child, NULL, &r);
		like(r.out, "too many connections through the proxy (16 open, at most 16)",
		     "--memory bounds the connection cap (what tunnels hold in the kernel)");
	}
	{
		struct cfg c = BASIC;

		c.opts.stall_timeout_ms = 800;
		px_run(&c, stall_child, NULL, &r);
		ok(strstr(r.out, "STALL_EOF=1") && find_rec("127.0.0.1", 1) &&
			   strstr(find_rec("127.0.0.1", 1)->reason, "stalled"),
		   "a tunnel whose server stops reading is closed after the stall timeout");
	}
	{
		struct cfg c = BASIC;

		c.opts.max_conns = 8;
		c.opts.max_per_dest = 2;
		px_run(&c, per_dest_child, NULL, &r);
		ok(strstr(r.out, "STATUS=200,200,503") && r.stats.failed == 1 &&
			   count_recs("127.0.0.1", 1) == 3,
		   "at most max_per_dest tunnels to one destination: the next one gets 503");
	}
	{
		struct cfg c = BASIC;

		c.opts.idle_timeout_ms = 800;
		px_run(&c, idle_child, NULL, &r);
		ok(strstr(r.out, "IDLE_EOF=1") && find_rec("127.0.0.1", 1) &&
			   !strcmp(find_rec("127.0.0.1", 1)->reason, "idle timeout"),
		   "idle tunnel closed after the idle timeout");
		ok(n_opens == 1 && opens_before[0] == 0 &&
			   opens[0].outcome == HUTCH_PROXY_CONNECTED &&
			   find_rec("127.0.0.1", 1)->outcome == HUTCH_PROXY_CONNECTED,
		   "a tunnel's open record comes when it is made, its end record when it closes");
	}
	{
		struct cfg c = BASIC;

		c.opts.handshake_timeout_ms = 800;
		px_run(&c, slow_child, NULL, &r);
		ok(strstr(r.out, "HTTP/1.1 408") && strstr(r.out, "EOF"),
		   "a request head that never completes: 408 and close");
	}
	{
		char big[20000];
		int n = snprintf(big, sizeof(big),
				 "GET http://ok.test/ HTTP/1.1\r\nHost: ok.test\r\n");

		while (n < 18000)
			n += snprintf(big + n, sizeof(big) - (size_t)n, "X-Pad: %0100d\r\n", 0);
		snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
		raw(&BASIC, big, &r);
		like(r.out, "HTTP/1.1 431", "oversized head: 431");
	}
	/* 32 MiB through a CONNECT tunnel and through absolute-form, both intact */
	{
		char url[128], out[128], path[128];

		snprintf(path, sizeof(path), "%s/big", tmpdir);
		snprintf(out, sizeof(out), "%s/got-big", tmpdir);
		snprintf(url, sizeof(url), "http://ok.test:%d/big", http_port);
		{
			char *argv[] = {"/usr/bin/curl",
					"-sS",
					"--proxytunnel",
					"-x",
					proxy_url,
					"-o",
					out,
					url,
					NULL};
			px_run(&BASIC, exec_child, argv, &r);
		}
		{
			char *cmp[] = {"cmp", path, out, NULL};
			ok(spawn_wait(cmp) == 0 && find_rec("ok.test", 1) &&
				   find_rec("ok.test", 1)->down > (32u << 20),
			   "32 MiB through a spliced CONNECT tunnel, intact");
		}
	}
}

static const char *getenv_in(char **env, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], name, n) && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static void test_env(void)
{
	struct hutch_policy pol;
	char **env = calloc(2, sizeof(char *));
	static const char *const want[] = {
		"HTTP_PROXY",	   "HTTPS_PROXY",      "http_proxy",
		"https_proxy",	   "npm_config_proxy", "npm_config_https_proxy",
		"YARN_HTTP_PROXY", "YARN_HTTPS_PROXY", "PIP_PROXY"};

	memset(&pol, 0, sizeof(pol));
	pol.http_port = 3129;
	env[0] = strdup("JAVA_TOOL_OPTIONS=-Xmx1g");
	ok(hutch_proxy_env(&env, &pol) == 0, "proxy environment built");
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		is_str(getenv_in(env, want[i]), "http://127.0.0.1:3129", "%s", want[i]);
	is_str(getenv_in(env, "ALL_PROXY"), "socks5h://127.0.0.1:1080", "ALL_PROXY (socks5h)");
	is_str(getenv_in(env, "all_proxy"), "socks5h://127.0.0.1:1080", "all_proxy");
	is_str(getenv_in(env, "NO_PROXY"), "localhost,127.0.0.1,::1,[::1]",
	       "NO_PROXY only loopback");
	is_str(getenv_in(env, "no_proxy"), "localhost,127.0.0.1,::1,[::1]", "no_proxy");
	is_str(getenv_in(env, "NODE_USE_ENV_PROXY"), "1", "NODE_USE_ENV_PROXY");
	ok(getenv_in(env, "YARN_NO_PROXY") == NULL, "no YARN_NO_PROXY (yarn rejects it)");
	like(getenv_in(env, "JAVA_TOOL_OPTIONS"),
	     "-Xmx1g -Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=3129",
	     "JAVA_TOOL_OPTIONS keeps the user's options and adds the proxy");
	like(getenv_in(env, "GIT_SSH_COMMAND"),
	     "ProxyCommand='" HUTCH_PROXY_CONNECT_BIN " connect --proxy 127.0.0.1:3129 %h %p'",
	     "GIT_SSH_COMMAND uses hutch connect");
	hutch_env_free(env);
}

/* ---- standalone mode for the benchmark ------------------------------------------ */

static int serve(int argc, char **argv)
{
	static const char *allow[64], *deny[64];
	size_t na = 0, nd = 0;
	struct cfg c = {allow, deny, false, {0}, 0};
	static struct hutch_rule av[64], dv[64];
	struct hutch_policy pol;
	struct hutch_loop *loop;
	struct hutch_proxy *px;
	hutch_error err;
	int hp = 0, sp = 0, h, s;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--allow") && i + 1 < argc && na < 63)
			allow[na++] = argv[++i];
		else if (!strcmp(argv[i], "--deny") && i + 1 < argc && nd < 63)
			deny[nd++] = argv[++i];
		else if (!strcmp(argv[i], "--allow-private"))
			c.allow_private = true;
		else if (!strcmp(argv[i], "--max-conns") && i + 1 < argc)
			c.opts.max_conns = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pipe-size") && i + 1 < argc)
			c.opts.pipe_size = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--http-port") && i + 1 < argc)
			hp = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--socks-port") && i + 1 < argc)
			sp = atoi(argv[++i]);
	}
	memset(&pol, 0, sizeof(pol));
	for (size_t i = 0; i < na; i++)
		av[i] = (struct hutch_rule){.value = (char *)allow[i], .origin = "--allow"};
	for (size_t i = 0; i < nd; i++)
		dv[i] = (struct hutch_rule){.value = (char *)deny[i], .origin = "--deny"};
	pol.net_allow = (struct hutch_rules){.v = av, .n = na, .cap = na};
	pol.net_deny = (struct hutch_rules){.v = dv, .n = nd, .cap = nd};
	pol.allow_private = c.allow_private;
	h = tcp_listen("127.0.0.1", 4096, &hp);
	s = tcp_listen("127.0.0.1", 4096, &sp);
	if (h < 0 || s < 0 || hutch_loop_new(&loop) < 0) {
		perror("listen");
		return 1;
	}
	if (hutch_proxy_new_opts(loop, &pol, h, s, NULL, &c.opts, &px, &err) < 0) {
		fprintf(stderr, "proxy: %s\n", err.msg);
		return 1;
	}
	printf("HTTP_PORT=%d\nSOCKS_PORT=%d\n", hp, sp);
	fflush(stdout);
	hutch_loop_run(loop);
	hutch_proxy_free(px);
	hutch_loop_free(loop);
	return 0;
}

int main(int argc, char **argv)
{
	int r;

	if (argc > 1 && !strcmp(argv[1], "--serve"))
		return serve(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_env();
	r = enter_netns();
	if (r < 0) {
		skip_reason = "cannot create a private network namespace";
		diag("unshare: %s", strerror(-r));
	} else if (start_servers() < 0 && !skip_reason) {
		skip_reason = "cannot start the local servers";
	}
	if (skip_reason) {
		if (getenv("HUTCH_MUST_WORK")) {
			ok(0, "proxy tests need: %s", skip_reason);
		} else {
			printf("# SKIP proxy integration: %s\n", skip_reason);
		}
		stop_servers();
		return done_testing();
	}
	snprintf(proxy_url, sizeof(proxy_url), "http://127.0.0.1:%d", hport);
	test_policy();
	test_literals();
	test_addresses();
	test_dns();
	test_http();
	test_tls();
	test_sni();
	test_socks();
	test_datapath();
	if (tap_failed)
		dump_recs();
	stop_servers();
	return done_testing();
}
