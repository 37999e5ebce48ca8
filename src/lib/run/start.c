/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Starting the sandbox: clone, the setup steps of init (PID 1) and of the workload
 * in order, the workload's execve(); on the host side, bringing lo up.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/mman.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>
#include "run/asker.h"
#include "audit/audit.h"
#include "base/cleanup.h"
#include "base/escape.h"
#include "base/error.h"
#include "base/fdpass.h"
#include "base/path.h"
#include "sandbox/caps.h"
#include "policy/env.h"
#include "sandbox/init.h"
#include "sandbox/landlock.h"
#include "limits/limit.h"
#include "base/loop.h"
#include "sandbox/mount.h"
#include "session/named.h"
#include "sandbox/netns.h"
#include "sandbox/nft.h"
#include "sandbox/ns.h"
#include "policy/policy.h"
#include "policy/profiles.h"
#include "sandbox/protect.h"
#include "net/hostport.h"
#include "net/proxy.h"
#include "sandbox/pty.h"
#include "limits/rlimit.h"
#include "audit/gitguard.h"
#include "run/run.h"
#include "sandbox/seccomp.h"
#include "session/session.h"
#include "run/run-int.h"

static int step_id_maps(struct run *r, hutch_error *err)
{
	struct hutch_id_map m = {r->uid, r->uid, r->gid, r->gid, 1};
	char c = 0;
	ssize_t n;

	if (r->parent_maps) {
		/* The whole id range, identical: only the launcher (the host's root) may write it.
		 */
		do
			n = recv(r->ctl[1], &c, 1, 0);
		while (n < 0 && errno == EINTR);
		if (n != 1 || c != 'U')
			return hutch_errx(err, ECANCELED, "userns: the id maps were not written");
		return 0;
	}
	if (r->root_mode) {
		/* --ephemeral=root: root inside (as unshare -r), so package managers proceed */
		m.inside_uid = 0;
		m.inside_gid = 0;
	}
	return hutch_ns_write_maps(0, &m, err);
}

/*
 * The sandbox's network namespace, made by a thread of init while init
 * builds the mounts (a new network namespace is ~250 us of the kernel's
 * time, most of what clone() cost with CLONE_NEWNET): the thread unshares
 * its own network namespace, brings lo up in it (init owns the user
 * namespace: it may) and hands back a descriptor of it (SIOCGSKNS); init
 * enters it before it makes any socket and long before the workload
 * exists (step_netns_enter), so the workload's first instruction runs
 * in it as before. Any failure fails the run.
 *
 * Then the same thread detaches the old root, once init has pivoted into the
 * new one (pivot_root stacks the old root on top of it): umount2 waits for
 * an RCU grace period (~80 us, mostly idle), which passes while init finishes
 * its steps and the workload runs its own. Until then the host's whole tree
 * is reachable through it, so the workload waits for the thread's word
 * (step_detached) before its execve(): nothing of the workload runs before
 * the old root is gone. Without the thread, init detaches it itself at once.
 */
struct netns_job {
	pthread_t thread;
	int fd; /* the namespace, from the thread */
	int ret;
	hutch_error err;
	int ready_efd;	/* thread -> init: fd and ret are set */
	int go_efd;	/* init -> thread: 1 detach the old root now, 2 nothing to do */
	int detach_efd; /* thread -> the workload: 1 detached, or 2 + the errno */
};

static void efd_put(int efd, uint64_t v)
{
	while (write(efd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

static uint64_t efd_take(int efd)
{
	uint64_t v = 0;
	ssize_t n;

	do
		n = read(efd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(v) ? v : 0;
}

static void netns_make(struct netns_job *j)
{
	_cleanup_close_ int sock = -1;

	if (unshare(CLONE_NEWNET) < 0) {
		j->ret = hutch_err(&j->err, errno, "network namespace");
		return;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		j->ret = hutch_err(&j->err, errno, "network: socket for lo");
		return;
	}
	j->ret = hutch_net_loopback_up_fd(sock, &j->err);
	if (j->ret < 0)
		return;
	j->fd = ioctl(sock, SIOCGSKNS); /* O_CLOEXEC */
	if (j->fd < 0)
		j->ret = hutch_err(&j->err, errno, "network namespace: a descriptor of it");
}

static void *netns_thread(void *data)
{
	struct netns_job *j = data;
	hutch_error e = {0};
	int ret;

	netns_make(j);
	efd_put(j->ready_efd, 1);
	if (efd_take(j->go_efd) != 1)
		return NULL;
	ret = hutch_mount_detach_old_root(&e);
	efd_put(j->detach_efd, ret < 0 ? 2 + (uint64_t)-ret : 1);
	return NULL;
}

static int step_netns_begin(struct run *r, hutch_error *err)
{
	struct netns_job *j;
	pthread_attr_t attr;
	int ret;

	if (!r->netns_late)
		return 0;
	j = calloc(1, sizeof(*j));
	if (!j)
		return hutch_err(err, ENOMEM, "network namespace");
	j->fd = -1;
	j->ready_efd = eventfd(0, EFD_CLOEXEC);
	j->go_efd = eventfd(0, EFD_CLOEXEC);
	j->detach_efd = eventfd(0, EFD_CLOEXEC);
	if (j->ready_efd < 0 || j->go_efd < 0 || j->detach_efd < 0)
		return hutch_err(err, errno, "network namespace: eventfd");
	/* never joined: it ends by itself, or with init */
	ret = pthread_attr_init(&attr);
	if (ret == 0) {
		(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		ret = pthread_create(&j->thread, &attr, netns_thread, j);
		pthread_attr_destroy(&attr);
	}
	if (ret)
		return hutch_err(err, ret, "network namespace: starting its thread");
	r->netns = j; /* init's until it exits (the thread may outlive step_netns_enter) */
	return 0;
}

static int step_netns_enter(struct run *r, hutch_error *err)
{
	struct netns_job *j = r->netns;
	int ret;

	if (!j)
		return r->netns_late ? hutch_errx(err, EINVAL, "network namespace: not made") : 0;
	if (efd_take(j->ready_efd) != 1)
		return hutch_errx(err, EIO, "network namespace: its thread");
	if (j->ret < 0) {
		*err = j->err;
		hutch_err_hint(err, "%s",
			       "the kernel refused a network namespace (hutch check says "
			       "why); --net host runs without one, --allow-degraded "
			       "falls back to Landlock and seccomp alone");
		return j->ret;
	}
	ret = setns(j->fd, CLONE_NEWNET) < 0
		      ? hutch_err(err, errno, "network namespace: entering it")
		      : 0;
	close(j->fd);
	j->fd = -1;
	return ret;
}

static int step_guard(struct run *r, hutch_error *err)
{
	char c;

	/* Die with the supervisor; our helpers are not dumpable (no ptrace, no /proc peeking). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return hutch_err(err, errno, "pdeathsig");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return hutch_err(err, errno, "dumpable");
	/* The supervisor may have died before PDEATHSIG was armed. */
	if (recv(r->ctl[1], &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
		_exit(HUTCH_EXIT_ERROR);
	/*
	 * Out of the terminal's foreground process group: a Ctrl-C there reaches the
	 * workload once, through the supervisor. A process group, not a session:
	 * setsid() also makes a scheduler autogroup (0.2 ms here), and the workload
	 * makes its own session anyway.
	 */
	if (setpgid(0, 0) < 0)
		return hutch_err(err, errno, "setpgid");
	return 0;
}

static int step_mounts(struct run *r, hutch_error *err)
{
	return hutch_mount_tree_begin(r->plan, &r->tree, err);
}

/*
 * The protected paths: take them from the supervisor ("P" messages: packed
 * ops), mount those received at an "A" (they exist on the host) while it makes
 * the placeholders of the others, the rest at "G", enter the tree.
 */
static int step_protected(struct run *r, hutch_error *err)
{
	_cleanup_free_ char *buf = malloc(PROTECT_MSG_MAX);
	bool later;
	ssize_t n;
	int ret;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		do
			n = recv(r->ctl[1], buf, PROTECT_MSG_MAX, 0);
		while (n < 0 && errno == EINTR);
		if (n == 1 && buf[0] == 'G')
			break;
		if (n == 1 && buf[0] == 'A') {
			ret = hutch_mount_tree_apply(r->plan, r->tree, err);
			if (ret < 0)
				return ret;
			continue;
		}
		if (n < 1 || buf[0] != 'P')
			return hutch_errx(err, ECANCELED, "mount: waiting for the protected paths");
		ret = hutch_mount_plan_unpack(r->plan, buf + 1, (size_t)n - 1);
		if (ret < 0)
			return hutch_err(err, ret, "mount: receiving the protected paths");
	}
	/* by the network namespace's thread (netns_thread) when there is one */
	later = r->netns && r->session_listen < 0;
	ret = hutch_mount_tree_finish(r->plan, r->tree, later, err);
	hutch_mount_tree_free(r->tree);
	r->tree = NULL;
	if (r->netns)
		efd_put(r->netns->go_efd, ret >= 0 && later ? 1 : 2);
	if (ret >= 0 && later) {
		r->detach_efd = r->netns->detach_efd;
		r->detach_pending = true;
	}
	return ret;
}

static int send_fd(int sock, int fd, uint32_t tag);

/*
 * Hand @fd to the supervisor. A named session's control channel carries
 * hutch_nm messages (named.h), so there the descriptor goes as one of them.
 */
static int ctl_send_fd(const struct run *r, int fd, uint32_t tag)
{
	if (r->session_listen >= 0) {
		struct hutch_nm_hdr h = {.type = NM_FD, .value = (int32_t)tag};
		return hutch_nm_send(r->ctl[1], &h, NULL, 0, &fd, 1);
	}
	return send_fd(r->ctl[1], fd, tag);
}

/*
 * A socket of the new network namespace, for the supervisor to bring lo up
 * with (as the owner of the sandbox's user namespace it may) while this
 * process builds the filesystem view: "G" then means lo is up too.
 */
static int step_loopback(struct run *r, hutch_error *err)
{
	_cleanup_close_ int fd = -1;
	int ret;

	if (r->p->net_mode == HUTCH_NET_HOST || r->session_listen >= 0 || r->netns_late)
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hutch_err(err, errno, "network: socket for lo");
	ret = send_fd(r->ctl[1], fd, HUTCH_CTL_LOOPBACK);
	return ret < 0 ? hutch_err(err, ret, "network: handing lo over") : 0;
}

/*
 * Transparent egress (docs/network.md): the transparent listener on 127.0.0.1
 * (a port the kernel chooses), the resolver's sockets on 127.0.0.53:53 (UDP
 * and TCP), the nftables rules redirecting to the first (one netlink batch)
 * and the default route via lo. Sent before the proxy's own sockets: the supervisor has them
 * when it starts the proxy. When the rules cannot be loaded, only the proxy
 * variables work, as before: the supervisor is told so and says it (the
 * namespace then has no route out at all, never more than with the variables
 * alone). When a policy asked for it by name (network.transparent: true),
 * that is a protection asked for and missing: refuse to run.
 */
static int step_transparent(struct run *r, hutch_error *err)
{
	_cleanup_close_ int lfd = -1, dfd = -1, tfd = -1;
	hutch_error e = {0};
	uint16_t port = 0;
	int ret;

	lfd = hutch_net_bind_inet(SOCK_STREAM, INADDR_LOOPBACK, 0, &port, &e);
	ret = lfd;
	if (ret >= 0)
		ret = dfd = hutch_net_bind_inet(SOCK_DGRAM, HUTCH_NET_RESOLVER_ADDR, 53, NULL, &e);
	if (ret >= 0)
		ret = tfd = hutch_net_bind_inet(SOCK_STREAM, HUTCH_NET_RESOLVER_ADDR, 53, NULL, &e);
	if (ret >= 0)
		ret = hutch_nft_setup(port, &e);
	if (ret >= 0)
		ret = hutch_net_default_route_lo(&e);
	if (ret < 0 && r->p->net_transparent_asked) {
		hutch_errx(
			err, -ret,
			"network.transparent is true, but transparent egress cannot be set up: %s",
			e.msg);
		hutch_err_hint(err,
			       "'hutch check' says what is missing; without network.transparent: "
			       "true, only programs using the proxy variables reach the network");
		return ret;
	}
	if (ret < 0) {
		uint32_t tag = HUTCH_CTL_NO_TRANSPARENT | ((uint32_t)(-ret & 0xffff) << 8);

		/* the message carries a descriptor: any will do, the supervisor closes it */
		if (lfd < 0)
			lfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (lfd < 0)
			return hutch_err(err, errno, "network: telling the supervisor");
		ret = ctl_send_fd(r, lfd, tag);
		return ret < 0 ? hutch_err(err, ret, "network: telling the supervisor") : 0;
	}
	ret = ctl_send_fd(r, dfd, HUTCH_CTL_DNS_UDP);
	if (ret >= 0)
		ret = ctl_send_fd(r, tfd, HUTCH_CTL_DNS_TCP);
	if (ret >= 0)
		ret = ctl_send_fd(r, lfd, HUTCH_CTL_PROXY_TRANSPARENT);
	return ret < 0 ? hutch_err(err, ret, "network: handing the transparent sockets over") : 0;
}

/* The proxy's listening sockets (lo is up: "G" came after it). */
static int step_network(struct run *r, hutch_error *err)
{
	static const struct {
		uint32_t tag;
		size_t port_offset;
		uint16_t default_port;
	} listeners[] = {
		{HUTCH_CTL_PROXY_HTTP, offsetof(struct hutch_policy, http_port), 3128},
		{HUTCH_CTL_PROXY_SOCKS, offsetof(struct hutch_policy, socks_port), 1080},
	};
	int ret;

	if (r->p->net_mode == HUTCH_NET_HOST)
		return 0;
	/* Up already (step_loopback), except in a named session's daemon: up here. */
	ret = r->session_listen >= 0 ? hutch_net_loopback_up(err) : 0;
	/* host ports (--net proxy and --net none): their 127.0.0.1 and [::1] sockets */
	for (size_t i = 0; ret >= 0 && i < r->p->net_host_ports.n; i++) {
		int fds[2] = {-1, -1};

		ret = hutch_net_listen_host_port(
			(uint16_t)strtoul(r->p->net_host_ports.v[i].value, NULL, 10), fds, err);
		for (int k = 0; k < 2; k++) {
			if (fds[k] < 0)
				continue;
			if (ret >= 0)
				ret = ctl_send_fd(r, fds[k], HUTCH_CTL_HOST_PORT);
			if (ret < 0 && !err->msg[0])
				hutch_err(err, ret, "network: handing a host port's socket over");
			close(fds[k]);
		}
	}
	if (ret < 0 || r->p->net_mode != HUTCH_NET_PROXY)
		return ret;
	ret = r->p->net_transparent ? step_transparent(r, err) : 0;
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < ARRAY_SIZE(listeners); i++) {
		uint16_t port = *(const uint16_t *)((const char *)r->p + listeners[i].port_offset);
		_cleanup_close_ int fd =
			hutch_net_listen_loopback(port ? port : listeners[i].default_port, err);
		if (fd < 0)
			return fd;
		ret = ctl_send_fd(r, fd, listeners[i].tag);
		if (ret < 0)
			return hutch_err(err, ret, "network: handing the proxy socket over");
	}
	return 0;
}

static int send_fd(int sock, int fd, uint32_t tag)
{
	ssize_t r = hutch_fds_send(sock, &tag, sizeof(tag), &fd, 1);

	return r < 0 ? (int)r : 0;
}

static int step_pty(struct run *r, hutch_error *err)
{
	_cleanup_close_ int master = -1;
	int ret;

	if (!r->tty.any)
		return 0;
	ret = hutch_pty_open(&r->tty, &master, &r->slave, err);
	if (ret < 0)
		return ret;
	ret = send_fd(r->ctl[1], master, HUTCH_CTL_PTY);
	if (ret < 0)
		return hutch_err(err, ret, "terminal: handing the pty to the supervisor");
	return 0;
}

/*
 * The supervisor moved init into the sandbox's cgroups before "G" (step_protected
 * waited for it): a cgroup namespace made now has that cgroup as its root.
 */
static int step_cgroup(struct run *r, hutch_error *err)
{
	if (hutch_limits_uses_cgroup(r->lim) && unshare(CLONE_NEWCGROUP) < 0)
		return hutch_err(err, errno, "cgroup namespace");
	return 0;
}

static const struct setup_step init_steps[] = {
	{"user namespace", step_id_maps}, /* uid/gid mapped to themselves */
	{"process guard", step_guard},	  /* die with hutch, not dumpable, own process group */
	{"network namespace", step_netns_begin}, /* made by a thread, lo up, meanwhile */
	{"loopback", step_loopback},		 /* else the supervisor brings lo up meanwhile */
	{"filesystem", step_mounts},		 /* the host's / read-only, private dirs, masks */
	{"protected paths", step_protected},	 /* placeholders made: mount them, pivot_root */
	{"network namespace", step_netns_enter}, /* entered, before any socket */
	{"network", step_network},		 /* the proxy's sockets, inside the netns */
	{"cgroup", step_cgroup},		 /* its own cgroup is its cgroup namespace's root */
	{"terminal", step_pty},			 /* a pty of the sandbox's own devpts */
};

static int step_session(struct run *r, hutch_error *err)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return hutch_err(err, errno, "pdeathsig");
	if (setsid() < 0)
		return hutch_err(err, errno, "setsid");
	if (r->tty.any)
		return hutch_pty_attach(&r->tty, r->slave, err);
	return 0;
}

static int step_rlimits(struct run *r, hutch_error *err)
{
	/* Only what no cgroup enforces (memory -> RLIMIT_DATA only without one). */
	return hutch_rlimits_apply(hutch_limits_rlimits(r->lim), err);
}

static int step_nnp(struct run *r, hutch_error *err)
{
	return hutch_no_new_privs(err);
}

static int step_caps(struct run *r, hutch_error *err)
{
	return hutch_caps_drop(r->preloaded, err);
}

/* Writable places of the view, beyond the policy's writable roots. */
static const char *const landlock_writable_fixed[] = {
	"/tmp", "/var/tmp", "/run", "/dev/shm", NULL,
};

/*
 * The devices: the sandbox's /dev holds only these (mount.c), so one rule on
 * it (use what is there, make nothing) does; degraded, /dev is the host's and
 * each gets its own.
 */
static const char *const landlock_devices[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
	"/dev/tty",  "/dev/ptmx", "/dev/pts",  NULL,
};
static const char *const landlock_dev[] = {"/dev"};

/*
 * --ephemeral=root: the top-level directories of the root layer are writable
 * too (/usr, /etc, /var, /opt, /home, ...; not /proc, /sys, /dev, which have
 * their own entries). Host mounts put back on top stay read-only by their
 * mount, hidden and protected paths by theirs.
 */
#define MAX_ROOT_ENTRIES 128
static size_t root_layer_writable(char names[][NAME_MAX + 2], size_t max)
{
	static const char *const not_writable[] = {"proc", "sys", "dev"};
	_cleanup_closedir_ DIR *d = opendir("/");
	struct dirent *de;
	size_t n = 0;

	while (d && n < max && (de = readdir(d))) {
		bool skip = de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, ".."));
		struct stat st;

		for (size_t i = 0; i < ARRAY_SIZE(not_writable); i++)
			if (!strcmp(de->d_name, not_writable[i]))
				skip = true;
		if (skip || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		snprintf(names[n++], NAME_MAX + 2, "/%s", de->d_name);
	}
	return n;
}

bool hutch_run_notify_writes(const struct run *r)
{
	/*
	 * Not in a named session: its init loads the filter for every command and
	 * must not wait for itself; hutch exec has no summary to give either.
	 */
	return (r->layers & HUTCH_LAYER_SECCOMP) && r->user_notif && r->session_listen < 0 &&
	       !r->preloaded;
}

size_t hutch_run_landlock_writable(const struct run *r, const char **rw, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; landlock_writable_fixed[i] && n < max; i++)
		rw[n++] = landlock_writable_fixed[i];
	for (size_t i = 0; r->degraded && landlock_devices[i] && n < max; i++)
		rw[n++] = landlock_devices[i];
	if (n < max)
		rw[n++] = r->p->workspace;
	if (r->xdg_runtime_dir && n < max)
		rw[n++] = r->xdg_runtime_dir;
	for (size_t i = 0; i < r->p->fs_writable.n && n < max; i++)
		rw[n++] = r->p->fs_writable.v[i].value;
	for (size_t i = 0; i < r->p->fs_sockets.n && n < max; i++)
		rw[n++] = r->p->fs_sockets.v[i].value;
	/* private paths: a tmpfs of the sandbox's (mount.c); in degraded mode hidden instead */
	for (size_t i = 0; !r->degraded && i < r->p->fs_private.n && n < max; i++)
		rw[n++] = r->p->fs_private.v[i].value;
	return n;
}

/* The workload's Landlock rules outside degraded mode; @rw and @top hold the paths. */
static void landlock_spec(struct run *r, struct hutch_landlock_spec *spec, const char **rw,
			  char top[][NAME_MAX + 2])
{
	static const char *const ro[] = {"/"};
	size_t n = hutch_run_landlock_writable(r, rw, MAX_LANDLOCK_PATHS);

	*spec = (struct hutch_landlock_spec){.read_exec = ro, .n_read_exec = 1, .writable = rw};
	spec->devices = landlock_dev;
	spec->n_devices = 1;
	if (r->root_mode) {
		size_t nt = root_layer_writable(top, MAX_ROOT_ENTRIES);
		for (size_t i = 0; i < nt && n < MAX_LANDLOCK_PATHS; i++)
			rw[n++] = top[i];
	}
	spec->n_writable = n;
	spec->scope_ipc = true;
	spec->stdio = true; /* a /dev/stdout redirected to a file keeps working */
}

static int step_landlock(struct run *r, hutch_error *err)
{
	char top[MAX_ROOT_ENTRIES][NAME_MAX + 2];
	const char *ro[] = {"/"};
	const char *rw[MAX_LANDLOCK_PATHS], *hidden[MAX_LANDLOCK_PATHS];
	struct hutch_landlock_spec spec = {.read_exec = ro, .n_read_exec = 1, .writable = rw};
	struct hutch_landlock_report rep = {0};
	size_t n = 0, nh = 0;

	if (!(r->layers & HUTCH_LAYER_LANDLOCK))
		return 0;
	/* a named session's command: the rules its init prepared (named_preload_steps) */
	if (r->ll_prepared && r->has_ll_ruleset)
		return hutch_landlock_enforce_prepared(r->ll_prepared, r->ll_ruleset, &rep, err);
	if (r->ll_prepared)
		return hutch_landlock_apply_prepared(r->ll_prepared, &rep, err);
	if (!r->degraded) {
		landlock_spec(r, &spec, rw, top);
		return hutch_landlock_apply(&spec, &rep, err);
	}
	n = hutch_run_landlock_writable(r, rw, MAX_LANDLOCK_PATHS);
	if (r->root_mode) {
		size_t nt = root_layer_writable(top, MAX_ROOT_ENTRIES);
		for (size_t i = 0; i < nt && n < MAX_LANDLOCK_PATHS; i++)
			rw[n++] = top[i];
	}
	/* No mount namespace: hidden and protected paths are Landlock's job alone. */
	for (size_t i = 0; i < r->p->fs_hidden.n && nh < MAX_LANDLOCK_PATHS - 1; i++)
		hidden[nh++] = r->p->fs_hidden.v[i].value;
	/* private paths: the host's directory, since no mount can cover it here */
	for (size_t i = 0; i < r->p->fs_private.n && nh < MAX_LANDLOCK_PATHS - 1; i++)
		hidden[nh++] = r->p->fs_private.v[i].value;
	if (r->state_dir)
		hidden[nh++] = r->state_dir;
	spec.n_writable = n;
	spec.scope_ipc = true;
	spec.hidden = hidden;
	spec.n_hidden = nh;
	spec.protect = r->ll_protect;
	spec.n_protect = r->n_ll_protect;
	spec.hide_list_ancestors = true;
	spec.deny_tcp = r->p->net_mode == HUTCH_NET_NONE;
	spec.stdio = true;
	return hutch_landlock_apply(&spec, &rep, err);
}

/*
 * A named session's init, once: the rules every command's Landlock domain is made
 * of, their paths opened now (the view does not change while the session runs), so
 * that a command only adds them, its stdio rules, and enforces.
 */
static int step_landlock_prepare(struct run *r, hutch_error *err)
{
	char top[MAX_ROOT_ENTRIES][NAME_MAX + 2];
	const char *rw[MAX_LANDLOCK_PATHS];
	struct hutch_landlock_spec spec;

	if (!(r->layers & HUTCH_LAYER_LANDLOCK) || r->degraded)
		return 0;
	landlock_spec(r, &spec, rw, top);
	return hutch_landlock_prepare(&spec, &r->ll_prepared, err);
}

/*
 * The filter, compiled at build time from seccomp-table.c: one seccomp(2) call.
 * @workload: the process that will exec the workload (made readable for the
 * exec listener); otherwise a named session's init, which never executes
 * anything and stays non-dumpable.
 */
static int load_seccomp(struct run *r, bool workload, hutch_error *err)
{
	struct hutch_seccomp_opts o = {0};
	int notify_fd = -1, ret;

	o.deny_inet = r->degraded && r->p->net_mode == HUTCH_NET_NONE;
	/* Audit log or command rules: execve/execveat go to the supervisor. */
	o.notify_exec = hutch_audit_wants_exec(r->audit);
	/* The workload's writes, for the refused ones in the summary (never init's own) */
	o.notify_writes = workload && hutch_run_notify_writes(r);
	/* Command rules fail closed where they cannot be enforced. */
	if (hutch_audit_has_rules(r->audit) && !(r->layers & HUTCH_LAYER_SECCOMP))
		return hutch_errx(err, EOPNOTSUPP, "%s",
				  "command rules need the seccomp layer, not available here");
	if (!(r->layers & HUTCH_LAYER_SECCOMP))
		return 0;
	ret = hutch_seccomp_load_bpf(&hutch_seccomp_precompiled[hutch_seccomp_variant(&o)],
				     hutch_seccomp_notifies(&o), &notify_fd, err);
	if (ret < 0 || notify_fd < 0)
		return ret;
	/*
	 * The supervisor reads this process's first execve (argv, path) like any
	 * later one: readable by it until then (only hutch's own init shares the
	 * sandbox now; exec resets this anyway). The listener goes to the
	 * supervisor and is closed here, or our own exec would wait for ourselves.
	 */
	if (workload && o.notify_exec)
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	ret = ctl_send_fd(r, notify_fd, HUTCH_CTL_SECCOMP);
	close(notify_fd);
	if (ret < 0)
		return hutch_err(err, ret, "seccomp: handing the exec listener over");
	return 0;
}

static int step_seccomp(struct run *r, hutch_error *err)
{
	if (!r->preloaded)
		return load_seccomp(r, true, err);
	/*
	 * Inherited from a named session's init, with the listener it handed over:
	 * readable for the supervisor at the first execve, as above (Landlock, already
	 * applied, keeps the session's other commands from tracing it meanwhile).
	 */
	if (hutch_audit_wants_exec(r->audit) && (r->layers & HUTCH_LAYER_SECCOMP))
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 0;
}

/* The old root is gone (netns_thread): only then may the workload's execve() come. */
static int step_detached(struct run *r, hutch_error *err)
{
	uint64_t word = 0;
	ssize_t n;

	if (!r->detach_pending)
		return 0;
	do
		n = read(r->detach_efd, &word, sizeof(word));
	while (n < 0 && errno == EINTR);
	close(r->detach_efd);
	if (n != (ssize_t)sizeof(word))
		return hutch_err(err, n < 0 ? errno : EIO,
				 "mount: waiting for the old root's detach");
	if (word != 1)
		return hutch_err(err, (int)(word - 2), "mount: detaching the old root");
	return 0;
}

static int step_close_fds(struct run *r, hutch_error *err)
{
	/* Whatever the caller leaked into hutch is closed at exec; the report pipe too. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return hutch_err(err, errno, "closing inherited file descriptors");
	return 0;
}

static const struct setup_step workload_steps[] = {
	{"session", step_session},	      /* signals unblocked, setsid, pty */
	{"rlimits", step_rlimits},	      /* core 0, nproc/fsize/nofile */
	{"no_new_privs", step_nnp},	      /* before Landlock and seccomp */
	{"capabilities", step_caps},	      /* all sets empty, securebits locked */
	{"landlock", step_landlock},	      /* write/exec rights, IPC scopes */
	{"seccomp", step_seccomp},	      /* last before exec */
	{"old root", step_detached},	      /* detached by init's thread: wait for it */
	{"file descriptors", step_close_fds}, /* only 0, 1, 2 survive exec */
};

static int step_bounding(struct run *r, hutch_error *err)
{
	return hutch_caps_drop_bounding(err);
}

static int step_init_seccomp(struct run *r, hutch_error *err)
{
	return load_seccomp(r, false, err);
}

/*
 * A named session's init, once, before it serves commands: what every command
 * would otherwise apply to itself anew and can inherit instead, because it
 * is the same for all of them and init never executes anything. Each command
 * still runs all of workload_steps (its own no_new_privs, capability sets,
 * Landlock domain); the filter is the one it inherits, active from the fork
 * on. Everything init calls afterwards (fork, its control socket, ptys,
 * signals, wait) is allowed by the filter.
 */
static const struct setup_step named_preload_steps[] = {
	{"no_new_privs", step_nnp},	     /* before seccomp */
	{"capabilities", step_bounding},     /* bounding and ambient sets, inherited */
	{"seccomp", step_init_seccomp},	     /* the listener, if any, goes over once */
	{"landlock", step_landlock_prepare}, /* each command's rules, their paths opened */
};

__attribute__((noreturn)) void hutch_run_child_fail(struct run *r, const char *step,
						    const hutch_error *e)
{
	struct child_report rep;

	memset(&rep, 0, sizeof(rep));
	rep.code = e->code ? e->code : -EINVAL;
	rep.status = e->status ? e->status : HUTCH_EXIT_ERROR;
	if (step)
		snprintf(rep.msg, sizeof(rep.msg), "sandbox setup (%s): %s", step, e->msg);
	else
		snprintf(rep.msg, sizeof(rep.msg), "%s", e->msg);
	snprintf(rep.hint, sizeof(rep.hint), "%s", e->hint);
	(void)!write(r->errpipe[1], &rep, sizeof(rep));
	_exit(rep.status);
}

static void run_steps(struct run *r, const struct setup_step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		hutch_error e = {0};
		if (steps[i].fn(r, &e) < 0)
			hutch_run_child_fail(r, steps[i].name, &e);
	}
}

void hutch_run_named_preload(struct run *r)
{
	run_steps(r, named_preload_steps, ARRAY_SIZE(named_preload_steps));
	r->preloaded = true;
}

/*
 * execvp, but with the shell's exit statuses: a command found nowhere in PATH
 * is 127 even if some PATH directory cannot be searched (execvp says EACCES
 * then); 126 only when a file was found that cannot be run.
 */
/* A file without a #! line: run it with /bin/sh, as execvp and the shells do. */
static void exec_script(const char *file, char *const argv[], char *const envp[])
{
	size_t n = 0;

	while (argv[n])
		n++;
	{
		char **v = calloc(n + 2, sizeof(char *));
		if (!v)
			return;
		v[0] = (char *)"/bin/sh";
		v[1] = (char *)file;
		for (size_t i = 1; i < n; i++)
			v[i + 1] = argv[i];
		execve("/bin/sh", v, envp);
		free(v);
	}
	errno = ENOEXEC;
}

static int exec_path(char *const argv[], char *const envp[], bool *found)
{
	const char *path = getenv("PATH");
	const char *name = argv[0];
	size_t nlen = strlen(name);
	int last = ENOENT;

	*found = false;
	if (strchr(name, '/')) {
		execve(name, argv, envp);
		if (errno == ENOEXEC)
			exec_script(name, argv, envp);
		*found = errno != ENOENT && errno != ENOTDIR;
		return errno;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		size_t dlen = (size_t)(end - path);
		char buf[PATH_MAX];
		struct stat st;

		if (dlen == 0)
			dlen = 1, path = "."; /* an empty entry means the current directory */
		if (dlen + 1 + nlen < sizeof(buf)) {
			memcpy(buf, path, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, name, nlen + 1);
			if (stat(buf, &st) == 0 && !S_ISDIR(st.st_mode)) {
				execve(buf, argv, envp);
				if (errno == ENOEXEC)
					exec_script(buf, argv, envp);
				*found = true;
				last = errno;
			}
		}
		path = *end ? end + 1 : end;
	}
	return last;
}

__attribute__((noreturn)) static void exec_workload(struct run *r)
{
	hutch_error e = {0};
	bool found;
	int errnum;

	environ = r->env;
	errnum = exec_path(r->argv, r->env, &found);
	if (!found) {
		hutch_errx(&e, ENOENT, "%s: command not found", r->argv[0]);
		hutch_err_status(&e, HUTCH_EXIT_NOTFOUND);
	} else {
		hutch_err(&e, errnum, "cannot run %s", r->argv[0]);
		hutch_err_status(&e, HUTCH_EXIT_NOEXEC);
	}
	hutch_run_child_fail(r, NULL, &e);
}

/* In init: the workload and everything it left are gone (the supervisor may clean up). */
static void init_gone(void *data)
{
	struct run *r = data;
	uint32_t tag = HUTCH_CTL_GONE;

	(void)send(r->ctl[1], &tag, sizeof(tag), MSG_NOSIGNAL);
	close(r->ctl[1]);
}

static int workload_main(void *data)
{
	struct run *r = data;

	hutch_run_workload(r);
}

/*
 * The workload shares init's memory until its execve() (or its exit on a
 * failed step), init waiting meanwhile, as posix_spawn() does: no copy of
 * init's page tables, no copy-on-write fault on each page either side writes.
 * Its steps act on itself alone (credentials, Landlock, seccomp, rlimits and
 * session are per process), on its own stack and file descriptor table.
 */
#define WORKLOAD_STACK (1024 * 1024)

#if defined(__SANITIZE_ADDRESS__)
#define HUTCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HUTCH_ASAN 1
#endif
#endif

static void *spawn_stack;

pid_t hutch_run_spawn(int (*fn)(void *), void *arg)
{
	void *stack;
	pid_t pid;

#ifdef HUTCH_ASAN
	/* AddressSanitizer cannot follow a switch to another stack: a plain fork there. */
	pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	return pid < 0 ? -errno : pid;
#endif
	/*
	 * One stack for every spawn, kept: the caller waits until the child's execve()
	 * or exit (CLONE_VFORK), so no two children use it at once (a named session's
	 * init spawns each command with it).
	 */
	stack = spawn_stack;
	if (!stack) {
		stack = mmap(NULL, WORKLOAD_STACK, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED)
			return -errno;
		spawn_stack = stack;
	}
	pid = clone(fn, (char *)stack + WORKLOAD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
	return pid < 0 ? -errno : pid;
}

__attribute__((noreturn)) void hutch_run_sandbox_init(struct run *r)
{
	pid_t pid;

	close(r->ctl[0]);
	close(r->errpipe[0]);
	run_steps(r, init_steps, ARRAY_SIZE(init_steps));
	if (r->session_listen >= 0)
		hutch_named_init_loop(r);

	pid = hutch_run_spawn(workload_main, r);
	if (pid < 0) {
		hutch_error e = {0};
		hutch_err(&e, -pid, "forking the workload");
		hutch_run_child_fail(r, "workload", &e);
	}
	close(r->errpipe[1]);
	if (r->slave >= 0)
		close(r->slave);
	hutch_init_main(pid, init_gone, r);
}

/*
 * Bring the sandbox's lo up through the socket init hands over first thing
 * (step_loopback). If init fails before, its own report says why.
 */
int hutch_run_loopback_up(struct run *r, hutch_error *err)
{
	struct pollfd pfd = {.fd = r->ctl[0], .events = POLLIN};
	uint32_t tag = 0;
	int fd, ret;

	do
		ret = poll(&pfd, 1, -1);
	while (ret < 0 && errno == EINTR);
	fd = ret < 0 ? -errno : hutch_run_recv_fd(r->ctl[0], &tag);
	if (fd >= 0 && tag != HUTCH_CTL_LOOPBACK) {
		close(fd);
		fd = -EBADMSG;
	}
	if (fd < 0) {
		/* its report, complete once it is gone (the caller reaps it) */
		kill(r->init_pid, SIGKILL);
		ret = hutch_run_read_report(r, err);
		return ret < 0 ? ret : hutch_err(err, -fd, "starting the sandbox: its network");
	}
	ret = hutch_net_loopback_up_fd(fd, err);
	close(fd);
	return ret;
}

int hutch_run_userns_error(int errnum, hutch_error *err)
{
	struct hutch_feature_info fi;

	hutch_probe(HUTCH_FEAT_USERNS, &fi);
	hutch_err(err, errnum, "required layer userns: cannot create the sandbox namespaces");
	hutch_err_hint(err, "%s%s", fi.fix ? fi.fix : "enable unprivileged user namespaces",
		       "; or run with --allow-degraded (Landlock + seccomp only, weaker)");
	return -errnum;
}

/* The workload's setup steps, then its execve(): in the workload, a named session's command,
 * degraded mode. */
__attribute__((noreturn)) void hutch_run_workload(struct run *r)
{
	run_steps(r, workload_steps, ARRAY_SIZE(workload_steps));
	exec_workload(r);
}
