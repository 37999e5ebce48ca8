/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The syscall filter: built with libseccomp from the table in
 * seccomp-table.c, for the native architecture only. Anything else (the
 * i386 entry points and x32 on x86_64, any foreign audit arch) kills the
 * process: see docs/seccomp.md for why.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* libseccomp's; ours is "sandbox/seccomp.h". */
#include <seccomp.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "sandbox/seccomp.h"

#define LOW32 UINT64_C(0xffffffff)
/* Upper bound on rules one conditional entry expands to (values + complement blocks). */
#define MAX_COND_RULES 512

static inline void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define _cleanup_seccomp_ _cleanup_(seccomp_releasep)

/* libseccomp's actions are the kernel's return values (SECCOMP_RET_ALLOW, _ERRNO | e...). */
uint32_t hutch_seccomp_verdict_of(int errnum)
{
	if (errnum == HUTCH_SC_NOTIFY)
		return SCMP_ACT_NOTIFY;
	return errnum == HUTCH_SC_ALLOW ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO((uint32_t)errnum);
}

/*
 * A group's action for its calls: the table's, or a notification for exec
 * with notify_exec and for the writes with notify_writes.
 */
static uint32_t group_action(const struct hutch_sc_group *g, const struct hutch_seccomp_opts *opts)
{
	if ((g->notify == HUTCH_SC_ON_EXEC && opts->notify_exec) ||
	    (g->notify == HUTCH_SC_ON_WRITES && opts->notify_writes))
		return SCMP_ACT_NOTIFY;
	return hutch_seccomp_verdict_of(g->errnum);
}

static bool cond_applies(const struct hutch_sc_cond *c, const struct hutch_seccomp_opts *opts);

/* A conditional entry for @name applies with @opts: the group's rule is left out. */
static bool has_cond(const char *name, const struct hutch_seccomp_opts *opts)
{
	size_t n;
	const struct hutch_sc_cond *c = hutch_seccomp_conds(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].name, name) == 0 && cond_applies(&c[i], opts))
			return true;
	return false;
}

static bool arch_is_mips(uint32_t arch)
{
	switch (arch) {
	case SCMP_ARCH_MIPS:
	case SCMP_ARCH_MIPS64:
	case SCMP_ARCH_MIPS64N32:
	case SCMP_ARCH_MIPSEL:
	case SCMP_ARCH_MIPSEL64:
	case SCMP_ARCH_MIPSEL64N32:
		return true;
	default:
		return false;
	}
}

int hutch_seccomp_resolve(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	size_t n;
	const struct hutch_sc_generic *g;

	if (nr >= 0)
		return nr;
	if (nr != __NR_SCMP_ERROR)
		return -ENOSYS; /* a pseudo number: libseccomp knows it, this arch lacks it */
	if (arch_is_mips(seccomp_arch_native()))
		return -ENOENT;
	g = hutch_seccomp_generic_nrs(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(g[i].name, name) == 0)
			return g[i].nr;
	return -ENOENT;
}

static int add_rule(scmp_filter_ctx ctx, const char *name, int nr, uint32_t action,
		    unsigned int ncmp, const struct scmp_arg_cmp *cmp, hutch_error *err)
{
	int r = seccomp_rule_add_array(ctx, action, nr, ncmp, cmp);

	if (r < 0)
		return hutch_err(err, -r, "seccomp: adding rule for %s", name);
	return 0;
}

static int add_flags_rules(scmp_filter_ctx ctx, const struct hutch_sc_cond *c, int nr, unsigned arg,
			   hutch_error *err)
{
	struct scmp_arg_cmp cmp = {arg, SCMP_CMP_MASKED_EQ, c->flags, 0};
	int r;

	/* None of the flags set: allowed. */
	r = add_rule(ctx, c->name, nr, SCMP_ACT_ALLOW, 1, &cmp, err);
	if (r < 0)
		return r;
	/* Any one of them set: denied. One rule per flag, since rules can't OR. */
	for (unsigned bit = 0; bit < 64; bit++) {
		uint64_t f = UINT64_C(1) << bit;

		if (!(c->flags & f))
			continue;
		cmp = (struct scmp_arg_cmp){arg, SCMP_CMP_MASKED_EQ, f, f};
		r = add_rule(ctx, c->name, nr, hutch_seccomp_verdict_of(c->errnum), 1, &cmp, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Cover [lo, hi] (within 32 bits) with aligned power-of-two blocks, each one
 * rule "low 32 bits & ~(size - 1) == start" with @action.
 */
/*
 * Cover [lo, hi] (within 32 bits) with aligned power-of-two blocks, each one
 * rule "arg & (@upper | ~(size - 1)) == start" with @action. @upper is 0 to
 * ignore the argument's upper half, ~LOW32 to require it to be zero.
 */
static int add_range_rules(scmp_filter_ctx ctx, const char *name, int nr, unsigned arg,
			   uint64_t upper, uint64_t lo, uint64_t hi, uint32_t action, size_t *count,
			   hutch_error *err)
{
	while (lo <= hi) {
		uint64_t size = 1;
		struct scmp_arg_cmp cmp;
		int r;

		while (size < (UINT64_C(1) << 32) && (lo & (size * 2 - 1)) == 0 &&
		       lo + size * 2 - 1 <= hi)
			size *= 2;
		if (++*count > MAX_COND_RULES)
			return hutch_errx(err, E2BIG, "seccomp: adding rule for %s: too many rules",
					  name);
		cmp = (struct scmp_arg_cmp){arg, SCMP_CMP_MASKED_EQ, upper | (LOW32 & ~(size - 1)),
					    lo};
		r = add_rule(ctx, name, nr, action, 1, &cmp, err);
		if (r < 0)
			return r;
		lo += size;
	}
	return 0;
}

/*
 * A value map on one argument: each listed value gets its own action, every
 * other value c->errnum. With c->width 0 only the low 32 bits count (the
 * kernel truncates the argument to an int); with a width, the whole 64-bit
 * value must be below 1 << width to match anything listed. libseccomp lets an
 * unconditional rule override conditional ones and has no "not equal under
 * a mask", so the complement is spelled out as aligned blocks (a few dozen
 * rules at most).
 */
static int add_value_rules(scmp_filter_ctx ctx, const struct hutch_sc_cond *c, int nr, unsigned arg,
			   hutch_error *err)
{
	uint64_t upper = c->width ? ~LOW32 : 0;
	uint64_t top = c->width ? (UINT64_C(1) << c->width) - 1 : LOW32;
	uint32_t sorted[HUTCH_SC_MAX_VALUES];
	uint64_t next = 0;
	size_t count = 0;
	int r;

	if (c->nvalues == 0 || c->nvalues > HUTCH_SC_MAX_VALUES || c->width > 32)
		return hutch_errx(err, EINVAL, "seccomp: adding rule for %s: bad value list",
				  c->name);
	for (size_t i = 0; i < c->nvalues; i++) {
		struct scmp_arg_cmp cmp = {arg, SCMP_CMP_MASKED_EQ, upper | LOW32,
					   c->values[i].value};

		if (c->values[i].value > top)
			return hutch_errx(err, EINVAL,
					  "seccomp: adding rule for %s: value 0x%x out of range",
					  c->name, c->values[i].value);
		r = add_rule(ctx, c->name, nr, hutch_seccomp_verdict_of(c->values[i].errnum), 1,
			     &cmp, err);
		if (r < 0)
			return r;
		sorted[i] = c->values[i].value;
	}
	qsort(sorted, c->nvalues, sizeof(sorted[0]), cmp_u32);
	for (size_t i = 0; i < c->nvalues; i++) {
		if (sorted[i] > next) {
			r = add_range_rules(ctx, c->name, nr, arg, upper, next, sorted[i] - 1,
					    hutch_seccomp_verdict_of(c->errnum), &count, err);
			if (r < 0)
				return r;
		}
		next = (uint64_t)sorted[i] + 1;
	}
	if (next <= top) {
		r = add_range_rules(ctx, c->name, nr, arg, upper, next, top,
				    hutch_seccomp_verdict_of(c->errnum), &count, err);
		if (r < 0)
			return r;
	}
	if (c->width) {
		/* Everything at or above 1 << width, upper half included. */
		struct scmp_arg_cmp cmp = {arg, SCMP_CMP_GT, top, 0};

		return add_rule(ctx, c->name, nr, hutch_seccomp_verdict_of(c->errnum), 1, &cmp,
				err);
	}
	return 0;
}

static bool cond_applies(const struct hutch_sc_cond *c, const struct hutch_seccomp_opts *opts)
{
	switch (c->when) {
	case HUTCH_SC_ALWAYS:
		return true;
	case HUTCH_SC_INET:
		return !opts->deny_inet;
	case HUTCH_SC_NO_INET:
		return opts->deny_inet;
	case HUTCH_SC_WRITES:
		return opts->notify_writes;
	}
	return false;
}

int hutch_seccomp_cond_nr(const struct hutch_sc_cond *c, const struct hutch_seccomp_opts *opts,
			  unsigned *arg)
{
	uint32_t arch = seccomp_arch_native();

	if (!cond_applies(c, opts))
		return -ENOENT;
	if (arg)
		*arg = arch == SCMP_ARCH_S390 || arch == SCMP_ARCH_S390X ? c->arg_s390 : c->arg;
	return hutch_seccomp_resolve(c->name);
}

static int set_attr(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value,
		    const char *what, hutch_error *err)
{
	int r = seccomp_attr_set(ctx, attr, value);

	if (r < 0)
		return hutch_err(err, -r, "seccomp: setting %s", what);
	return 0;
}

static int build(const struct hutch_seccomp_opts *opts, scmp_filter_ctx *out, hutch_error *err)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	const struct hutch_sc_group *groups;
	const struct hutch_sc_cond *conds;
	size_t ngroups, nconds;
	int r;

	ctx = seccomp_init(SCMP_ACT_ERRNO(HUTCH_SC_DEFAULT_ERRNO));
	if (!ctx)
		return hutch_errx(err, ENOMEM, "seccomp: creating the filter");
	/* Foreign architectures, i386 entry points and x32 on x86_64: kill. */
	r = set_attr(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "the bad-arch action",
		     err);
	if (r < 0)
		return r;
	/* The caller sets no_new_privs itself, before Landlock. */
	r = set_attr(ctx, SCMP_FLTATR_CTL_NNP, 0, "no_new_privs handling", err);
	if (r < 0)
		return r;
	/* Binary search over syscall numbers instead of a linear chain. */
	r = set_attr(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2, "the optimisation level", err);
	if (r < 0)
		return r;
	/* Kernel errors as their errno, not -ECANCELED. */
	r = set_attr(ctx, SCMP_FLTATR_API_SYSRAWRC, 1, "raw return codes", err);
	if (r < 0)
		return r;

	groups = hutch_seccomp_groups(&ngroups);
	for (size_t g = 0; g < ngroups; g++) {
		uint32_t action = group_action(&groups[g], opts);

		/* Listed for the record (clone3): libseccomp refuses rules equal to the default. */
		if (action == SCMP_ACT_ERRNO(HUTCH_SC_DEFAULT_ERRNO))
			continue;
		for (const char *const *call = groups[g].calls; *call; call++) {
			int nr = hutch_seccomp_resolve(*call);

			if (nr < 0) /* not on this arch, or newer than libseccomp */
				continue;
			/* an unconditional rule would override the conditional ones */
			if (has_cond(*call, opts))
				continue;
			r = add_rule(ctx, *call, nr, action, 0, NULL, err);
			if (r < 0)
				return r;
		}
	}

	conds = hutch_seccomp_conds(&nconds);
	for (size_t i = 0; i < nconds; i++) {
		const struct hutch_sc_cond *c = &conds[i];
		unsigned arg = 0;
		int nr = hutch_seccomp_cond_nr(c, opts, &arg);

		if (nr < 0)
			continue;
		if (c->kind == HUTCH_SC_FLAGS)
			r = add_flags_rules(ctx, c, nr, arg, err);
		else
			r = add_value_rules(ctx, c, nr, arg, err);
		if (r < 0)
			return r;
	}

	*out = TAKE_PTR(ctx);
	return 0;
}

int hutch_seccomp_verdicts(const struct hutch_seccomp_opts *opts, uint32_t *verdict, size_t n)
{
	const struct hutch_sc_group *groups;
	const struct hutch_sc_cond *conds;
	size_t ngroups, nconds;

	for (size_t i = 0; i < n; i++)
		verdict[i] = SCMP_ACT_ERRNO(HUTCH_SC_DEFAULT_ERRNO);
	groups = hutch_seccomp_groups(&ngroups);
	for (size_t g = 0; g < ngroups; g++) {
		uint32_t action = group_action(&groups[g], opts);

		for (const char *const *call = groups[g].calls; *call; call++) {
			int nr = hutch_seccomp_resolve(*call);

			if (nr < 0)
				continue;
			if ((size_t)nr >= n)
				return -ERANGE;
			verdict[nr] = action;
		}
	}
	conds = hutch_seccomp_conds(&nconds);
	for (size_t i = 0; i < nconds; i++) {
		int nr = hutch_seccomp_cond_nr(&conds[i], opts, NULL);

		if (nr < 0)
			continue;
		if ((size_t)nr >= n)
			return -ERANGE;
		verdict[nr] = HUTCH_SC_VERDICT_ARGS;
	}
	return 0;
}

static int check_nnp(hutch_error *err)
{
	int r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);

	if (r < 0)
		return hutch_err(err, errno, "seccomp: reading no_new_privs");
	if (r != 1) {
		r = hutch_errx(err, EPERM,
			       "seccomp: no_new_privs is not set, refusing to load the filter");
		hutch_err_hint(err, "set PR_SET_NO_NEW_PRIVS before loading the filter");
		return r;
	}
	return 0;
}

/* The listener of a just-loaded filter: checked, made CLOEXEC, handed over. */
static int take_listener(int fd, int *notify_fd, hutch_error *err)
{
	int flags, r;

	if (fd < 0)
		return hutch_errx(err, ENOTCONN,
				  "seccomp: the kernel returned no notification listener");
	flags = fcntl(fd, F_GETFD);
	if (flags < 0 || (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)) {
		r = hutch_err(err, errno,
			      "seccomp: making the notification listener close-on-exec");
		close(fd);
		return r;
	}
	*notify_fd = fd;
	return 0;
}

int hutch_seccomp_load(const struct hutch_seccomp_opts *opts, int *notify_fd, hutch_error *err)
{
	static const struct hutch_seccomp_opts defaults = {0};
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	int r;

	if (notify_fd)
		*notify_fd = -1;
	if (!opts)
		opts = &defaults;
	if (hutch_seccomp_notifies(opts) && !notify_fd)
		return hutch_errx(err, EINVAL,
				  "seccomp: exec notification asked without a place for the fd");

	r = check_nnp(err);
	if (r < 0)
		return r;

	r = build(opts, &ctx, err);
	if (r < 0)
		return r;

	r = seccomp_load(ctx);
	if (r < 0) {
		r = hutch_err(err, -r, "seccomp: loading the filter");
		hutch_err_hint(err, "`hutch check` shows whether this kernel supports seccomp");
		return r;
	}
	if (!hutch_seccomp_notifies(opts))
		return 0;

	/* The filter is live from here on: only calls it allows. */
	return take_listener(seccomp_notify_fd(ctx), notify_fd, err);
}

int hutch_seccomp_load_bpf(const struct hutch_seccomp_bpf *bpf, bool notify, int *notify_fd,
			   hutch_error *err)
{
	const struct sock_filter *insns;
	struct sock_fprog prog;
	size_t n;
	long r;

	if (notify_fd)
		*notify_fd = -1;
	if (notify && !notify_fd)
		return hutch_errx(err, EINVAL,
				  "seccomp: exec notification asked without a place for the fd");
	if (!bpf || !bpf->insns || bpf->size == 0 || bpf->size % sizeof(struct sock_filter) ||
	    bpf->size / sizeof(struct sock_filter) > BPF_MAXINSNS ||
	    (uintptr_t)bpf->insns % _Alignof(struct sock_filter))
		return hutch_errx(err, EINVAL, "seccomp: the precompiled filter is malformed");
	insns = (const struct sock_filter *)(const void *)bpf->insns;
	n = bpf->size / sizeof(struct sock_filter);
	/* The program starts by checking the audit arch (libseccomp's and ours): it must be ours.
	 */
	if (n < 2 || insns[0].code != (BPF_LD | BPF_W | BPF_ABS) ||
	    insns[0].k != offsetof(struct seccomp_data, arch) ||
	    insns[1].code != (BPF_JMP | BPF_JEQ | BPF_K) || insns[1].k != seccomp_arch_native())
		return hutch_errx(err, EINVAL,
				  "seccomp: the precompiled filter is not for this architecture");
	r = check_nnp(err);
	if (r < 0)
		return (int)r;

	prog = (struct sock_fprog){.len = (unsigned short)n, .filter = (struct sock_filter *)insns};
	r = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
		    notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
	if (r < 0) {
		int e = errno;

		hutch_err(err, e, "seccomp: loading the filter");
		hutch_err_hint(err, "`hutch check` shows whether this kernel supports seccomp");
		return -e;
	}
	if (!notify)
		return 0;
	return take_listener((int)r, notify_fd, err);
}

int hutch_seccomp_export(const struct hutch_seccomp_opts *opts, bool pfc, int fd, hutch_error *err)
{
	static const struct hutch_seccomp_opts defaults = {0};
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	int r;

	r = build(opts ? opts : &defaults, &ctx, err);
	if (r < 0)
		return r;
	r = pfc ? seccomp_export_pfc(ctx, fd) : seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return hutch_err(err, -r, "seccomp: exporting the filter");
	return 0;
}

/* ---- user notification --------------------------------------------------- */

/* The kernel's structure sizes do not change while it runs: asked once. */
static struct seccomp_notif_sizes cached_sizes;
static int cached_sizes_errno;
static pthread_once_t sizes_once = PTHREAD_ONCE_INIT;

static void ask_sizes(void)
{
	if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &cached_sizes) < 0)
		cached_sizes_errno = errno;
}

static int notif_sizes(struct seccomp_notif_sizes *sizes)
{
	(void)pthread_once(&sizes_once, ask_sizes);
	if (cached_sizes_errno)
		return -cached_sizes_errno;
	*sizes = cached_sizes;
	return 0;
}

/* Zeroed: the kernel's @size or our structure's @ours bytes, whichever is larger. */
static void *notif_buf(size_t size, size_t ours)
{
	return calloc(1, size > ours ? size : ours);
}

/*
 * Buffers of the kernel's sizes: one SECCOMP_GET_NOTIF_SIZES, cached, where
 * libseccomp's seccomp_notify_alloc() first probes its API level (nine system
 * calls, in every run's listener thread).
 */
int hutch_seccomp_notify_alloc(struct seccomp_notif **req, struct seccomp_notif_resp **resp)
{
	struct seccomp_notif_sizes sizes = {0};
	int r = notif_sizes(&sizes);

	if (r < 0)
		return r;
	*req = notif_buf(sizes.seccomp_notif, sizeof(**req));
	*resp = notif_buf(sizes.seccomp_notif_resp, sizeof(**resp));
	if (!*req || !*resp) {
		hutch_seccomp_notify_free(*req, *resp);
		*req = NULL;
		*resp = NULL;
		return -ENOMEM;
	}
	return 0;
}

void hutch_seccomp_notify_free(struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	free(req);
	free(resp);
}

static int notif_ioctl(int fd, unsigned long request, void *arg)
{
	for (;;) {
		if (ioctl(fd, request, arg) >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int hutch_seccomp_notify_receive(int fd, struct seccomp_notif *req)
{
	struct seccomp_notif_sizes sizes = {0};
	int r = notif_sizes(&sizes);

	if (r < 0)
		return r;
	/* The kernel insists on a zeroed buffer of its own size. */
	memset(req, 0, sizes.seccomp_notif);
	return notif_ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req);
}

static int respond(int fd, struct seccomp_notif_resp *resp, uint64_t id, int32_t error,
		   uint32_t flags)
{
	struct seccomp_notif_sizes sizes = {0};
	int r = notif_sizes(&sizes);

	if (r < 0)
		return r;
	memset(resp, 0, sizes.seccomp_notif_resp);
	resp->id = id;
	resp->error = error;
	resp->flags = flags;
	return notif_ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

int hutch_seccomp_notify_continue(int fd, struct seccomp_notif_resp *resp, uint64_t id)
{
	return respond(fd, resp, id, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

int hutch_seccomp_notify_deny(int fd, struct seccomp_notif_resp *resp, uint64_t id, int errnum)
{
	if (errnum <= 0)
		return -EINVAL;
	return respond(fd, resp, id, -errnum, 0);
}

int hutch_seccomp_notify_id_valid(int fd, uint64_t id)
{
	return notif_ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id);
}

/* ---- probe ------------------------------------------------------------------ */

/* Load hutch's own filter and check one denial is enforced. Runs in a child. */
static int probe_filter_child(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 1;
	if (hutch_seccomp_load(NULL, NULL, NULL) < 0)
		return 2;
	if (unshare(CLONE_NEWUSER) == 0 || errno != EPERM)
		return 3;
	return 0;
}

/*
 * A notify filter on getppid, a grandchild calling it, and this child
 * answering CONTINUE: the grandchild must get its real parent's pid.
 */
static int probe_notify_child(void)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	struct pollfd pfd;
	pid_t self = getpid(), pid;
	int fd, status, rc = 10;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 1;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(getppid), 0) < 0)
		return 2;
	if (seccomp_load(ctx) < 0)
		return 3;
	fd = seccomp_notify_fd(ctx);
	if (fd < 0)
		return 4;
	pid = fork();
	if (pid < 0)
		return 5;
	if (pid == 0)
		_exit(syscall(SYS_getppid) == self ? 0 : 1);
	if (hutch_seccomp_notify_alloc(&req, &resp) < 0)
		goto out;
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, 5000) != 1)
		goto out;
	if (hutch_seccomp_notify_receive(fd, req) < 0 || req->pid != (uint32_t)pid)
		goto out;
	if (hutch_seccomp_notify_continue(fd, resp, req->id) < 0)
		goto out;
	rc = 11;
out:
	if (rc != 11)
		kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		rc = 12;
	else if (rc == 11)
		rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 13;
	hutch_seccomp_notify_free(req, resp);
	return rc;
}

static int run_probe(int (*fn)(void), bool *ok)
{
	pid_t pid = fork();
	int status;

	*ok = false;
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(fn());
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	*ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	return 0;
}

int hutch_seccomp_probe(bool *filter, bool *notify)
{
	int r;

	*filter = *notify = false;
	r = run_probe(probe_filter_child, filter);
	if (r < 0 || !*filter)
		return r;
	return run_probe(probe_notify_child, notify);
}
