/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon of a container with a network allowlist or an audit file (docs/oci.md,
 * "Network allowlist" and "Audit of execs"). Started by `hutch oci create` once runc has
 * made the container (its process waits for `start`), it is a small host-side process
 * per container, as conmon or a shim is: double-forked, in a session of its own, stdio
 * on /dev/null, every other descriptor closed. With an allowlist, it
 *
 *   - enters the container's network namespace (/proc/PID/ns/net) for its set-up only:
 *     lo up, the proxy's listeners (127.0.0.1:3128 HTTP, :1080 SOCKS5), the transparent
 *     listener and the resolver's sockets (127.0.0.53:53, UDP and TCP), the nftables
 *     rules that redirect every other TCP connection to the transparent listener and
 *     drop the rest (sandbox/nft.c), and the default route via lo (sandbox/netns.c);
 *   - goes back to the host's network namespace and serves them with hutch run's proxy
 *     and resolver (net/proxy.c, net/resolver.c): the same decisions, refusals and
 *     audit events (the policy's audit.file).
 *
 * With an audit file, it listens on the bundle's hutch-ctl/sock (the container's
 * /.hutch/ctl/sock): each init hands it its seccomp exec listener, served by hutch run's
 * exec monitor (audit/execmon.c) before the init gets its "1". In both cases it ends
 * when the container's process ends (its pidfd), or on SIGTERM (`hutch oci delete`,
 * which waits for it). Its pid and start time are in the bundle (HUTCH_OCI_NETD_PID); a
 * stale file (its process gone or the pid reused) is told apart by the start time.
 *
 * A namespace with a network of its own (an interface besides lo: a pod's) is served by
 * one such daemon for all its containers, in pod mode (podnet.c): its members instead of
 * one container's process, its state in the namespace's directory instead of a bundle,
 * and rules that also let out lo and the answers to inbound connections.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fdpass.h"
#include "base/file.h"
#include "base/uapi/pidfd.h"
#include "base/loop.h"
#include "net/proxy.h"
#include "net/resolver.h"
#include "oci/layers.h"
#include "oci/oci-int.h"
#include "policy/model.h"
#include "policy/policy.h"
#include "policy/proxy-env.h"
#include "sandbox/landlock.h"
#include "sandbox/netns.h"
#include "sandbox/nft.h"

#define CTL_MAX_PENDING 64
#ifndef SO_PEERPIDFD
#define HUTCH_SO_PEERPIDFD 77 /* Linux 6.5 */
#else
#define HUTCH_SO_PEERPIDFD SO_PEERPIDFD
#endif

enum { FD_HTTP, FD_SOCKS, FD_TRANSPARENT, FD_DNS_UDP, FD_DNS_TCP, N_FDS };

struct netd {
	hutch_policy *p;
	struct hutch_loop *loop;
	struct hutch_proxy *proxy;
	struct hutch_resolver *resolver;
	struct hutch_audit *audit;
	int fds[N_FDS];
	int pidfd, sigfd, dirfd;
	int ctl;	    /* the control socket (the audit of execs), -1 if none */
	unsigned ctl_conns; /* its connections not answered yet */
	bool allowlist;	    /* a network allowlist: the proxy and the namespace's set-up */
	/* a pod's namespace (podnet.c): its members instead of one container's process */
	bool pod;
	struct hutch_podnet *podnet;
	struct stat mntns; /* the container's mount namespace: its control socket's peers' */
	json_t *config;	   /* the engine's config.json: the container's process for "start" */
	pid_t pid;	   /* the container's process */
	int status;	   /* its wait status once it ended, -1 before */
	const char *bundle;
};

struct netd_report {
	int code;
	char msg[512];
	char hint[256];
};

/* ---- the start time of a process (field 22 of /proc/PID/stat) ------------------------- */

static unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int field = 2;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = hutch_read_small_at(AT_FDCWD, path, buf, sizeof(buf));
	if (n <= 0)
		return 0;
	buf[n < (ssize_t)sizeof(buf) ? n : (ssize_t)sizeof(buf) - 1] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}

unsigned long long hutch_oci_proc_starttime(int pid)
{
	return proc_starttime(pid);
}

/* ---- in the container's network namespace ---------------------------------------------- */

/*
 * The container's namespace must have lo alone: an interface of the engine's (a bridge's
 * veth, a macvlan) would be a way out beside the proxy for a workload that can change
 * the rules (CAP_NET_ADMIN given by the engine), and its replies would not pass them.
 */
static int only_lo(hutch_error *err)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	char other[IF_NAMESIZE + 1] = "";

	if (!ifs)
		return hutch_err(err, errno, "the container's network interfaces");
	for (i = ifs; i->if_index; i++)
		if (strcmp(i->if_name, "lo") != 0 && !other[0])
			snprintf(other, sizeof(other), "%s", i->if_name);
	if_freenameindex(ifs);
	if (!other[0])
		return 0;
	hutch_errx(err, EEXIST, "the container has a network of its own (interface %s)", other);
	hutch_err_hint(err, "with a network allowlist, hutch's proxy is the container's only "
			    "way out: give it no network of its own (--network none)");
	return -EEXIST;
}

/*
 * A pod's namespace: the rules also let out what stays on lo and the answers to
 * connections peers opened to it; a default route of the pod's own is kept (the
 * redirect takes every TCP connection to the proxy whatever its route).
 */
static int pod_rules(uint16_t port, hutch_error *err)
{
	hutch_error route = {0};
	int r = hutch_nft_setup_ex(port, HUTCH_NFT_OWN_NETWORK, err);

	if (r < 0)
		return r;
	r = hutch_net_default_route_lo(&route);
	if (r < 0 && r != -EEXIST) {
		*err = route;
		return r;
	}
	return 0;
}

static int listen_all(struct netd *d, hutch_error *err)
{
	uint16_t port = 0;
	int r;

	r = d->pod ? 0 : only_lo(err);
	if (r == 0)
		r = hutch_net_loopback_up(err);
	if (r < 0)
		return r;
	d->fds[FD_HTTP] = hutch_net_listen_loopback(
		d->p->http_port ? d->p->http_port : HUTCH_PROXY_DEFAULT_HTTP_PORT, err);
	if (d->fds[FD_HTTP] < 0)
		return d->fds[FD_HTTP];
	d->fds[FD_SOCKS] = hutch_net_listen_loopback(
		d->p->socks_port ? d->p->socks_port : HUTCH_PROXY_DEFAULT_SOCKS_PORT, err);
	if (d->fds[FD_SOCKS] < 0)
		return d->fds[FD_SOCKS];
	if (!d->p->net_transparent)
		return 0; /* only the variables: no route out at all */
	d->fds[FD_TRANSPARENT] = hutch_net_bind_inet(SOCK_STREAM, INADDR_LOOPBACK, 0, &port, err);
	if (d->fds[FD_TRANSPARENT] < 0)
		return d->fds[FD_TRANSPARENT];
	d->fds[FD_DNS_UDP] =
		hutch_net_bind_inet(SOCK_DGRAM, HUTCH_NET_RESOLVER_ADDR, 53, NULL, err);
	if (d->fds[FD_DNS_UDP] < 0)
		return d->fds[FD_DNS_UDP];
	d->fds[FD_DNS_TCP] =
		hutch_net_bind_inet(SOCK_STREAM, HUTCH_NET_RESOLVER_ADDR, 53, NULL, err);
	if (d->fds[FD_DNS_TCP] < 0)
		return d->fds[FD_DNS_TCP];
	if (d->pod)
		return pod_rules(port, err);
	r = hutch_nft_setup(port, err);
	if (r < 0)
		return r;
	return hutch_net_default_route_lo(err);
}

/* Enter @pid's network namespace, make the sockets and rules there, come back. */
static int setup_netns(struct netd *d, pid_t pid, hutch_error *err)
{
	_cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int ns = -1;
	char path[64];
	struct stat a, b;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || ns < 0)
		return hutch_err(err, errno, "the container's network namespace (%s)", path);
	/* the pid is still the container's process: its pidfd has not fired */
	if (syscall(SYS_pidfd_send_signal, d->pidfd, 0, NULL, 0) < 0)
		return hutch_err(err, errno, "the container's process %d", (int)pid);
	if (fstat(self, &a) < 0 || fstat(ns, &b) < 0)
		return hutch_err(err, errno, "network namespaces");
	if (a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
		hutch_errx(err, EPERM, "the container shares the host's network namespace");
		hutch_err_hint(err, "a network allowlist needs a network namespace of the "
				    "container's own (no --network host)");
		return -EPERM;
	}
	if (setns(ns, CLONE_NEWNET) < 0)
		return hutch_err(err, errno, "entering the container's network namespace");
	r = listen_all(d, err);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* never serve from the container's side: its connections would go nowhere */
		return hutch_err(err, errno, "back to the host's network namespace");
	}
	return r;
}

/* ---- in a user namespace (rootless engines): the set-up in a child ---------------------- */

/*
 * In the initial user namespace? Root of an engine's user namespace (rootless Podman runs
 * its runtime there) may enter the container's network namespace, which that user
 * namespace owns, but not come back into the host's, which it does not own.
 */
static bool initial_userns(void)
{
	char buf[128];
	ssize_t n = hutch_read_small_at(AT_FDCWD, "/proc/self/uid_map", buf, sizeof(buf) - 1);
	unsigned long inside, outside, count;

	if (n <= 0)
		return true; /* the set-up then fails as it would have */
	buf[n] = '\0';
	return sscanf(buf, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 &&
	       outside == 0 && count == 4294967295UL;
}

/* The child: @pid's namespace entered for good, the sockets made there sent back on @sp. */
__attribute__((noreturn)) static void netns_child(struct netd *d, pid_t pid, int sp)
{
	char path[64];
	struct netd_report rep = {0};
	_cleanup_close_ int ns = -1;
	hutch_error e = {0};
	int fds[N_FDS], n = 0, r;
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || stat("/proc/self/ns/net", &a) < 0 || fstat(ns, &b) < 0)
		r = hutch_err(&e, errno, "the container's network namespace (%s)", path);
	else if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
		r = hutch_errx(&e, EPERM, "the container shares the host's network namespace");
	else if (setns(ns, CLONE_NEWNET) < 0)
		r = hutch_err(&e, errno, "entering the container's network namespace");
	else
		r = listen_all(d, &e);
	/* rep.code: -errno, or the slots (1 << FD_*) whose sockets follow, in order */
	rep.code = r < 0 ? r : 0;
	snprintf(rep.msg, sizeof(rep.msg), "%s", r < 0 && e.msg[0] ? e.msg : "");
	snprintf(rep.hint, sizeof(rep.hint), "%s", e.hint);
	for (int i = 0; r >= 0 && i < N_FDS; i++)
		if (d->fds[i] >= 0) {
			fds[n++] = d->fds[i];
			rep.code |= 1 << i;
		}
	_exit(hutch_fds_send(sp, &rep, sizeof(rep), fds, (size_t)n) == (ssize_t)sizeof(rep) ? 0
											    : 1);
}

/*
 * setup_netns() for the root of a user namespace: a child enters the container's
 * namespace and stays there, makes the same sockets and rules, and sends the sockets
 * back; the daemon itself never leaves the host's namespace.
 */
static int setup_netns_apart(struct netd *d, pid_t pid, hutch_error *err)
{
	struct netd_report rep = {0};
	int sp[2], got[N_FDS], st;
	size_t n = 0, k = 0;
	ssize_t len;
	pid_t child;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return hutch_err(err, errno, "socketpair");
	child = fork();
	if (child < 0) {
		close(sp[0]);
		close(sp[1]);
		return hutch_err(err, errno, "fork");
	}
	if (child == 0) {
		close(sp[0]);
		netns_child(d, pid, sp[1]);
	}
	close(sp[1]);
	len = hutch_fds_recv(sp[0], &rep, sizeof(rep), got, N_FDS, &n, 0);
	close(sp[0]);
	(void)waitpid(child, &st, 0);
	if (len != (ssize_t)sizeof(rep) || rep.code < 0) {
		for (size_t i = 0; i < n; i++)
			close(got[i]);
		if (len != (ssize_t)sizeof(rep))
			return hutch_errx(err, EIO,
					  "the network namespace's set-up did not answer");
		rep.msg[sizeof(rep.msg) - 1] = rep.hint[sizeof(rep.hint) - 1] = '\0';
		hutch_errx(err, -rep.code, "%s", rep.msg);
		if (rep.hint[0])
			hutch_err_hint(err, "%s", rep.hint);
		return rep.code;
	}
	for (int i = 0; i < N_FDS; i++)
		if (rep.code & (1 << i))
			d->fds[i] = k < n ? got[k++] : -1;
	return k == n ? 0 : hutch_errx(err, EIO, "the network namespace's sockets");
}

/*
 * "audit": {"file": "-"} in a container: the log goes to the container's own stderr,
 * the engine's log stream (docker logs, kubectl logs), as `hutch run --audit -` writes
 * to hutch's. The daemon takes a copy of the container's descriptor 2 (pidfd_getfd,
 * before it gives up its privileges) as its own stderr, which the audit opens for "-".
 */
static int take_container_stderr(struct netd *d, hutch_error *err)
{
	int fd = (int)syscall(SYS_pidfd_getfd, d->pidfd, STDERR_FILENO, 0);

	if (fd < 0)
		return hutch_err(err, errno, "audit log on the container's stderr");
	if (dup2(fd, STDERR_FILENO) < 0) {
		close(fd);
		return hutch_err(err, errno, "audit log on the container's stderr");
	}
	close(fd);
	return 0;
}

/* ---- the container's start and end in the audit log -------------------------------------- */

/* "start": the container's process as the engine gave it (config.json's process). */
static void audit_container_start(struct netd *d)
{
	json_t *proc = json_object_get(d->config, "process");
	json_t *args = json_object_get(proc, "args"), *v;
	const char *argv[HUTCH_AUDIT_MAX_ARGS];
	struct hutch_audit_container c = {
		.layers = HUTCH_LAYER_SECCOMP,
		.landlock_abi = hutch_landlock_abi(),
		.network_mode = hutch_oci_policy_proxy(d->p) ? hutch_net_mode_name(HUTCH_NET_PROXY)
							     : hutch_net_mode_name(d->p->net_mode),
		.pid = (int)d->pid,
		.uid = json_integer_value(json_object_get(json_object_get(proc, "user"), "uid")),
		.cwd = json_string_value(json_object_get(proc, "cwd")),
		.argv = argv,
		.bundle = d->bundle,
	};
	size_t i;

	/* what hutch's init applies: Landlock unless the kernel has none (--allow-degraded) */
	if (c.landlock_abi > 0)
		c.layers |= HUTCH_LAYER_LANDLOCK;
	c.degraded = c.landlock_abi <= 0;
	for (i = 0; i < json_array_size(args) && c.argc < HUTCH_AUDIT_MAX_ARGS; i++) {
		v = json_array_get(args, i);
		if (!json_is_string(v))
			break;
		argv[c.argc++] = json_string_value(v);
	}
	hutch_audit_container_started(d->audit, &c);
}

/* Field @n (1-based, as proc(5) counts) of /proc/PID/stat, -1 if it cannot be read. */
static long long proc_stat_field(pid_t pid, int n, char *state)
{
	char path[64], buf[1024], *p, *end;
	ssize_t len;
	int field = 3;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	len = hutch_read_small_at(AT_FDCWD, path, buf, sizeof(buf) - 1);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	*state = *p;
	for (; *p && field < n; p++)
		if (*p == ' ')
			field++;
	if (!*p)
		return -1;
	n = (int)strtol(p, &end, 10);
	return end == p ? -1 : n;
}

/*
 * The wait status of the container's process, which has ended (its pidfd fired): from
 * the pidfd once its parent reaped it (PIDFD_INFO_EXIT, Linux 6.15), else from its
 * zombie's /proc/PID/stat (exit_code, field 52), read while the pidfd shows the pid is
 * still that zombie. -1 if neither tells.
 */
static int container_status(const struct netd *d)
{
	for (int tries = 0; tries < 2; tries++) {
		struct hutch_pidfd_info info = {.mask = HUTCH_PIDFD_INFO_EXIT};
		long long code;
		char state = 0;

		if (ioctl(d->pidfd, HUTCH_PIDFD_GET_INFO, &info) == 0 &&
		    (info.mask & HUTCH_PIDFD_INFO_EXIT))
			return info.exit_code;
		code = proc_stat_field(d->pid, 52, &state);
		if (code >= 0 && (state == 'Z' || state == 'X') &&
		    syscall(SYS_pidfd_send_signal, d->pidfd, 0, NULL, 0) == 0)
			return (int)code;
		/* reaped in between: the pidfd has it now */
	}
	return -1;
}

static int on_container_exit(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct netd *d = data;

	(void)fd;
	(void)events;
	d->status = container_status(d);
	if (d->status < 0)
		d->status = -2; /* ended, its status unknown */
	hutch_loop_quit(loop, 0);
	return 0;
}

/*
 * "end": the container's exit status (128+N for signal N, as hutch run writes it) and the
 * time since create. Stopped before its process ended (SIGTERM), the daemon says so.
 */
static void audit_container_end(struct netd *d)
{
	struct pollfd pfd = {.fd = d->pidfd, .events = POLLIN};
	hutch_error e = {.status = HUTCH_EXIT_ERROR};
	int st;

	if (!d->audit)
		return;
	if (d->status == -1 && poll(&pfd, 1, 0) == 1)
		d->status = container_status(d); /* the signal and the exit came together */
	if (d->status < 0) {
		snprintf(e.msg, sizeof(e.msg), "%s",
			 d->status == -1
				 ? "the container's daemon was stopped before its process ended"
				 : "the container's process ended, its status unknown");
		hutch_audit_finish(d->audit, -EIO, 0, false, &e, NULL);
		return;
	}
	st = WIFSIGNALED(d->status) ? 128 + WTERMSIG(d->status) : WEXITSTATUS(d->status);
	hutch_audit_finish(d->audit, 0, st, false, NULL, NULL);
}

/* ---- serving ----------------------------------------------------------------------------- */

static int on_end(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	(void)fd;
	(void)events;
	(void)data;
	hutch_loop_quit(loop, 0);
	return 0;
}

static void on_audit_stop(void *data)
{
	struct netd *d = data;

	/* the log cannot go on: the container does not go on unaudited */
	(void)syscall(SYS_pidfd_send_signal, d->pidfd, SIGKILL, NULL, 0);
}

/* ---- the audit of execs: listeners handed over by the containers' inits -------------------- */

/* Is @fd a seccomp user-notification listener? Nothing else is served. */
static bool is_listener(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:seccomp notify") == 0;
}

/* One init's message: a listener (SCM_RIGHTS), served by the audit; "1" back, or "0". */
static int on_ctl_conn(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct netd *d = data;
	char tag = 0, ack = '0';
	int got = -1;
	size_t nfds;
	ssize_t n;

	(void)events;
	n = hutch_fds_recv(fd, &tag, 1, &got, 1, &nfds, MSG_DONTWAIT);
	if (n == -EAGAIN)
		return 0;
	if (got >= 0 && !(n == 1 && tag == 'L' && is_listener(got))) {
		close(got);
		got = -1;
	}
	if (got >= 0 && hutch_audit_add_listener(d->audit, loop, got) >= 0)
		ack = '1';
	(void)send(fd, &ack, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	hutch_loop_del(loop, fd);
	close(fd);
	d->ctl_conns--;
	return 0;
}

/*
 * Is the peer of @fd a process of the container? The socket must be 0666 (the
 * container's users are any uids, mapped or not), and its path on the host may be
 * reachable by anyone; what tells the container's processes apart is their mount
 * namespace, which every init has (runc exec enters it before it runs the init) and no
 * process of the host can enter without CAP_SYS_ADMIN over it. The peer is the one that
 * connected (SO_PEERCRED); its pidfd, alive after the look-up, shows that the pid named
 * that process throughout.
 */
static bool ctl_peer_in_container(const struct netd *d, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	_cleanup_close_ int pidfd = -1;
	char path[64];
	struct stat st;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.pid <= 0)
		return false;
	len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, HUTCH_SO_PEERPIDFD, &pidfd, &len) < 0)
		pidfd = (int)syscall(SYS_pidfd_open, cr.pid, 0); /* before Linux 6.5 */
	if (pidfd < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)cr.pid);
	if (stat(path, &st) < 0 || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return false;
	return st.st_dev == d->mntns.st_dev && st.st_ino == d->mntns.st_ino;
}

/*
 * A connection from an init. The socket is open to the workload too: connections that
 * send nothing are held at most CTL_MAX_PENDING at once, past that closed at once (an
 * init then fails and its command does not run). A peer outside the container is
 * closed at once: nothing of the host's gets into the container's log.
 */
static int on_ctl(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct netd *d = data;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)events;
	if (c < 0)
		return 0;
	if (d->ctl_conns >= CTL_MAX_PENDING || !ctl_peer_in_container(d, c) ||
	    hutch_loop_add(loop, c, EPOLLIN | EPOLLRDHUP, on_ctl_conn, data) < 0) {
		close(c);
		return 0;
	}
	d->ctl_conns++;
	return 0;
}

/* The control socket, in the bundle's directory that the container sees at /.hutch/ctl. */
static int ctl_listen(struct netd *d, pid_t pid, hutch_error *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	_cleanup_close_ int dir = openat(d->dirfd, HUTCH_OCI_CTL_DIR,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	char path[64];

	if (dir < 0)
		return hutch_err(err, errno, "bundle: %s", HUTCH_OCI_CTL_DIR);
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	if (stat(path, &d->mntns) < 0 || syscall(SYS_pidfd_send_signal, d->pidfd, 0, NULL, 0) < 0)
		return hutch_err(err, errno, "the container's mount namespace (%s)", path);
	/* bound by a path through the directory's fd: the bundle's path may be long */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dir, HUTCH_OCI_CTL_SOCK);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	(void)unlinkat(dir, HUTCH_OCI_CTL_SOCK, 0);
	d->ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->ctl < 0 || bind(d->ctl, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    fchmodat(dir, HUTCH_OCI_CTL_SOCK, 0666, 0) < 0 || listen(d->ctl, 16) < 0)
		return hutch_err(err, errno, "the audit's control socket");
	return 0;
}

static void on_pod_empty(void *data)
{
	struct netd *d = data;

	hutch_loop_quit(d->loop, 0);
}

/* A pod's namespace: served while a container of it lives (podnet.c). */
static int pod_watch(struct netd *d, const char *id, hutch_error *err)
{
	int fd = fcntl(d->pidfd, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return hutch_err(err, errno, "network daemon");
	return hutch_podnet_serve(d->loop, d->dirfd, id, fd, on_pod_empty, d, &d->podnet, err);
}

static int serve_setup(struct netd *d, const char *id, hutch_error *err)
{
	struct hutch_proxy_hooks hooks = {0};
	sigset_t set;
	int r;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0)
		return hutch_err(err, errno, "signalfd");
	r = hutch_loop_new(&d->loop);
	if (r < 0)
		return hutch_err(err, r, "event loop");
	if (d->p->audit_file) {
		r = hutch_audit_new(d->p, id, 0, NULL, &d->audit, err);
		if (r < 0)
			return r;
		hutch_audit_on_stop(d->audit, on_audit_stop, d);
		hooks.on_record = hutch_audit_proxy_record;
		hooks.userdata = d->audit;
	}
	if (d->ctl >= 0)
		r = hutch_loop_add(d->loop, d->ctl, EPOLLIN, on_ctl, d);
	if (r < 0)
		return hutch_err(err, r, "the audit's control socket");
	if (!d->allowlist)
		goto watch;
	if (d->fds[FD_DNS_UDP] >= 0) {
		r = hutch_resolver_new(d->p, &d->resolver, err);
		if (r >= 0)
			r = hutch_resolver_add_udp(d->resolver, d->loop, d->fds[FD_DNS_UDP], err);
		d->fds[FD_DNS_UDP] = -1;
		if (r >= 0)
			r = hutch_resolver_add_tcp(d->resolver, d->loop, d->fds[FD_DNS_TCP], err);
		d->fds[FD_DNS_TCP] = -1;
		if (r < 0)
			return r;
	}
	r = hutch_proxy_new(d->loop, d->p, d->fds[FD_HTTP], d->fds[FD_SOCKS], &hooks, &d->proxy,
			    err);
	d->fds[FD_HTTP] = d->fds[FD_SOCKS] = -1;
	if (r >= 0 && d->fds[FD_TRANSPARENT] >= 0) {
		r = hutch_proxy_add_transparent(d->proxy, d->fds[FD_TRANSPARENT], d->resolver, err);
		d->fds[FD_TRANSPARENT] = -1;
	}
watch:
	if (r >= 0 && d->pod)
		r = pod_watch(d, id, err);
	else if (r >= 0)
		r = hutch_loop_add(d->loop, d->pidfd, EPOLLIN, on_container_exit, d);
	if (r >= 0)
		r = hutch_loop_add(d->loop, d->sigfd, EPOLLIN, on_end, d);
	return r < 0 && !err->msg[0] ? hutch_err(err, r, "network daemon") : r;
}

static int write_pidfile(struct netd *d)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%d %llu\n", (int)getpid(), proc_starttime(getpid()));
	_cleanup_close_ int fd =
		openat(d->dirfd, HUTCH_OCI_NETD_PID ".tmp",
		       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0 || hutch_write_all(fd, line, (size_t)n) < 0)
		return -errno;
	return renameat(d->dirfd, HUTCH_OCI_NETD_PID ".tmp", d->dirfd, HUTCH_OCI_NETD_PID) < 0
		       ? -errno
		       : 0;
}

static void report(int fd, int code, const hutch_error *e)
{
	struct netd_report rep = {.code = code};

	if (e) {
		snprintf(rep.msg, sizeof(rep.msg), "%s", e->msg[0] ? e->msg : "failed");
		snprintf(rep.hint, sizeof(rep.hint), "%s", e->hint);
	}
	(void)hutch_write_all(fd, &rep, sizeof(rep));
	close(fd);
}

static void netd_free(struct netd *d)
{
	hutch_podnet_free(d->podnet);
	hutch_proxy_free(d->proxy);
	hutch_resolver_free(d->resolver); /* after the proxy: it maps pool addresses with it */
	hutch_audit_free(d->audit);
	hutch_loop_free(d->loop);
	for (int i = 0; i < N_FDS; i++)
		if (d->fds[i] >= 0)
			close(d->fds[i]);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->pidfd >= 0)
		close(d->pidfd);
	if (d->ctl >= 0)
		close(d->ctl);
	json_decref(d->config);
	hutch_policy_free(d->p);
}

__attribute__((noreturn)) static void netd_main(struct netd *d, const char *id, pid_t pid,
						int ready)
{
	hutch_error e = {0};
	int devnull, r;

	/* nothing of the engine's is kept open: it may wait for its pipes' end */
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close(devnull);
	}
	r = ready > d->dirfd ? ready : d->dirfd;
	for (int fd = 3; fd < r; fd++)
		if (fd != ready && fd != d->dirfd)
			close(fd);
	(void)syscall(SYS_close_range, (unsigned)r + 1, ~0U, 0);

	d->pid = pid;
	d->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	r = d->pidfd < 0 ? hutch_err(&e, errno, "the container's process %d", (int)pid) : 0;
	if (r >= 0 && d->allowlist)
		r = initial_userns() ? setup_netns(d, pid, &e) : setup_netns_apart(d, pid, &e);
	if (r >= 0 && d->p->audit_file && !d->pod)
		r = ctl_listen(d, pid, &e);
	if (r >= 0 && d->p->audit_file && !strcmp(d->p->audit_file, "-") && !d->pod)
		r = take_container_stderr(d, &e);
	if (r >= 0)
		r = serve_setup(d, id, &e);
	if (r >= 0) {
		r = write_pidfile(d);
		if (r < 0)
			hutch_err(&e, r, "bundle: %s", HUTCH_OCI_NETD_PID);
	}
	if (r >= 0) {
		/*
		 * set up: from here on it only serves what it holds (confine.c). A pod's
		 * namespace daemon audits no exec (its members' own daemons do); its state
		 * directory stays open, for what nobody may still do there at its end (the
		 * create or delete that holds the lock next removes the rest, as root).
		 */
		if (!d->pod) {
			close(d->dirfd);
			d->dirfd = -1;
		}
		r = hutch_oci_netd_confine(d->p->audit_file != NULL && !d->pod, d->pidfd, &e);
	}
	if (r < 0) {
		report(ready, r, &e);
		netd_free(d);
		_exit(1);
	}
	/* a pod's namespace daemon serves several containers: theirs are their own daemons' */
	if (!d->pod)
		audit_container_start(d);
	report(ready, 0, NULL);
	(void)hutch_loop_run(d->loop);
	if (!d->pod)
		audit_container_end(d);
	/* the pid file stays: hutch_oci_netd_stop() waits for this exit, then removes it */
	if (d->pod)
		hutch_podnet_end(d->dirfd);
	netd_free(d);
	_exit(0);
}

/* ---- the host side: start and stop ------------------------------------------------------- */

int hutch_oci_bundle_netd(const char *bundle)
{
	_cleanup_close_ int dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dirfd < 0)
		return -errno;
	return faccessat(dirfd, HUTCH_OCI_RESOLV_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
	       faccessat(dirfd, HUTCH_OCI_CTL_DIR, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int load(struct netd *d, const struct hutch_oci_opts *o, const char *bundle,
		hutch_error *err)
{
	json_t *config = NULL;
	int r;

	d->dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0)
		return hutch_err(err, errno, "bundle %s", bundle);
	r = hutch_oci_read_config(d->dirfd, &config, err);
	if (r >= 0)
		r = hutch_oci_load_policy(o, config, &d->p, err);
	d->config = config;
	if (r >= 0)
		d->allowlist = hutch_oci_policy_proxy(d->p);
	if (r >= 0 && !d->allowlist && !d->p->audit_file)
		r = hutch_errx(err, EINVAL, "bundle %s: neither a network allowlist nor an audit",
			       bundle);
	return r;
}

/* Start @d's daemon and wait for its report: 0 once it serves. */
static int spawn(struct netd *d, const char *id, int pid, hutch_error *err)
{
	struct netd_report rep;
	int ready[2], st, r = 0;
	pid_t child;
	ssize_t n;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return hutch_err(err, errno, "pipe");
	child = fork();
	if (child < 0) {
		r = hutch_err(err, errno, "fork");
		close(ready[0]);
		close(ready[1]);
		return r;
	}
	if (child == 0) {
		close(ready[0]);
		setsid();
		if (fork() != 0)
			_exit(0);
		netd_main(d, id, pid, ready[1]);
	}
	close(ready[1]);
	waitpid(child, &st, 0);
	do
		n = read(ready[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(ready[0]);
	if (n != (ssize_t)sizeof(rep)) {
		r = hutch_errx(err, EIO, "the container's network daemon did not start");
	} else if (rep.code < 0) {
		rep.msg[sizeof(rep.msg) - 1] = rep.hint[sizeof(rep.hint) - 1] = '\0';
		r = hutch_errx(err, -rep.code, "network allowlist: %s", rep.msg);
		if (rep.hint[0])
			hutch_err_hint(err, "%s", rep.hint);
	}
	return r;
}

int hutch_oci_netd_start_pod(hutch_policy *p, int dirfd, const char *id, int pid, hutch_error *err)
{
	struct netd d = {.pidfd = -1, .sigfd = -1, .dirfd = dirfd, .ctl = -1, .p = p, .status = -1};

	for (int i = 0; i < N_FDS; i++)
		d.fds[i] = -1;
	d.allowlist = d.pod = true;
	return spawn(&d, id, pid, err);
}

/*
 * A pod's namespace (an interface besides lo): its daemon serves the network
 * (podnet.c); the container's own daemon then only audits its execs, if asked.
 */
static int attach_pod(struct netd *d, const char *id, int pid, hutch_error *err)
{
	char ifname[IF_NAMESIZE + 1];
	int r = hutch_oci_podnet_own_network(pid, ifname, sizeof(ifname), err);

	if (r <= 0)
		return r;
	r = hutch_oci_podnet_attach(d->p, d->dirfd, id, pid, err);
	if (r < 0)
		return r;
	d->allowlist = false;
	return d->p->audit_file ? 0 : 1;
}

int hutch_oci_netd_start(const struct hutch_oci_opts *o, const char *id, int pid, hutch_error *err)
{
	struct netd d = {.pidfd = -1, .sigfd = -1, .dirfd = -1, .ctl = -1, .status = -1};
	const char *bundle = o->bundle ? o->bundle : ".";
	int r;

	for (int i = 0; i < N_FDS; i++)
		d.fds[i] = -1;
	d.bundle = bundle;
	r = load(&d, o, bundle, err);
	if (r >= 0 && d.allowlist)
		r = attach_pod(&d, id, pid, err);
	if (r == 0)
		r = spawn(&d, id, pid, err);
	if (d.dirfd >= 0)
		close(d.dirfd);
	json_decref(d.config);
	hutch_policy_free(d.p);
	return r < 0 ? r : 0;
}

int hutch_oci_netd_leave(const char *bundle, const char *id, hutch_error *err)
{
	_cleanup_close_ int dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dirfd < 0)
		return hutch_err(err, errno, "bundle %s", bundle);
	return hutch_oci_podnet_leave(dirfd, id, err);
}

int hutch_oci_netd_stop(const char *bundle, hutch_error *err)
{
	_cleanup_close_ int dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int pidfd = -1;
	char line[64];
	unsigned long long start = 0;
	struct pollfd pfd;
	ssize_t n;
	int pid = 0;

	if (dirfd < 0)
		return hutch_err(err, errno, "bundle %s", bundle);
	n = hutch_read_small_at(dirfd, HUTCH_OCI_NETD_PID, line, sizeof(line) - 1);
	if (n <= 0)
		return 0; /* none, or ended already */
	line[n] = '\0';
	if (sscanf(line, "%d %llu", &pid, &start) != 2 || pid <= 1)
		return hutch_errx(err, EINVAL, "bundle: %s is not \"PID STARTTIME\"",
				  HUTCH_OCI_NETD_PID);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* gone, or the pid was reused: not ours to signal */
	if (pidfd < 0 || proc_starttime(pid) != start) {
		(void)unlinkat(dirfd, HUTCH_OCI_NETD_PID, 0);
		return 0;
	}
	(void)syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
	pfd = (struct pollfd){.fd = pidfd, .events = POLLIN};
	if (poll(&pfd, 1, 5000) == 0) {
		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		(void)poll(&pfd, 1, 5000);
	}
	(void)unlinkat(dirfd, HUTCH_OCI_NETD_PID, 0);
	return 0;
}

int hutch_oci_state_pid(const char *json, size_t len, int *pid, hutch_error *err)
{
	json_t *state = json_loadb(json, len, 0, NULL);
	json_int_t v = json_integer_value(json_object_get(state, "pid"));

	json_decref(state);
	if (v <= 0 || v > INT_MAX)
		return hutch_errx(err, EINVAL, "runc state: no \"pid\" in its output");
	*pid = (int)v;
	return 0;
}
