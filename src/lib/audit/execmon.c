/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exec notifications served by a thread per listener (see execmon.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/file.h"
#include "base/path.h"
#include "audit/cmdrules.h"
#include "audit/execcheck.h"
#include "audit/execmon.h"
#include "audit/writecheck.h"
#include "audit/writemon.h"
#include "base/loop.h"
#include "net/timer.h"
#include "audit/package.h"
#include "policy/policy.h"
#include "sandbox/seccomp.h"
#include "base/uapi/pidfd.h"
#include "base/uapi/seccomp.h"

/* Arguments read per process_vm_readv() in the fast path, and bytes tried for each. */
#define BATCH 64
#define PEEK 256
/* Execs read and answered but not yet written to the log: a listener's thread waits beyond. */
#define MAX_QUEUED 4096
#define MAX_QUEUED_BYTES (8U << 20)
/*
 * The event loop is woken for the queue once it holds WAKE_BATCH execs, or when a
 * listener's thread has had no exec for WAKE_MS: an exec loop wakes it once per
 * batch, not once per exec (events reach the log at most WAKE_MS late).
 */
#define WAKE_BATCH 64
#define WAKE_MS 20
/* A listener thread's stack: its buffers are in struct worker, on the heap. */
#define WORKER_STACK (256 * 1024)

/* How often a listener's thread looks at the load again (sync_follow_load()). */
#define SYNC_RECHECK_MS 250

/*
 * One listener, served by its own thread blocked in poll() on it: on a busy
 * machine, with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, the exec'ing process wakes
 * the thread on its own CPU and the answer hands that CPU straight back (an
 * epoll-based loop is woken the ordinary way); with a CPU to spare, ordinary
 * wake-ups (sync_follow_load()). The thread reads, foresees, decides and
 * answers; writing the event is the event loop's (execmon.h).
 */
struct worker {
	struct hutch_execmon *m;
	int fd;
	pthread_t thread;
	bool started;
	int done; /* the thread has returned (atomic) */
	size_t page;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	struct hutch_execcheck *check;
	struct hutch_writecheck *wcheck; /* NULL: writes are answered, not checked */
	char wpath[PATH_MAX];		 /* the path of a refused write */
	/* scratch for one exec */
	char path[PATH_MAX], abs[PATH_MAX], real[PATH_MAX], cwd[PATH_MAX], base[PATH_MAX];
	size_t path_len;
	bool too_long;	/* the path read is PATH_MAX bytes or more */
	bool checkable; /* the file can be looked up from here as the kernel will */
	int dirfd, flags;
	uint64_t argvp, envp; /* the pointer arrays, for measuring them (E2BIG) */
	struct hutch_exec_creds cr;
	char peek[BATCH * PEEK];
	char scan[16384];
	char args[HUTCH_EXECMON_MAX_ARGBYTES];
	uint64_t ptrs[HUTCH_EXECMON_MAX_ARGS];
	const char *argv[HUTCH_EXECMON_MAX_ARGS];
	size_t arglen[HUTCH_EXECMON_MAX_ARGS];
	char joined[HUTCH_CMD_MAX_ARGS_JOINED];
	int sync;	       /* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: 1 set, 0 clear, -1 not yet */
	uint64_t sync_checked; /* when the load was last looked at (hutch_now_ms()) */
	int ncpus;	       /* online when the listener came */
	double runnable;       /* tasks runnable lately (runnable_tasks()) */
};

/* One exec (or refused write) handed from a listener's thread to the event loop: a copy. */
struct item {
	struct item *next;
	bool write; /* a refused write: @wr, its path in @data */
	struct hutch_write_refusal wr;
	struct hutch_exec_info x;
	bool allowed;
	const struct hutch_rule *rule; /* the policy's: outlives the monitor */
	const char *reason;	       /* a string literal */
	int pidfd;
	bool package; /* look for a package install in it */
	size_t size;  /* what it holds, for the queue's bound */
	char data[];  /* argv[], arglen[], then the strings */
};

struct hutch_execmon {
	struct hutch_execmon_opts o;
	const struct hutch_rules *allow, *deny;
	bool rules;
	struct hutch_loop *loop;
	int wake; /* eventfd: items queued, read by the loop */
	int stop; /* eventfd: the threads return */
	struct worker *w[HUTCH_EXECMON_MAX_LISTENERS];
	size_t n_w;
	pthread_mutex_t lock; /* the queue; the root's first opening */
	pthread_cond_t room;
	struct item *head, **tail;
	size_t queued, queued_bytes;
	bool signaled; /* the loop was woken for what is queued */
	bool stopping; /* the threads are being stopped: nobody waits for room */
	/*
	 * The sandbox's root directory (O_PATH), -1 until the first exec, then
	 * never changed (read without the lock once set, acquire/release). Its
	 * mount namespace is held with it, so the last execs of a session are
	 * checked even when every process has gone.
	 */
	int root, mntns;
	uint64_t writes_refused; /* all of them (atomic) */
};

/*
 * Every process of the sandbox has the same root (no capability to chroot or
 * to make a mount namespace of its own): opened once, from the first.
 */
static void monitor_root(struct hutch_execmon *m, pid_t pid)
{
	char p[64];
	int mntns, root;

	if (__atomic_load_n(&m->root, __ATOMIC_ACQUIRE) >= 0)
		return;
	pthread_mutex_lock(&m->lock);
	if (m->root < 0) {
		snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
		mntns = open(p, O_RDONLY | O_CLOEXEC);
		snprintf(p, sizeof(p), "/proc/%d/root", (int)pid);
		root = mntns >= 0 ? open(p, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		if (root >= 0) {
			m->mntns = mntns;
			__atomic_store_n(&m->root, root, __ATOMIC_RELEASE);
		} else if (mntns >= 0) {
			close(mntns);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

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
static ssize_t read_str(struct worker *w, pid_t pid, uint64_t addr, char *buf, size_t max,
			bool *cut)
{
	size_t got = 0;

	if (max == 0)
		return -ENOSPC;
	while (got < max - 1) {
		size_t chunk = w->page - ((addr + got) % w->page);
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
static int read_argv_ptrs(struct worker *w, pid_t pid, uint64_t addr, size_t *kept, size_t *count)
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
				w->ptrs[(*kept)++] = chunk[k];
			(*count)++;
		}
	}
	return 0;
}

/* The argument strings into w->args; fast path: one read for a batch of short strings. */
static int read_args(struct worker *w, pid_t pid, size_t n, bool *cut)
{
	size_t used = 0;

	for (size_t b = 0; b < n; b += BATCH) {
		struct iovec local = {w->peek, 0}, remote[BATCH];
		size_t nb = n - b < BATCH ? n - b : BATCH, lens[BATCH], off = 0;
		ssize_t got;

		for (size_t k = 0; k < nb; k++) {
			uint64_t a = w->ptrs[b + k];
			size_t l = w->page - (a % w->page);
			lens[k] = l < PEEK ? l : PEEK;
			remote[k].iov_base = (void *)(uintptr_t)a;
			remote[k].iov_len = lens[k];
			local.iov_len += lens[k];
		}
		got = process_vm_readv(pid, &local, 1, remote, nb, 0);
		if (got < 0)
			got = 0;
		for (size_t k = 0; k < nb; k++) {
			size_t room = sizeof(w->args) - used, len;
			char *z = NULL;
			bool c = false;

			if (room <= 1) {
				*cut = true;
				return (int)(b + k);
			}
			if (off + lens[k] <= (size_t)got)
				z = memchr(w->peek + off, '\0', lens[k]);
			if (z && (size_t)(z - (w->peek + off)) < room) {
				len = (size_t)(z - (w->peek + off));
				memcpy(w->args + used, w->peek + off, len + 1);
			} else {
				size_t max = room < HUTCH_EXECMON_MAX_VALUE + 1
						     ? room
						     : HUTCH_EXECMON_MAX_VALUE + 1;
				ssize_t r =
					read_str(w, pid, w->ptrs[b + k], w->args + used, max, &c);
				if (r < 0)
					return (int)r;
				len = (size_t)r;
				if (c)
					*cut = true;
			}
			w->argv[b + k] = w->args + used;
			w->arglen[b + k] = len;
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

/* w->abs: the absolute path the process asked for, from @path relative to @base. */
static bool make_abs(struct worker *w, const char *base, const char *path)
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
	if (!norm || strlen(norm) >= sizeof(w->abs))
		return false;
	memcpy(w->abs, norm, strlen(norm) + 1);
	return true;
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
 * The process's parent pid and its fsuid/fsgid, while it waits in the syscall.
 * A pidfd is one lookup by pid; /proc/PID/stat costs a new dentry and inode
 * for every new process (about 30 us against 12 here). Returns the pidfd (-1
 * if none): it names the process for as long as we hold it, however soon it exits.
 */
static int process_ids(pid_t pid, pid_t *ppid, struct hutch_exec_creds *cr)
{
	struct hutch_pidfd_info info = {.mask = HUTCH_PIDFD_INFO_PID | HUTCH_PIDFD_INFO_CREDS};
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd >= 0 && ioctl(pidfd, HUTCH_PIDFD_GET_INFO, &info) == 0) {
		*ppid = (pid_t)info.ppid;
		cr->known = (info.mask & HUTCH_PIDFD_INFO_CREDS) != 0;
		cr->fsuid = info.fsuid;
		cr->fsgid = info.fsgid;
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

/* x->path: the absolute path the process asked for; w->real when it is a descriptor. */
static void exec_path(struct worker *w, pid_t pid, struct hutch_exec_info *x, int dirfd, int flags)
{
	const char *base = x->cwd;
	char p[64];

	if (dirfd != AT_FDCWD && (w->path[0] != '/' || (flags & AT_EMPTY_PATH))) {
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, dirfd);
		base = read_link(p, w->base, sizeof(w->base)) >= 0 ? w->base : NULL;
	}
	if ((flags & AT_EMPTY_PATH) && w->path[0] == '\0') {
		/* fexecve(): the file is the descriptor itself */
		if (base && strlen(base) < sizeof(w->abs)) {
			memcpy(w->abs, base, strlen(base) + 1);
			x->path = w->abs;
		}
	} else if (make_abs(w, base, w->path)) {
		x->path = w->abs;
	}
	if (x->path && magic_fd(x->path) >= 0) {
		/* exec through a descriptor: name the file it refers to */
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, magic_fd(x->path));
		if (read_link(p, w->real, sizeof(w->real)) < 0)
			w->real[0] = '\0';
	}
}

/*
 * Everything that needs the process as it waits in execve: its ids, the path
 * and arguments from its memory, its working directory. Returns whether the
 * memory could be read; @err says why not.
 */
static bool read_request(struct worker *w, const struct seccomp_notif *req,
			 struct hutch_exec_info *x, size_t *kept, size_t *count, char *err,
			 size_t errsize)
{
	uint64_t path_ptr = req->data.args[0], argv_ptr = req->data.args[1];
	int dirfd = AT_FDCWD, flags = 0;
	pid_t pid = (pid_t)req->pid;
	bool readable = true;
	char p[64];
	ssize_t r;

	w->envp = req->data.args[2];

	if (req->data.nr == __NR_execveat) {
		dirfd = (int)req->data.args[0];
		path_ptr = req->data.args[1];
		argv_ptr = req->data.args[2];
		flags = (int)req->data.args[4];
		w->envp = req->data.args[3];
	}
	w->argvp = argv_ptr;
	w->dirfd = dirfd;
	w->flags = flags;
	r = read_str(w, pid, path_ptr, w->path, sizeof(w->path), &x->truncated);
	w->path_len = r < 0 ? 0 : (size_t)r;
	/* PATH_MAX bytes or more: execve fails with ENAMETOOLONG, nothing is executed */
	w->too_long = r == (ssize_t)sizeof(w->path) - 1;
	if (r < 0) {
		readable = false;
		snprintf(err, errsize, "cannot read the process's memory: %s", strerror((int)-r));
	}
	if (readable) {
		r = read_argv_ptrs(w, pid, argv_ptr, kept, count);
		if (r >= 0)
			r = read_args(w, pid, *kept, &x->truncated);
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
	if (read_link(p, w->cwd, sizeof(w->cwd)) >= 0)
		x->cwd = w->cwd;
	if (readable)
		exec_path(w, pid, x, dirfd, flags);
	/* looked up from here only by a name from the root or the working directory */
	w->checkable = readable && x->path && !w->real[0] &&
		       (w->path[0] == '/' ||
			(dirfd == AT_FDCWD && x->cwd && !strstr(x->cwd, " (deleted)")));
	monitor_root(w->m, pid);
	x->argv = w->argv;
	x->arglen = w->arglen;
	x->argc = readable ? *kept : 0;
	x->args_count = readable ? *count : 0;
	x->error = err[0] ? err : NULL;
	return readable;
}

/* Pointers read together from a process, grouped where their strings lie (measure()). */
struct cluster {
	uint64_t lo, hi; /* the first byte read, one past the last */
	size_t off;	 /* where they are in w->scan */
};

/*
 * The length of the string at @addr, NUL included, or past HUTCH_EXEC_ARG_MAX
 * (the kernel refuses it then): from the clusters read, else page by page.
 */
static int64_t str_len(struct worker *w, pid_t pid, uint64_t addr, const struct cluster *c,
		       size_t nc, size_t got)
{
	uint64_t len = 0;

	for (size_t i = 0; i < nc; i++) {
		if (addr < c[i].lo || addr >= c[i].hi || c[i].off + (c[i].hi - c[i].lo) > got)
			continue;
		const char *at = w->scan + c[i].off + (addr - c[i].lo);
		const char *z = memchr(at, '\0', (size_t)(c[i].hi - addr));
		if (z)
			return z - at + 1;
		break;
	}
	while (len <= HUTCH_EXEC_ARG_MAX) {
		uint64_t a = addr + len;
		size_t n = w->page - (a % w->page);
		const char *z;
		ssize_t r;

		if (n > sizeof(w->peek))
			n = sizeof(w->peek);
		r = read_mem(pid, a, w->peek, n);
		if (r <= 0)
			return r < 0 ? r : -EFAULT;
		z = memchr(w->peek, '\0', (size_t)r);
		if (z)
			return (int64_t)(len + (uint64_t)(z - w->peek) + 1);
		len += (uint64_t)r;
	}
	return (int64_t)len;
}

/*
 * @v sorted in place: by insertion, at most BATCH (64) pointers, most often
 * in order already or nearly (qsort's merge sort cost ~1 us of each exec).
 */
static void sort_u64(uint64_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t x = v[i];
		size_t j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/*
 * The strings at @p[0..n) read with one process_vm_readv(): the pointers sorted
 * and grouped where they lie close together (a shell's variables, the stack),
 * each group up to PEEK bytes past its last pointer and not past that one's
 * page (what lies beyond may be unmapped). Returns the clusters; *got the bytes read.
 */
static size_t read_clusters(struct worker *w, pid_t pid, const uint64_t *p, size_t n,
			    struct cluster *c, size_t *got)
{
	uint64_t sorted[BATCH];
	struct iovec local = {w->scan, 0}, remote[BATCH];
	size_t nc = 0, used = 0;
	ssize_t r;

	memcpy(sorted, p, n * sizeof(*p));
	sort_u64(sorted, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t end = sorted[i] + PEEK,
			 page_end = sorted[i] + w->page - (sorted[i] % w->page);
		if (end > page_end)
			end = page_end;
		if (nc && sorted[i] < c[nc - 1].hi) {
			if (end > c[nc - 1].hi && used + (end - c[nc - 1].hi) <= sizeof(w->scan)) {
				used += end - c[nc - 1].hi;
				c[nc - 1].hi = end;
			}
			continue;
		}
		if (used + (end - sorted[i]) > sizeof(w->scan))
			break;
		c[nc] = (struct cluster){.lo = sorted[i], .hi = end, .off = used};
		used += end - sorted[i];
		nc++;
	}
	for (size_t i = 0; i < nc; i++) {
		remote[i].iov_base = (void *)(uintptr_t)c[i].lo;
		remote[i].iov_len = c[i].hi - c[i].lo;
	}
	local.iov_len = used;
	r = nc ? process_vm_readv(pid, &local, 1, remote, nc, 0) : 0;
	*got = r > 0 ? (size_t)r : 0;
	return nc;
}

/*
 * The strings of the pointer array at @addr (NULL-terminated), as execve
 * copies them: their number, their bytes with the NULs, the longest. Stops
 * counting bytes once past what any stack could take. Returns 0, or -errno
 * when the memory cannot be read (the kernel's own EFAULT: not foreseen).
 */
static int measure(struct worker *w, pid_t pid, uint64_t addr, uint64_t *n, uint64_t *bytes,
		   uint64_t *longest)
{
	uint64_t chunk[BATCH];
	struct cluster c[BATCH];

	*n = *bytes = *longest = 0;
	if (!addr)
		return 0;
	for (;;) {
		ssize_t r = read_mem(pid, addr + *n * sizeof(uint64_t), chunk, sizeof(chunk));
		size_t np, nc, got = 0;
		bool end = false;

		if (r < (ssize_t)sizeof(uint64_t))
			return r < 0 ? (int)r : -EFAULT;
		for (np = 0; np < (size_t)r / sizeof(uint64_t); np++)
			if (!chunk[np]) {
				end = true;
				break;
			}
		nc = read_clusters(w, pid, chunk, np, c, &got);
		for (size_t k = 0; k < np; k++) {
			int64_t len = str_len(w, pid, chunk[k], c, nc, got);
			if (len < 0)
				return (int)len;
			*bytes += (uint64_t)len;
			if ((uint64_t)len > *longest)
				*longest = (uint64_t)len;
		}
		*n += np;
		if (end || *bytes > HUTCH_EXEC_STRINGS_MAX || *longest > HUTCH_EXEC_ARG_MAX)
			return 0;
	}
}

/* The file name execve copies first: the path, or /dev/fd/N[/path] for execveat from a descriptor.
 */
static uint64_t filename_bytes(const struct worker *w)
{
	char fd[32];
	int n;

	if (w->path[0] == '/' || w->dirfd == AT_FDCWD)
		return w->path_len + 1;
	n = snprintf(fd, sizeof(fd), "/dev/fd/%d", w->dirfd);
	if ((w->flags & AT_EMPTY_PATH) && w->path[0] == '\0')
		return (uint64_t)n + 1;
	return (uint64_t)n + 1 + w->path_len + 1;
}

/* Do argv and envp fit the new stack? false: E2BIG (-errno measured: not foreseen). */
static bool args_fit(struct worker *w, pid_t pid, size_t kept, size_t count, bool cut)
{
	uint64_t envc, env_bytes, env_long, argc = count, arg_bytes = 0, arg_long = 0;
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};

	if (measure(w, pid, w->envp, &envc, &env_bytes, &env_long) < 0)
		return true;
	if (!cut && kept == count) {
		for (size_t i = 0; i < kept; i++) {
			arg_bytes += w->arglen[i] + 1;
			if (w->arglen[i] + 1 > arg_long)
				arg_long = w->arglen[i] + 1;
		}
	} else if (measure(w, pid, w->argvp, &argc, &arg_bytes, &arg_long) < 0) {
		return true;
	}
	env_bytes += arg_bytes + filename_bytes(w);
	if (env_long < arg_long)
		env_long = arg_long;
	/* the stack limit matters only past the least the kernel always grants */
	if (!hutch_execcheck_too_big(argc, envc, env_bytes, env_long, HUTCH_EXEC_ARG_MAX * 4))
		return true;
	if (prlimit(pid, RLIMIT_STACK, NULL, &rl) < 0)
		return true;
	return !hutch_execcheck_too_big(argc, envc, env_bytes, env_long, rl.rlim_cur);
}

/*
 * Would the kernel refuse this exec? The errno it would give (answered by
 * us, logged as exec_failed), or 0. Sets x->name from the file looked up.
 */
static int foresee(struct worker *w, struct hutch_exec_info *x, size_t kept, size_t count)
{
	int root = __atomic_load_n(&w->m->root, __ATOMIC_ACQUIRE), e = 0;
	bool found = false, late = false;

	if (w->too_long)
		return ENAMETOOLONG;
	if (w->checkable && root >= 0)
		e = hutch_execcheck_file(w->check, root, x->path, x->cwd, &w->cr, w->m->rules,
					 w->real, sizeof(w->real), &found, &late);
	else if (w->m->rules && x->path && !w->real[0] && root >= 0)
		/* from a descriptor: no verdict, but the rules match the file it names */
		hutch_execcheck_real(root, x->path, w->real, sizeof(w->real));
	if (w->real[0])
		x->name = base_name(w->real);
	else if (x->path && (found || !e))
		x->name = base_name(x->path);
	if (e && !late)
		return e;
	if (!args_fit(w, x->pid, kept, count, x->truncated))
		return E2BIG;
	return e;
}

/* The command rules' decision; *reason why not when refused. */
static bool decide(struct worker *w, const struct hutch_exec_info *x, bool readable, size_t kept,
		   const struct hutch_rule **rule, const char **reason)
{
	struct hutch_cmd cmd = {0};
	bool allowed;

	if (!readable) {
		/* Rules cannot be checked: fail closed. */
		*reason = "the command could not be read, so the command rules cannot be checked";
		return false;
	}
	cmd.path = x->path;
	cmd.real_path = w->real[0] ? w->real : NULL;
	cmd.argv = w->argv;
	cmd.arglen = w->arglen;
	cmd.argc = kept;
	cmd.args = w->joined;
	cmd.args_len = hutch_cmd_join_args(w->argv, w->arglen, kept, w->joined, sizeof(w->joined));
	allowed = hutch_cmdrules_decide(w->m->allow, w->m->deny, &cmd, rule);
	if (!allowed)
		*reason = *rule ? "matches a commands.deny rule" : "matches no commands.allow rule";
	return allowed;
}

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static const char *put_str(char **p, const char *s)
{
	char *at = *p;

	if (!s)
		return NULL;
	memcpy(at, s, strlen(s) + 1);
	*p += strlen(s) + 1;
	return at;
}

/* A copy of @x for the event loop (NULL: no memory). */
static struct item *make_item(const struct hutch_exec_info *x)
{
	size_t strs = str_size(x->path) + str_size(x->name) + str_size(x->cwd) + str_size(x->error);
	size_t ptrs = x->argc * (sizeof(char *) + sizeof(size_t));
	struct item *it;
	const char **argv;
	size_t *arglen;
	char *p;

	for (size_t i = 0; i < x->argc; i++)
		strs += x->arglen[i] + 1;
	it = malloc(sizeof(*it) + ptrs + strs);
	if (!it)
		return NULL;
	memset(it, 0, sizeof(*it));
	it->size = sizeof(*it) + ptrs + strs;
	it->x = *x;
	argv = (const char **)(void *)it->data;
	arglen = (size_t *)(void *)(it->data + x->argc * sizeof(char *));
	p = it->data + ptrs;
	it->x.path = put_str(&p, x->path);
	it->x.name = put_str(&p, x->name);
	it->x.cwd = put_str(&p, x->cwd);
	it->x.error = put_str(&p, x->error);
	for (size_t i = 0; i < x->argc; i++) {
		argv[i] = p;
		arglen[i] = x->arglen[i];
		memcpy(p, x->argv[i], x->arglen[i]);
		p[x->arglen[i]] = '\0';
		p += x->arglen[i] + 1;
	}
	it->x.argv = argv;
	it->x.arglen = arglen;
	return it;
}

/* Is it time to wake the loop (@idle: a thread has nothing else to do)? Under m->lock. */
static bool wake_due(struct hutch_execmon *m, bool idle)
{
	if (m->signaled || !m->queued ||
	    (!idle && m->queued < WAKE_BATCH && m->queued_bytes < MAX_QUEUED_BYTES / 2))
		return false;
	m->signaled = true;
	return true;
}

static void wake_loop(struct hutch_execmon *m)
{
	uint64_t one = 1;

	if (write(m->wake, &one, sizeof(one)) < 0) {
		/* the counter is full: the loop is woken already */
	}
}

/* To the event loop; waits while it is MAX_QUEUED execs behind. */
static void enqueue(struct hutch_execmon *m, struct item *it)
{
	bool wake;

	pthread_mutex_lock(&m->lock);
	while ((m->queued >= MAX_QUEUED || m->queued_bytes >= MAX_QUEUED_BYTES) && !m->stopping)
		pthread_cond_wait(&m->room, &m->lock);
	it->next = NULL;
	*m->tail = it;
	m->tail = &it->next;
	m->queued++;
	m->queued_bytes += it->size;
	wake = wake_due(m, false);
	pthread_mutex_unlock(&m->lock);
	if (wake)
		wake_loop(m);
}

/* How long the thread may wait for an exec before it wakes the loop for the queue. */
static int idle_timeout(struct hutch_execmon *m)
{
	bool pending;

	pthread_mutex_lock(&m->lock);
	pending = m->queued && !m->signaled;
	pthread_mutex_unlock(&m->lock);
	return pending ? WAKE_MS : -1;
}

static void idle_wake(struct hutch_execmon *m)
{
	bool wake;

	pthread_mutex_lock(&m->lock);
	wake = wake_due(m, true);
	pthread_mutex_unlock(&m->lock);
	if (wake)
		wake_loop(m);
}

static int root_for(void *data, pid_t pid)
{
	struct hutch_execmon *m = data;

	monitor_root(m, pid);
	return __atomic_load_n(&m->root, __ATOMIC_ACQUIRE);
}

/* A write (writemon.h): answered at once; a refusal counted, the first ones queued. */
static void serve_write(struct worker *w, const struct seccomp_notif *req)
{
	struct hutch_write_refusal wr;
	struct item *it;
	size_t len;
	uint64_t n;

	if (!w->wcheck || !hutch_writemon_is_write(req->data.nr)) {
		(void)hutch_seccomp_notify_continue(w->fd, w->resp, req->id);
		return;
	}
	if (hutch_writemon_serve(w->wcheck, w->fd, w->resp, req, root_for, w->m, &wr, w->wpath,
				 sizeof(w->wpath)) <= 0)
		return;
	n = __atomic_add_fetch(&w->m->writes_refused, 1, __ATOMIC_RELAXED);
	if (n > HUTCH_EXECMON_MAX_WRITE_EVENTS || !w->m->o.on_write_refused)
		return;
	len = strlen(wr.path) + 1;
	it = calloc(1, sizeof(*it) + len);
	if (!it)
		return;
	it->size = sizeof(*it) + len;
	it->write = true;
	it->wr = wr;
	memcpy(it->data, wr.path, len);
	it->wr.path = it->data;
	it->pidfd = -1;
	enqueue(w->m, it);
}

/*
 * One exec: read it while the process waits, foresee the kernel's refusal,
 * apply the command rules, answer; the event goes to the event loop.
 */
static void serve(struct worker *w, const struct seccomp_notif *req)
{
	struct hutch_exec_info x = {.pid = (pid_t)req->pid};
	const struct hutch_rule *rule = NULL;
	const char *reason = NULL;
	char err[160] = "";
	size_t kept = 0, count = 0;
	int pidfd, failed = 0;
	bool readable, allowed = true;
	struct item *it;

	if (req->data.nr != __NR_execve && req->data.nr != __NR_execveat) {
		serve_write(w, req);
		return;
	}
	w->real[0] = '\0';
	w->cr.known = false;
	pidfd = process_ids(x.pid, &x.ppid, &w->cr);
	readable = read_request(w, req, &x, &kept, &count, err, sizeof(err));

	/* Everything is read: is the request still the one we were told about? */
	if (hutch_seccomp_notify_id_valid(w->fd, req->id) < 0) {
		if (pidfd >= 0)
			close(pidfd);
		return;
	}
	if (readable)
		failed = foresee(w, &x, kept, count);
	if (!failed && w->m->rules)
		allowed = decide(w, &x, readable, kept, &rule, &reason);
	if (failed)
		(void)hutch_seccomp_notify_deny(w->fd, w->resp, req->id, failed);
	else if (!allowed)
		(void)hutch_seccomp_notify_deny(w->fd, w->resp, req->id, EPERM);
	else
		(void)hutch_seccomp_notify_continue(w->fd, w->resp, req->id);

	x.failed = failed;
	clock_gettime(CLOCK_REALTIME, &x.when);
	it = make_item(&x);
	if (!it) {
		if (pidfd >= 0)
			close(pidfd);
		return;
	}
	it->allowed = allowed;
	it->rule = rule;
	it->reason = reason;
	it->pidfd = pidfd;
	it->package = allowed && !failed && readable && kept > 0;
	enqueue(w->m, it);
}

bool hutch_execmon_sync_wanted(double runnable, int ncpus)
{
	return runnable > ncpus + 0.5;
}

int hutch_execmon_parse_loadavg(const char *buf, unsigned *runnable)
{
	const char *p = buf;
	char *end;
	unsigned long v;

	/* "0.20 0.18 0.12 1/80 11206": the fourth field, runnable/threads */
	for (int i = 0; i < 3; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	v = strtoul(p, &end, 10);
	if (*end != '/' || v > UINT32_MAX)
		return -EINVAL;
	*runnable = (unsigned)v;
	return 0;
}

/*
 * The tasks runnable on the machine lately, this thread and the exec'ing process
 * included: /proc/loadavg's instantaneous count, averaged over the last looks
 * (half each); without /proc, the 1-minute load average.
 */
static double runnable_tasks(struct worker *w)
{
	char buf[128];
	struct sysinfo si;
	unsigned now;

	if (hutch_read_small_at(AT_FDCWD, "/proc/loadavg", buf, sizeof(buf)) > 0 &&
	    hutch_execmon_parse_loadavg(buf, &now) == 0) {
		w->runnable = w->runnable < 0 ? now : (w->runnable + now) / 2;
		return w->runnable;
	}
	if (sysinfo(&si) == 0)
		return (double)si.loads[0] / (1 << SI_LOAD_SHIFT);
	return 0;
}

/*
 * Synchronous wake-ups hand the CPU over between the exec'ing process and this
 * thread: on a busy machine that saves both from waiting for a CPU. With a CPU
 * to spare they cost more than they save: the process resumes its execve()
 * while this thread, which it preempted on that CPU, is still runnable there,
 * so sched_exec() moves it to the idle CPU, a migration per exec. The flag
 * follows the tasks runnable, looked at every SYNC_RECHECK_MS
 * (hutch_execmon_sync_wanted(); bench/RESULTS.md, "exec auditing").
 */
static void sync_follow_load(struct worker *w)
{
	uint64_t ms = hutch_now_ms();
	bool want;

	/* also when the kernel refused the flag: tried again at that pace only */
	if (w->sync_checked && ms - w->sync_checked < SYNC_RECHECK_MS)
		return;
	w->sync_checked = ms;
	want = hutch_execmon_sync_wanted(runnable_tasks(w), w->ncpus);
	/* an older kernel says EINVAL or ENOTTY: the ordinary wake-ups, always */
	if ((int)want != w->sync && ioctl(w->fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
					  want ? SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP : 0UL) == 0)
		w->sync = want;
}

static void *worker_main(void *data)
{
	struct worker *w = data;
	struct pollfd p[2] = {{.fd = w->fd, .events = POLLIN},
			      {.fd = w->m->stop, .events = POLLIN}};

	for (;;) {
		int r = poll(p, 2, idle_timeout(w->m));

		if (r == 0) {
			idle_wake(w->m);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (p[1].revents & POLLIN))
			break;
		if (!(p[0].revents & POLLIN)) {
			if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL))
				break; /* every process under this filter is gone */
			continue;
		}
		sync_follow_load(w);
		r = hutch_seccomp_notify_receive(w->fd, w->req);
		if (r == -ENOENT || r == -EAGAIN || r == -EINTR)
			continue; /* the caller went away before we read it */
		if (r < 0)
			break;
		serve(w, w->req);
	}
	/*
	 * This listener's last events may still be queued, and the other threads asleep
	 * with no timeout (they looked before these came): the loop takes them now.
	 */
	idle_wake(w->m);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- the event loop's side ---------------------------------------------------- */

static void deliver(struct hutch_execmon *m, struct item *it)
{
	const struct hutch_exec_info *x = &it->x;
	struct hutch_package pk;
	const char *prog;

	if (it->write) {
		m->o.on_write_refused(m->o.data, &it->wr);
		free(it);
		return;
	}
	m->o.on_exec(m->o.data, x, it->allowed, it->rule, it->reason);
	if (it->package) {
		prog = x->path ? base_name(x->path) : base_name(x->argv[0]);
		if (hutch_package_detect(prog, x->argv, x->argc, &pk) ||
		    (x->name && hutch_package_detect(x->name, x->argv, x->argc, &pk)))
			m->o.on_package(m->o.data, x, &pk, start_time(x->pid, it->pidfd));
	}
	if (it->pidfd >= 0)
		close(it->pidfd);
	free(it);
}

/* Everything queued, in order (@write: to the log; else dropped). */
static void deliver_all(struct hutch_execmon *m, bool write)
{
	struct item *it, *next;

	pthread_mutex_lock(&m->lock);
	it = m->head;
	m->head = NULL;
	m->tail = &m->head;
	m->queued = 0;
	m->queued_bytes = 0;
	m->signaled = false;
	pthread_cond_broadcast(&m->room);
	pthread_mutex_unlock(&m->lock);
	for (; it; it = next) {
		next = it->next;
		if (write) {
			deliver(m, it);
		} else {
			if (it->pidfd >= 0)
				close(it->pidfd);
			free(it);
		}
	}
}

static int on_wake(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct hutch_execmon *m = data;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return 0;
	deliver_all(m, true);
	return 0;
}

static void worker_free(struct worker *w)
{
	if (!w)
		return;
	if (w->started)
		pthread_join(w->thread, NULL);
	if (w->fd >= 0)
		close(w->fd);
	hutch_execcheck_free(w->check);
	hutch_writecheck_free(w->wcheck);
	hutch_seccomp_notify_free(w->req, w->resp);
	free(w);
}

/* The threads that returned (their processes are gone): joined, their slots free again. */
static void reap(struct hutch_execmon *m)
{
	for (size_t i = 0; i < m->n_w;) {
		if (__atomic_load_n(&m->w[i]->done, __ATOMIC_ACQUIRE)) {
			worker_free(m->w[i]);
			m->w[i] = m->w[--m->n_w];
		} else {
			i++;
		}
	}
}

int hutch_execmon_new(const struct hutch_execmon_opts *o, struct hutch_execmon **out)
{
	struct hutch_execmon *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->o = *o;
	m->allow = o->allow;
	m->deny = o->deny;
	m->rules = (o->allow && o->allow->n) || (o->deny && o->deny->n);
	m->root = -1;
	m->mntns = -1;
	m->head = NULL;
	m->tail = &m->head;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->room, NULL);
	m->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m->stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->wake < 0 || m->stop < 0) {
		int r = -errno;
		hutch_execmon_free(m);
		return r;
	}
	*out = m;
	return 0;
}

static int worker_new(struct hutch_execmon *m, int fd, struct worker **out)
{
	struct worker *w = calloc(1, sizeof(*w));
	long page = sysconf(_SC_PAGESIZE);
	int r;

	if (!w)
		return -ENOMEM;
	w->m = m;
	w->fd = fd;
	w->page = page > 0 ? (size_t)page : 4096;
	w->sync = -1;
	w->runnable = -1;
	w->ncpus = get_nprocs();
	r = hutch_seccomp_notify_alloc(&w->req, &w->resp);
	if (r >= 0)
		r = hutch_execcheck_new(&w->check);
	if (r >= 0 && m->o.writes)
		r = hutch_writecheck_new(m->o.writes, &w->wcheck);
	if (r < 0) {
		w->fd = -1; /* the caller closes it */
		worker_free(w);
		return r;
	}
	*out = w;
	return 0;
}

static int worker_start(struct worker *w)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int r;

	if (pthread_attr_init(&attr) != 0)
		return -ENOMEM;
	(void)pthread_attr_setstacksize(&attr, WORKER_STACK);
	/* the thread takes no signal: they are the supervisor's signalfd's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r != 0)
		return -r;
	w->started = true;
	return 0;
}

int hutch_execmon_add(struct hutch_execmon *m, struct hutch_loop *loop, int fd)
{
	struct worker *w = NULL;
	int r;

	reap(m);
	if (m->n_w >= HUTCH_EXECMON_MAX_LISTENERS) {
		close(fd);
		return -EMFILE;
	}
	if (!m->loop) {
		r = hutch_loop_add(loop, m->wake, EPOLLIN, on_wake, m);
		if (r < 0) {
			close(fd);
			return r;
		}
		m->loop = loop;
	}
	r = worker_new(m, fd, &w);
	if (r >= 0)
		r = worker_start(w);
	if (r < 0) {
		if (w)
			worker_free(w); /* closes fd */
		else
			close(fd);
		return r;
	}
	m->w[m->n_w++] = w;
	return 0;
}

/* The threads return (a thread waiting for room in the queue too), then are joined. */
static void stop_workers(struct hutch_execmon *m)
{
	uint64_t one = 1;

	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_cond_broadcast(&m->room);
	pthread_mutex_unlock(&m->lock);
	if (m->stop >= 0 && write(m->stop, &one, sizeof(one)) < 0) {
		/* cannot fail on a fresh counter */
	}
	/*
	 * A thread between poll() and the next answer finishes that exec first; one
	 * in SECCOMP_IOCTL_NOTIF_RECV returns once every process under its filter is
	 * gone, which is so when the sandbox's init has exited.
	 */
	for (size_t i = 0; i < m->n_w; i++)
		worker_free(m->w[i]);
	m->n_w = 0;
}

void hutch_execmon_drain(struct hutch_execmon *m)
{
	if (!m)
		return;
	stop_workers(m);
	deliver_all(m, true);
}

uint64_t hutch_execmon_writes_refused(const struct hutch_execmon *m)
{
	return m ? __atomic_load_n(&m->writes_refused, __ATOMIC_RELAXED) : 0;
}

void hutch_execmon_free(struct hutch_execmon *m)
{
	if (!m)
		return;
	stop_workers(m);
	deliver_all(m, false);
	if (m->loop && m->wake >= 0)
		hutch_loop_del(m->loop, m->wake);
	if (m->wake >= 0)
		close(m->wake);
	if (m->stop >= 0)
		close(m->stop);
	if (m->root >= 0)
		close(m->root);
	if (m->mntns >= 0)
		close(m->mntns);
	pthread_cond_destroy(&m->room);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
