/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hutch_run(): the ordered setup and the supervisor.
 *
 *   supervisor (host side, the caller's uid)
 *     prepare: environment, mount plan, protected paths + placeholders, tty
 *     clone(NEWUSER|NEWNS|NEWPID|NEWIPC|NEWUTS|NEWCGROUP[|NEWNET]) ->
 *       init (PID 1)  runs init_steps[] in order, forks the workload
 *         workload    runs workload_steps[] in order, then execve()
 *     event loop: terminal relay, signals, (proxy, seccomp notifications)
 *     end: exit status, placeholders removed, nothing left behind
 *
 * A setup failure in the sandbox is written to a CLOEXEC pipe as a struct
 * (errno, exit status, message); the launcher turns it into an error, never a
 * bare exit status. A successful execve() closes the pipe.
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run/asker.h"
#include "audit/audit.h"
#include "base/cleanup.h"
#include "base/escape.h"
#include "base/error.h"
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

#define MAX_LANDLOCK_PATHS 1024
/* One message of protected paths from the supervisor to the sandbox (bytes). */
#define PROTECT_MSG_MAX (32 * 1024)

/* What a failed setup step sends to the launcher (fits in one atomic pipe write). */
struct child_report {
	int code;
	int status;
	char msg[1024];
	char hint[512];
};

struct run {
	const struct hutch_policy *p;
	char *const *argv;
	const struct hutch_run_opts *opts;
	char id[17];
	uid_t uid;
	gid_t gid;
	bool root_mode;	  /* --ephemeral=root: / is the session's root layer */
	bool parent_maps; /* the launcher writes the id maps (the whole range, as the host's root)
			   */
	char **env;
	char *state_dir;
	const char *xdg_runtime_dir; /* a private tmpfs inside, when set */
	struct hutch_mount_plan *plan;
	struct hutch_mount_tree *tree; /* sandbox: built in two steps (the protected paths last) */
	struct hutch_placeholders *ph;
	size_t protect_from; /* plan->ops from here on: found by plan_protected() */
	char **missing;	     /* protected paths needing a placeholder (made after clone) */
	size_t n_missing;
	struct hutch_tty_info tty;
	int errpipe[2];
	int ctl[2]; /* [0] supervisor, [1] sandbox */
	int slave;  /* sandbox: pty peer */
	unsigned layers;
	/* supervisor */
	pid_t init_pid;
	struct hutch_loop *loop;
	int sigfd;
	int master;
	struct hutch_relay *relay;
	bool init_exited;
	int init_status;
	int timerfd;
	bool degraded;		 /* no user namespace: Landlock + seccomp + rlimits only */
	const char **ll_protect; /* degraded: absolute protected paths for Landlock */
	size_t n_ll_protect;
	int proxy_fd[2];	   /* listening sockets made inside the netns: HTTP, SOCKS5 */
	struct hutch_proxy *proxy; /* the filtering proxy, once both sockets arrived */
	struct hutch_asker *asker; /* --ask: the questions, off the loop */
	hutch_error proxy_err;	   /* why the proxy could not start (fail closed) */
	/* host ports (--host-port): made at their first listening socket */
	struct hutch_hostport *hostport;
	/* named sessions (session.c in the daemon, init_session_loop in init) */
	int session_listen;	  /* control.sock, -1 when not a named session */
	int ready_fd;		  /* daemon -> foreground hutch: "ready" or an error */
	struct session_cmd *cmds; /* daemon: commands in flight, by id */
	size_t n_cmds;
	uint32_t next_id;
	bool timed_out;
	bool killed;
	/* stopping: the polite signal went in, SIGKILL to the whole sandbox after stop_ms */
	bool stopping;
	int stop_signal; /* SIGTERM, SIGINT or SIGHUP sent to hutch that started it, 0 if none */
	uint64_t stop_ms;
	struct hutch_limits_state *lim; /* limits: who enforces what, cgroups, what fired */
	struct hutch_audit *audit;	/* audit log, exec monitor, summary counters */
	struct timespec start;		/* CLOCK_REALTIME before the sandbox: for gitguard.c */
	struct hutch_gitguard_stats guard;
	bool guarded;
};

struct setup_step {
	const char *name;
	int (*fn)(struct run *r, hutch_error *err);
};

/* ---- steps run by init (PID 1), in this order ----------------------------- */

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
			return hutch_errx(err, ECANCELED, 0,
					  "userns: the id maps were not written");
		return 0;
	}
	if (r->root_mode) {
		/* --ephemeral=root: root inside (as unshare -r), so package managers proceed */
		m.inside_uid = 0;
		m.inside_gid = 0;
	}
	return hutch_ns_write_maps(0, &m, err);
}

static int step_guard(struct run *r, hutch_error *err)
{
	char c;

	/* Die with the supervisor; our helpers are not dumpable (no ptrace, no /proc peeking). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return hutch_err(err, errno, 0, "pdeathsig");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return hutch_err(err, errno, 0, "dumpable");
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
		return hutch_err(err, errno, 0, "setpgid");
	return 0;
}

static int step_mounts(struct run *r, hutch_error *err)
{
	return hutch_mount_tree_begin(r->plan, &r->tree, err);
}

/*
 * The protected paths: take them from the supervisor ("P" messages: packed
 * ops) until it has made their placeholders ("G"), mount them, enter the tree.
 */
static int step_protected(struct run *r, hutch_error *err)
{
	_cleanup_free_ char *buf = malloc(PROTECT_MSG_MAX);
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
		if (n < 1 || buf[0] != 'P')
			return hutch_errx(err, ECANCELED, 0,
					  "mount: waiting for the protected paths");
		ret = hutch_mount_plan_unpack(r->plan, buf + 1, (size_t)n - 1);
		if (ret < 0)
			return hutch_err(err, ret, 0, "mount: receiving the protected paths");
	}
	ret = hutch_mount_tree_finish(r->plan, r->tree, err);
	hutch_mount_tree_free(r->tree);
	r->tree = NULL;
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

	if (r->p->net_mode == HUTCH_NET_HOST || r->session_listen >= 0)
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hutch_err(err, errno, 0, "network: socket for lo");
	ret = send_fd(r->ctl[1], fd, HUTCH_CTL_LOOPBACK);
	return ret < 0 ? hutch_err(err, ret, 0, "network: handing lo over") : 0;
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
				hutch_err(err, ret, 0,
					  "network: handing a host port's socket over");
			close(fds[k]);
		}
	}
	if (ret < 0 || r->p->net_mode != HUTCH_NET_PROXY)
		return ret;
	for (size_t i = 0; i < ARRAY_SIZE(listeners); i++) {
		uint16_t port = *(const uint16_t *)((const char *)r->p + listeners[i].port_offset);
		_cleanup_close_ int fd =
			hutch_net_listen_loopback(port ? port : listeners[i].default_port, err);
		if (fd < 0)
			return fd;
		ret = ctl_send_fd(r, fd, listeners[i].tag);
		if (ret < 0)
			return hutch_err(err, ret, 0, "network: handing the proxy socket over");
	}
	return 0;
}

static int send_fd(int sock, int fd, uint32_t tag)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&tag, sizeof(tag)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
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
		return hutch_err(err, ret, 0, "terminal: handing the pty to the supervisor");
	return 0;
}

/*
 * The supervisor moved init into the sandbox's cgroups before "G" (step_protected
 * waited for it): a cgroup namespace made now has that cgroup as its root.
 */
static int step_cgroup(struct run *r, hutch_error *err)
{
	if (hutch_limits_uses_cgroup(r->lim) && unshare(CLONE_NEWCGROUP) < 0)
		return hutch_err(err, errno, 0, "cgroup namespace");
	return 0;
}

static const struct setup_step init_steps[] = {
	{"user namespace", step_id_maps},    /* uid/gid mapped to themselves */
	{"process guard", step_guard},	     /* die with hutch, not dumpable, own process group */
	{"loopback", step_loopback},	     /* the supervisor brings lo up meanwhile */
	{"filesystem", step_mounts},	     /* the host's / read-only, private dirs, masks */
	{"protected paths", step_protected}, /* placeholders made: mount them, pivot_root */
	{"network", step_network},	     /* the proxy's sockets, inside the netns */
	{"cgroup", step_cgroup},	     /* its own cgroup is its cgroup namespace's root */
	{"terminal", step_pty},		     /* a pty of the sandbox's own devpts */
};

/* ---- steps run by the workload, in this order, then execve --------------- */

static int step_session(struct run *r, hutch_error *err)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return hutch_err(err, errno, 0, "pdeathsig");
	if (setsid() < 0)
		return hutch_err(err, errno, 0, "setsid");
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
	return hutch_caps_drop_all(err);
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

static int step_landlock(struct run *r, hutch_error *err)
{
	char top[MAX_ROOT_ENTRIES][NAME_MAX + 2];
	const char *ro[] = {"/"};
	const char *rw[MAX_LANDLOCK_PATHS];
	struct hutch_landlock_spec spec = {.read_exec = ro, .n_read_exec = 1, .writable = rw};
	struct hutch_landlock_report rep = {0};
	size_t n = 0;
	int ret;

	if (!(r->layers & HUTCH_LAYER_LANDLOCK))
		return 0;
	for (size_t i = 0; landlock_writable_fixed[i]; i++)
		rw[n++] = landlock_writable_fixed[i];
	if (r->degraded) {
		for (size_t i = 0; landlock_devices[i]; i++)
			rw[n++] = landlock_devices[i];
	} else {
		spec.devices = landlock_dev;
		spec.n_devices = 1;
	}
	rw[n++] = r->p->workspace;
	if (r->xdg_runtime_dir)
		rw[n++] = r->xdg_runtime_dir;
	for (size_t i = 0; i < r->p->fs_writable.n && n < MAX_LANDLOCK_PATHS; i++)
		rw[n++] = r->p->fs_writable.v[i].value;
	for (size_t i = 0; i < r->p->fs_sockets.n && n < MAX_LANDLOCK_PATHS; i++)
		rw[n++] = r->p->fs_sockets.v[i].value;
	if (r->root_mode) {
		size_t nt = root_layer_writable(top, MAX_ROOT_ENTRIES);
		for (size_t i = 0; i < nt && n < MAX_LANDLOCK_PATHS; i++)
			rw[n++] = top[i];
	}
	spec.n_writable = n;
	spec.scope_ipc = true;
	if (r->degraded) {
		/* No mount namespace: hidden and protected paths are Landlock's job alone. */
		const char *hidden[MAX_LANDLOCK_PATHS];
		size_t nh = 0;
		for (size_t i = 0; i < r->p->fs_hidden.n && nh < MAX_LANDLOCK_PATHS - 1; i++)
			hidden[nh++] = r->p->fs_hidden.v[i].value;
		if (r->state_dir)
			hidden[nh++] = r->state_dir;
		spec.hidden = hidden;
		spec.n_hidden = nh;
		spec.protect = r->ll_protect;
		spec.n_protect = r->n_ll_protect;
		spec.hide_list_ancestors = true;
		spec.deny_tcp = r->p->net_mode == HUTCH_NET_NONE;
		spec.stdio = true;
		return hutch_landlock_apply(&spec, &rep, err);
	}
	spec.stdio = true; /* a /dev/stdout redirected to a file keeps working */
	ret = hutch_landlock_apply(&spec, &rep, err);
	return ret;
}

static int step_seccomp(struct run *r, hutch_error *err)
{
	struct hutch_seccomp_opts o = {0};
	int notify_fd = -1, ret;

	o.deny_inet = r->degraded && r->p->net_mode == HUTCH_NET_NONE;
	/* Audit log or command rules: execve/execveat go to the supervisor. */
	o.notify_exec = hutch_audit_wants_exec(r->audit);
	/* Command rules fail closed where they cannot be enforced. */
	if (hutch_audit_has_rules(r->audit) && !(r->layers & HUTCH_LAYER_SECCOMP))
		return hutch_errx(err, EOPNOTSUPP, HUTCH_EXIT_ERROR, "%s",
				  "command rules need the seccomp layer, not available here");
	if (!(r->layers & HUTCH_LAYER_SECCOMP))
		return 0;
	/* Compiled at build time from seccomp-table.c: one seccomp(2) call here. */
	ret = hutch_seccomp_load_bpf(&hutch_seccomp_precompiled[hutch_seccomp_variant(&o)],
				     o.notify_exec, &notify_fd, err);
	if (ret < 0 || notify_fd < 0)
		return ret;
	/*
	 * The supervisor reads this process's first execve (argv, path) like any
	 * later one: readable by it until then (only hutch's own init shares the
	 * sandbox now; exec resets this anyway). The listener goes to the
	 * supervisor and is closed here, or our own exec would wait for ourselves.
	 */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	ret = ctl_send_fd(r, notify_fd, HUTCH_CTL_SECCOMP);
	close(notify_fd);
	if (ret < 0)
		return hutch_err(err, ret, 0, "seccomp: handing the exec listener over");
	return 0;
}

static int step_close_fds(struct run *r, hutch_error *err)
{
	/* Whatever the caller leaked into hutch is closed at exec; the report pipe too. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return hutch_err(err, errno, 0, "closing inherited file descriptors");
	return 0;
}

static const struct setup_step workload_steps[] = {
	{"session", step_session},	      /* signals unblocked, setsid, pty */
	{"rlimits", step_rlimits},	      /* core 0, nproc/fsize/nofile */
	{"no_new_privs", step_nnp},	      /* before Landlock and seccomp */
	{"capabilities", step_caps},	      /* all sets empty, securebits locked */
	{"landlock", step_landlock},	      /* write/exec rights, IPC scopes */
	{"seccomp", step_seccomp},	      /* last before exec */
	{"file descriptors", step_close_fds}, /* only 0, 1, 2 survive exec */
};

/* ---- child side ---------------------------------------------------------- */

__attribute__((noreturn)) static void child_fail(struct run *r, const char *step,
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
			child_fail(r, steps[i].name, &e);
	}
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
	if (!found)
		hutch_errx(&e, ENOENT, HUTCH_EXIT_NOTFOUND, "%s: command not found", r->argv[0]);
	else
		hutch_err(&e, errnum, HUTCH_EXIT_NOEXEC, "cannot run %s", r->argv[0]);
	child_fail(r, NULL, &e);
}

/* ---- named sessions: init serves commands -------------------------------- */

#define SESSION_MAX_CMDS 256

struct init_cmd {
	uint32_t id;
	pid_t pid;
	int errfd; /* the command's setup report pipe */
};

struct session_cmd {
	uint32_t id;
	int client; /* -1 once the client went away */
	bool done;
	struct hutch_cg_events ev0; /* the limits' counters when it started */
};

static void init_send(struct run *r, uint32_t type, uint32_t id, int32_t value, const char *msg,
		      int fd)
{
	struct hutch_nm_hdr h = {.type = type, .id = id, .value = value};

	(void)hutch_nm_send(r->ctl[1], &h, msg, msg ? strlen(msg) : 0, fd >= 0 ? &fd : NULL,
			    fd >= 0 ? 1 : 0);
}

/* Parse "cwd" + argc NUL-terminated strings; argv points into @buf. */
static char **parse_exec(const struct hutch_nm_hdr *h, char *buf, size_t len, char **cwd)
{
	char **argv;
	size_t off;

	if (h->argc == 0 || h->argc > 65536 || h->cwd_len >= len)
		return NULL;
	argv = calloc(h->argc + 1, sizeof(char *));
	if (!argv)
		return NULL;
	off = h->cwd_len;
	for (uint32_t i = 0; i < h->argc; i++) {
		char *end = memchr(buf + off, '\0', len - off);
		if (!end || off >= len) {
			free(argv);
			return NULL;
		}
		argv[i] = buf + off;
		off = (size_t)(end - buf) + 1;
	}
	*cwd = strndup(buf, h->cwd_len);
	if (!*cwd) {
		free(argv);
		return NULL;
	}
	return argv;
}

static void init_start_cmd(struct run *r, const struct hutch_nm_hdr *h, char *buf, size_t len,
			   int *fds, size_t nfds, struct init_cmd *cmds, size_t *n)
{
	_cleanup_free_ char *cwd = NULL;
	_cleanup_free_ char **argv = parse_exec(h, buf, len, &cwd);
	struct hutch_tty_info t;
	int master = -1, slave = -1, ep[2];
	pid_t pid;

	memset(&t, 0, sizeof(t));
	t.host_fd = -1;
	for (int i = 0; i < 3; i++)
		t.is_tty[i] = (h->tty >> i) & 1;
	t.any = h->tty != 0;
	t.winsize = h->ws;
	if (!argv || *n >= SESSION_MAX_CMDS) {
		init_send(r, NM_ERROR, h->id, HUTCH_EXIT_ERROR,
			  argv ? "too many commands in this session" : "malformed command", -1);
		return;
	}
	for (size_t i = 0; i < nfds; i++) {
		struct stat st;
		if (fstat(fds[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			init_send(r, NM_ERROR, h->id, HUTCH_EXIT_ERROR,
				  "a directory as stdin/stdout/stderr would bypass the sandbox's "
				  "filesystem view: refused",
				  -1);
			return;
		}
	}
	if (t.any) {
		hutch_error e = {0};
		if (hutch_pty_open(&t, &master, &slave, &e) < 0) {
			init_send(r, NM_ERROR, h->id, HUTCH_EXIT_ERROR, e.msg, -1);
			return;
		}
	}
	if (pipe2(ep, O_CLOEXEC) < 0) {
		init_send(r, NM_ERROR, h->id, HUTCH_EXIT_ERROR, "pipe", -1);
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 3; i++)
			if (!t.is_tty[i] && (size_t)i < nfds && fds[i] != i)
				dup2(fds[i], i);
		for (size_t i = 0; i < nfds; i++)
			if (fds[i] > 2)
				close(fds[i]);
		if (chdir(cwd) < 0 && chdir(r->p->workspace) < 0)
			(void)!chdir("/");
		r->argv = argv;
		r->tty = t;
		r->slave = slave;
		r->errpipe[0] = -1;
		r->errpipe[1] = ep[1];
		close(ep[0]);
		run_steps(r, workload_steps, ARRAY_SIZE(workload_steps));
		exec_workload(r);
	}
	close(ep[1]);
	if (pid < 0) {
		close(ep[0]);
		init_send(r, NM_ERROR, h->id, HUTCH_EXIT_ERROR, "fork failed", -1);
		goto out;
	}
	cmds[*n].id = h->id;
	cmds[*n].pid = pid;
	cmds[*n].errfd = ep[0];
	(*n)++;
	init_send(r, NM_STARTED, h->id, 0, NULL, master);
out:
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
}

/* Reap what ended; true when no process but init is left. */
static bool init_reap(struct run *r, struct init_cmd *cmds, size_t *n)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (hutch_init_untrace(pid, st))
			continue;
		for (size_t i = 0; i < *n; i++) {
			struct child_report rep;
			if (cmds[i].pid != pid)
				continue;
			if (read(cmds[i].errfd, &rep, sizeof(rep)) == (ssize_t)sizeof(rep)) {
				rep.msg[sizeof(rep.msg) - 1] = '\0';
				init_send(r, NM_ERROR, cmds[i].id, rep.status, rep.msg, -1);
			} else {
				init_send(r, NM_EXIT, cmds[i].id, hutch_wait_status_to_exit(st),
					  NULL, -1);
			}
			close(cmds[i].errfd);
			cmds[i] = cmds[--(*n)];
			break;
		}
	}
	return pid < 0 && errno == ECHILD;
}

/*
 * PID 1 of a named session: serve NM_EXEC requests from the supervisor until
 * it goes away (then exit, which ends every process of the sandbox).
 * Background processes started by one command live on for the next.
 */
__attribute__((noreturn)) static void init_session_loop(struct run *r)
{
	struct init_cmd cmds[SESSION_MAX_CMDS];
	static char buf[HUTCH_NAMED_MAX_MSG + 1];
	size_t n = 0;
	sigset_t mask;
	bool stopping = false;
	int sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		_exit(HUTCH_EXIT_ERROR);
	close(r->errpipe[1]);
	r->errpipe[1] = -1;
	init_send(r, NM_STARTED, 0, 0, NULL, -1); /* the sandbox is ready */
	for (;;) {
		struct pollfd pfd[2] = {{r->ctl[1], POLLIN, 0}, {sfd, POLLIN, 0}};
		struct hutch_nm_hdr h;
		int fds[3];
		size_t nfds = 0;
		ssize_t len;

		if (poll(pfd, 2, -1) < 0)
			continue;
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			if (init_reap(r, cmds, &n) && stopping)
				_exit(0); /* stopped: every process is gone */
		}
		if (!pfd[0].revents)
			continue;
		len = hutch_nm_recv(r->ctl[1], &h, buf, sizeof(buf) - 1, fds, &nfds);
		if (len == -EAGAIN || len == -EINTR)
			continue;
		if (len < 0 || h.type == 0)
			_exit(0); /* the supervisor is gone: so is the sandbox */
		if (h.type == NM_EXEC) {
			init_start_cmd(r, &h, buf, (size_t)len, fds, nfds, cmds, &n);
		} else if (h.type == NM_SIGNAL) {
			for (size_t i = 0; i < n; i++)
				if (cmds[i].id == h.id && h.value > 0 && h.value < 65) {
					kill(cmds[i].pid, h.value);
					/* the end of a grace period: its process group too */
					if (h.value == SIGKILL)
						kill(-cmds[i].pid, SIGKILL);
				}
		} else if (h.type == NM_STOP && h.value > 0 && h.value < 65) {
			/* the session ends: @value to every process, init leaves when all are gone
			 */
			stopping = true;
			(void)kill(-1, h.value);
			if (init_reap(r, cmds, &n))
				_exit(0);
		}
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
	}
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

	run_steps(r, workload_steps, ARRAY_SIZE(workload_steps));
	exec_workload(r);
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

static pid_t spawn_workload(struct run *r)
{
	void *stack;
	pid_t pid;

#ifdef HUTCH_ASAN
	/* AddressSanitizer cannot follow a switch to another stack: a plain fork there. */
	pid = fork();
	if (pid == 0)
		_exit(workload_main(r));
	return pid < 0 ? -errno : pid;
#endif
	stack = mmap(NULL, WORKLOAD_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	pid = clone(workload_main, (char *)stack + WORKLOAD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD,
		    r);
	if (pid < 0)
		pid = -errno;
	munmap(stack, WORKLOAD_STACK);
	return pid;
}

__attribute__((noreturn)) static void sandbox_init(struct run *r)
{
	pid_t pid;

	close(r->ctl[0]);
	close(r->errpipe[0]);
	run_steps(r, init_steps, ARRAY_SIZE(init_steps));
	if (r->session_listen >= 0)
		init_session_loop(r);

	pid = spawn_workload(r);
	if (pid < 0) {
		hutch_error e = {0};
		hutch_err(&e, -pid, 0, "forking the workload");
		child_fail(r, "workload", &e);
	}
	close(r->errpipe[1]);
	if (r->slave >= 0)
		close(r->slave);
	hutch_init_main(pid, init_gone, r);
}

/* ---- supervisor side ----------------------------------------------------- */

static int recv_fd(int sock, uint32_t *tag)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {tag, sizeof(*tag)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	ssize_t n;
	int fd = -1;

	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (fd < 0 && n == sizeof(*tag))
		return -ENOENT; /* a message without a descriptor: only the tag */
	return fd >= 0 ? fd : -EBADMSG;
}

/*
 * The placeholders go; those left in place because something else was found
 * where hutch placed them (the sandbox swapped a directory for a symbolic
 * link...) are said in one warning: how many, the first of this run's lines
 * of STATE/placeholders/.refused (appended after @before, escaped there), what
 * to check.
 */
static void placeholders_done(struct run *r)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	char lines[768], joined[800] = "", shown[1024], msg[1600];
	struct stat st;
	off_t before = 0;
	ssize_t got;
	int n, n_lines = 0;

	if (!r->ph)
		return;
	if (r->state_dir && asprintf(&path, "%s/placeholders/.refused", r->state_dir) < 0)
		path = NULL;
	if (path && stat(path, &st) == 0)
		before = st.st_size;
	n = hutch_placeholders_remove(r->ph);
	r->ph = NULL;
	if (n <= 0 || !r->opts || !r->opts->warn)
		return;
	if (path)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	got = fd >= 0 ? pread(fd, lines, sizeof(lines) - 1, before) : -1;
	lines[got > 0 ? got : 0] = '\0';
	for (const char *p = lines; *p && n_lines < 3; n_lines++) { /* "a; b; c" */
		size_t l = strcspn(p, "\n"), o = strlen(joined);
		snprintf(joined + o, sizeof(joined) - o, "%s%.*s", n_lines ? "; " : "", (int)l, p);
		p += l + (p[l] != '\0');
	}
	snprintf(msg, sizeof(msg),
		 "warning: %d placeholder%s of protected paths left in place: what was found there "
		 "was not what hutch placed (moved or swapped for a symbolic link inside the "
		 "sandbox)%s%s; check those paths in the workspace and remove what is left (the "
		 "list: %s)",
		 n, n == 1 ? "" : "s", joined[0] ? ": " : "",
		 hutch_escape_str(joined, shown, sizeof(shown), 0),
		 path ? path : "STATE/placeholders/.refused");
	r->opts->warn(msg, r->opts->data);
}

/*
 * Init has killed and reaped every other process of the sandbox and is about
 * to exit: nothing in it can use a protected path any more, so their
 * placeholders go now, while the kernel takes the namespaces down.
 */
static void sandbox_gone(struct run *r)
{
	if (r->session_listen >= 0 || r->degraded)
		return;
	placeholders_done(r);
}

static void on_proxy_record(const struct hutch_proxy_record *rec, void *data)
{
	struct run *r = data;
	char msg[600];

	hutch_audit_proxy_record(rec, r->audit);
	if (rec->phase != HUTCH_PROXY_END || rec->outcome == HUTCH_PROXY_CONNECTED || !r->opts ||
	    !r->opts->warn || r->opts->verbose < 1)
		return;
	if (rec->outcome == HUTCH_PROXY_FAILED)
		snprintf(msg, sizeof(msg), "network: connection to %s:%u failed: %s", rec->host,
			 (unsigned)rec->port, rec->reason ? rec->reason : "unknown error");
	else
		snprintf(msg, sizeof(msg), "network: denied %s:%u (%s)",
			 rec->host[0] ? rec->host : "?", (unsigned)rec->port,
			 rec->rule     ? rec->rule
			 : rec->reason ? rec->reason
				       : "not allowed");
	r->opts->warn(msg, r->opts->data);
}

/* --ask: a question for the user; the terminal relay holds still while any is open. */
static int proxy_ask(const char *host, uint16_t port, void *data)
{
	struct run *r = data;
	int ret = hutch_asker_ask(r->asker, host, port);

	if (ret >= 0)
		hutch_relay_hold(r->relay, true);
	return ret;
}

static void ask_answered(const char *host, uint16_t port, enum hutch_ask_decision answer,
			 unsigned busy, void *data)
{
	struct run *r = data;

	hutch_proxy_ask_answer(r->proxy, host, port, answer);
	if (!busy)
		hutch_relay_hold(r->relay, false);
}

/*
 * The audit log cannot go on (a write failed, its size bound was reached):
 * stop the sandbox rather than let it run unaudited. supervise() reports it.
 */
static void on_audit_stop(void *data)
{
	struct run *r = data;

	if (r->init_pid > 0 && !r->init_exited)
		kill(r->init_pid, SIGKILL);
}

/*
 * The proxy engine (src/lib/proxy) takes over both sockets. If it cannot
 * start, the sandbox is stopped: its namespace has no other way out, and a
 * command that silently has no network would only fail later and obscurely.
 */
static int start_proxy(struct run *r)
{
	struct hutch_proxy_hooks hooks = {.on_record = on_proxy_record, .userdata = r};

	int ret;

	/* --ask: the caller's question, put by the proxy, asked on the asker's thread */
	if (r->opts && r->opts->ask) {
		ret = hutch_asker_new(r->loop, r->opts, ask_answered, r, &r->asker);
		if (ret >= 0) {
			hooks.ask = proxy_ask;
			hooks.ask_data = r;
		} else if (r->opts->warn) {
			r->opts->warn("--ask: cannot ask (no thread for the questions): "
				      "destinations outside the allowlist are denied",
				      r->opts->data);
		}
	}

	ret = hutch_proxy_new(r->loop, r->p, r->proxy_fd[0], r->proxy_fd[1], &hooks, &r->proxy,
			      &r->proxy_err);
	r->proxy_fd[0] = r->proxy_fd[1] = -1; /* the proxy owns them now */
	if (ret < 0) {
		if (!r->proxy_err.msg[0])
			hutch_err(&r->proxy_err, ret, 0, "network: starting the proxy");
		kill(r->init_pid, SIGKILL);
	}
	return 0;
}

/* The exit summary (audit.c) lists the denied destinations so the user knows what to add. */
static void finish_proxy(struct run *r)
{
	hutch_proxy_free(r->proxy); /* closes what is left: each gives its record */
	r->proxy = NULL;
	hutch_hostport_free(r->hostport);
	r->hostport = NULL;
}

/* A host port's listening socket: relayed to the host's loopback (proxy/hostport.h). */
static int take_host_port(struct run *r, int fd)
{
	struct hutch_proxy_hooks hooks = {.on_record = on_proxy_record, .userdata = r};
	int ret = 0;

	if (!r->hostport)
		ret = hutch_hostport_new(r->loop, r->p, &hooks, &r->hostport, &r->proxy_err);
	if (ret >= 0)
		ret = hutch_hostport_add_listener(r->hostport, fd, &r->proxy_err);
	else
		close(fd);
	if (ret < 0) /* fail closed, like the proxy: supervise() reports proxy_err */
		kill(r->init_pid, SIGKILL);
	return 0;
}

/* A descriptor the sandbox handed over: the proxy's listeners, the exec listener, the pty. */
static int take_ctl_fd(struct run *r, struct hutch_loop *loop, uint32_t tag, int got)
{
	switch (tag) {
	case HUTCH_CTL_PROXY_HTTP:
	case HUTCH_CTL_PROXY_SOCKS: {
		int *slot = &r->proxy_fd[tag == HUTCH_CTL_PROXY_SOCKS];
		if (*slot >= 0)
			close(*slot);
		*slot = got;
		if (r->proxy_fd[0] >= 0 && r->proxy_fd[1] >= 0)
			return start_proxy(r);
		break;
	}
	case HUTCH_CTL_HOST_PORT:
		return take_host_port(r, got);
	case HUTCH_CTL_SECCOMP:
		/* exec notifications: audit events, command rules (the monitor owns the fd) */
		(void)hutch_audit_add_listener(r->audit, loop, got);
		break;
	case HUTCH_CTL_PTY:
		if (r->master >= 0 || hutch_relay_start(loop, &r->tty, got, &r->relay) < 0) {
			close(got);
			break;
		}
		r->master = got;
		hutch_relay_resize(r->relay);
		break;
	default:
		close(got);
		break;
	}
	return 0;
}

static int on_ctl(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	uint32_t tag = 0;
	int got = recv_fd(fd, &tag);

	if (got == -EAGAIN)
		return 0;
	if (got == -ENOENT && tag == HUTCH_CTL_GONE) {
		sandbox_gone(r);
		return 0;
	}
	if (got < 0) {
		hutch_loop_del(loop, fd);
		return 0;
	}
	return take_ctl_fd(r, loop, tag, got);
}

static int arm_timer(int fd, uint64_t ms)
{
	struct itimerspec its = {0};

	its.it_value.tv_sec = (time_t)(ms / 1000);
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (ms == 0)
		its.it_value.tv_nsec = 1; /* 0 would disarm it: at once instead */
	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

/*
 * Stopping the sandbox, as `docker stop` does: a polite signal first, then,
 * if it is still there after the grace period (--stop-timeout, hutch stop's),
 * SIGKILL to init, which takes its whole PID namespace with it (in degraded
 * mode: to the workload, its leftovers are killed at the end).
 */
static void stop_kill(struct run *r)
{
	if (r->killed || r->init_pid <= 0)
		return;
	r->killed = true;
	kill(r->init_pid, SIGKILL);
}

static void stop_begin(struct run *r)
{
	if (r->stopping)
		return;
	r->stopping = true;
	hutch_asker_cancel(r->asker); /* an open question is refused: the sandbox ends */
	if (r->timerfd < 0 || arm_timer(r->timerfd, r->stop_ms) < 0)
		stop_kill(r); /* no way to wait: fail closed, at once */
}

/* The polite signal to every process of the sandbox (a timeout, hutch stop): SIGTERM. */
static void stop_terminate_all(struct run *r)
{
	if (r->session_listen >= 0) {
		struct hutch_nm_hdr h = {.type = NM_STOP, .value = SIGTERM};

		if (hutch_nm_send(r->ctl[0], &h, NULL, 0, NULL, 0) < 0)
			stop_kill(r);
	} else {
		kill(r->init_pid, r->degraded ? SIGTERM : HUTCH_SIG_TERMINATE_ALL);
	}
}

/* SIGTERM, SIGINT, SIGHUP sent to hutch: passed on, then the grace period. */
static bool is_stop_signal(int sig)
{
	return sig == SIGTERM || sig == SIGINT || sig == SIGHUP;
}

static int on_signal(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int st;
			pid_t pid;
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
				/* degraded mode: the workload is ours, and may make us its tracer
				 */
				if (hutch_init_untrace(pid, st))
					continue;
				if (pid == r->init_pid) {
					r->init_exited = true;
					r->init_status = st;
				}
			}
			if (r->init_exited)
				hutch_loop_quit(loop, 0);
		} else if (si.ssi_signo == SIGWINCH) {
			hutch_relay_resize(r->relay);
		} else if (r->init_pid > 0 && r->session_listen >= 0) {
			/* the daemon of a named session: a stop of the whole session */
			if (is_stop_signal((int)si.ssi_signo)) {
				stop_terminate_all(r);
				stop_begin(r);
			}
		} else if (r->init_pid > 0) {
			kill(r->init_pid, (int)si.ssi_signo);
			if (is_stop_signal((int)si.ssi_signo)) {
				if (!r->stop_signal && !r->timed_out)
					r->stop_signal = (int)si.ssi_signo;
				stop_begin(r);
			}
		}
	}
	return 0;
}

static int on_timer(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	uint64_t n;
	char msg[128];

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	if (!r->stopping) {
		r->timed_out = true;
		snprintf(msg, sizeof(msg),
			 "timeout: the command ran longer than %llu ms; stopping the sandbox",
			 (unsigned long long)r->p->limits.timeout_ms);
		if (r->opts && r->opts->warn)
			r->opts->warn(msg, r->opts->data);
		hutch_audit_limit(r->audit, "timeout", r->p->limits.timeout_ms, msg);
		stop_terminate_all(r);
		stop_begin(r);
		return 0;
	}
	stop_kill(r); /* the grace period is over */
	return 0;
}

static void signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (size_t i = 0; hutch_forwarded_signals[i]; i++)
		sigaddset(set, hutch_forwarded_signals[i]);
}

static int read_report(struct run *r, hutch_error *err)
{
	struct child_report rep;
	ssize_t n = read(r->errpipe[0], &rep, sizeof(rep));

	if (n != (ssize_t)sizeof(rep))
		return 0;
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	rep.hint[sizeof(rep.hint) - 1] = '\0';
	hutch_errx(err, rep.code, rep.status, "%s", rep.msg);
	if (rep.hint[0])
		hutch_err_hint(err, "%s", rep.hint);
	return rep.code < 0 ? rep.code : -EINVAL;
}

static int make_id(char out[17])
{
	uint8_t b[8];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return -errno;
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

static char *state_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	_cleanup_free_ char *base = NULL;

	if (xdg && xdg[0] == '/')
		return hutch_path_join(xdg, "hutch");
	if (!home || home[0] != '/')
		return NULL;
	base = hutch_path_join(home, ".local/state");
	return base ? hutch_path_join(base, "hutch") : NULL;
}

/*
 * Which layers to set up: the required ones must work; the others when the
 * kernel has them. Only cheap probes here (no fork): this runs per command.
 */
static int decide_layers(struct run *r, hutch_error *err)
{
	struct hutch_feature_info fi = {0};
	int abi = hutch_landlock_abi();

	r->layers = HUTCH_LAYER_USERNS;
	if (abi > 0) {
		r->layers |= HUTCH_LAYER_LANDLOCK;
	} else if (r->p->require & HUTCH_LAYER_LANDLOCK) {
		hutch_probe(HUTCH_FEAT_LANDLOCK, &fi);
		goto missing;
	}
	/* seccomp filters: SECCOMP_GET_ACTION_AVAIL exists since 4.14 */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0) {
		r->layers |= HUTCH_LAYER_SECCOMP;
	} else if (r->p->require & HUTCH_LAYER_SECCOMP) {
		hutch_probe(HUTCH_FEAT_SECCOMP, &fi);
		goto missing;
	}
	if ((r->layers & (HUTCH_LAYER_LANDLOCK | HUTCH_LAYER_SECCOMP)) !=
		    (HUTCH_LAYER_LANDLOCK | HUTCH_LAYER_SECCOMP) &&
	    r->opts && r->opts->warn)
		r->opts->warn(abi > 0 ? "warning: seccomp is not available: running without a "
					"syscall filter"
				      : "warning: Landlock is not available: running without it",
			      r->opts->data);
	return 0;
missing:
	hutch_errx(err, EOPNOTSUPP, HUTCH_EXIT_ERROR, "required layer %s is not available: %s",
		   fi.name, fi.detail);
	if (fi.fix)
		hutch_err_hint(err, "%s", fi.fix);
	return -EOPNOTSUPP;
}

/* -v, --ephemeral=root without the host's root: what works and what does not. */
static const char root_mode_note[] =
	"note: --ephemeral=root as an unprivileged user: the command runs as root inside (your "
	"uid mapped to 0) but files owned by the real root stay read-only; new files can be made "
	"in /usr/local, /usr/bin, /usr/lib, /usr/share, /etc, /opt, /var/lib/dpkg, ... (the "
	"directories hutch prepared in the session's root layer, docs/sessions.md)";

/*
 * The protected paths (and the repositories they are looked for in): a search
 * of the writable roots that may read a hundred directories, so it runs after
 * clone(), while the sandbox mounts everything else; its ops are then sent
 * over (send_protected). Placeholders are listed in r->missing.
 */
static int plan_protected(struct run *r, hutch_error *err)
{
	int ret;

	_cleanup_free_ char *cache = NULL;

	r->protect_from = r->plan->n;
	/* the repository search's cache, in hutch's own state (hidden inside) */
	if (r->state_dir && asprintf(&cache, "%s/scan", r->state_dir) < 0)
		return -ENOMEM;
	ret = hutch_protect_plan(r->p, r->plan, cache, &r->missing, &r->n_missing, err);
	if (ret < 0)
		return ret;
	/*
	 * --ephemeral: those under the workspace go into the session's layer, not
	 * the host. A .git/commondir written there stays in the layer: `hutch apply`
	 * refuses protected paths (it is in the default protected list).
	 */
	if (r->opts && r->opts->session) {
		size_t k = 0;
		for (size_t i = 0; i < r->n_missing; i++) {
			const char *b = strrchr(r->missing[i], '/');
			if (b && !strcmp(b + 1, "commondir"))
				free(r->missing[i]);
			else
				r->missing[k++] = r->missing[i];
		}
		r->n_missing = k;
		/* and no mount op for them: nothing stands there in the layer */
		for (size_t i = 0; i < r->plan->n; i++) {
			const char *b = strrchr(r->plan->ops[i].path, '/');
			if (r->plan->ops[i].kind == MOUNT_PROTECT && b &&
			    !strcmp(b + 1, "commondir"))
				r->plan->ops[i].kind = MOUNT_WATCH;
		}
		ret = hutch_session_placeholders(r->opts->session, r->missing, &r->n_missing, err);
	}
	return ret;
}

/* The protected paths and pins found by plan_protected(), to the sandbox's copy of the plan. */
static int send_protected(struct run *r)
{
	_cleanup_free_ char *buf = malloc(PROTECT_MSG_MAX);
	size_t from = r->protect_from;

	if (!buf)
		return -ENOMEM;
	while (from < r->plan->n) {
		size_t first = from, n;

		buf[0] = 'P';
		n = hutch_mount_plan_pack(r->plan, &from, buf + 1, PROTECT_MSG_MAX - 1);
		if (n == 0 && from == first)
			return -ENAMETOOLONG; /* one op larger than a message: cannot be */
		if (n > 0 && send(r->ctl[0], buf, n + 1, MSG_NOSIGNAL) != (ssize_t)(n + 1))
			return -errno;
	}
	return 0;
}

static int prepare(struct run *r, hutch_error *err)
{
	struct hutch_mount_env menv = {
		.home = getenv("HOME"),
		.cwd = NULL,
		.xdg_runtime_dir = getenv("XDG_RUNTIME_DIR"),
		.uid = (unsigned)getuid(),
	};
	_cleanup_free_ char *cwd = getcwd(NULL, 0), *overlay = NULL, *root_layer = NULL;
	int ret;

	r->uid = getuid();
	r->gid = getgid();
	if (menv.xdg_runtime_dir && menv.xdg_runtime_dir[0] == '/')
		r->xdg_runtime_dir = menv.xdg_runtime_dir;
	menv.cwd = cwd;
	ret = decide_layers(r, err);
	if (ret < 0)
		return ret;
	ret = make_id(r->id);
	if (ret < 0)
		return hutch_err(err, ret, 0, "generating a sandbox id");
	/* Who enforces each limit (an unenforceable one refuses the run); the cgroups. */
	ret = hutch_limits_prepare(r->p, r->id, &r->lim, err);
	if (ret < 0)
		return ret;
	hutch_limits_say_plan(r->lim, r->opts && r->opts->verbose, r->opts ? r->opts->warn : NULL,
			      r->opts ? r->opts->data : NULL);
	/* An audit log that cannot be written refuses the run (125), before anything starts. */
	ret = hutch_audit_new(r->p, r->id, r->session_listen >= 0 ? HUTCH_AUDIT_NAMED : 0,
			      r->opts ? r->opts->session : NULL, &r->audit, err);
	if (ret < 0)
		return ret;
	ret = hutch_env_build(r->p, environ, &r->env, err);
	if (ret < 0)
		return ret;
	ret = hutch_env_set(&r->env, "HUTCH_SANDBOX", r->id);
	if (ret < 0)
		return hutch_err(err, ret, 0, "environment");
	if (r->opts && r->opts->session) {
		/* --ephemeral: the workspace is an overlay with the session's layer on top */
		ret = hutch_session_run_begin(r->opts->session, r->p, &overlay, &root_layer, err);
		if (ret < 0)
			return ret;
		menv.overlay = overlay;
		menv.root_layer = root_layer;
		r->root_mode = root_layer != NULL;
		r->parent_maps = r->root_mode && r->uid == 0;
		if (r->root_mode && r->uid != 0 && r->opts->verbose && r->opts->warn)
			r->opts->warn(root_mode_note, r->opts->data);
	}
	/* Leftover placeholders of killed runs go first: the plan must see the real tree. */
	{
		_cleanup_free_ char *sd = state_dir();
		if (sd)
			hutch_placeholders_cleanup_stale(sd);
	}
	ret = hutch_mount_plan_build(r->p, &menv, &r->plan, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; r->opts && r->opts->verbose && r->opts->warn && i < r->plan->n_root_kept;
	     i++) {
		char msg[PATH_MAX + 160];
		snprintf(msg, sizeof(msg),
			 "note: --ephemeral=root: %s stays read-only (other mounts lie beneath it; "
			 "an overlay cannot cover them)",
			 r->plan->root_kept[i]);
		r->opts->warn(msg, r->opts->data);
	}
	if (r->p->net_mode == HUTCH_NET_PROXY) {
		/* Proxy variables inside, and hutch itself for `hutch connect` (git over ssh). */
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		ret = hutch_proxy_env(&r->env, r->p);
		if (ret < 0)
			return hutch_err(err, ret, 0, "network: proxy environment");
		if (n > 0) {
			exe[n] = '\0';
			ret = hutch_mount_plan_add(r->plan, MOUNT_BIND_RO, HUTCH_PROXY_CONNECT_BIN,
						   exe, 0, true);
			if (ret < 0)
				return hutch_err(err, ret, 0, "mount: planning");
		}
	}
	r->state_dir = state_dir();
	if (!r->state_dir) {
		ret = hutch_errx(err, EINVAL, 0, "cannot find a state directory: HOME is not set");
	} else {
		/* hutch's own state (session sockets, audit logs, journals) is invisible inside. */
		ret = hutch_mount_plan_add(r->plan, MOUNT_HIDE, r->state_dir, NULL, 0, true);
		if (ret < 0)
			hutch_err(err, ret, 0, "mount: planning");
	}
	if (ret < 0)
		return ret;
	for (size_t i = 0; r->opts && r->opts->warn && r->opts->verbose && i < r->p->fs_sockets.n;
	     i++) {
		char msg[PATH_MAX + 160];
		snprintf(msg, sizeof(msg),
			 "warning: socket %s is exposed: a hole in the sandbox, whatever that "
			 "service "
			 "can do, the sandbox can ask it to do",
			 r->p->fs_sockets.v[i].value);
		r->opts->warn(msg, r->opts->data);
	}
	/*
	 * A directory as stdin/stdout/stderr would be a handle on the host's mount
	 * tree inside the sandbox (openat relative to it escapes the mount view):
	 * refuse it. Files, pipes, sockets and terminals are fine.
	 */
	for (int fd = 0; fd < 3; fd++) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			return hutch_errx(err, EISDIR, HUTCH_EXIT_ERROR,
					  "file descriptor %d is a directory: refusing to hand a "
					  "directory of the host into the sandbox",
					  fd);
	}
	hutch_tty_probe(&r->tty);
	if (pipe2(r->errpipe, O_CLOEXEC) < 0)
		return hutch_err(err, errno, 0, "creating the report pipe");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r->ctl) < 0)
		return hutch_err(err, errno, 0, "creating the control socket");
	return 0;
}

/*
 * Bring the sandbox's lo up through the socket init hands over first thing
 * (step_loopback). If init fails before, its own report says why.
 */
static int loopback_up(struct run *r, hutch_error *err)
{
	struct pollfd pfd = {.fd = r->ctl[0], .events = POLLIN};
	uint32_t tag = 0;
	int fd, ret;

	do
		ret = poll(&pfd, 1, -1);
	while (ret < 0 && errno == EINTR);
	fd = ret < 0 ? -errno : recv_fd(r->ctl[0], &tag);
	if (fd >= 0 && tag != HUTCH_CTL_LOOPBACK) {
		close(fd);
		fd = -EBADMSG;
	}
	if (fd < 0) {
		/* its report, complete once it is gone (the caller reaps it) */
		kill(r->init_pid, SIGKILL);
		ret = read_report(r, err);
		return ret < 0 ? ret : hutch_err(err, -fd, 0, "starting the sandbox: its network");
	}
	ret = hutch_net_loopback_up_fd(fd, err);
	close(fd);
	return ret;
}

static int userns_error(int errnum, hutch_error *err)
{
	struct hutch_feature_info fi;

	hutch_probe(HUTCH_FEAT_USERNS, &fi);
	hutch_err(err, errnum, HUTCH_EXIT_ERROR,
		  "required layer userns: cannot create the sandbox namespaces");
	hutch_err_hint(err, "%s%s", fi.fix ? fi.fix : "enable unprivileged user namespaces",
		       "; or run with --allow-degraded (Landlock + seccomp only, weaker)");
	return -errnum;
}

/* ---- named sessions: the supervisor side (the background daemon) ------- */

static struct session_cmd *cmd_by_id(struct run *r, uint32_t id)
{
	for (size_t i = 0; i < r->n_cmds; i++)
		if (r->cmds[i].id == id)
			return &r->cmds[i];
	return NULL;
}

static void drop_client(struct run *r, int fd)
{
	hutch_loop_del(r->loop, fd);
	for (size_t i = 0; i < r->n_cmds; i++) {
		struct session_cmd *c = &r->cmds[i];
		if (c->client != fd)
			continue;
		c->client = -1;
		if (!c->done) {
			/* The client went away: its command gets the hang-up it would get. */
			struct hutch_nm_hdr h = {.type = NM_SIGNAL, .id = c->id, .value = SIGHUP};
			(void)hutch_nm_send(r->ctl[0], &h, NULL, 0, NULL, 0);
		} else {
			r->cmds[i] = r->cmds[--r->n_cmds];
		}
		break;
	}
	close(fd);
}

static int on_client(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	static char buf[HUTCH_NAMED_MAX_MSG];
	struct hutch_nm_hdr h;
	struct session_cmd *c;
	int fds[3];
	size_t nfds = 0;
	ssize_t len = hutch_nm_recv(fd, &h, buf, sizeof(buf), fds, &nfds);

	if (len == -EAGAIN)
		return 0;
	if (len < 0 || h.type == 0) {
		drop_client(r, fd);
		return 0;
	}
	switch (h.type) {
	case NM_EXEC: {
		struct session_cmd *v;
		if (r->n_cmds >= SESSION_MAX_CMDS) {
			struct hutch_nm_hdr e = {.type = NM_ERROR, .value = HUTCH_EXIT_ERROR};
			const char *msg = "too many commands in this session";
			(void)hutch_nm_send(fd, &e, msg, strlen(msg), NULL, 0);
			break;
		}
		v = realloc(r->cmds, (r->n_cmds + 1) * sizeof(*v));
		if (!v)
			break;
		r->cmds = v;
		c = &r->cmds[r->n_cmds++];
		c->id = ++r->next_id;
		c->client = fd;
		c->done = false;
		hutch_limits_events(r->lim, &c->ev0);
		h.id = c->id;
		(void)hutch_nm_send(r->ctl[0], &h, buf, (size_t)len, fds, nfds);
		break;
	}
	case NM_SIGNAL:
		for (size_t i = 0; i < r->n_cmds; i++)
			if (r->cmds[i].client == fd && !r->cmds[i].done) {
				h.id = r->cmds[i].id;
				(void)hutch_nm_send(r->ctl[0], &h, NULL, 0, NULL, 0);
			}
		break;
	case NM_STOP:
		/* hutch stop: its grace period (value, ms), or the default */
		if (!r->stopping && h.value >= 0)
			r->stop_ms = (uint64_t)h.value;
		stop_terminate_all(r);
		stop_begin(r);
		break;
	default:
		break;
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	return 0;
}

static int on_listen(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (c < 0)
		return 0;
	/* Only the owner (the directory is 0700 already): defence in depth. */
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != getuid() ||
	    hutch_loop_add(loop, c, EPOLLIN, on_client, r) < 0)
		close(c);
	return 0;
}

static void session_ready(struct run *r, const hutch_error *e)
{
	struct child_report rep;

	if (r->ready_fd < 0)
		return;
	memset(&rep, 0, sizeof(rep));
	if (e) {
		rep.code = e->code;
		rep.status = e->status ? e->status : HUTCH_EXIT_ERROR;
		snprintf(rep.msg, sizeof(rep.msg), "%s", e->msg);
		snprintf(rep.hint, sizeof(rep.hint), "%s", e->hint);
	}
	(void)!write(r->ready_fd, &rep, sizeof(rep));
	close(r->ready_fd);
	r->ready_fd = -1;
}

/*
 * A command of a named session ended: the limits that fired while it ran go to
 * its client as notices (the daemon has no terminal) and to the audit log.
 */
static void session_limits_fired(struct run *r, const struct session_cmd *c, int status)
{
	const struct hutch_limit_hit *hits;
	size_t n;

	if (!hutch_limits_collect_since(r->lim, &c->ev0, status))
		return;
	hutch_audit_limits_fired(r->audit, r->lim);
	hits = hutch_limits_fired(r->lim, &n);
	for (size_t i = 0; c->client >= 0 && i < n; i++) {
		struct hutch_nm_hdr h = {.type = NM_NOTICE, .id = c->id};
		if (hits[i].quiet || hits[i].which == HUTCH_LIMIT_TIMEOUT)
			continue;
		(void)hutch_nm_send(c->client, &h, hits[i].message, strlen(hits[i].message) + 1,
				    NULL, 0);
	}
}

static int on_ctl_session(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	static char buf[4096];
	struct hutch_nm_hdr h;
	struct session_cmd *c;
	int fds[3];
	size_t nfds = 0;
	ssize_t len = hutch_nm_recv(fd, &h, buf, sizeof(buf), fds, &nfds);

	if (len == -EAGAIN)
		return 0;
	if (len < 0 || h.type == 0) {
		hutch_loop_del(loop, fd);
		return 0;
	}
	if (h.type == NM_FD && h.id == 0 && nfds == 1) {
		nfds = 0;
		return take_ctl_fd(r, loop, (uint32_t)h.value, fds[0]);
	} else if (h.type == NM_STARTED && h.id == 0) {
		session_ready(r, NULL);
	} else if ((c = cmd_by_id(r, h.id))) {
		if (h.type == NM_EXIT)
			session_limits_fired(r, c, h.value);
		if (c->client >= 0)
			(void)hutch_nm_send(c->client, &h, buf, (size_t)len, fds, nfds);
		if (h.type == NM_EXIT || h.type == NM_ERROR) {
			c->done = true;
			if (c->client >= 0)
				drop_client(r, c->client);
			else
				*c = r->cmds[--r->n_cmds];
		}
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	return 0;
}

/*
 * The sandbox of a named session is gone: what init said before it exited is
 * passed on; a command it could not report (init was killed at the end of a
 * grace period, and the kernel with it every process of the sandbox) ends
 * for its client as killed by SIGKILL, never as a lost connection.
 */
static void session_end_cmds(struct run *r)
{
	for (int i = 0; i < 4 * SESSION_MAX_CMDS; i++) {
		char c;
		if (r->ctl[0] < 0 || recv(r->ctl[0], &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0)
			break; /* nothing more, or the end */
		on_ctl_session(r->loop, r->ctl[0], EPOLLIN, r);
	}
	while (r->n_cmds > 0) {
		struct session_cmd *c = &r->cmds[r->n_cmds - 1];
		struct hutch_nm_hdr h = {.type = NM_EXIT, .id = c->id, .value = 128 + SIGKILL};

		if (c->client >= 0 && !c->done) {
			(void)hutch_nm_send(c->client, &h, NULL, 0, NULL, 0);
			c->done = true;
			drop_client(r, c->client); /* may remove it from the list */
			continue;
		}
		r->n_cmds--;
	}
}

static int supervise(struct run *r, int *status, hutch_error *err)
{
	int ret;

	ret = hutch_loop_new(&r->loop);
	if (ret < 0)
		return hutch_err(err, ret, 0, "event loop");
	ret = hutch_loop_add(r->loop, r->sigfd, EPOLLIN, on_signal, r);
	if (ret >= 0)
		ret = hutch_loop_add(r->loop, r->ctl[0], EPOLLIN,
				     r->session_listen >= 0 ? on_ctl_session : on_ctl, r);
	if (ret >= 0 && r->session_listen >= 0)
		ret = hutch_loop_add(r->loop, r->session_listen, EPOLLIN, on_listen, r);
	/* One timer: --timeout, then the grace period of a stop. */
	if (ret >= 0) {
		r->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		ret = r->timerfd < 0 ? -errno : 0;
		if (ret >= 0 && r->p->limits.timeout_ms)
			ret = arm_timer(r->timerfd, r->p->limits.timeout_ms);
		if (ret >= 0)
			ret = hutch_loop_add(r->loop, r->timerfd, EPOLLIN, on_timer, r);
	}
	/* Degraded mode: the pty was opened here, not handed over by the sandbox. */
	if (ret >= 0 && r->degraded && r->master >= 0)
		ret = hutch_relay_start(r->loop, &r->tty, r->master, &r->relay);
	if (ret < 0)
		return hutch_err(err, ret, 0, "event loop");
	/* A SIGCHLD may have arrived before the loop started: check once. */
	{
		int st;
		if (waitpid(r->init_pid, &st, WNOHANG) == r->init_pid) {
			r->init_exited = true;
			r->init_status = st;
		}
	}
	hutch_audit_on_stop(r->audit, on_audit_stop, r);
	/* "start" and the before-snapshot: the workload's first exec waits for the loop. */
	hutch_audit_started(r->audit, r->degraded ? r->layers & ~HUTCH_LAYER_USERNS : r->layers,
			    hutch_landlock_abi(), r->degraded, r->argv, r->plan);
	/* file events of a long session: written every HUTCH_AUDIT_FLUSH_MS */
	ret = hutch_audit_watch_files(r->audit, r->loop);
	if (ret < 0) {
		kill(r->init_pid, SIGKILL);
		waitpid(r->init_pid, NULL, 0);
		return hutch_err(err, ret, 0, "audit: the file comparison timer");
	}
	if (!r->init_exited) {
		ret = hutch_loop_run(r->loop);
		if (ret < 0) {
			kill(r->init_pid, SIGKILL);
			waitpid(r->init_pid, NULL, 0);
			return hutch_err(err, ret, 0, "event loop");
		}
	}
	/* A pty may have been handed over just before init exited. */
	if (r->session_listen < 0)
		on_ctl(r->loop, r->ctl[0], EPOLLIN, r);
	else
		session_end_cmds(r);
	hutch_asker_free(r->asker); /* an open question ends: nobody waits for it */
	r->asker = NULL;
	hutch_relay_hold(r->relay, false);
	if (r->relay)
		hutch_relay_finish(r->relay);
	finish_proxy(r);
	ret = read_report(r, err);
	if (ret < 0)
		return ret;
	if (r->proxy_err.msg[0]) {
		*err = r->proxy_err;
		return r->proxy_err.code ? r->proxy_err.code : -EIO;
	}
	ret = hutch_audit_stopped(r->audit, err);
	if (ret < 0)
		return ret;
	*status = r->timed_out ? HUTCH_EXIT_TIMEOUT : hutch_wait_status_to_exit(r->init_status);
	/* Killed after the grace period of a signal to hutch: as if that signal had ended it. */
	if (!r->timed_out && r->killed && r->stop_signal)
		*status = 128 + r->stop_signal;
	/* Which limits fired (OOM kills, refused forks): one line each; audit "limit" events. */
	hutch_limits_collect(r->lim, hutch_wait_status_to_exit(r->init_status), r->timed_out);
	hutch_audit_limits_fired(r->audit, r->lim);
	hutch_limits_say_fired(r->lim, r->opts && r->opts->verbose, r->opts ? r->opts->warn : NULL,
			       r->opts ? r->opts->data : NULL);
	return 0;
}

/* ---- degraded mode: no user namespace ------------------------------------ */

static bool userns_refused(int errnum)
{
	return errnum == EPERM || errnum == EACCES || errnum == EINVAL || errnum == ENOSPC ||
	       errnum == EUSERS;
}

static int degraded_prepare(struct run *r, hutch_error *err)
{
	if (r->p->net_mode == HUTCH_NET_PROXY)
		return hutch_errx(
			err, EOPNOTSUPP, HUTCH_EXIT_ERROR,
			"--net proxy needs user namespaces, which are not available here");
	if (r->p->net_host_ports.n)
		return hutch_errx(err, EOPNOTSUPP, HUTCH_EXIT_ERROR,
				  "--host-port needs user namespaces (its own network "
				  "namespace), which are not available here");
	if (!(r->layers & HUTCH_LAYER_LANDLOCK))
		return hutch_errx(err, EOPNOTSUPP, HUTCH_EXIT_ERROR,
				  "without user namespaces hutch needs Landlock to enforce the "
				  "filesystem policy, and it is not available either");
	r->ll_protect = calloc(r->plan->n + 1, sizeof(char *));
	if (!r->ll_protect)
		return -ENOMEM;
	for (size_t i = 0; i < r->plan->n; i++)
		if (r->plan->ops[i].kind == MOUNT_PROTECT)
			r->ll_protect[r->n_ll_protect++] = r->plan->ops[i].path;
	if (r->tty.any) {
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), unlock = 0;
		if (m < 0 || ioctl(m, TIOCSPTLCK, &unlock) < 0)
			return hutch_err(err, errno, 0, "terminal: opening a pty");
		r->slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (r->slave < 0) {
			close(m);
			return hutch_err(err, errno, 0, "terminal: opening the pty's peer");
		}
		if (r->tty.have_termios)
			(void)tcsetattr(r->slave, TCSANOW, &r->tty.termios);
		(void)ioctl(r->slave, TIOCSWINSZ, &r->tty.winsize);
		r->master = m;
	}
	r->degraded = true;
	if (r->opts && r->opts->warn)
		r->opts->warn(
			"warning: user namespaces are not available: degraded mode (Landlock, "
			"seccomp and rlimits only): /tmp and /proc are the host's, host Unix "
			"sockets are reachable, background processes are killed at the end "
			"but not if hutch itself is killed",
			r->opts->data);
	return 0;
}

/* As a child subreaper, kill what the workload left behind (daemons, orphans). */
static void degraded_kill_leftovers(void)
{
	for (int round = 0; round < 64; round++) {
		char path[64], buf[4096];
		_cleanup_close_ int fd = -1;
		ssize_t n;
		bool any = false;

		snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return;
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			return;
		buf[n] = '\0';
		for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n")) {
			pid_t pid = (pid_t)atoi(tok);
			if (pid > 0 && kill(pid, SIGKILL) == 0)
				any = true;
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!any)
			return;
		usleep(1000);
	}
}

static int run_degraded(struct run *r, int *status, hutch_error *err)
{
	pid_t pid;
	int ret;

	ret = plan_protected(r, err);
	if (ret >= 0)
		ret = degraded_prepare(r, err);
	if (ret < 0)
		return ret;
	/* No mounts to cover them: Landlock protects paths that do not exist yet. */
	placeholders_done(r);
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	pid = fork();
	if (pid < 0)
		return hutch_err(err, errno, 0, "fork");
	if (pid == 0) {
		close(r->ctl[0]);
		close(r->errpipe[0]);
		if (r->master >= 0)
			close(r->master);
		{
			/* No init to move: the workload joins its cgroups itself. */
			hutch_error e = {0};
			if (hutch_limits_enter(r->lim, 0, &e) < 0)
				child_fail(r, "cgroup", &e);
		}
		run_steps(r, workload_steps, ARRAY_SIZE(workload_steps));
		exec_workload(r);
	}
	r->init_pid = pid;
	close(r->errpipe[1]);
	r->errpipe[1] = -1;
	close(r->ctl[1]);
	r->ctl[1] = -1;
	if (r->slave >= 0) {
		close(r->slave);
		r->slave = -1;
	}
	ret = supervise(r, status, err);
	degraded_kill_leftovers();
	return ret;
}

/*
 * Files that redirect git (.git/commondir) and did not exist at the start:
 * created by the session, they would make the user's next git command run
 * hooks of the sandbox's choosing. They cannot have a placeholder; remove them.
 */
static void undo_watched(struct run *r)
{
	for (size_t i = 0; r->plan && i < r->plan->n; i++) {
		const struct hutch_mount_op *op = &r->plan->ops[i];
		char msg[PATH_MAX + 160];
		struct stat st;

		if (op->kind != MOUNT_WATCH || lstat(op->path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) || unlink(op->path) < 0)
			snprintf(msg, sizeof(msg),
				 "warning: the sandbox created %s (it redirects git); remove it "
				 "before using git there",
				 op->path);
		else
			snprintf(msg, sizeof(msg),
				 "removed %s created in the sandbox: it would redirect git to "
				 "hooks and config of the sandbox's choosing",
				 op->path);
		if (r->opts && r->opts->warn)
			r->opts->warn(msg, r->opts->data);
	}
}

static void run_free(struct run *r, const sigset_t *oldmask)
{
	if (r->init_pid > 0 && !r->degraded && r->session_listen < 0)
		undo_watched(r);
	/* The sandbox is gone (init reaped): kill any straggler, remove its cgroups. */
	if (hutch_limits_free(r->lim) < 0 && r->opts && r->opts->warn)
		r->opts->warn("warning: a cgroup of the sandbox could not be removed (the next run "
			      "removes it)",
			      r->opts->data);
	r->lim = NULL;
	hutch_asker_free(r->asker);
	r->asker = NULL;
	hutch_proxy_free(r->proxy); /* its last records go to the audit log */
	r->proxy = NULL;
	hutch_hostport_free(r->hostport);
	r->hostport = NULL;
	hutch_audit_free(r->audit); /* before the loop it watches from */
	if (r->opts && r->opts->session)
		hutch_session_run_end(r->opts->session); /* the sandbox is gone: layer at rest */
	if (r->relay) {
		hutch_relay_finish(r->relay);
		hutch_relay_free(r->relay);
	}
	if (r->master >= 0)
		close(r->master);
	hutch_loop_free(r->loop);
	if (r->sigfd >= 0)
		close(r->sigfd);
	if (r->timerfd >= 0)
		close(r->timerfd);
	for (int i = 0; i < 2; i++)
		if (r->proxy_fd[i] >= 0)
			close(r->proxy_fd[i]);
	for (int i = 0; i < 2; i++) {
		if (r->errpipe[i] >= 0)
			close(r->errpipe[i]);
		if (r->ctl[i] >= 0)
			close(r->ctl[i]);
	}
	free(r->ll_protect);
	for (size_t i = 0; i < r->n_missing; i++)
		free(r->missing[i]);
	free(r->missing);
	free(r->cmds);
	placeholders_done(r);
	hutch_mount_plan_free(r->plan);
	hutch_env_free(r->env);
	free(r->state_dir);
	if (oldmask)
		sigprocmask(SIG_SETMASK, oldmask, NULL);
}

static void run_init(struct run *r, const hutch_policy *p, char *const argv[],
		     const struct hutch_run_opts *opts)
{
	memset(r, 0, sizeof(*r));
	r->p = p;
	r->argv = argv;
	r->opts = opts;
	r->slave = r->sigfd = r->master = r->timerfd = -1;
	r->stop_ms = opts && opts->stop_timeout_set ? opts->stop_timeout_ms : HUTCH_STOP_TIMEOUT_MS;
	r->proxy_fd[0] = r->proxy_fd[1] = -1;
	r->errpipe[0] = r->errpipe[1] = -1;
	r->ctl[0] = r->ctl[1] = -1;
	r->session_listen = r->ready_fd = -1;
}

static void guard_item(const struct hutch_persist_item *it, void *data)
{
	struct run *r = data;

	hutch_audit_persist(r->audit, it);
	if (r->opts && r->opts->persist)
		r->opts->persist(it, r->opts->persist_data);
}

/*
 * The workload ended: neutralise git code it planted in the writable roots
 * (gitguard.h). An ephemeral workspace is a layer (hutch apply checks it);
 * hutch's placeholders go first, they are not the agent's.
 */
static void guard_persistence(struct run *r)
{
	const struct hutch_policy *p = r->p;
	_cleanup_free_ const char **roots = calloc(p->fs_writable.n + 1, sizeof(char *));
	_cleanup_free_ const char **held = r->plan ? calloc(r->plan->n + 1, sizeof(char *)) : NULL;
	_cleanup_free_ char *q = NULL;
	hutch_error e = {0};
	size_t n = 0, n_held = 0;

	hutch_placeholders_remove(r->ph);
	r->ph = NULL;
	if (!roots || !r->state_dir || asprintf(&q, "%s/quarantine/%s", r->state_dir, r->id) < 0) {
		struct hutch_persist_item it = {HUTCH_PERSIST_FAILED, p->workspace, NULL,
						"writable roots",
						"out of memory or no state directory"};
		r->guard.failed++;
		guard_item(&it, r);
		r->guarded = true;
		return;
	}
	if (!(r->opts && r->opts->session))
		roots[n++] = p->workspace;
	for (size_t i = 0; i < p->fs_writable.n; i++)
		if (!hutch_profile_is_pkg_cache(p->fs_writable.v[i].value, getenv("HOME")))
			roots[n++] = p->fs_writable.v[i].value;
	/* the protected mounts were read-only all along: what is there is the user's */
	for (size_t i = 0; r->plan && held && i < r->plan->n; i++)
		if (r->plan->ops[i].kind == MOUNT_PROTECT)
			held[n_held++] = r->plan->ops[i].path;
	if (hutch_gitguard_check(roots, n, held, n_held, &r->start, q, guard_item, r, &r->guard,
				 &e) < 0) {
		struct hutch_persist_item it = {HUTCH_PERSIST_FAILED, q, NULL, "quarantine", e.msg};
		r->guard.failed++;
		guard_item(&it, r);
	}
	r->guarded = true;
	rmdir(q); /* empty: nothing was quarantined */
}

static int run_main(struct run *r, int *status, hutch_error *err)
{
	const hutch_policy *p = r->p;
	sigset_t mask, oldmask;
	bool masked = false;
	long pid;
	int ret;

	clock_gettime(CLOCK_REALTIME, &r->start);
	ret = prepare(r, err);
	if (ret < 0)
		goto out;

	signal_set(&mask);
	if (sigprocmask(SIG_BLOCK, &mask, &oldmask) < 0) {
		ret = hutch_err(err, errno, 0, "blocking signals");
		goto out;
	}
	masked = true;
	r->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r->sigfd < 0) {
		ret = hutch_err(err, errno, 0, "signalfd");
		goto out;
	}

	pid = syscall(SYS_clone, hutch_ns_clone_flags(p->net_mode != HUTCH_NET_HOST) | SIGCHLD,
		      NULL, NULL, NULL, NULL);
	if (pid < 0) {
		unsigned required = p->allow_degraded ? p->require_locked : p->require;
		int errnum = errno;

		if (userns_refused(errnum) && !(required & HUTCH_LAYER_USERNS) &&
		    r->session_listen < 0 && !(r->opts && r->opts->session)) {
			ret = run_degraded(r, status, err);
			guard_persistence(r);
		} else
			ret = userns_error(errnum, err);
		goto out;
	}
	if (pid == 0)
		sandbox_init(r);
	r->init_pid = (pid_t)pid;
	close(r->errpipe[1]);
	r->errpipe[1] = -1;
	close(r->ctl[1]);
	r->ctl[1] = -1;
	ret = 0;
	if (r->parent_maps) {
		/* --ephemeral=root as the host's root: every id maps to itself */
		struct hutch_id_map m = {0, 0, 0, 0, 4294967295u};
		ret = hutch_ns_write_maps(r->init_pid, &m, err);
		if (ret >= 0 && send(r->ctl[0], "U", 1, MSG_NOSIGNAL) != 1)
			ret = hutch_err(err, errno, 0, "starting the sandbox");
	}
	/* Into its cgroups before "G": init forks the workload only after it. */
	if (ret >= 0)
		ret = hutch_limits_enter(r->lim, r->init_pid, err);
	/* lo up before "G" (waiting here gives init the CPU at once). */
	if (ret >= 0 && r->p->net_mode != HUTCH_NET_HOST && r->session_listen < 0)
		ret = loopback_up(r, err);
	/*
	 * In parallel with the sandbox's mounts, which wait for "G" before the
	 * protected paths: find them, make their placeholders, send them over.
	 */
	if (ret >= 0)
		ret = plan_protected(r, err);
	if (ret >= 0) {
		/* Protected paths that exist may be a concurrent run's placeholders: share them. */
		_cleanup_free_ char **existing = calloc(r->plan->n + 1, sizeof(char *));
		size_t n_existing = 0;

		for (size_t i = 0; existing && i < r->plan->n; i++)
			if (r->plan->ops[i].kind == MOUNT_PROTECT)
				existing[n_existing++] = r->plan->ops[i].path;
		ret = existing ? hutch_placeholders_create(r->state_dir, r->missing, r->n_missing,
							   existing, n_existing, &r->ph, err)
			       : -ENOMEM;
	}
	if (ret >= 0) {
		int e = send_protected(r);
		if (e < 0)
			ret = hutch_err(err, e, 0,
					"starting the sandbox: sending the protected paths");
	}
	if (ret < 0 || send(r->ctl[0], "G", 1, MSG_NOSIGNAL) != 1) {
		if (ret >= 0)
			ret = hutch_err(err, errno, 0, "starting the sandbox");
		kill(r->init_pid, SIGKILL);
		/*
		 * init builds the mounts meanwhile: when one fails it reports why and
		 * exits, and our next send gets EPIPE. Its report names the cause.
		 */
		if (ret == -EPIPE || ret == -ECONNRESET) {
			int rep = read_report(r, err);
			if (rep < 0)
				ret = rep;
		}
		waitpid(r->init_pid, NULL, 0);
		goto out;
	}
	ret = supervise(r, status, err);
	guard_persistence(r);
out:
	hutch_audit_finish(r->audit, ret, ret < 0 ? 0 : *status, r->timed_out, err,
			   r->opts ? r->opts->summary : NULL);
	if (r->guarded && r->opts && r->opts->summary) {
		r->opts->summary->persist_checked = true;
		r->opts->summary->persist_neutralised = r->guard.neutralised;
		r->opts->summary->persist_failed = r->guard.failed;
	}
	run_free(r, masked ? &oldmask : NULL);
	return ret;
}

int hutch_run(const hutch_policy *p, char *const argv[], const struct hutch_run_opts *opts,
	      int *status, hutch_error *err)
{
	struct run r;

	if (!p->finalized)
		return hutch_errx(err, EINVAL, 0, "internal: the policy is not finalized");
	if (!argv || !argv[0])
		return hutch_errx(err, EINVAL, 0, "no command given");
	run_init(&r, p, argv, opts);
	return run_main(&r, status, err);
}

/* ---- named sessions: starting the daemon --------------------------------- */

static int mkdir_parents(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int session_listen_socket(const char *dir, hutch_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock", dir) >=
	    sizeof(sa.sun_path))
		return hutch_errx(err, ENAMETOOLONG, 0, "session directory path too long: %s", dir);
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return hutch_err(err, errno, 0, "session socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sa.sun_path, 0600) < 0 ||
	    listen(fd, 64) < 0) {
		int r = hutch_err(err, errno, 0, "session socket %s", sa.sun_path);
		close(fd);
		return r;
	}
	return fd;
}

__attribute__((noreturn)) static void session_daemon(const hutch_policy *p, const char *dir,
						     int listen_fd, int ready_fd, pid_t client)
{
	struct hutch_run_opts o = {0};
	hutch_error e = {0};
	struct run r;
	int status = 0, devnull;
	char path[PATH_MAX];

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close(devnull);
	}
	hutch_cgroup_allow_companion(client);
	run_init(&r, p, NULL, &o);
	r.session_listen = listen_fd;
	r.ready_fd = ready_fd;
	if (run_main(&r, &status, &e) < 0)
		session_ready(&r, &e);
	else
		session_ready(&r, NULL); /* not reached normally: ready was sent */
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	unlink(path);
	rmdir(dir);
	_exit(0);
}

int hutch_session_start(const hutch_policy *p, const char *name, hutch_error *err)
{
	pid_t client = getpid();
	_cleanup_free_ char *base = hutch_named_dir(), *dir = NULL;
	struct child_report rep;
	int ready[2], fd, r, st;
	pid_t pid;
	ssize_t n;

	if (!p->finalized)
		return hutch_errx(err, EINVAL, 0, "internal: the policy is not finalized");
	r = hutch_named_check_name(name, err);
	if (r < 0)
		return r;
	if (!base)
		return hutch_errx(err, EINVAL, 0,
				  "cannot find the state directory: HOME is not set");
	dir = hutch_path_join(base, name);
	if (!dir)
		return -ENOMEM;
	fd = hutch_named_connect(name, NULL);
	if (fd >= 0) {
		close(fd);
		return hutch_errx(err, EEXIST, HUTCH_EXIT_ERROR,
				  "a session named '%s' is already running", name);
	}
	r = mkdir_parents(dir, 0700);
	if (r < 0)
		return hutch_err(err, r, 0, "session directory %s", dir);
	fd = session_listen_socket(dir, err);
	if (fd < 0)
		return fd;
	if (pipe2(ready, O_CLOEXEC) < 0) {
		close(fd);
		return hutch_err(err, errno, 0, "pipe");
	}
	pid = fork();
	if (pid < 0) {
		close(fd);
		close(ready[0]);
		close(ready[1]);
		return hutch_err(err, errno, 0, "fork");
	}
	if (pid == 0) {
		pid_t mid;
		close(ready[0]);
		setsid();
		mid = getpid();
		if (fork() != 0)
			_exit(0);
		/* gone from the cgroup only once exited: the daemon may have to be alone there */
		for (int i = 0; i < 1000 && getppid() == mid; i++)
			usleep(1000);
		session_daemon(p, dir, fd, ready[1], client);
	}
	close(fd);
	close(ready[1]);
	waitpid(pid, &st, 0);
	do
		n = read(ready[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(ready[0]);
	if (n != (ssize_t)sizeof(rep))
		return hutch_errx(err, EIO, HUTCH_EXIT_ERROR,
				  "session %s: the sandbox did not start", name);
	if (rep.msg[0]) {
		rep.msg[sizeof(rep.msg) - 1] = rep.hint[sizeof(rep.hint) - 1] = '\0';
		hutch_errx(err, rep.code ? rep.code : EINVAL, rep.status, "session %s: %s", name,
			   rep.msg);
		if (rep.hint[0])
			hutch_err_hint(err, "%s", rep.hint);
		return rep.code < 0 ? rep.code : -EINVAL;
	}
	return 0;
}
