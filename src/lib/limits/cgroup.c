/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox's own cgroups (see cgroup.h and docs/limits.md).
 *
 * cgroup v2: a child cgroup of the caller's cgroup when that is the root of
 * its cgroup namespace, or (as root) of a "hutch" cgroup under the root; the
 * controllers are enabled in the parent's cgroup.subtree_control. cgroup v1
 * (root only in practice): a child of the caller's cgroup in the memory,
 * pids and cpu hierarchies. Files are opened relative to directory fds kept
 * from creation to removal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/file.h"
#include "limits/cgroup.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

/* The slice hutch makes under the v2 root when running as root outside of it. */
#define V2_SLICE "hutch"
/* cpu.max / cpu.cfs_period_us: 100 ms, the kernel's default period. */
#define CPU_PERIOD_US 100000ULL
/* The kernel's smallest quota. */
#define CPU_MIN_QUOTA_US 1000ULL

static const char *const ctrl_names[_HUTCH_CG_CTRL_MAX] = {
	[HUTCH_CG_MEMORY] = "memory",
	[HUTCH_CG_PIDS] = "pids",
	[HUTCH_CG_CPU] = "cpu",
};

const char *hutch_cg_ctrl_name(enum hutch_cg_ctrl c)
{
	return (unsigned)c < _HUTCH_CG_CTRL_MAX ? ctrl_names[c] : "?";
}

/* ---- pure parsers ------------------------------------------------------- */

static bool word_eq(const uint8_t *s, size_t n, const char *w)
{
	size_t wl = strlen(w);

	return n == wl && memcmp(s, w, n) == 0;
}

unsigned hutch_cg_parse_controllers(const uint8_t *buf, size_t len)
{
	unsigned mask = 0;
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\t'))
			i++;
		start = i;
		while (i < len && buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\t')
			i++;
		for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++)
			if (word_eq(buf + start, i - start, ctrl_names[c]))
				mask |= HUTCH_CG_BIT(c);
	}
	return mask;
}

static int copy_path(char dst[PATH_MAX], const uint8_t *s, size_t n)
{
	if (n == 0 || n >= PATH_MAX || s[0] != '/' || memchr(s, '\0', n))
		return -EINVAL;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

int hutch_cg_parse_proc(const uint8_t *buf, size_t len, char v2[PATH_MAX],
			char v1[_HUTCH_CG_CTRL_MAX][PATH_MAX])
{
	size_t pos = 0;
	unsigned lines = 0;

	v2[0] = '\0';
	for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++)
		v1[c][0] = '\0';
	while (pos < len) {
		const uint8_t *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		const uint8_t *c1, *c2;

		pos += n + (nl ? 1 : 0);
		if (n == 0)
			continue;
		if (++lines > HUTCH_CG_MAX_PROC_LINES)
			return -EINVAL;
		/* "ID:CONTROLLERS:PATH"; the path may itself contain ':' */
		c1 = memchr(line, ':', n);
		if (!c1)
			return -EINVAL;
		c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line));
		if (!c2)
			return -EINVAL;
		{
			const uint8_t *list = c1 + 1, *path = c2 + 1;
			size_t list_n = (size_t)(c2 - list), path_n = n - (size_t)(path - line);
			size_t i = 0;

			if (word_eq(line, (size_t)(c1 - line), "0") && list_n == 0) {
				if (copy_path(v2, path, path_n) < 0)
					return -EINVAL;
				continue;
			}
			while (i <= list_n) {
				size_t start = i;
				while (i < list_n && list[i] != ',')
					i++;
				for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++)
					if (word_eq(list + start, i - start, ctrl_names[c]) &&
					    copy_path(v1[c], path, path_n) < 0)
						return -EINVAL;
				i++;
			}
		}
	}
	return 0;
}

int hutch_cg_keyed(const uint8_t *buf, size_t len, const char *key, uint64_t *out)
{
	size_t pos = 0, kl = strlen(key);

	while (pos < len) {
		const uint8_t *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;

		pos += n + (nl ? 1 : 0);
		if (n >= kl + 1 && memcmp(line, key, kl) == 0 && line[kl] == ' ') {
			uint64_t v = 0;
			size_t i = kl + 1, digits = 0;

			for (; i < n && line[i] >= '0' && line[i] <= '9'; i++, digits++) {
				if (v > (UINT64_MAX - 9) / 10)
					return -ERANGE;
				v = v * 10 + (uint64_t)(line[i] - '0');
			}
			if (digits == 0 || i != n)
				return -EINVAL;
			*out = v;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- small file helpers --------------------------------------------------- */

/* One write() of @s: cgroup files take a value per write. 0 or -errno. */
static int write_at(int dirfd, const char *name, const char *s)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = write(fd, s, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int write_u64_at(int dirfd, const char *name, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return write_at(dirfd, name, buf);
}

static int join(char out[PATH_MAX], const char *a, const char *b)
{
	size_t la = strlen(a);
	int n;

	while (*b == '/')
		b++;
	while (la > 1 && a[la - 1] == '/')
		la--;
	if (!*b)
		n = snprintf(out, PATH_MAX, "%.*s", (int)la, a);
	else
		n = snprintf(out, PATH_MAX, "%.*s%s%s", (int)la, a, a[la - 1] == '/' ? "" : "/", b);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static bool fs_is(const char *path, long magic)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}

/* ---- detection ------------------------------------------------------------- */

static unsigned controllers_of(const char *dir)
{
	char path[PATH_MAX], buf[512];
	ssize_t n;

	if (join(path, dir, "cgroup.controllers") < 0)
		return 0;
	n = hutch_read_small_at(AT_FDCWD, path, buf, sizeof(buf));
	return n > 0 ? hutch_cg_parse_controllers((const uint8_t *)buf, (size_t)n) : 0;
}

static void detect_v2(const char *root, uid_t euid, bool check_fs, struct hutch_cg_layout *out)
{
	const char *cands[] = {"", "unified"};

	out->v2_mount[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(cands); i++) {
		char m[PATH_MAX], probe[PATH_MAX];

		if (join(m, root, cands[i]) < 0)
			continue;
		if (check_fs
			    ? !fs_is(m, CGROUP2_SUPER_MAGIC)
			    : (join(probe, m, "cgroup.controllers") < 0 || access(probe, F_OK) < 0))
			continue;
		memcpy(out->v2_mount, m, sizeof(m));
		break;
	}
	if (!out->v2_mount[0] || !out->v2_self[0])
		return;
	if (!strcmp(out->v2_self, "/")) {
		/* The root of our cgroup namespace (a container, or the host's root). */
		char sub[PATH_MAX];
		if (join(sub, out->v2_mount, "cgroup.subtree_control") < 0 || access(sub, W_OK) < 0)
			return;
		memcpy(out->v2_parent, out->v2_mount, PATH_MAX);
		out->v2_how = HUTCH_CG_V2_DIRECT;
		out->v2_ctrls = controllers_of(out->v2_mount);
	} else if (euid == 0) {
		/* Root elsewhere in the tree: hutch's own cgroup under the root. */
		if (join(out->v2_parent, out->v2_mount, V2_SLICE) < 0) {
			out->v2_parent[0] = '\0';
			return;
		}
		out->v2_how = HUTCH_CG_V2_SLICE;
		out->v2_ctrls = controllers_of(out->v2_mount);
	} else {
		/*
		 * A delegated cgroup (systemd-run --user --scope -p Delegate=yes): it
		 * holds processes (us), so it cannot give controllers to children
		 * until we move into a leaf of our own; create checks that we are alone.
		 */
		char self[PATH_MAX], sub[PATH_MAX], procs[PATH_MAX];
		if (join(self, out->v2_mount, out->v2_self) < 0 ||
		    join(sub, self, "cgroup.subtree_control") < 0 ||
		    join(procs, self, "cgroup.procs") < 0)
			return;
		if (access(self, W_OK) < 0 || access(sub, W_OK) < 0 || access(procs, W_OK) < 0)
			return;
		memcpy(out->v2_parent, self, PATH_MAX);
		out->v2_how = HUTCH_CG_V2_MOVE_SELF;
		out->v2_ctrls = controllers_of(self);
	}
}

void hutch_cg_detect(const char *root, const uint8_t *proc, size_t proc_len, uid_t euid,
		     bool check_fs, struct hutch_cg_layout *out)
{
	char v1[_HUTCH_CG_CTRL_MAX][PATH_MAX];

	memset(out, 0, sizeof(*out));
	if (hutch_cg_parse_proc(proc, proc_len, out->v2_self, v1) < 0)
		return;
	detect_v2(root, euid, check_fs, out);
	for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++) {
		char hier[PATH_MAX];

		if (!v1[c][0] || join(hier, root, ctrl_names[c]) < 0)
			continue;
		if (check_fs && !fs_is(hier, CGROUP_SUPER_MAGIC))
			continue;
		if (join(out->v1_dir[c], hier, v1[c]) < 0 || access(out->v1_dir[c], W_OK) < 0)
			out->v1_dir[c][0] = '\0';
	}
}

void hutch_cg_detect_self(struct hutch_cg_layout *out)
{
	char buf[4096];
	ssize_t n = hutch_read_small_at(AT_FDCWD, "/proc/self/cgroup", buf, sizeof(buf));

	hutch_cg_detect("/sys/fs/cgroup", (const uint8_t *)buf, n > 0 ? (size_t)n : 0, geteuid(),
			true, out);
}

/* ---- limits and events ------------------------------------------------------ */

static uint64_t cpu_quota_us(uint64_t milli)
{
	uint64_t q = milli * (CPU_PERIOD_US / 1000);

	return q < CPU_MIN_QUOTA_US ? CPU_MIN_QUOTA_US : q;
}

int hutch_cg_write_limits(int dirfd, int version, unsigned ctrls, const struct hutch_cg_values *v,
			  hutch_error *err)
{
	char buf[64];
	int r;

	if ((ctrls & HUTCH_CG_BIT(HUTCH_CG_MEMORY)) && v->memory) {
		const char *f = version == 2 ? "memory.max" : "memory.limit_in_bytes";
		r = write_u64_at(dirfd, f, v->memory);
		if (r < 0)
			return hutch_err(err, -r, "cgroup: writing %s", f);
		/* No swapping past the limit; absent without swap accounting. */
		f = version == 2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
		r = write_u64_at(dirfd, f, version == 2 ? 0 : v->memory);
		if (r < 0 && r != -ENOENT)
			return hutch_err(err, -r, "cgroup: writing %s", f);
	}
	if ((ctrls & HUTCH_CG_BIT(HUTCH_CG_PIDS)) && v->pids) {
		r = write_u64_at(dirfd, "pids.max", v->pids);
		if (r < 0)
			return hutch_err(err, -r, "cgroup: writing pids.max");
	}
	if ((ctrls & HUTCH_CG_BIT(HUTCH_CG_CPU)) && v->cpus_milli) {
		if (version == 2) {
			snprintf(buf, sizeof(buf), "%llu %llu",
				 (unsigned long long)cpu_quota_us(v->cpus_milli),
				 (unsigned long long)CPU_PERIOD_US);
			r = write_at(dirfd, "cpu.max", buf);
			if (r < 0)
				return hutch_err(err, -r, "cgroup: writing cpu.max");
		} else {
			r = write_u64_at(dirfd, "cpu.cfs_period_us", CPU_PERIOD_US);
			if (r >= 0)
				r = write_u64_at(dirfd, "cpu.cfs_quota_us",
						 cpu_quota_us(v->cpus_milli));
			if (r < 0)
				return hutch_err(err, -r, "cgroup: writing cpu.cfs_quota_us");
		}
	}
	return 0;
}

static uint64_t keyed_at(int dirfd, const char *file, const char *key)
{
	char buf[2048];
	ssize_t n = hutch_read_small_at(dirfd, file, buf, sizeof(buf));
	uint64_t v = 0;

	if (n > 0 && hutch_cg_keyed((const uint8_t *)buf, (size_t)n, key, &v) == 0)
		return v;
	return 0;
}

static uint64_t single_at(int dirfd, const char *file)
{
	char buf[64];
	ssize_t n = hutch_read_small_at(dirfd, file, buf, sizeof(buf));

	return n > 0 ? strtoull(buf, NULL, 10) : 0;
}

void hutch_cg_read_dir_events(int dirfd, int version, unsigned ctrls, struct hutch_cg_events *ev)
{
	if (ctrls & HUTCH_CG_BIT(HUTCH_CG_MEMORY)) {
		if (version == 2) {
			ev->oom_kill += keyed_at(dirfd, "memory.events", "oom_kill");
			ev->memory_max += keyed_at(dirfd, "memory.events", "max");
			ev->memory_peak = single_at(dirfd, "memory.peak");
		} else {
			ev->oom_kill += keyed_at(dirfd, "memory.oom_control", "oom_kill");
			ev->memory_max += single_at(dirfd, "memory.failcnt");
			ev->memory_peak = single_at(dirfd, "memory.max_usage_in_bytes");
		}
	}
	if (ctrls & HUTCH_CG_BIT(HUTCH_CG_PIDS))
		ev->pids_max += keyed_at(dirfd, "pids.events", "max");
	if (ctrls & HUTCH_CG_BIT(HUTCH_CG_CPU)) {
		ev->cpu_throttled += keyed_at(dirfd, "cpu.stat", "nr_throttled");
		ev->cpu_throttled_us +=
			version == 2 ? keyed_at(dirfd, "cpu.stat", "throttled_usec")
				     : keyed_at(dirfd, "cpu.stat", "throttled_time") / 1000;
	}
}

void hutch_cgroup_events(struct hutch_cgroup *cg, struct hutch_cg_events *ev)
{
	memset(ev, 0, sizeof(*ev));
	for (size_t i = 0; cg && i < cg->n; i++)
		hutch_cg_read_dir_events(cg->d[i].fd, cg->d[i].version, cg->d[i].ctrls, ev);
}

/* ---- killing and removing ------------------------------------------------------ */

/* SIGKILL every process in the cgroup @fd; true if there was any. */
static bool kill_members(int fd, int version)
{
	char buf[8192];
	ssize_t n;
	bool any = false;

	if (version == 2 && write_at(fd, "cgroup.kill", "1") == 0)
		return true; /* the kernel does it, race-free (5.14+) */
	n = hutch_read_small_at(fd, "cgroup.procs", buf, sizeof(buf));
	for (char *s = buf, *end; n > 0 && *s; s = end) {
		long pid = strtol(s, &end, 10);
		if (end == s)
			break;
		if (pid > 1 && pid != (long)getpid() && kill((pid_t)pid, SIGKILL) == 0)
			any = true;
		while (*end == '\n')
			end++;
	}
	return any;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Remove @name under @parent_fd (the cgroup @fd), killing what it holds. 0 or -errno. */
static int remove_cgroup(int parent_fd, int fd, const char *name, int version)
{
	long waited = 0, step = 1;

	for (;;) {
		if (unlinkat(parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		if (waited >= HUTCH_CG_REMOVE_TIMEOUT_MS)
			return -EBUSY;
		kill_members(fd, version);
		sleep_ms(step);
		waited += step;
		if (step < 50)
			step *= 2;
	}
}

static long pidns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 ? (long)st.st_ino : 0;
}

int hutch_cg_remove_stale(int parent_fd, int version)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	long ns = pidns_ino();
	int fd = fcntl(parent_fd, F_DUPFD_CLOEXEC, 3), removed = 0;

	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		long dns, pid;
		char id[32];
		int used = 0;

		if (strncmp(de->d_name, "hutch-", 6) != 0 ||
		    sscanf(de->d_name, "hutch-%ld-%ld-%16[0-9a-f]%n", &dns, &pid, id, &used) != 3 ||
		    de->d_name[used] != '\0' || dns != ns || pid <= 0 || pid == (long)getpid())
			continue;
		/* Its supervisor is alive (or the pid is someone else's now): leave it. */
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		{
			_cleanup_close_ int cfd =
				openat(parent_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (cfd >= 0 && remove_cgroup(parent_fd, cfd, de->d_name, version) == 0)
				removed++;
		}
	}
	return removed;
}

/* ---- creating ----------------------------------------------------------------- */

/* Enable @want in @dir's cgroup.subtree_control; returns what is enabled there now. */
static unsigned enable_controllers(const char *dir, unsigned want)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char buf[512];
	ssize_t n;
	unsigned have;

	if (fd < 0)
		return 0;
	n = hutch_read_small_at(fd, "cgroup.subtree_control", buf, sizeof(buf));
	have = n > 0 ? hutch_cg_parse_controllers((const uint8_t *)buf, (size_t)n) : 0;
	for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++) {
		char s[32];
		if (!(want & HUTCH_CG_BIT(c)) || (have & HUTCH_CG_BIT(c)))
			continue;
		snprintf(s, sizeof(s), "+%s", ctrl_names[c]);
		if (write_at(fd, "cgroup.subtree_control", s) == 0)
			have |= HUTCH_CG_BIT(c);
	}
	return have;
}

static void fail_all(struct hutch_cgroup *cg, unsigned ctrls, const char *msg)
{
	for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++)
		if (ctrls & HUTCH_CG_BIT(c))
			snprintf(cg->fail[c], sizeof(cg->fail[c]), "%s", msg);
}

/* Make @cg->name under @parent with @ctrls limited; true when it worked. */
static bool make_dir(struct hutch_cgroup *cg, const char *parent, int version, unsigned ctrls,
		     const struct hutch_cg_values *v)
{
	struct hutch_cg_dir *d = &cg->d[cg->n];
	_cleanup_close_ int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	hutch_error e = {0};
	char msg[160];

	if (pfd < 0) {
		snprintf(msg, sizeof(msg), "cannot open %s: %s", parent, strerror(errno));
		fail_all(cg, ctrls, msg);
		return false;
	}
	hutch_cg_remove_stale(pfd, version);
	if (mkdirat(pfd, cg->name, 0755) < 0) {
		snprintf(msg, sizeof(msg), "cannot create a cgroup in %s: %s", parent,
			 strerror(errno));
		fail_all(cg, ctrls, msg);
		return false;
	}
	fd = openat(pfd, cg->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || hutch_cg_write_limits(fd, version, ctrls, v, &e) < 0) {
		if (fd < 0)
			snprintf(msg, sizeof(msg), "cgroup in %s: %s", parent, strerror(errno));
		else
			snprintf(msg, sizeof(msg), "%s (in %s)", e.msg, parent);
		unlinkat(pfd, cg->name, AT_REMOVEDIR);
		fail_all(cg, ctrls, msg);
		return false;
	}
	d->version = version;
	d->ctrls = ctrls;
	d->parent_fd = TAKE_FD(pfd);
	d->fd = TAKE_FD(fd);
	if (join(d->path, parent, cg->name) < 0)
		snprintf(d->path, sizeof(d->path), "%s", cg->name);
	cg->n++;
	return true;
}

/* The leaf a delegated cgroup's only process (hutch) moves into. */
#define SELF_LEAF "hutch.supervisor"

/*
 * A named session's daemon starts in the cgroup of the hutch that started it,
 * which waits there for the first command: that one process may share the
 * cgroup, and moves into the leaf with us.
 */
static pid_t companion;

void hutch_cgroup_allow_companion(pid_t pid)
{
	companion = pid;
}

/* True if the cgroup @fd holds us and nothing else (but the companion); *with: it is there. */
static bool alone_in(int fd, bool *with)
{
	char buf[128], *p, *end;
	ssize_t n = hutch_read_small_at(fd, "cgroup.procs", buf, sizeof(buf));
	bool self = false;

	*with = false;
	if (n <= 0)
		return false;
	for (p = buf; *p; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			return false;
		if (pid == (long)getpid())
			self = true;
		else if (companion > 0 && pid == (long)companion)
			*with = true;
		else
			return false;
		while (*end == '\n')
			end++;
	}
	return self;
}

/*
 * HUTCH_CG_V2_MOVE_SELF: move ourselves into SELF_LEAF so that our cgroup
 * can give controllers to children. Returns the cgroup's fd, or -1 (not
 * alone, not allowed) with nothing changed.
 */
static int move_self_aside(const char *self)
{
	_cleanup_close_ int fd = open(self, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int leaf = -1;
	char pid[24];
	bool with;

	if (fd < 0 || !alone_in(fd, &with))
		return -1;
	if (mkdirat(fd, SELF_LEAF, 0755) < 0 && errno != EEXIST)
		return -1;
	leaf = openat(fd, SELF_LEAF, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (leaf < 0 || write_at(leaf, "cgroup.procs", "0") < 0) {
		unlinkat(fd, SELF_LEAF, AT_REMOVEDIR);
		return -1;
	}
	snprintf(pid, sizeof(pid), "%ld", (long)companion);
	/* (it may have exited meanwhile: ESRCH is fine, anything left shows at enable time) */
	if (with)
		(void)write_at(leaf, "cgroup.procs", pid);
	return TAKE_FD(fd);
}

/* Undo move_self_aside: controllers off again, back in our cgroup, leaf removed. */
static void move_self_back(int fd)
{
	for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++) {
		char s[32];
		snprintf(s, sizeof(s), "-%s", ctrl_names[c]);
		(void)write_at(fd, "cgroup.subtree_control", s);
	}
	if (write_at(fd, "cgroup.procs", "0") == 0)
		unlinkat(fd, SELF_LEAF, AT_REMOVEDIR);
	close(fd);
}

/* cgroup v2: one directory for every controller it can do; returns those. */
static unsigned create_v2(struct hutch_cgroup *cg, const struct hutch_cg_layout *layout,
			  unsigned want, const struct hutch_cg_values *v)
{
	unsigned ok = want & layout->v2_ctrls;
	char msg[160];

	if (!ok || !layout->v2_parent[0])
		return 0;
	if (layout->v2_how == HUTCH_CG_V2_SLICE) {
		ok &= enable_controllers(layout->v2_mount, ok);
		if (ok && mkdir(layout->v2_parent, 0755) < 0 && errno != EEXIST)
			ok = 0;
		if (ok)
			cg->slice_parent_fd =
				open(layout->v2_mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else if (layout->v2_how == HUTCH_CG_V2_MOVE_SELF) {
		cg->self_fd = move_self_aside(layout->v2_parent);
		if (cg->self_fd < 0) {
			snprintf(msg, sizeof(msg),
				 "cgroup v2: %s holds other processes than hutch (run hutch in a "
				 "delegated scope of its own)",
				 layout->v2_parent);
			fail_all(cg, ok, msg);
			return 0;
		}
	}
	if (ok)
		ok &= enable_controllers(layout->v2_parent, ok);
	if (ok && make_dir(cg, layout->v2_parent, 2, ok, v))
		return ok;
	if (!ok) {
		snprintf(msg, sizeof(msg), "cgroup v2: cannot enable the controllers in %s",
			 layout->v2_parent);
		fail_all(cg, want & layout->v2_ctrls, msg);
	}
	if (cg->self_fd >= 0) {
		move_self_back(cg->self_fd);
		cg->self_fd = -1;
	}
	if (cg->slice_parent_fd >= 0) {
		(void)unlinkat(cg->slice_parent_fd, V2_SLICE, AT_REMOVEDIR);
		close(cg->slice_parent_fd);
		cg->slice_parent_fd = -1;
	}
	return 0;
}

int hutch_cgroup_create(const struct hutch_cg_layout *layout, const struct hutch_cg_values *v,
			const char *id, struct hutch_cgroup **out)
{
	_cleanup_free_ struct hutch_cgroup *cg = calloc(1, sizeof(*cg));
	unsigned want = 0;

	*out = NULL;
	if (!cg)
		return -ENOMEM;
	cg->self_fd = cg->slice_parent_fd = -1;
	if (v->memory)
		want |= HUTCH_CG_BIT(HUTCH_CG_MEMORY);
	if (v->pids)
		want |= HUTCH_CG_BIT(HUTCH_CG_PIDS);
	if (v->cpus_milli)
		want |= HUTCH_CG_BIT(HUTCH_CG_CPU);
	if (!want)
		return 0;
	snprintf(cg->name, sizeof(cg->name), "hutch-%ld-%ld-%.16s", pidns_ino(), (long)getpid(),
		 id);
	for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++)
		if (want & HUTCH_CG_BIT(c))
			snprintf(cg->fail[c], sizeof(cg->fail[c]), "%s",
				 "no cgroup with this controller is usable by this user");

	cg->v2_ctrls = create_v2(cg, layout, want, v);
	/* cgroup v1 for the rest, one hierarchy per controller. */
	for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++) {
		if (!(want & HUTCH_CG_BIT(c)) || (cg->v2_ctrls & HUTCH_CG_BIT(c)) ||
		    !layout->v1_dir[c][0])
			continue;
		if (make_dir(cg, layout->v1_dir[c], 1, HUTCH_CG_BIT(c), v))
			cg->v1_ctrls |= HUTCH_CG_BIT(c);
	}
	for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++)
		if ((cg->v2_ctrls | cg->v1_ctrls) & HUTCH_CG_BIT(c))
			cg->fail[c][0] = '\0';
	*out = TAKE_PTR(cg);
	return 0;
}

int hutch_cgroup_enter(struct hutch_cgroup *cg, pid_t pid, hutch_error *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
	for (size_t i = 0; cg && i < cg->n; i++) {
		int r = write_at(cg->d[i].fd, "cgroup.procs", buf);
		if (r < 0)
			return hutch_err(err, -r, "cgroup: moving the sandbox into %s",
					 cg->d[i].path);
	}
	return 0;
}

int hutch_cgroup_free(struct hutch_cgroup *cg)
{
	int ret = 0;

	if (!cg)
		return 0;
	for (size_t i = cg->n; i-- > 0;) {
		struct hutch_cg_dir *d = &cg->d[i];
		int r = remove_cgroup(d->parent_fd, d->fd, cg->name, d->version);
		if (r < 0 && ret == 0)
			ret = r;
		close(d->fd);
		close(d->parent_fd);
	}
	if (cg->self_fd >= 0)
		move_self_back(cg->self_fd);
	if (cg->slice_parent_fd >= 0) {
		/* Fails (EBUSY) while another sandbox uses it: the last one out removes it. */
		(void)unlinkat(cg->slice_parent_fd, V2_SLICE, AT_REMOVEDIR);
		close(cg->slice_parent_fd);
	}
	free(cg);
	return ret;
}
