/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mount plan: the sandbox's filesystem view as a sorted list of
 * operations (parents before children; for one path, the stronger
 * restriction on top), computed on the host side from the policy: the host's
 * / read-only as the base (MOUNT_BASE; with --ephemeral=root an overlay or a
 * read-only bind per top-level directory instead), a minimal /dev, a fresh
 * /proc with the OCI masks, private /tmp, /var/tmp, /run, the workspace and
 * the policy's writable, read-only, socket, hidden and private paths. protect.c adds
 * the protected paths; mount-tree.c applies the plan inside the sandbox.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/file.h"
#include "base/path.h"
#include "sandbox/mount.h"

#define MAX_MOUNT_OPS 8192

/* Top-level host entries never bound: replaced by fresh mounts. */
static const char *const top_level_replaced[] = {
	"proc", "sys", "dev", "tmp", "run", "lost+found", NULL,
};

/* Host devices bound into the minimal /dev. */
static const char *const dev_nodes[] = {
	"null", "zero", "full", "random", "urandom", "tty", NULL,
};

static const struct {
	const char *path;
	const char *target;
} dev_symlinks[] = {
	{"/dev/ptmx", "pts/ptmx"},	    {"/dev/fd", "/proc/self/fd"},
	{"/dev/stdin", "/proc/self/fd/0"},  {"/dev/stdout", "/proc/self/fd/1"},
	{"/dev/stderr", "/proc/self/fd/2"},
};

/* /proc and /sys entries masked (empty) or made read-only, as in the OCI defaults. */
static const char *const proc_masked[] = {
	"/proc/acpi",		"/proc/asound",
	"/proc/kcore",		"/proc/keys",
	"/proc/key-users",	"/proc/latency_stats",
	"/proc/timer_list",	"/proc/timer_stats",
	"/proc/sched_debug",	"/proc/scsi",
	"/proc/kallsyms",	"/proc/kmsg",
	"/proc/sysrq-trigger",	"/proc/config.gz",
	"/sys/firmware",	"/sys/kernel/debug",
	"/sys/kernel/security", "/sys/devices/virtual/powercap",
	"/sys/fs/cgroup",	NULL,
};

static const char *const proc_readonly[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", NULL,
};

/* Order of ops at the same path: the later (stronger) one is mounted on top. */
static int kind_order(enum hutch_mount_kind k)
{
	switch (k) {
	case MOUNT_BASE:
	case MOUNT_BIND_RO:
		return 0;
	case MOUNT_TMPFS:
	case MOUNT_PROC:
	case MOUNT_DEVPTS:
		return 1;
	case MOUNT_DIR:
	case MOUNT_SYMLINK:
		return 2;
	case MOUNT_BIND_RW:
	case MOUNT_BIND_DEV:
	case MOUNT_OVERLAY:
		return 3;
	case MOUNT_BIND_SOCKET:
		return 4;
	case MOUNT_REBIND_RO:
		return 5;
	case MOUNT_PIN:
	case MOUNT_WATCH:
		return 6;
	case MOUNT_HIDE:
		return 7;
	case MOUNT_PROTECT:
		return 8;
	}
	return 0;
}

int hutch_mount_plan_add(struct hutch_mount_plan *plan, enum hutch_mount_kind kind,
			 const char *path, const char *source, unsigned mode, bool optional)
{
	struct hutch_mount_op *op;

	if (plan->n >= MAX_MOUNT_OPS)
		return -E2BIG;
	if (plan->n == plan->cap) {
		size_t cap = plan->cap ? plan->cap * 2 : 64;
		struct hutch_mount_op *v = realloc(plan->ops, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		plan->ops = v;
		plan->cap = cap;
	}
	op = &plan->ops[plan->n];
	memset(op, 0, sizeof(*op));
	op->path = strdup(path);
	op->source = source ? strdup(source) : NULL;
	if (!op->path || (source && !op->source)) {
		free(op->path);
		free(op->source);
		return -ENOMEM;
	}
	op->kind = kind;
	op->mode = mode;
	op->optional = optional;
	op->order = kind_order(kind) * MAX_MOUNT_OPS + (int)plan->n;
	op->src_fd = -1;
	plan->n++;
	return 0;
}

/* Applied last, once the supervisor has found them (and made their placeholders). */
bool hutch_mount_is_protect_kind(enum hutch_mount_kind k)
{
	return k == MOUNT_PROTECT || k == MOUNT_PIN;
}

size_t hutch_mount_plan_pack(const struct hutch_mount_plan *plan, size_t *from, size_t to,
			     char *buf, size_t size)
{
	size_t used = 0, i;

	for (i = *from; i < to && i < plan->n; i++) {
		const struct hutch_mount_op *op = &plan->ops[i];
		const char *src = op->source ? op->source : "";
		size_t lp = strlen(op->path) + 1, ls = strlen(src) + 1;

		if (!hutch_mount_is_protect_kind(op->kind))
			continue;
		if (used + 1 + lp + ls > size)
			break;
		buf[used++] = (char)op->kind;
		memcpy(buf + used, op->path, lp);
		used += lp;
		memcpy(buf + used, src, ls);
		used += ls;
	}
	*from = i;
	return used;
}

int hutch_mount_plan_unpack(struct hutch_mount_plan *plan, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		enum hutch_mount_kind kind = (enum hutch_mount_kind)(unsigned char)buf[off++];
		const char *path = buf + off, *src, *end = memchr(path, '\0', len - off);
		int r;

		if (!end || !hutch_mount_is_protect_kind(kind) || path[0] != '/')
			return -EBADMSG;
		src = end + 1;
		off = (size_t)(src - buf);
		end = off < len ? memchr(src, '\0', len - off) : NULL;
		if (!end)
			return -EBADMSG;
		off = (size_t)(end + 1 - buf);
		r = hutch_mount_plan_add(plan, kind, path, src[0] ? src : NULL, 0, true);
		if (r < 0)
			return r;
	}
	return 0;
}

void hutch_mount_plan_free(struct hutch_mount_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->n; i++) {
		free(plan->ops[i].path);
		free(plan->ops[i].source);
		if (plan->ops[i].src_fd >= 0)
			close(plan->ops[i].src_fd);
	}
	free(plan->ops);
	for (size_t i = 0; i < plan->n_root_kept; i++)
		free(plan->root_kept[i]);
	free(plan->root_kept);
	free(plan->workspace);
	free(plan->cwd);
	free(plan);
}

/* Compare paths component-wise so that "/a" < "/a/b" < "/a-b". */
static int path_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char ca = *a == '/' ? 1 : (unsigned char)*a;
		unsigned char cb = *b == '/' ? 1 : (unsigned char)*b;
		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (!ca)
			return 0;
	}
}

int hutch_mount_op_cmp(const void *x, const void *y)
{
	const struct hutch_mount_op *a = x, *b = y;
	int r = path_cmp(a->path, b->path);

	if (r)
		return r;
	return a->order < b->order ? -1 : a->order > b->order;
}

static bool rule_is_cli(const struct hutch_rule *r)
{
	return r->origin && r->origin[0] == '-';
}

bool hutch_mount_top_level_replaced(const char *name)
{
	for (size_t i = 0; top_level_replaced[i]; i++)
		if (!strcmp(name, top_level_replaced[i]))
			return true;
	return false;
}

/* Undo mountinfo's octal escapes (\040 for a space, ...) in place. */
static void unescape_mountinfo(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Is some host mount point strictly beneath @dir? (mountinfo text, read once.) */
static bool mounts_beneath(const char *mountinfo, const char *dir)
{
	char mp[PATH_MAX + 1];

	for (const char *line = mountinfo; line && *line;) {
		const char *next = strchr(line, '\n');
		if (sscanf(line, "%*s %*s %*s %*s %4096s", mp) == 1) {
			unescape_mountinfo(mp);
			if (hutch_path_has_prefix(mp, dir) && strcmp(mp, dir))
				return true;
		}
		line = next ? next + 1 : NULL;
	}
	return false;
}

/* Far more than a host with thousands of mounts has: a bound, not a limit in practice. */
#define MOUNTINFO_MAX ((size_t)64 << 20)

static char *read_mountinfo(void)
{
	char *text = NULL;

	if (hutch_read_file_at(AT_FDCWD, "/proc/self/mountinfo", MOUNTINFO_MAX, &text, NULL) < 0)
		return NULL;
	return text;
}

/*
 * --ephemeral=root: a top-level directory under the session's root layer.
 * An overlay cannot take a lower directory with other mounts beneath it (the
 * kernel refuses to reveal what they cover, in a user namespace): such a
 * directory stays a read-only bind, and is listed in root_kept.
 */
static int add_root_layer_dir(struct hutch_mount_plan *plan, const char *root_layer,
			      const char *mountinfo, const char *path)
{
	_cleanup_free_ char *src = NULL;
	int r;

	if (mounts_beneath(mountinfo, path) || strpbrk(path, ":\\,\n")) {
		char **v = realloc(plan->root_kept, (plan->n_root_kept + 1) * sizeof(char *));
		if (!v)
			return -ENOMEM;
		plan->root_kept = v;
		v[plan->n_root_kept] = strdup(path);
		if (!v[plan->n_root_kept])
			return -ENOMEM;
		plan->n_root_kept++;
		return hutch_mount_plan_add(plan, MOUNT_BIND_RO, path, path, 0, true);
	}
	if (asprintf(&src, "%s\n%s/upper%s\n%s/work%s", path, root_layer, path, root_layer, path) <
	    0)
		return -ENOMEM;
	r = hutch_mount_plan_add(plan, MOUNT_OVERLAY, path, src, 0, false);
	if (r >= 0)
		plan->ops[plan->n - 1].order -= kind_order(MOUNT_OVERLAY) * MAX_MOUNT_OPS;
	return r;
}

static int add_top_level(struct hutch_mount_plan *plan, const struct hutch_mount_env *env,
			 hutch_error *err)
{
	_cleanup_closedir_ DIR *d = opendir("/");
	_cleanup_free_ char *mountinfo = env->root_layer ? read_mountinfo() : NULL;
	struct dirent *de;
	int r;

	if (!d)
		return hutch_err(err, errno, "mount: reading /");
	if (env->root_layer && !mountinfo)
		return hutch_err(err, errno ? errno : ENOMEM,
				 "--ephemeral=root: reading /proc/self/mountinfo");
	while ((de = readdir(d))) {
		char path[PATH_MAX], target[PATH_MAX];
		struct stat st;
		ssize_t n;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (hutch_mount_top_level_replaced(de->d_name))
			continue;
		snprintf(path, sizeof(path), "/%s", de->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			n = readlink(path, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = '\0';
			r = hutch_mount_plan_add(plan, MOUNT_SYMLINK, path, target, 0, true);
		} else if (S_ISDIR(st.st_mode) && env->root_layer) {
			r = add_root_layer_dir(plan, env->root_layer, mountinfo, path);
		} else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
			r = hutch_mount_plan_add(plan, MOUNT_BIND_RO, path, path, 0, true);
		} else {
			continue;
		}
		if (r < 0)
			return hutch_err(err, r, "mount: planning %s", path);
	}
	return 0;
}

static int add_dev(struct hutch_mount_plan *plan)
{
	char path[64];
	int r;

	r = hutch_mount_plan_add(plan, MOUNT_TMPFS, "/dev", NULL, 0755, false);
	for (size_t i = 0; r >= 0 && dev_nodes[i]; i++) {
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
		r = hutch_mount_plan_add(plan, MOUNT_BIND_DEV, path, path, 0, true);
	}
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(dev_symlinks); i++)
		r = hutch_mount_plan_add(plan, MOUNT_SYMLINK, dev_symlinks[i].path,
					 dev_symlinks[i].target, 0, false);
	if (r >= 0)
		r = hutch_mount_plan_add(plan, MOUNT_DEVPTS, "/dev/pts", NULL, 0, false);
	if (r >= 0)
		r = hutch_mount_plan_add(plan, MOUNT_TMPFS, "/dev/shm", NULL, 01777, false);
	return r;
}

static int add_proc_sys(struct hutch_mount_plan *plan, bool bind_sys)
{
	int r = hutch_mount_plan_add(plan, MOUNT_PROC, "/proc", NULL, 0, false);

	if (r >= 0 && bind_sys)
		r = hutch_mount_plan_add(plan, MOUNT_BIND_RO, "/sys", "/sys", 0, true);
	for (size_t i = 0; r >= 0 && proc_readonly[i]; i++)
		r = hutch_mount_plan_add(plan, MOUNT_REBIND_RO, proc_readonly[i], NULL, 0, true);
	for (size_t i = 0; r >= 0 && proc_masked[i]; i++)
		r = hutch_mount_plan_add(plan, MOUNT_HIDE, proc_masked[i], NULL, 0, true);
	return r;
}

static int add_private_dirs(struct hutch_mount_plan *plan, const struct hutch_mount_env *env)
{
	struct stat st;
	int r;

	r = hutch_mount_plan_add(plan, MOUNT_TMPFS, "/tmp", NULL, 01777, false);
	if (r >= 0)
		r = hutch_mount_plan_add(plan, MOUNT_TMPFS, "/var/tmp", NULL, 01777, true);
	if (r >= 0)
		r = hutch_mount_plan_add(plan, MOUNT_TMPFS, "/run", NULL, 0755, false);
	/* /var/run is a symlink to /run on current systems; mask it if it is not. */
	if (r >= 0 && lstat("/var/run", &st) == 0 && S_ISDIR(st.st_mode))
		r = hutch_mount_plan_add(plan, MOUNT_TMPFS, "/var/run", NULL, 0755, false);
	if (r >= 0 && env->xdg_runtime_dir && env->xdg_runtime_dir[0] == '/') {
		if (hutch_path_has_prefix(env->xdg_runtime_dir, "/run"))
			r = hutch_mount_plan_add(plan, MOUNT_DIR, env->xdg_runtime_dir, NULL, 0700,
						 false);
		else
			r = hutch_mount_plan_add(plan, MOUNT_TMPFS, env->xdg_runtime_dir, NULL,
						 0700, true);
	}
	return r;
}

static const struct hutch_rule *locked_hidden_above(const struct hutch_policy *p, const char *path)
{
	for (size_t i = 0; i < p->fs_hidden.n; i++) {
		const struct hutch_rule *h = &p->fs_hidden.v[i];
		if (h->locked && hutch_path_has_prefix(path, h->value) && strcmp(path, h->value))
			return h;
	}
	return NULL;
}

static int add_rules(struct hutch_mount_plan *plan, const struct hutch_policy *p,
		     const struct hutch_rules *rules, enum hutch_mount_kind kind, hutch_error *err)
{
	for (size_t i = 0; i < rules->n; i++) {
		const struct hutch_rule *rule = &rules->v[i];
		const struct hutch_rule *h;
		int r;

		if (rule->value[0] != '/')
			continue; /* relative protected entries are handled by protect.c */
		if (kind == MOUNT_HIDE && rule->absent)
			continue; /* nothing to hide (looked up when the policy was finalized) */
		if (kind != MOUNT_HIDE && (h = locked_hidden_above(p, rule->value)))
			return hutch_errx(
				err, EPERM,
				"%s (%s): lies inside %s, hidden by the system policy (%s)",
				rule->value, rule->origin ? rule->origin : "policy", h->value,
				h->origin ? h->origin : "system");
		r = hutch_mount_plan_add(plan, kind, rule->value,
					 kind == MOUNT_PROTECT ? NULL : rule->value, 0,
					 !rule_is_cli(rule));
		if (r < 0)
			return hutch_err(err, r, "mount: planning %s", rule->value);
	}
	return 0;
}

const char *hutch_mount_writable_root_of(const struct hutch_policy *p, const char *path)
{
	const char *root = NULL;

	if (hutch_path_has_prefix(path, p->workspace) && strcmp(path, p->workspace))
		root = p->workspace;
	for (size_t i = 0; i < p->fs_writable.n; i++) {
		const char *w = p->fs_writable.v[i].value;
		if (hutch_path_has_prefix(path, w) && strcmp(path, w) &&
		    (!root || strlen(w) > strlen(root)))
			root = w;
	}
	return root;
}

/*
 * Would a missing @path be made in a host directory the sandbox can write?
 * Its nearest existing ancestor, by its real path (a symbolic link on the
 * way is followed by the sandbox's mkdir too), at or beneath a writable root.
 */
static const char *missing_in_writable(const struct hutch_policy *p, const char *path)
{
	_cleanup_free_ char *anc = strdup(path), *real = NULL;
	char *slash;

	if (!anc)
		return NULL;
	while ((slash = strrchr(anc, '/'))) {
		if (slash == anc)
			slash[1] = '\0';
		else
			*slash = '\0';
		real = realpath(anc, NULL);
		if (real || (errno != ENOENT && errno != ENOTDIR) || !strcmp(anc, "/"))
			break;
	}
	if (!real)
		return p->workspace; /* cannot tell: as if writable (refused) */
	if (hutch_path_has_prefix(real, p->workspace))
		return p->workspace;
	for (size_t i = 0; i < p->fs_writable.n; i++)
		if (hutch_path_has_prefix(real, p->fs_writable.v[i].value))
			return p->fs_writable.v[i].value;
	return NULL;
}

/*
 * What is at private path @rule on the host: 0 a directory, 1 nothing (to be
 * made in the sandbox where it lands in a tmpfs of ours), or an error: a
 * symbolic link there could be replaced by the sandbox with a directory of
 * the host's, and a missing one inside a writable root would be made on the
 * host (as the sandbox could make it), so hutch refuses both.
 */
static int private_host_state(const struct hutch_policy *p, const struct hutch_rule *rule,
			      const char *o, hutch_error *err)
{
	const char *root;
	struct stat st;
	int r;

	if (lstat(rule->value, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		r = hutch_errx(err, S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR,
			       "private path %s (%s): %s", rule->value, o,
			       S_ISLNK(st.st_mode) ? "is a symbolic link" : "is not a directory");
		hutch_err_hint(err, "hutch mounts a private directory over a directory only: "
				    "remove what is there or name the directory itself");
		return r;
	}
	if (errno != ENOENT && errno != ENOTDIR)
		return hutch_err(err, errno, "private path %s (%s)", rule->value, o);
	root = missing_in_writable(p, rule->value);
	if (!root)
		return 1;
	r = hutch_errx(err, ENOENT,
		       "private path %s (%s): does not exist, and the sandbox could create it "
		       "on the host (inside the writable %s)",
		       rule->value, o, root);
	hutch_err_hint(err, "create the directory first: mkdir -p %s", rule->value);
	return r;
}

/*
 * Private paths: a directory of the staging tmpfs over each (MOUNT_TMPFS,
 * as /tmp), so the host's directory is neither seen nor written (the
 * directories between it and its writable root are pinned by protect.c's
 * pin_ancestors(), as a hidden path's). A missing one is
 * made in the sandbox only in a tmpfs of ours (mount-tree.c cannot make a
 * mount point in the read-only host view): else left out, or for a
 * command-line entry, an error.
 */
static int add_private(struct hutch_mount_plan *plan, const struct hutch_policy *p,
		       hutch_error *err)
{
	for (size_t i = 0; i < p->fs_private.n; i++) {
		const struct hutch_rule *rule = &p->fs_private.v[i];
		const char *o = rule->origin ? rule->origin : "policy";
		const struct hutch_rule *h = locked_hidden_above(p, rule->value);
		int r;

		if (h)
			return hutch_errx(
				err, EPERM,
				"%s (%s): lies inside %s, hidden by the system policy (%s)",
				rule->value, o, h->value, h->origin ? h->origin : "system");
		r = private_host_state(p, rule, o, err);
		if (r < 0)
			return r;
		r = hutch_mount_plan_add(plan, MOUNT_TMPFS, rule->value, NULL, 0700,
					 r == 1 && !rule_is_cli(rule));
		if (r < 0)
			return hutch_err(err, r, "mount: planning %s", rule->value);
	}
	return 0;
}

int hutch_mount_plan_build(const struct hutch_policy *p, const struct hutch_mount_env *env,
			   struct hutch_mount_plan **out, hutch_error *err)
{
	struct hutch_mount_plan *plan = calloc(1, sizeof(*plan));
	int r;

	if (!plan)
		return -ENOMEM;
	plan->tmpfs_size = p->limits.memory;
	plan->workspace = strdup(p->workspace);
	plan->cwd =
		strdup(env->cwd && hutch_path_has_prefix(env->cwd, p->workspace) ? env->cwd
										 : p->workspace);
	if (!plan->workspace || !plan->cwd) {
		r = -ENOMEM;
		goto fail;
	}
	/* The host's / as the base; --ephemeral=root builds the top level itself. */
	if (env->root_layer)
		r = add_top_level(plan, env, err);
	else
		r = hutch_mount_plan_add(plan, MOUNT_BASE, "/", "/", 0, false);
	if (r < 0) {
		if (!env->root_layer)
			hutch_err(err, r, "mount: planning the filesystem view");
		goto fail;
	}
	r = add_dev(plan);
	if (r >= 0)
		r = add_proc_sys(plan, env->root_layer != NULL);
	if (r >= 0)
		r = add_private_dirs(plan, env);
	if (r >= 0)
		r = hutch_mount_plan_add(plan, env->overlay ? MOUNT_OVERLAY : MOUNT_BIND_RW,
					 p->workspace, env->overlay ? env->overlay : p->workspace,
					 0, false);
	if (r < 0) {
		hutch_err(err, r, "mount: planning the filesystem view");
		goto fail;
	}
	r = add_rules(plan, p, &p->fs_writable, MOUNT_BIND_RW, err);
	if (r >= 0)
		r = add_rules(plan, p, &p->fs_readonly, MOUNT_BIND_RO, err);
	if (r >= 0)
		r = add_rules(plan, p, &p->fs_sockets, MOUNT_BIND_SOCKET, err);
	if (r >= 0)
		r = add_rules(plan, p, &p->fs_hidden, MOUNT_HIDE, err);
	if (r >= 0)
		r = add_private(plan, p, err);
	/* Protected paths inside writable roots are planned by protect.c (placeholders too). */
	if (r < 0)
		goto fail;
	*out = plan;
	return 0;
fail:
	hutch_mount_plan_free(plan);
	return r;
}
