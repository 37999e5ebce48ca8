/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exec notifications served in the supervisor's loop (see execmon.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/path.h"
#include "audit/cmdrules.h"
#include "audit/execmon.h"
#include "base/loop.h"
#include "audit/package.h"
#include "policy/policy.h"
#include "sandbox/seccomp.h"
#include "base/uapi/pidfd.h"

/* Linux 6.6: wake the supervisor on the notifying task's CPU (and back) - a handoff. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* Arguments read per process_vm_readv() in the fast path, and bytes tried for each. */
#define BATCH 64
#define PEEK 256

struct hutch_execmon {
	struct hutch_execmon_opts o;
	const struct hutch_rules *allow, *deny;
	bool rules;
	struct hutch_loop *loop;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	int fds[HUTCH_EXECMON_MAX_LISTENERS];
	size_t n_fds;
	int root; /* the sandbox's root directory (O_PATH), -1 until the first exec */
	/*
	 * Its mount namespace, held: the file lookup of an exec comes after the
	 * answer, and the last exec of a session may be looked up after every
	 * process has gone, when the namespace would otherwise be torn down.
	 */
	int mntns;
	size_t page;
	/* scratch for one exec */
	char path[PATH_MAX], abs[PATH_MAX], real[PATH_MAX], cwd[PATH_MAX], base[PATH_MAX];
	bool too_long; /* the path read is PATH_MAX bytes or more */
	char peek[BATCH * PEEK];
	char args[HUTCH_EXECMON_MAX_ARGBYTES];
	uint64_t ptrs[HUTCH_EXECMON_MAX_ARGS];
	const char *argv[HUTCH_EXECMON_MAX_ARGS];
	size_t arglen[HUTCH_EXECMON_MAX_ARGS];
	char joined[HUTCH_CMD_MAX_ARGS_JOINED];
};

int hutch_proc_stat(pid_t pid, pid_t *ppid, uint64_t *starttime)
{
	char path[64], buf[1024], *p, *tok, *save = NULL;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int field = 3;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, so start after the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	for (tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
		if (field == 4 && ppid)
			*ppid = (pid_t)strtol(tok, NULL, 10);
		if (field == 22) {
			if (starttime)
				*starttime = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return -EIO;
}

static ssize_t read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = {buf, len};
	struct iovec r = {(void *)(uintptr_t)addr, len};
	ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);

	return n < 0 ? -errno : n;
}

/*
 * The NUL-terminated string at @addr into @buf (@max bytes with the NUL),
 * page by page so that a string ending just before an unmapped page reads.
 * Returns its length; *cut when it was longer than @max - 1.
 */
static ssize_t read_str(struct hutch_execmon *m, pid_t pid, uint64_t addr, char *buf, size_t max,
			bool *cut)
{
	size_t got = 0;

	if (max == 0)
		return -ENOSPC;
	while (got < max - 1) {
		size_t chunk = m->page - ((addr + got) % m->page);
		ssize_t n;
		char *z;

		if (chunk > max - 1 - got)
			chunk = max - 1 - got;
		n = read_mem(pid, addr + got, buf + got, chunk);
		if (n <= 0)
			return n < 0 ? n : -EFAULT;
		z = memchr(buf + got, '\0', (size_t)n);
		if (z)
			return z - buf;
		got += (size_t)n;
		if ((size_t)n < chunk)
			return -EFAULT;
	}
	buf[max - 1] = '\0';
	*cut = true;
	return (ssize_t)(max - 1);
}

/* argv's pointers: the first HUTCH_EXECMON_MAX_ARGS kept, up to HUTCH_EXECMON_MAX_COUNT counted. */
static int read_argv_ptrs(struct hutch_execmon *m, pid_t pid, uint64_t addr, size_t *kept,
			  size_t *count)
{
	uint64_t chunk[128];

	*kept = *count = 0;
	if (!addr)
		return 0; /* execve(path, NULL, ...): Linux runs it with an empty argv */
	while (*count < HUTCH_EXECMON_MAX_COUNT) {
		ssize_t n = read_mem(pid, addr + *count * sizeof(uint64_t), chunk, sizeof(chunk));
		size_t k;
		if (n < (ssize_t)sizeof(uint64_t))
			return n < 0 ? (int)n : -EFAULT;
		for (k = 0; k < (size_t)n / sizeof(uint64_t); k++) {
			if (!chunk[k])
				return 0;
			if (*kept < HUTCH_EXECMON_MAX_ARGS)
				m->ptrs[(*kept)++] = chunk[k];
			(*count)++;
		}
	}
	return 0;
}

/* The argument strings into m->args; fast path: one read for a batch of short strings. */
static int read_args(struct hutch_execmon *m, pid_t pid, size_t n, bool *cut)
{
	size_t used = 0;

	for (size_t b = 0; b < n; b += BATCH) {
		struct iovec local = {m->peek, 0}, remote[BATCH];
		size_t nb = n - b < BATCH ? n - b : BATCH, lens[BATCH], off = 0;
		ssize_t got;

		for (size_t k = 0; k < nb; k++) {
			uint64_t a = m->ptrs[b + k];
			size_t l = m->page - (a % m->page);
			lens[k] = l < PEEK ? l : PEEK;
			remote[k].iov_base = (void *)(uintptr_t)a;
			remote[k].iov_len = lens[k];
			local.iov_len += lens[k];
		}
		got = process_vm_readv(pid, &local, 1, remote, nb, 0);
		if (got < 0)
			got = 0;
		for (size_t k = 0; k < nb; k++) {
			size_t room = sizeof(m->args) - used, len;
			char *z = NULL;
			bool c = false;

			if (room <= 1) {
				*cut = true;
				return (int)(b + k);
			}
			if (off + lens[k] <= (size_t)got)
				z = memchr(m->peek + off, '\0', lens[k]);
			if (z && (size_t)(z - (m->peek + off)) < room) {
				len = (size_t)(z - (m->peek + off));
				memcpy(m->args + used, m->peek + off, len + 1);
			} else {
				size_t max = room < HUTCH_EXECMON_MAX_VALUE + 1
						     ? room
						     : HUTCH_EXECMON_MAX_VALUE + 1;
				ssize_t r =
					read_str(m, pid, m->ptrs[b + k], m->args + used, max, &c);
				if (r < 0)
					return (int)r;
				len = (size_t)r;
				if (c)
					*cut = true;
			}
			m->argv[b + k] = m->args + used;
			m->arglen[b + k] = len;
			used += len + 1;
			off += lens[k];
		}
	}
	return (int)n;
}

static ssize_t read_link(const char *path, char *buf, size_t size)
{
	ssize_t n = readlink(path, buf, size - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* m->abs: the absolute path the process asked for, from @path relative to @base. */
static bool make_abs(struct hutch_execmon *m, const char *base, const char *path)
{
	_cleanup_free_ char *joined = NULL, *norm = NULL;

	if (path[0] == '/') {
		norm = hutch_path_normalize(path);
	} else {
		if (!base)
			return false;
		joined = hutch_path_join(base, path);
		norm = joined ? hutch_path_normalize(joined) : NULL;
	}
	if (!norm || strlen(norm) >= sizeof(m->abs))
		return false;
	memcpy(m->abs, norm, strlen(norm) + 1);
	return true;
}

/*
 * @abs opened O_PATH (with @flags) in the sandbox's root: the fd; -ENOENT when
 * nothing is there (the kernel will fail this exec too); -EAGAIN when it
 * cannot be known (no root yet, ELOOP...: assume it exists).
 */
static int open_target(struct hutch_execmon *m, const char *abs, int flags)
{
	struct open_how how = {.flags = (uint64_t)(O_PATH | O_CLOEXEC | flags),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd;

	if (m->root < 0)
		return -EAGAIN;
	fd = (int)syscall(SYS_openat2, m->root, abs, &how, sizeof(how));
	if (fd < 0 && errno == ELOOP) {
		/* a magic link (/proc/self/exe) refused, or a real loop: the kernel's own answer */
		how.resolve = RESOLVE_IN_ROOT;
		fd = (int)syscall(SYS_openat2, m->root, abs, &how, sizeof(how));
		if (fd >= 0)
			close(fd);
		if (fd >= 0 || errno != ELOOP)
			return -EAGAIN;
		errno = ELOOP;
	}
	if (fd >= 0)
		return fd;
	/* the kernel's lookup fails the same way: the exec does not happen */
	return errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == ELOOP ||
			       errno == ENAMETOOLONG
		       ? -ENOENT
		       : -EAGAIN;
}

/*
 * Look @abs up in the process's root: -ENOENT when it does not exist (the
 * exec will fail: no event), else 0 with m->real set to the file it names
 * (symlinks resolved, as the supervisor sees it) when that can be known.
 */
static int resolve(struct hutch_execmon *m, const char *abs)
{
	_cleanup_close_ int fd = open_target(m, abs, 0);
	char p[64];

	m->real[0] = '\0';
	if (fd < 0)
		return fd == -ENOENT ? fd : 0;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if (read_link(p, m->real, sizeof(m->real)) < 0)
		m->real[0] = '\0';
	return 0;
}

/*
 * "/proc/self/fd/N", "/proc/thread-self/fd/N", "/dev/fd/N": a descriptor of
 * the process (magic links, not resolvable from here by name): N, else -1.
 */
static int magic_fd(const char *abs)
{
	static const char *const prefixes[] = {"/proc/self/fd/", "/proc/thread-self/fd/",
					       "/dev/fd/"};
	char *end;
	long n;

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t l = strlen(prefixes[i]);
		if (strncmp(abs, prefixes[i], l) != 0 || !abs[l])
			continue;
		n = strtol(abs + l, &end, 10);
		return *end == '\0' && n >= 0 && n < INT32_MAX ? (int)n : -1;
	}
	return -1;
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

/*
 * The process's parent pid, while it waits in the syscall. A pidfd is one
 * lookup by pid; /proc/PID/stat costs a new dentry and inode for every new
 * process (about 30 us against 12 here). Returns the pidfd (-1 if none):
 * it names the process for as long as we hold it, however soon it exits.
 */
static int process_ids(pid_t pid, pid_t *ppid)
{
	struct hutch_pidfd_info info = {.mask = HUTCH_PIDFD_INFO_PID};
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd >= 0 && ioctl(pidfd, HUTCH_PIDFD_GET_INFO, &info) == 0) {
		*ppid = (pid_t)info.ppid;
		return pidfd;
	}
	/* before Linux 6.13 (PIDFD_GET_INFO) or 5.3 (pidfd_open) */
	(void)hutch_proc_stat(pid, ppid, NULL);
	return pidfd;
}

/* The process's start time, for linking later connections to it (0 if it is gone). */
static uint64_t start_time(pid_t pid, int pidfd)
{
	uint64_t st = 0;

	if (hutch_proc_stat(pid, NULL, &st) < 0)
		return 0;
	/* still the same process once read (a pid is not reused while its pidfd's process lives) */
	if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return 0;
	return st;
}

/* x->path: the absolute path the process asked for; m->real when it is a descriptor. */
static void exec_path(struct hutch_execmon *m, pid_t pid, struct hutch_exec_info *x, int dirfd,
		      int flags)
{
	const char *base = x->cwd;
	char p[64];

	if (dirfd != AT_FDCWD && (m->path[0] != '/' || (flags & AT_EMPTY_PATH))) {
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, dirfd);
		base = read_link(p, m->base, sizeof(m->base)) >= 0 ? m->base : NULL;
	}
	if ((flags & AT_EMPTY_PATH) && m->path[0] == '\0') {
		/* fexecve(): the file is the descriptor itself */
		if (base && strlen(base) < sizeof(m->abs)) {
			memcpy(m->abs, base, strlen(base) + 1);
			x->path = m->abs;
		}
	} else if (make_abs(m, base, m->path)) {
		x->path = m->abs;
	}
	if (x->path && magic_fd(x->path) >= 0) {
		/* exec through a descriptor: name the file it refers to */
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, magic_fd(x->path));
		if (read_link(p, m->real, sizeof(m->real)) < 0)
			m->real[0] = '\0';
	}
}

/*
 * Everything that needs the process as it waits in execve: its ids, the path
 * and arguments from its memory, its working directory. Returns whether the
 * memory could be read; @err says why not.
 */
static bool read_request(struct hutch_execmon *m, const struct seccomp_notif *req,
			 struct hutch_exec_info *x, size_t *kept, size_t *count, char *err,
			 size_t errsize)
{
	uint64_t path_ptr = req->data.args[0], argv_ptr = req->data.args[1];
	int dirfd = AT_FDCWD, flags = 0;
	pid_t pid = (pid_t)req->pid;
	bool readable = true;
	char p[64];
	ssize_t r;

	if (req->data.nr == __NR_execveat) {
		dirfd = (int)req->data.args[0];
		path_ptr = req->data.args[1];
		argv_ptr = req->data.args[2];
		flags = (int)req->data.args[4];
	}
	r = read_str(m, pid, path_ptr, m->path, sizeof(m->path), &x->truncated);
	/* PATH_MAX bytes or more: execve fails with ENAMETOOLONG, nothing is executed */
	m->too_long = r == (ssize_t)sizeof(m->path) - 1;
	if (r < 0) {
		readable = false;
		snprintf(err, errsize, "cannot read the process's memory: %s", strerror((int)-r));
	}
	if (readable) {
		r = read_argv_ptrs(m, pid, argv_ptr, kept, count);
		if (r >= 0)
			r = read_args(m, pid, *kept, &x->truncated);
		if (r < 0) {
			readable = false;
			snprintf(err, errsize, "cannot read the arguments: %s", strerror((int)-r));
		} else {
			*kept = (size_t)r;
			if (*kept < *count)
				x->truncated = true;
		}
	}
	snprintf(p, sizeof(p), "/proc/%d/cwd", (int)pid);
	if (read_link(p, m->cwd, sizeof(m->cwd)) >= 0)
		x->cwd = m->cwd;
	if (readable)
		exec_path(m, pid, x, dirfd, flags);
	/*
	 * Every process of the sandbox has the same root (no capability to chroot or
	 * to make a mount namespace of its own): opened once, from the first.
	 */
	if (m->root < 0) {
		snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
		m->mntns = open(p, O_RDONLY | O_CLOEXEC);
		snprintf(p, sizeof(p), "/proc/%d/root", (int)pid);
		m->root = m->mntns >= 0 ? open(p, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	}
	x->argv = m->argv;
	x->arglen = m->arglen;
	x->argc = readable ? *kept : 0;
	x->args_count = readable ? *count : 0;
	x->error = err[0] ? err : NULL;
	return readable;
}

/* Does the file named exist (a path that does not fails in the kernel: no exec)? Sets x->name. */
/*
 * Without command rules only the file's name is logged, and symlinks before
 * the last component do not change it: when the last one is no symlink, the
 * name is the path's own. One lookup without following it, instead of
 * resolving the whole path and reading it back from /proc (half the time).
 * 1: not a symlink; 0: a symlink (resolve it); -ENOENT: nothing there.
 */
static int plain_file(struct hutch_execmon *m, const char *abs)
{
	_cleanup_close_ int fd = open_target(m, abs, O_NOFOLLOW);
	struct stat st;

	if (fd < 0)
		return fd == -ENOENT ? fd : 0;
	return fstat(fd, &st) == 0 && !S_ISLNK(st.st_mode) ? 1 : 0;
}

static bool exec_target(struct hutch_execmon *m, struct hutch_exec_info *x, bool readable)
{
	int r = 0;

	if (!readable)
		return true;
	if (m->too_long)
		return false;
	if (x->path && !m->real[0] && !m->rules)
		r = plain_file(m, x->path);
	if (r == -ENOENT)
		return false;
	if (r == 0 && x->path && !m->real[0] && resolve(m, x->path) == -ENOENT)
		return false;
	if (m->real[0])
		x->name = base_name(m->real);
	else if (x->path)
		x->name = base_name(x->path);
	return true;
}

/* The command rules' decision; *reason why not when refused. */
static bool decide(struct hutch_execmon *m, const struct hutch_exec_info *x, bool readable,
		   size_t kept, const struct hutch_rule **rule, const char **reason)
{
	struct hutch_cmd cmd = {0};
	bool allowed;

	if (!readable) {
		/* Rules cannot be checked: fail closed. */
		*reason = "the command could not be read, so the command rules cannot be checked";
		return false;
	}
	cmd.path = x->path;
	cmd.real_path = m->real[0] ? m->real : NULL;
	cmd.argv = m->argv;
	cmd.arglen = m->arglen;
	cmd.argc = kept;
	cmd.args = m->joined;
	cmd.args_len = hutch_cmd_join_args(m->argv, m->arglen, kept, m->joined, sizeof(m->joined));
	allowed = hutch_cmdrules_decide(m->allow, m->deny, &cmd, rule);
	if (!allowed)
		*reason = *rule ? "matches a commands.deny rule" : "matches no commands.allow rule";
	return allowed;
}

static void package_event(struct hutch_execmon *m, const struct hutch_exec_info *x, size_t kept,
			  int pidfd)
{
	struct hutch_package pk;
	const char *prog = x->path ? base_name(x->path) : base_name(m->argv[0]);

	if (hutch_package_detect(prog, m->argv, kept, &pk) ||
	    (x->name && hutch_package_detect(x->name, m->argv, kept, &pk)))
		m->o.on_package(m->o.data, x, &pk, start_time(x->pid, pidfd));
}

/*
 * One exec: read it while the process waits, answer, then log. Without command
 * rules the answer is always "continue", so only what needs the waiting
 * process comes before it (the file lookup and the event come after: the
 * process is not kept waiting for them).
 */
static void serve(struct hutch_execmon *m, int fd, const struct seccomp_notif *req)
{
	struct hutch_exec_info x = {.pid = (pid_t)req->pid};
	const struct hutch_rule *rule = NULL;
	const char *reason = NULL;
	char err[160] = "";
	size_t kept = 0, count = 0;
	_cleanup_close_ int pidfd = -1;
	bool readable, allowed = true;

	if (req->data.nr != __NR_execve && req->data.nr != __NR_execveat) {
		(void)hutch_seccomp_notify_continue(fd, m->resp, req->id);
		return;
	}
	m->real[0] = '\0';
	pidfd = process_ids(x.pid, &x.ppid);
	readable = read_request(m, req, &x, &kept, &count, err, sizeof(err));

	/* Everything is read: is the request still the one we were told about? */
	if (hutch_seccomp_notify_id_valid(fd, req->id) < 0)
		return;
	if (m->rules) {
		/*
		 * A path that does not exist fails in the kernel with ENOENT (a shell or
		 * execvp walking PATH): not an exec, no event, no rule, same error.
		 */
		if (!exec_target(m, &x, readable)) {
			(void)hutch_seccomp_notify_continue(fd, m->resp, req->id);
			return;
		}
		allowed = decide(m, &x, readable, kept, &rule, &reason);
		if (!allowed) {
			(void)hutch_seccomp_notify_deny(fd, m->resp, req->id, EPERM);
			m->o.on_exec(m->o.data, &x, false, rule, reason);
			return;
		}
		(void)hutch_seccomp_notify_continue(fd, m->resp, req->id);
	} else {
		(void)hutch_seccomp_notify_continue(fd, m->resp, req->id);
		if (!exec_target(m, &x, readable))
			return;
	}
	m->o.on_exec(m->o.data, &x, true, rule, NULL);
	if (readable && kept > 0)
		package_event(m, &x, kept, pidfd);
}

static void drop(struct hutch_execmon *m, int fd)
{
	hutch_loop_del(m->loop, fd);
	for (size_t i = 0; i < m->n_fds; i++)
		if (m->fds[i] == fd) {
			m->fds[i] = m->fds[--m->n_fds];
			break;
		}
	close(fd);
}

static int on_notify(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct hutch_execmon *m = data;
	int r;

	if (!(events & EPOLLIN)) {
		/* EPOLLHUP: every process under this filter is gone. */
		drop(m, fd);
		return 0;
	}
	r = hutch_seccomp_notify_receive(fd, m->req);
	if (r == -ENOENT || r == -EAGAIN || r == -EINTR)
		return 0; /* the caller went away before we read it */
	if (r < 0) {
		drop(m, fd);
		return 0;
	}
	serve(m, fd, m->req);
	return 0;
}

int hutch_execmon_new(const struct hutch_execmon_opts *o, struct hutch_execmon **out)
{
	struct hutch_execmon *m = calloc(1, sizeof(*m));
	long page = sysconf(_SC_PAGESIZE);
	int r;

	if (!m)
		return -ENOMEM;
	r = hutch_seccomp_notify_alloc(&m->req, &m->resp);
	if (r < 0) {
		free(m);
		return r;
	}
	m->o = *o;
	m->allow = o->allow;
	m->deny = o->deny;
	m->rules = (o->allow && o->allow->n) || (o->deny && o->deny->n);
	m->page = page > 0 ? (size_t)page : 4096;
	m->root = -1;
	m->mntns = -1;
	*out = m;
	return 0;
}

int hutch_execmon_add(struct hutch_execmon *m, struct hutch_loop *loop, int fd)
{
	int r;

	if (m->n_fds >= HUTCH_EXECMON_MAX_LISTENERS) {
		close(fd);
		return -EMFILE;
	}
	m->loop = loop;
	/*
	 * The workload waits while we serve its exec: synchronous wake-ups make each
	 * round trip a few microseconds instead of a trip through the scheduler
	 * (an older kernel says EINVAL or ENOTTY: the usual wake-ups then).
	 */
	(void)ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	r = hutch_loop_add(loop, fd, EPOLLIN, on_notify, m);
	if (r < 0) {
		close(fd);
		return r;
	}
	m->fds[m->n_fds++] = fd;
	return 0;
}

void hutch_execmon_free(struct hutch_execmon *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_fds; i++) {
		if (m->loop)
			hutch_loop_del(m->loop, m->fds[i]);
		close(m->fds[i]);
	}
	if (m->root >= 0)
		close(m->root);
	if (m->mntns >= 0)
		close(m->mntns);
	hutch_seccomp_notify_free(m->req, m->resp);
	free(m);
}
