/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Preparing a run on the host side, before clone(): layers, limits, audit log,
 * environment, mount plan, state directory; and the protected paths, found meanwhile.
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
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "run/asker.h"
#include "audit/audit.h"
#include "base/cleanup.h"
#include "base/escape.h"
#include "base/error.h"
#include "base/file.h"
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
#include "run/run-int.h"

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
 * Transparent egress (docs/network.md): the sandbox's /etc/resolv.conf names
 * its own resolver (127.0.0.53, served by the supervisor, net/resolver.c) and
 * its /etc/hosts holds only localhost and the host name. Both are written to
 * hutch's state directory (hidden inside) and bound read-only over the host's
 * files -- over what a symlink points at, as bubblewrap's binds do.
 */
/* Is @path a regular file (not a symlink) holding exactly @text? */
static bool file_holds(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ char *got = NULL;
	size_t len = 0;

	return fd >= 0 && hutch_read_fd(fd, 4096, &got, &len) == 0 && len == strlen(text) &&
	       memcmp(got, text, len) == 0;
}

static int plan_net_file(struct run *r, const char *dir, const char *name, const char *etc,
			 const char *text, hutch_error *err)
{
	_cleanup_free_ char *src = hutch_path_join(dir, name);
	char dst[PATH_MAX];
	int ret;

	if (!src)
		return hutch_err(err, ENOMEM, "network: %s", name);
	if (!realpath(etc, dst)) {
		ssize_t n = readlink(etc, dst, sizeof(dst) - 1);

		/* a dangling absolute symlink (into /run, which the sandbox has its own of) */
		if (n <= 0 || dst[0] != '/')
			return 0; /* no such file: nothing to cover */
		dst[n] = '\0';
	}
	/* the same every run: written (with its fsync) only when it is not there yet */
	ret = file_holds(src, text) ? 0 : hutch_write_file_atomic(src, text, strlen(text), 0644);
	if (ret < 0)
		return hutch_err(err, ret, "network: writing %s", src);
	ret = hutch_mount_plan_add(r->plan, MOUNT_BIND_RO, dst, src, 0, true);
	return ret < 0 ? hutch_err(err, ret, "mount: planning") : 0;
}

static int plan_resolver(struct run *r, hutch_error *err)
{
	static const char resolv[] = "# hutch: the sandbox's own resolver (docs/network.md)\n"
				     "nameserver " HUTCH_NET_RESOLVER_TEXT "\n";
	char host[256] = "", hosts[600];
	_cleanup_free_ char *dir = hutch_path_join(r->state_dir, "net");
	int ret;

	if (!dir)
		return hutch_err(err, ENOMEM, "network: resolver files");
	ret = hutch_mkdir_p(dir, 0700);
	if (ret < 0)
		return hutch_err(err, ret, "network: creating %s", dir);
	if (gethostname(host, sizeof(host) - 1) < 0 || strpbrk(host, " \t\n#"))
		host[0] = '\0';
	snprintf(hosts, sizeof(hosts),
		 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s%s%s",
		 host[0] ? "127.0.1.1\t" : "", host, host[0] ? "\n" : "");
	ret = plan_net_file(r, dir, "resolv.conf", "/etc/resolv.conf", resolv, err);
	if (ret >= 0)
		ret = plan_net_file(r, dir, "hosts", "/etc/hosts", hosts, err);
	return ret;
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
		uint32_t notif = SECCOMP_RET_USER_NOTIF;

		r->layers |= HUTCH_LAYER_SECCOMP;
		/* user notification (Linux 5.0): the workload's writes are counted with it */
		r->user_notif = syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &notif) == 0;
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
	hutch_errx(err, EOPNOTSUPP, "required layer %s is not available: %s", fi.name, fi.detail);
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
static bool is_missing(const struct run *r, const char *path)
{
	for (size_t i = 0; i < r->n_missing; i++)
		if (!strcmp(r->missing[i], path))
			return true;
	return false;
}

/*
 * The ops found for paths that need a placeholder last, from r->protect_split
 * on (stable: each part keeps its order). The sandbox mounts the others while
 * the placeholders are made.
 */
static void order_protected(struct run *r)
{
	struct hutch_mount_op *ops = r->plan->ops, tmp;
	size_t k = r->protect_from;

	for (size_t i = r->protect_from; i < r->plan->n; i++) {
		if (is_missing(r, ops[i].path))
			continue;
		tmp = ops[i];
		memmove(&ops[k + 1], &ops[k], (i - k) * sizeof(ops[0]));
		ops[k++] = tmp;
	}
	r->protect_split = k;
}

int hutch_run_plan_protected(struct run *r, hutch_error *err)
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
	if (ret >= 0)
		order_protected(r);
	return ret;
}

/*
 * The protected paths and pins found by hutch_run_plan_protected(), ops
 * [@from, @to), to the sandbox's copy of the plan ("P" messages), then @end
 * if not 0: "A" to mount those now, "G" (sent by the caller) for the rest.
 */
int hutch_run_send_protected(struct run *r, size_t from, size_t to, char end)
{
	_cleanup_free_ char *buf = malloc(PROTECT_MSG_MAX);

	if (!buf)
		return -ENOMEM;
	while (from < to) {
		size_t first = from, n;

		buf[0] = 'P';
		n = hutch_mount_plan_pack(r->plan, &from, to, buf + 1, PROTECT_MSG_MAX - 1);
		if (n == 0 && from == first)
			return -ENAMETOOLONG; /* one op larger than a message: cannot be */
		if (n > 0 && send(r->ctl[0], buf, n + 1, MSG_NOSIGNAL) != (ssize_t)(n + 1))
			return -errno;
	}
	if (end && send(r->ctl[0], &end, 1, MSG_NOSIGNAL) != 1)
		return -errno;
	return 0;
}

int hutch_run_prepare(struct run *r, hutch_error *err)
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
		return hutch_err(err, ret, "generating a sandbox id");
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
		return hutch_err(err, ret, "environment");
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
			return hutch_err(err, ret, "network: proxy environment");
		if (n > 0) {
			exe[n] = '\0';
			ret = hutch_mount_plan_add(r->plan, MOUNT_BIND_RO, HUTCH_PROXY_CONNECT_BIN,
						   exe, 0, true);
			if (ret < 0)
				return hutch_err(err, ret, "mount: planning");
		}
	}
	r->state_dir = state_dir();
	if (!r->state_dir) {
		ret = hutch_errx(err, EINVAL, "cannot find a state directory: HOME is not set");
	} else {
		/* hutch's own state (session sockets, audit logs, journals) is invisible inside. */
		ret = hutch_mount_plan_add(r->plan, MOUNT_HIDE, r->state_dir, NULL, 0, true);
		if (ret < 0)
			hutch_err(err, ret, "mount: planning");
	}
	if (ret >= 0 && r->p->net_mode == HUTCH_NET_PROXY && r->p->net_transparent)
		ret = plan_resolver(r, err);
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
			return hutch_errx(err, EISDIR,
					  "file descriptor %d is a directory: refusing to hand a "
					  "directory of the host into the sandbox",
					  fd);
	}
	hutch_tty_probe(&r->tty);
	if (pipe2(r->errpipe, O_CLOEXEC) < 0)
		return hutch_err(err, errno, "creating the report pipe");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r->ctl) < 0)
		return hutch_err(err, errno, "creating the control socket");
	return 0;
}
