/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Landlock: filesystem rights, TCP and IPC scoping for the workload,
 * independent of the mount view: a second layer under the mounts (docs/landlock.md).
 *
 * The ABI in force is min(kernel ABI, HUTCH_LANDLOCK_ABI_MAX); what each ABI
 * version adds is one table (abi_adds), folded like the switch fall-through
 * of the kernel's samples/landlock/sandboxer.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/uapi/landlock.h"

#include "sandbox/landlock.h"
#include "base/cleanup.h"
#include "base/error.h"

/* Same numbers on every architecture but alpha (unified syscall table). */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

#define FS_V1                                                                                      \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |                              \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                          \
	 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |                              \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                              \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |                            \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)

/* Rights that mean something on a non-directory; the kernel refuses the others there. */
#define FS_FILE_RIGHTS                                                                             \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                              \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

#define READ_EXEC                                                                                  \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)

#define DEVICES                                                                                    \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |                            \
	 LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

_Static_assert(HUTCH_LANDLOCK_READ_EXEC == READ_EXEC, "HUTCH_LANDLOCK_READ_EXEC out of date");

/*
 * What each ABI version adds. A version has its own row plus all rows before
 * it. restrict_flags are listed for completeness: hutch passes no flag to
 * landlock_restrict_self(), so the workload's own denials (after execve) are
 * not written to the host's audit log (the kernel's default).
 */
static const struct abi_row {
	uint64_t fs;
	uint64_t net;
	uint64_t scoped;
	uint32_t restrict_flags;
} abi_adds[HUTCH_LANDLOCK_ABI_MAX + 1] = {
	[1] = {.fs = FS_V1},
	[2] = {.fs = LANDLOCK_ACCESS_FS_REFER},
	[3] = {.fs = LANDLOCK_ACCESS_FS_TRUNCATE},
	[4] = {.net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP},
	[5] = {.fs = LANDLOCK_ACCESS_FS_IOCTL_DEV},
	[6] = {.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL},
	[7] = {.restrict_flags = LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF |
				 LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON |
				 LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF},
};

_Static_assert(HUTCH_LANDLOCK_FS_ALL ==
		       (FS_V1 | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE |
			LANDLOCK_ACCESS_FS_IOCTL_DEV),
	       "HUTCH_LANDLOCK_FS_ALL out of date");

struct right_name {
	uint64_t bit;
	const char *name;
};

static const struct right_name fs_names[] = {
	{LANDLOCK_ACCESS_FS_EXECUTE, "execute"},
	{LANDLOCK_ACCESS_FS_WRITE_FILE, "write_file"},
	{LANDLOCK_ACCESS_FS_READ_FILE, "read_file"},
	{LANDLOCK_ACCESS_FS_READ_DIR, "read_dir"},
	{LANDLOCK_ACCESS_FS_REMOVE_DIR, "remove_dir"},
	{LANDLOCK_ACCESS_FS_REMOVE_FILE, "remove_file"},
	{LANDLOCK_ACCESS_FS_MAKE_CHAR, "make_char"},
	{LANDLOCK_ACCESS_FS_MAKE_DIR, "make_dir"},
	{LANDLOCK_ACCESS_FS_MAKE_REG, "make_reg"},
	{LANDLOCK_ACCESS_FS_MAKE_SOCK, "make_sock"},
	{LANDLOCK_ACCESS_FS_MAKE_FIFO, "make_fifo"},
	{LANDLOCK_ACCESS_FS_MAKE_BLOCK, "make_block"},
	{LANDLOCK_ACCESS_FS_MAKE_SYM, "make_sym"},
	{LANDLOCK_ACCESS_FS_REFER, "refer"},
	{LANDLOCK_ACCESS_FS_TRUNCATE, "truncate"},
	{LANDLOCK_ACCESS_FS_IOCTL_DEV, "ioctl_dev"},
};

static const struct right_name net_names[] = {
	{LANDLOCK_ACCESS_NET_BIND_TCP, "bind_tcp"},
	{LANDLOCK_ACCESS_NET_CONNECT_TCP, "connect_tcp"},
};

static const struct right_name scope_names[] = {
	{LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, "abstract_unix_socket"},
	{LANDLOCK_SCOPE_SIGNAL, "signal"},
};

static int ll_create_ruleset(const struct landlock_ruleset_attr *attr, size_t size, uint32_t flags)
{
	return (int)syscall(__NR_landlock_create_ruleset, attr, size, flags);
}

static int ll_add_rule(int ruleset_fd, enum landlock_rule_type type, const void *attr)
{
	return (int)syscall(__NR_landlock_add_rule, ruleset_fd, type, attr, 0U);
}

static int ll_restrict_self(int ruleset_fd, uint32_t flags)
{
	return (int)syscall(__NR_landlock_restrict_self, ruleset_fd, flags);
}

/* ---- ABI ------------------------------------------------------------------------------- */

int hutch_landlock_abi(void)
{
	int r = ll_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return r < 0 ? -errno : r;
}

static struct abi_row abi_fold(int abi)
{
	struct abi_row acc = {0};

	if (abi > HUTCH_LANDLOCK_ABI_MAX)
		abi = HUTCH_LANDLOCK_ABI_MAX;
	for (int v = 1; v <= abi; v++) {
		acc.fs |= abi_adds[v].fs;
		acc.net |= abi_adds[v].net;
		acc.scoped |= abi_adds[v].scoped;
		acc.restrict_flags |= abi_adds[v].restrict_flags;
	}
	return acc;
}

uint64_t hutch_landlock_fs_mask(int abi)
{
	return abi_fold(abi).fs;
}

uint64_t hutch_landlock_net_mask(int abi)
{
	return abi_fold(abi).net;
}

uint64_t hutch_landlock_scope_mask(int abi)
{
	return abi_fold(abi).scoped;
}

/* ---- describe -------------------------------------------------------------------------- */

struct outbuf {
	char *buf;
	size_t len, pos;
};

static void out_str(struct outbuf *o, const char *s)
{
	size_t n = strlen(s);

	if (o->pos + 1 >= o->len)
		return;
	if (n > o->len - 1 - o->pos)
		n = o->len - 1 - o->pos;
	memcpy(o->buf + o->pos, s, n);
	o->pos += n;
	o->buf[o->pos] = '\0';
}

static void out_rights(struct outbuf *o, const char *label, uint64_t mask,
		       const struct right_name *names, size_t n_names)
{
	bool first = true;

	out_str(o, label);
	for (size_t i = 0; i < n_names; i++) {
		if (!(mask & names[i].bit))
			continue;
		if (!first)
			out_str(o, ",");
		out_str(o, names[i].name);
		first = false;
	}
	if (first)
		out_str(o, "none");
}

const char *hutch_landlock_describe(const struct hutch_landlock_report *rep, char *buf, size_t len)
{
	struct outbuf o = {.buf = buf, .len = len};
	char num[32];

	if (!buf || len == 0)
		return buf;
	buf[0] = '\0';
	if (!rep || rep->abi <= 0) {
		out_str(&o, "not enforced");
		return buf;
	}
	snprintf(num, sizeof(num), "abi %d", rep->abi);
	out_str(&o, num);
	out_rights(&o, "; fs: ", rep->handled_fs, fs_names, ARRAY_SIZE(fs_names));
	out_rights(&o, "; net: ", rep->handled_net, net_names, ARRAY_SIZE(net_names));
	out_rights(&o, "; scope: ", rep->scoped, scope_names, ARRAY_SIZE(scope_names));
	return buf;
}

/* ---- paths ----------------------------------------------------------------------------- */

/* True if @path equals @prefix or lies beneath it (both absolute and normalised). */
static bool path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool path_is_normal(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || p[0] != '/' || n >= PATH_MAX)
		return false;
	if (n == 1)
		return true;
	if (p[n - 1] == '/')
		return false;
	for (const char *c = p; *c; c++) {
		if (*c != '/')
			continue;
		const char *s = c + 1;
		size_t l = strcspn(s, "/");
		if (l == 0 || (l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return false;
	}
	return true;
}

/* Lexically normalise absolute @in into @out (size PATH_MAX): "//", ".", ".." removed. */
static int path_normalize(const char *in, char *out)
{
	size_t pos = 0;

	if (in[0] != '/')
		return -EINVAL;
	out[0] = '\0';
	for (const char *c = in; *c;) {
		while (*c == '/')
			c++;
		size_t l = strcspn(c, "/");
		if (l == 0)
			break;
		if (l == 1 && c[0] == '.') {
			/* skip */
		} else if (l == 2 && c[0] == '.' && c[1] == '.') {
			char *slash = strrchr(out, '/');
			pos = slash ? (size_t)(slash - out) : 0;
			out[pos] = '\0';
		} else {
			if (pos + 1 + l >= PATH_MAX)
				return -ENAMETOOLONG;
			out[pos++] = '/';
			memcpy(out + pos, c, l);
			pos += l;
			out[pos] = '\0';
		}
		c += l;
	}
	if (pos == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}

static int path_join(const char *dir, const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Resolve symlinks in @in (absolute) as far as it exists: realpath() of the
 * longest existing prefix, plus the missing tail. Result in @out (PATH_MAX).
 */
static int path_resolve(const char *in, char *out)
{
	char norm[PATH_MAX], head[PATH_MAX], real[PATH_MAX];
	int r;

	r = path_normalize(in, norm);
	if (r < 0)
		return r;
	memcpy(head, norm, sizeof(head));
	for (;;) {
		if (realpath(head, real)) {
			size_t hl = strlen(head);
			/* Append the part of norm that did not exist. */
			const char *tail = norm + (strcmp(head, "/") == 0 ? 0 : hl);
			int n = snprintf(out, PATH_MAX, "%s%s", strcmp(real, "/") == 0 ? "" : real,
					 tail);
			if (n < 0 || n >= PATH_MAX)
				return -ENAMETOOLONG;
			if (out[0] == '\0') {
				out[0] = '/';
				out[1] = '\0';
			}
			return 0;
		}
		/* Missing, or not searchable by us: keep the rest lexically. */
		if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
			return -errno;
		char *slash = strrchr(head, '/');
		if (!slash || slash == head) {
			if (strcmp(head, "/") == 0)
				return -ENOENT;
			head[1] = '\0';
		} else {
			*slash = '\0';
		}
	}
}

/* ---- planning with limits ------------------------------------------------------------- */

struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	ns->v = NULL;
	ns->n = ns->cap = 0;
}

static int names_add(void *ctx, const char *name, bool is_symlink)
{
	struct names *ns = ctx;

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (name[0] == '\0' || strchr(name, '/'))
		return -EINVAL;
	/* A link's target gets its rights where it really lives. */
	if (is_symlink)
		return 0;
	if (ns->n >= HUTCH_LANDLOCK_MAX_RULES)
		return -E2BIG;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 16;
		char **v = realloc(ns->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n] = strdup(name);
	if (!ns->v[ns->n])
		return -ENOMEM;
	ns->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct planner {
	const struct hutch_landlock_limit *limits;
	size_t n_limits;
	bool list_ancestors;
	hutch_landlock_lister_fn list;
	void *userdata;
	struct hutch_landlock_plan *plan;
	hutch_error *err;
};

static int plan_add(struct planner *p, const char *path, uint64_t access)
{
	struct hutch_landlock_plan *plan = p->plan;

	if (plan->n >= HUTCH_LANDLOCK_MAX_RULES)
		return hutch_errx(p->err, E2BIG, "landlock: planning rules: more than %d rules",
				  HUTCH_LANDLOCK_MAX_RULES);
	if (plan->n == plan->cap) {
		size_t cap = plan->cap ? plan->cap * 2 : 32;
		struct hutch_landlock_rule *v = realloc(plan->rules, cap * sizeof(*v));
		if (!v)
			return hutch_err(p->err, ENOMEM, "landlock: planning rules");
		plan->rules = v;
		plan->cap = cap;
	}
	plan->rules[plan->n].path = strdup(path);
	if (!plan->rules[plan->n].path)
		return hutch_err(p->err, ENOMEM, "landlock: planning rules");
	plan->rules[plan->n].access = access;
	plan->n++;
	return 0;
}

/* The rights the limits at or above @path leave. */
static uint64_t cap_at(const struct planner *p, const char *path)
{
	uint64_t cap = ~(uint64_t)0;

	for (size_t i = 0; i < p->n_limits; i++)
		if (path_under(path, p->limits[i].path))
			cap &= p->limits[i].max;
	return cap;
}

/*
 * Whether a limit strictly beneath @path takes away some of @eff; in @common,
 * what of @eff every limit beneath leaves (safe to grant on @path itself).
 */
static bool limited_beneath(const struct planner *p, const char *path, uint64_t eff,
			    uint64_t *common)
{
	bool limited = false;

	*common = eff;
	for (size_t i = 0; i < p->n_limits; i++) {
		const struct hutch_landlock_limit *l = &p->limits[i];

		if (!path_under(l->path, path) || strcmp(l->path, path) == 0)
			continue;
		if (eff & ~l->max)
			limited = true;
		*common &= l->max;
	}
	return limited;
}

static int plan_path(struct planner *p, const char *path, uint64_t access, unsigned depth)
{
	struct names ns = {0};
	uint64_t eff, common;
	int r;

	eff = access & cap_at(p, path);
	if (!eff)
		return 0;
	if (!limited_beneath(p, path, eff, &common))
		return plan_add(p, path, eff);
	/* Each level is one component of a limit's path, so this is bounded by PATH_MAX. */
	if (depth > PATH_MAX / 2)
		return hutch_errx(p->err, ELOOP, "landlock: planning rules: %s is too deep", path);

	/*
	 * The directory itself may only get what every limit beneath it leaves,
	 * since a rule covers everything beneath; its entries get the rest.
	 */
	if (p->list_ancestors)
		common |= eff & LANDLOCK_ACCESS_FS_READ_DIR;
	if (common) {
		r = plan_add(p, path, common);
		if (r < 0)
			return r;
	}
	r = p->list(p->userdata, path, names_add, &ns);
	if (r == -ENOENT || r == -ENOTDIR || r == -EACCES || r == -EPERM) {
		/*
		 * Nothing there, not a directory, or not listable by us (so its
		 * entries are unknown): nothing more at or beneath it.
		 */
		names_free(&ns);
		return 0;
	}
	if (r < 0) {
		names_free(&ns);
		return hutch_err(p->err, -r, "landlock: planning rules: listing %s", path);
	}
	if (ns.n > 1)
		qsort(ns.v, ns.n, sizeof(ns.v[0]), cmp_str);
	for (size_t i = 0; i < ns.n; i++) {
		char child[PATH_MAX];

		r = path_join(path, ns.v[i], child, sizeof(child));
		if (r < 0) {
			r = hutch_err(p->err, -r, "landlock: planning rules: %s/%s", path, ns.v[i]);
			goto out;
		}
		r = plan_path(p, child, eff, depth + 1);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	names_free(&ns);
	return r;
}

void hutch_landlock_plan_free(struct hutch_landlock_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->n; i++)
		free(plan->rules[i].path);
	free(plan->rules);
	plan->rules = NULL;
	plan->n = plan->cap = 0;
}

int hutch_landlock_plan(const struct hutch_landlock_root *roots, size_t n_roots,
			const struct hutch_landlock_limit *limits, size_t n_limits,
			bool list_ancestors, hutch_landlock_lister_fn list, void *userdata,
			struct hutch_landlock_plan *plan, hutch_error *err)
{
	struct planner p = {
		.limits = limits,
		.n_limits = n_limits,
		.list_ancestors = list_ancestors,
		.list = list,
		.userdata = userdata,
		.plan = plan,
		.err = err,
	};
	int r;

	if (!plan || !list || (n_roots && !roots) || (n_limits && !limits))
		return hutch_errx(err, EINVAL, "landlock: planning rules: invalid arguments");
	if (n_roots > HUTCH_LANDLOCK_MAX_PATHS * 2 || n_limits > HUTCH_LANDLOCK_MAX_PATHS * 2)
		return hutch_errx(err, E2BIG, "landlock: planning rules: too many paths");
	for (size_t i = 0; i < n_limits; i++)
		if (!limits[i].path || !path_is_normal(limits[i].path))
			return hutch_errx(err, EINVAL,
					  "landlock: path \"%s\" is not absolute and normalised",
					  limits[i].path ? limits[i].path : "(null)");
	for (size_t i = 0; i < n_roots; i++) {
		if (!roots[i].path || !path_is_normal(roots[i].path))
			return hutch_errx(err, EINVAL,
					  "landlock: path \"%s\" is not absolute and normalised",
					  roots[i].path ? roots[i].path : "(null)");
		r = plan_path(&p, roots[i].path, roots[i].access, 0);
		if (r < 0) {
			hutch_landlock_plan_free(plan);
			return r;
		}
	}
	return 0;
}

int hutch_landlock_list_dir(void *userdata, const char *dir, hutch_landlock_entry_fn each,
			    void *ctx)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd, r;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	for (;;) {
		bool is_link;

		errno = 0;
		de = readdir(d);
		if (!de)
			return errno ? -errno : 0;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT)
					continue;
				return -errno;
			}
			is_link = S_ISLNK(st.st_mode);
		} else {
			is_link = de->d_type == DT_LNK;
		}
		r = each(ctx, de->d_name, is_link);
		if (r < 0)
			return r;
	}
}

/* ---- apply ----------------------------------------------------------------------------- */

static const int own_stdio[3] = {0, 1, 2};

struct applier {
	int ruleset_fd;
	uint64_t handled_fs;
	struct hutch_landlock_report *rep;
	hutch_error *err;
};

/*
 * Add a rule for @fd (a file or directory), masking rights a non-directory
 * cannot have. With @best_effort, a file the kernel cannot attach a rule to
 * (EBADFD: memfd, pipefs, other internal mounts) is skipped.
 */
static int add_rule_st(struct applier *a, int fd, const struct stat *st, const char *what,
		       uint64_t access, bool best_effort)
{
	struct landlock_path_beneath_attr pb = {.parent_fd = fd};

	if (S_ISLNK(st->st_mode))
		return 0;
	if (!S_ISDIR(st->st_mode))
		access &= FS_FILE_RIGHTS;
	access &= a->handled_fs;
	if (!access)
		return 0;
	pb.allowed_access = access;
	if (ll_add_rule(a->ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &pb) < 0) {
		if (best_effort && errno == EBADFD)
			return 0;
		return hutch_err(a->err, errno, "landlock: adding a rule for %s", what);
	}
	a->rep->n_rules++;
	return 0;
}

static int add_fd_rule(struct applier *a, int fd, const char *what, uint64_t access,
		       bool best_effort)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return hutch_err(a->err, errno, "landlock: stat %s", what);
	return add_rule_st(a, fd, &st, what, access, best_effort);
}

static int add_path_rule(struct applier *a, const char *path, uint64_t access, bool nofollow)
{
	_cleanup_close_ int fd = -1;

	if (!path)
		return hutch_errx(a->err, EINVAL, "landlock: NULL path in the rule list");
	fd = open(path, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			a->rep->n_skipped++;
			return 0;
		}
		return hutch_err(a->err, errno, "landlock: opening %s", path);
	}
	return add_fd_rule(a, fd, path, access, false);
}

/*
 * What reopening @fd needs: the rights its open mode already gives when it is a
 * regular file or a device (e.g. /dev/stdout redirected to a file), else none
 * (pipes, sockets and terminals opened before are unaffected by Landlock anyway).
 * Returns 0 (*access 0: no rule), 1 when the fd is not open, or -errno.
 */
static int stdio_access(int fd, struct stat *st, uint64_t *access)
{
	int fl;

	*access = 0;
	if (fstat(fd, st) < 0)
		return errno == EBADF ? 1 : -errno;
	if (!S_ISREG(st->st_mode) && !S_ISCHR(st->st_mode) && !S_ISBLK(st->st_mode))
		return 0;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if ((fl & O_ACCMODE) == O_RDONLY || (fl & O_ACCMODE) == O_RDWR)
		*access |= LANDLOCK_ACCESS_FS_READ_FILE;
	if ((fl & O_ACCMODE) == O_WRONLY || (fl & O_ACCMODE) == O_RDWR)
		*access |= LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
	if (!S_ISREG(st->st_mode))
		*access |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return 0;
}

/* The rules of stdio_access() for @fds[0..2] (the command's stdin, stdout, stderr). */
static int add_stdio_rules(struct applier *a, const int fds[3])
{
	static const char *const names[] = {"stdin", "stdout", "stderr"};

	for (int i = 0; i <= 2; i++) {
		struct stat st;
		uint64_t access;
		int r = stdio_access(fds[i], &st, &access);

		if (r < 0)
			return hutch_err(a->err, -r, "landlock: %s", names[i]);
		if (r == 0 && access) {
			r = add_rule_st(a, fds[i], &st, names[i], access, true);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int apply_lists(struct applier *a, const struct hutch_landlock_spec *spec)
{
	int r;

	for (size_t i = 0; i < spec->n_read_exec; i++) {
		r = add_path_rule(a, spec->read_exec[i], READ_EXEC, false);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < spec->n_writable; i++) {
		r = add_path_rule(a, spec->writable[i], HUTCH_LANDLOCK_FS_ALL, false);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < spec->n_devices; i++) {
		r = add_path_rule(a, spec->devices[i], DEVICES, false);
		if (r < 0)
			return r;
	}
	return 0;
}

struct limits_ctx {
	struct hutch_landlock_limit *limits;
	char **limit_paths;
	size_t n_limits;
	struct hutch_landlock_root *roots;
	char **root_paths;
	size_t n_roots;
	struct hutch_landlock_plan plan;
};

static void limits_ctx_free(struct limits_ctx *h)
{
	for (size_t i = 0; i < h->n_limits; i++)
		free(h->limit_paths[i]);
	for (size_t i = 0; i < h->n_roots; i++)
		free(h->root_paths[i]);
	free(h->limits);
	free(h->limit_paths);
	free(h->roots);
	free(h->root_paths);
	hutch_landlock_plan_free(&h->plan);
}

static int limits_add_root(struct applier *a, struct limits_ctx *h, const char *path,
			   uint64_t access)
{
	char real[PATH_MAX];

	if (!path)
		return hutch_errx(a->err, EINVAL, "landlock: NULL path in the rule list");
	if (!realpath(path, real)) {
		if (errno == ENOENT || errno == ENOTDIR) {
			a->rep->n_skipped++;
			return 0;
		}
		return hutch_err(a->err, errno, "landlock: resolving %s", path);
	}
	h->root_paths[h->n_roots] = strdup(real);
	if (!h->root_paths[h->n_roots])
		return hutch_err(a->err, ENOMEM, "landlock: resolving %s", path);
	h->roots[h->n_roots].path = h->root_paths[h->n_roots];
	h->roots[h->n_roots].access = access;
	h->n_roots++;
	return 0;
}

/* A limit on a path that may not exist yet: resolved as far as it exists. */
static int limits_add(struct applier *a, struct limits_ctx *h, const char *what, const char *path,
		      uint64_t max)
{
	char real[PATH_MAX];
	int r;

	if (!path || path[0] != '/')
		return hutch_errx(a->err, EINVAL, "landlock: %s path \"%s\" is not absolute", what,
				  path ? path : "(null)");
	r = path_resolve(path, real);
	if (r < 0)
		return hutch_err(a->err, -r, "landlock: resolving %s path %s", what, path);
	h->limit_paths[h->n_limits] = strdup(real);
	if (!h->limit_paths[h->n_limits])
		return hutch_err(a->err, ENOMEM, "landlock: resolving %s path %s", what, path);
	h->limits[h->n_limits].path = h->limit_paths[h->n_limits];
	h->limits[h->n_limits].max = max;
	h->n_limits++;
	return 0;
}

static int apply_limited(struct applier *a, const struct hutch_landlock_spec *spec)
{
	_cleanup_(limits_ctx_free) struct limits_ctx h = {0};
	size_t n_roots = spec->n_read_exec + spec->n_writable + spec->n_devices;
	size_t n_limits = spec->n_hidden + spec->n_protect;
	int r;

	h.limits = calloc(n_limits, sizeof(*h.limits));
	h.limit_paths = calloc(n_limits, sizeof(*h.limit_paths));
	h.roots = calloc(n_roots ? n_roots : 1, sizeof(*h.roots));
	h.root_paths = calloc(n_roots ? n_roots : 1, sizeof(*h.root_paths));
	if (!h.limits || !h.limit_paths || !h.roots || !h.root_paths)
		return hutch_err(a->err, ENOMEM, "landlock: planning rules");

	for (size_t i = 0; i < spec->n_hidden; i++) {
		r = limits_add(a, &h, "hidden", spec->hidden[i], 0);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < spec->n_protect; i++) {
		r = limits_add(a, &h, "protected", spec->protect[i], READ_EXEC);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < spec->n_read_exec; i++) {
		r = limits_add_root(a, &h, spec->read_exec[i], READ_EXEC);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < spec->n_writable; i++) {
		r = limits_add_root(a, &h, spec->writable[i], HUTCH_LANDLOCK_FS_ALL);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < spec->n_devices; i++) {
		r = limits_add_root(a, &h, spec->devices[i], DEVICES);
		if (r < 0)
			return r;
	}

	r = hutch_landlock_plan(h.roots, h.n_roots, h.limits, h.n_limits, spec->hide_list_ancestors,
				hutch_landlock_list_dir, NULL, &h.plan, a->err);
	if (r < 0)
		return r;
	/* Planned entries are never followed: a link swapped in must not grant its target. */
	for (size_t i = 0; i < h.plan.n; i++) {
		r = add_path_rule(a, h.plan.rules[i].path, h.plan.rules[i].access, true);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool list_ok(const char *const *v, size_t n)
{
	return n <= HUTCH_LANDLOCK_MAX_PATHS && (n == 0 || v);
}

/* The ruleset's attributes for @spec on this kernel: what is handled, the ABI in force. */
static int ruleset_attr(const struct hutch_landlock_spec *spec, struct landlock_ruleset_attr *attr,
			int *abi_out, int *kabi_out, hutch_error *err)
{
	struct abi_row known;
	int kabi, abi, r;

	kabi = hutch_landlock_abi();
	if (kabi < 0) {
		r = hutch_err(err, -kabi, "landlock: probing the ABI");
		if (kabi == -EOPNOTSUPP)
			hutch_err_hint(err, "Landlock is disabled: add \"landlock\" to the lsm= "
					    "kernel parameter (see /sys/kernel/security/lsm)");
		else if (kabi == -ENOSYS)
			hutch_err_hint(err, "this kernel has no Landlock "
					    "(CONFIG_SECURITY_LANDLOCK, Linux >= 5.13)");
		return r;
	}
	if (kabi == 0)
		return hutch_errx(err, EOPNOTSUPP, "landlock: the kernel reports ABI 0");
	abi = kabi < HUTCH_LANDLOCK_ABI_MAX ? kabi : HUTCH_LANDLOCK_ABI_MAX;
	known = abi_fold(abi);

	*attr = (struct landlock_ruleset_attr){0};
	attr->handled_access_fs = known.fs;
	if (spec->deny_tcp) {
		if (!known.net)
			return hutch_errx(err, EOPNOTSUPP,
					  "landlock: denying TCP needs Landlock ABI 4, the kernel "
					  "has ABI %d",
					  kabi);
		attr->handled_access_net = known.net;
	}
	if (spec->scope_ipc)
		attr->scoped = known.scoped; /* best effort: 0 below ABI 6, visible in rep */
	*abi_out = abi;
	*kabi_out = kabi;
	return 0;
}

static int check_nnp(hutch_error *err)
{
	int r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);

	if (r != 1) {
		r = hutch_errx(err, EPERM, "landlock: no_new_privs is not set");
		hutch_err_hint(err, "set PR_SET_NO_NEW_PRIVS before applying Landlock");
		return r;
	}
	return 0;
}

int hutch_landlock_apply(const struct hutch_landlock_spec *spec, struct hutch_landlock_report *rep,
			 hutch_error *err)
{
	struct hutch_landlock_report local = {0};
	struct landlock_ruleset_attr attr = {0};
	_cleanup_close_ int ruleset_fd = -1;
	struct applier a;
	int kabi, abi, r;

	if (!rep)
		rep = &local;
	*rep = (struct hutch_landlock_report){0};
	if (!spec || !list_ok(spec->read_exec, spec->n_read_exec) ||
	    !list_ok(spec->writable, spec->n_writable) ||
	    !list_ok(spec->devices, spec->n_devices) || !list_ok(spec->hidden, spec->n_hidden) ||
	    !list_ok(spec->protect, spec->n_protect))
		return hutch_errx(err, EINVAL, "landlock: invalid rule lists (at most %d each)",
				  HUTCH_LANDLOCK_MAX_PATHS);

	r = check_nnp(err);
	if (r < 0)
		return r;
	r = ruleset_attr(spec, &attr, &abi, &kabi, err);
	if (r < 0)
		return r;

	ruleset_fd = ll_create_ruleset(&attr, sizeof(attr), 0);
	if (ruleset_fd < 0)
		return hutch_err(err, errno, "landlock: creating the ruleset (ABI %d)", abi);

	a = (struct applier){
		.ruleset_fd = ruleset_fd,
		.handled_fs = attr.handled_access_fs,
		.rep = rep,
		.err = err,
	};
	r = spec->n_hidden || spec->n_protect ? apply_limited(&a, spec) : apply_lists(&a, spec);
	if (r < 0)
		return r;
	if (spec->stdio) {
		r = add_stdio_rules(&a, own_stdio);
		if (r < 0)
			return r;
	}
	/* No TCP port rules: with deny_tcp every bind and connect is refused. */

	if (ll_restrict_self(ruleset_fd, 0) < 0)
		return hutch_err(err, errno, "landlock: enforcing the ruleset");

	rep->abi = abi;
	rep->kernel_abi = kabi;
	rep->handled_fs = attr.handled_access_fs;
	rep->handled_net = attr.handled_access_net;
	rep->scoped = attr.scoped;
	return 0;
}

/* ---- prepared once, applied many times (a named session's commands) -------------------- */

void hutch_landlock_prepared_free(struct hutch_landlock_prepared *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		if (p->fd[i] >= 0)
			close(p->fd[i]);
	for (size_t i = 0; i < HUTCH_LANDLOCK_CACHED; i++)
		if (p->cache[i].fd >= 0)
			close(p->cache[i].fd);
	free(p->fd);
	free(p->access);
	free(p);
}

/* One path of the spec: opened (O_PATH) and its rights masked as add_fd_rule() does. */
static int prepare_path(struct hutch_landlock_prepared *p, const char *path, uint64_t access,
			hutch_error *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (!path)
		return hutch_errx(err, EINVAL, "landlock: NULL path in the rule list");
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			p->n_skipped++;
			return 0;
		}
		return hutch_err(err, errno, "landlock: opening %s", path);
	}
	if (fstat(fd, &st) < 0)
		return hutch_err(err, errno, "landlock: stat %s", path);
	if (S_ISLNK(st.st_mode))
		return 0;
	if (!S_ISDIR(st.st_mode))
		access &= FS_FILE_RIGHTS;
	access &= p->handled_fs;
	if (!access)
		return 0;
	p->fd[p->n] = TAKE_FD(fd);
	p->access[p->n++] = access;
	return 0;
}

int hutch_landlock_prepare(const struct hutch_landlock_spec *spec,
			   struct hutch_landlock_prepared **out, hutch_error *err)
{
	struct landlock_ruleset_attr attr;
	struct hutch_landlock_prepared *p;
	size_t max;
	int r = 0;

	*out = NULL;
	if (!spec || spec->n_hidden || spec->n_protect ||
	    !list_ok(spec->read_exec, spec->n_read_exec) ||
	    !list_ok(spec->writable, spec->n_writable) || !list_ok(spec->devices, spec->n_devices))
		return hutch_errx(err, EINVAL, "landlock: invalid rule lists to prepare");
	p = calloc(1, sizeof(*p));
	if (!p)
		return hutch_err(err, ENOMEM, "landlock");
	for (size_t i = 0; i < HUTCH_LANDLOCK_CACHED; i++)
		p->cache[i].fd = -1;
	max = spec->n_read_exec + spec->n_writable + spec->n_devices;
	p->fd = calloc(max ? max : 1, sizeof(*p->fd));
	p->access = calloc(max ? max : 1, sizeof(*p->access));
	if (!p->fd || !p->access) {
		hutch_landlock_prepared_free(p);
		return hutch_err(err, ENOMEM, "landlock");
	}
	r = ruleset_attr(spec, &attr, &p->abi, &p->kernel_abi, err);
	p->handled_fs = attr.handled_access_fs;
	p->handled_net = attr.handled_access_net;
	p->scoped = attr.scoped;
	p->stdio = spec->stdio;
	for (size_t i = 0; r >= 0 && i < spec->n_read_exec; i++)
		r = prepare_path(p, spec->read_exec[i], READ_EXEC, err);
	for (size_t i = 0; r >= 0 && i < spec->n_writable; i++)
		r = prepare_path(p, spec->writable[i], HUTCH_LANDLOCK_FS_ALL, err);
	for (size_t i = 0; r >= 0 && i < spec->n_devices; i++)
		r = prepare_path(p, spec->devices[i], DEVICES, err);
	if (r < 0) {
		hutch_landlock_prepared_free(p);
		return r;
	}
	*out = p;
	return 0;
}

/* A ruleset of the prepared rules and those of @stdio (when the spec asked for them). */
static int build_prepared(const struct hutch_landlock_prepared *p, const int stdio[3],
			  struct hutch_landlock_report *rep, hutch_error *err)
{
	struct landlock_ruleset_attr attr = {.handled_access_fs = p->handled_fs,
					     .handled_access_net = p->handled_net,
					     .scoped = p->scoped};
	_cleanup_close_ int ruleset_fd = -1;
	struct applier a;
	int r;

	ruleset_fd = ll_create_ruleset(&attr, sizeof(attr), 0);
	if (ruleset_fd < 0)
		return hutch_err(err, errno, "landlock: creating the ruleset (ABI %d)", p->abi);
	for (size_t i = 0; i < p->n; i++) {
		struct landlock_path_beneath_attr pb = {.parent_fd = p->fd[i],
							.allowed_access = p->access[i]};
		if (ll_add_rule(ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &pb) < 0)
			return hutch_err(err, errno, "landlock: adding a rule");
		rep->n_rules++;
	}
	a = (struct applier){
		.ruleset_fd = ruleset_fd,
		.handled_fs = p->handled_fs,
		.rep = rep,
		.err = err,
	};
	if (p->stdio) {
		r = add_stdio_rules(&a, stdio);
		if (r < 0)
			return r;
	}
	return TAKE_FD(ruleset_fd);
}

/* Enforce @ruleset_fd, made from @p, on the calling thread. */
static int enforce_prepared(const struct hutch_landlock_prepared *p, int ruleset_fd,
			    struct hutch_landlock_report *rep, hutch_error *err)
{
	if (ll_restrict_self(ruleset_fd, 0) < 0)
		return hutch_err(err, errno, "landlock: enforcing the ruleset");
	rep->abi = p->abi;
	rep->kernel_abi = p->kernel_abi;
	rep->handled_fs = p->handled_fs;
	rep->handled_net = p->handled_net;
	rep->scoped = p->scoped;
	return 0;
}

int hutch_landlock_apply_prepared(const struct hutch_landlock_prepared *p,
				  struct hutch_landlock_report *rep, hutch_error *err)
{
	struct hutch_landlock_report built = {0};
	_cleanup_close_ int ruleset_fd = build_prepared(p, own_stdio, &built, err);
	int r;

	if (ruleset_fd < 0)
		return ruleset_fd;
	r = hutch_landlock_enforce_prepared(p, ruleset_fd, rep, err);
	if (r >= 0 && rep)
		rep->n_rules = built.n_rules;
	return r;
}

/*
 * What @fds need from a ruleset: the same key means the same rules. A file is
 * named by its device and inode number, which stay its own while a kept
 * ruleset's rule holds the inode. Returns 1 when a ruleset for them may be kept:
 * no rule for a regular file, whose inode (its data too, once deleted) would
 * live as long as the ruleset; devices and pipes hold nothing.
 */
static int stdio_key(const int fds[3], struct hutch_landlock_stdio_key key[3])
{
	bool keep = true;

	for (int i = 0; i <= 2; i++) {
		struct stat st;
		int r = stdio_access(fds[i], &st, &key[i].access);

		if (r < 0)
			return r;
		key[i].dev = key[i].access ? st.st_dev : 0;
		key[i].ino = key[i].access ? st.st_ino : 0;
		if (key[i].access && S_ISREG(st.st_mode))
			keep = false;
	}
	return keep;
}

static bool same_key(const struct hutch_landlock_stdio_key *a,
		     const struct hutch_landlock_stdio_key *b)
{
	for (int i = 0; i <= 2; i++)
		if (a[i].access != b[i].access || a[i].dev != b[i].dev || a[i].ino != b[i].ino)
			return false;
	return true;
}

int hutch_landlock_prepared_ruleset(struct hutch_landlock_prepared *p, const int fds[3], bool *kept,
				    hutch_error *err)
{
	struct hutch_landlock_stdio_key key[3] = {{0}};
	struct hutch_landlock_report rep = {0};
	struct hutch_landlock_cached *c = NULL;
	int keep = 1, fd;

	*kept = false;
	if (p->stdio) {
		keep = stdio_key(fds, key);
		if (keep < 0)
			return hutch_err(err, -keep, "landlock: the command's stdio");
	}
	if (!keep)
		return build_prepared(p, fds, &rep, err);
	p->tick++;
	for (size_t i = 0; i < HUTCH_LANDLOCK_CACHED; i++) {
		struct hutch_landlock_cached *e = &p->cache[i];
		if (e->fd >= 0 && same_key(e->key, key)) {
			e->used = p->tick;
			*kept = true;
			return e->fd;
		}
		/* a free entry, else the least recently used */
		if (!c || (c->fd >= 0 && (e->fd < 0 || e->used < c->used)))
			c = e;
	}
	fd = build_prepared(p, fds, &rep, err);
	if (fd < 0)
		return fd;
	if (c->fd >= 0)
		close(c->fd);
	memcpy(c->key, key, sizeof(key));
	c->fd = fd;
	c->used = p->tick;
	*kept = true;
	return fd;
}

int hutch_landlock_enforce_prepared(const struct hutch_landlock_prepared *p, int ruleset_fd,
				    struct hutch_landlock_report *rep, hutch_error *err)
{
	struct hutch_landlock_report local = {0};
	int r;

	if (!rep)
		rep = &local;
	*rep = (struct hutch_landlock_report){.n_skipped = p->n_skipped};
	r = check_nnp(err);
	if (r < 0)
		return r;
	return enforce_prepared(p, ruleset_fd, rep, err);
}
