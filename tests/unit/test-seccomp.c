/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The seccomp layer, three ways:
 *   1. the table itself (names known, each call once);
 *   2. the generated BPF, run by a small cBPF interpreter here over
 *      synthetic seccomp_data: every table entry, foreign arches, x32, and
 *      tens of thousands of random argument values for the conditional calls;
 *   3. the filter loaded for real in forked children (no sandbox needed):
 *      direct syscalls, a real pty for TIOCSTI, the i386 and x32 entry
 *      points, exec notification, and tests/helpers/try-syscall run under
 *      the filter against a baseline run without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sandbox/seccomp.h"
#include "tap.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_TIPC
#define AF_TIPC 30
#endif

#define NS_FLAGS                                                                                   \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET)

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "test-seccomp: add this architecture's AUDIT_ARCH_*"
#endif

#define RET_ALLOW SECCOMP_RET_ALLOW
#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | (uint32_t)(e))
#define RET_KILL SECCOMP_RET_KILL_PROCESS
#define RET_NOTIFY SECCOMP_RET_USER_NOTIF
#define RET_BAD 0xdeadbeefU

static const char *ename(int e)
{
	const char *s = e ? strerrorname_np(e) : "success";

	return s ? s : "?";
}

/* ---- 1. the table ---------------------------------------------------------- */

static void test_table(void)
{
	size_t ng, nc, n_generic, total = 0, unknown = 0, dup = 0, clash = 0;
	const struct hutch_sc_group *g = hutch_seccomp_groups(&ng);
	const struct hutch_sc_cond *c = hutch_seccomp_conds(&nc);
	const struct hutch_sc_generic *gen = hutch_seccomp_generic_nrs(&n_generic);

	ok(ng >= 10, "table has named groups (%zu)", ng);
	for (size_t i = 0; i < ng; i++) {
		for (size_t j = i + 1; j < ng; j++)
			if (strcmp(g[i].name, g[j].name) == 0) {
				ok(0, "group name %s is unique", g[i].name);
				dup++;
			}
		for (const char *const *a = g[i].calls; *a; a++) {
			int nr = hutch_seccomp_resolve(*a);

			total++;
			if (nr == -ENOENT) {
				diag("unknown syscall name in group %s: %s", g[i].name, *a);
				unknown++;
			}
			/* Each call once in the whole table. */
			for (size_t j = i; j < ng; j++)
				for (const char *const *b = (j == i ? a + 1 : g[j].calls); *b; b++)
					if (strcmp(*a, *b) == 0) {
						diag("%s is in %s and %s", *a, g[i].name,
						     g[j].name);
						dup++;
					}
			/* An unconditional rule would silently override a conditional one. */
			for (size_t k = 0; k < nc; k++)
				if (strcmp(*a, c[k].name) == 0 && c[k].when != HUTCH_SC_WRITES) {
					diag("%s is in group %s and conditional", *a, g[i].name);
					clash++;
				}
		}
	}
	ok(total > 250, "table names %zu calls", total);
	is_int(unknown, 0, "every name in the table is a syscall libseccomp knows (or generic)");
	is_int(dup, 0, "every call appears once");
	is_int(clash, 0, "no conditional call is also unconditional");
	for (size_t k = 0; k < nc; k++) {
		if (hutch_seccomp_resolve(c[k].name) < 0)
			ok(0, "conditional %s resolves", c[k].name);
		if (c[k].kind == HUTCH_SC_VALUES)
			ok(c[k].nvalues > 0 && c[k].nvalues <= HUTCH_SC_MAX_VALUES,
			   "conditional %s has 1..%d values", c[k].name, HUTCH_SC_MAX_VALUES);
	}
	for (size_t k = 0; k < n_generic; k++)
		ok(gen[k].nr >= 424, "generic number for %s is a post-5.1 number", gen[k].name);
}

/* ---- 2. the BPF, interpreted --------------------------------------------------- */

struct prog {
	struct sock_filter *insns;
	size_t n;
};

static int export_prog(const struct hutch_seccomp_opts *opts, struct prog *p)
{
	hutch_error err = {0};
	_cleanup_close_ int fd = memfd_create("bpf", MFD_CLOEXEC);
	off_t size;

	if (fd < 0 || hutch_seccomp_export(opts, false, fd, &err) < 0) {
		diag("export: %s", err.msg);
		return -1;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % sizeof(struct sock_filter))
		return -1;
	p->n = (size_t)size / sizeof(struct sock_filter);
	p->insns = malloc((size_t)size);
	if (!p->insns || pread(fd, p->insns, (size_t)size, 0) != size)
		return -1;
	return 0;
}

/* Classic BPF as the kernel runs it for seccomp: A, X, 16 scratch words. */
static uint32_t bpf_run(const struct prog *p, const struct seccomp_data *d)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = {0};

	for (size_t pc = 0; pc < p->n; pc++) {
		const struct sock_filter *f = &p->insns[pc];
		uint32_t k = f->k, src = BPF_SRC(f->code) == BPF_X ? X : k;
		bool jump = false;

		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (k % 4 || k + 4 > sizeof(*d))
				return RET_BAD;
			memcpy(&A, (const char *)d + k, 4);
			continue;
		case BPF_LD | BPF_IMM:
			A = k;
			continue;
		case BPF_LDX | BPF_IMM:
			X = k;
			continue;
		case BPF_LD | BPF_MEM:
			A = M[k % BPF_MEMWORDS];
			continue;
		case BPF_LDX | BPF_MEM:
			X = M[k % BPF_MEMWORDS];
			continue;
		case BPF_ST:
			M[k % BPF_MEMWORDS] = A;
			continue;
		case BPF_STX:
			M[k % BPF_MEMWORDS] = X;
			continue;
		case BPF_ALU | BPF_AND | BPF_K:
		case BPF_ALU | BPF_AND | BPF_X:
			A &= src;
			continue;
		case BPF_ALU | BPF_OR | BPF_K:
		case BPF_ALU | BPF_OR | BPF_X:
			A |= src;
			continue;
		case BPF_MISC | BPF_TAX:
			X = A;
			continue;
		case BPF_MISC | BPF_TXA:
			A = X;
			continue;
		case BPF_RET | BPF_K:
			return k;
		case BPF_RET | BPF_A:
			return A;
		case BPF_JMP | BPF_JA:
			if (pc + 1 + k >= p->n)
				return RET_BAD;
			pc += k;
			continue;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JEQ | BPF_X:
			jump = A == src;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
		case BPF_JMP | BPF_JGT | BPF_X:
			jump = A > src;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_X:
			jump = A >= src;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
		case BPF_JMP | BPF_JSET | BPF_X:
			jump = (A & src) != 0;
			break;
		default:
			diag("unhandled BPF opcode 0x%x at %zu", f->code, pc);
			return RET_BAD;
		}
		if (pc + 1 + (jump ? f->jt : f->jf) >= p->n)
			return RET_BAD;
		pc += jump ? f->jt : f->jf;
	}
	return RET_BAD;
}

static uint32_t eval(const struct prog *p, uint32_t arch, int nr, uint64_t a0, uint64_t a1)
{
	struct seccomp_data d = {.nr = nr, .arch = arch, .args = {a0, a1}};

	return bpf_run(p, &d);
}

static uint32_t native(const struct prog *p, int nr, uint64_t a0, uint64_t a1)
{
	return eval(p, NATIVE_ARCH, nr, a0, a1);
}

/* xorshift64: deterministic pseudo-random argument values. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool in_u32(uint32_t v, const uint32_t *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == v)
			return true;
	return false;
}

static void test_bpf_table(const struct prog *p, bool notify)
{
	size_t ng, wrong = 0, checked = 0;
	const struct hutch_sc_group *g = hutch_seccomp_groups(&ng);

	for (size_t i = 0; i < ng; i++)
		for (const char *const *a = g[i].calls; *a; a++) {
			int nr = hutch_seccomp_resolve(*a);
			uint32_t want = g[i].errnum ? RET_ERRNO(g[i].errnum) : RET_ALLOW, got;

			if (nr < 0)
				continue;
			if (g[i].notify == HUTCH_SC_ON_EXEC && notify)
				want = RET_NOTIFY;
			got = native(p, nr, 0, 0);
			checked++;
			if (got != want) {
				diag("%s (%d, group %s): got 0x%x want 0x%x", *a, nr, g[i].name,
				     got, want);
				wrong++;
			}
		}
	ok(checked > 250 && wrong == 0, "BPF%s: all %zu table calls get their group's action",
	   notify ? " (notify)" : "", checked);
}

/* One call with its first three arguments. */
static uint32_t native3(const struct prog *p, int nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct seccomp_data d = {.nr = nr, .arch = NATIVE_ARCH, .args = {a0, a1, a2}};

	return bpf_run(p, &d);
}

/*
 * notify_writes: calls that write by path are notified, open/openat only with
 * a write flag; a read-only open never stops. Both the libseccomp program and
 * the precompiled one.
 */
static void test_bpf_writes(void)
{
	static const uint64_t ro_flags[] = {O_RDONLY,
					    O_RDONLY | O_CLOEXEC,
					    O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
					    O_PATH | O_CLOEXEC,
					    O_RDONLY | O_NONBLOCK | O_NOCTTY | O_LARGEFILE,
					    O_RDONLY | O_APPEND,
					    UINT64_C(0xffffffff00000000)};
	static const uint64_t rw_flags[] = {O_WRONLY,
					    O_RDWR,
					    O_CREAT,
					    O_TRUNC,
					    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
					    O_RDWR | O_CREAT | O_EXCL,
					    O_TMPFILE | O_RDWR,
					    O_WRONLY | UINT64_C(0xffffffff00000000)};
	static const int notified[] = {
		SYS_mkdirat, SYS_unlinkat, SYS_renameat2, SYS_linkat,	SYS_symlinkat,
		SYS_mknodat, SYS_truncate, SYS_fchmodat,  SYS_fchownat, SYS_openat2,
#ifdef SYS_mkdir
		SYS_mkdir,   SYS_rmdir,	   SYS_unlink,	  SYS_rename,	SYS_creat,
#endif
	};
	static const int plain[] = {SYS_read,	   SYS_write,  SYS_fstat,     SYS_newfstatat,
				    SYS_utimensat, SYS_fchmod, SYS_ftruncate, SYS_getdents64};
	struct hutch_seccomp_opts w = {.notify_writes = true},
				  wx = {.notify_writes = true, .notify_exec = true}, off = {0};
	struct prog pw = {0}, pwx = {0}, po = {0};
	size_t bad = 0;

	if (export_prog(&w, &pw) < 0 || export_prog(&wx, &pwx) < 0 || export_prog(&off, &po) < 0) {
		ok(0, "filters export as BPF");
		return;
	}
	for (int v = 0; v < 2; v++) {
		const struct prog *p = v ? &pwx : &pw;
		struct prog pre = {
			(struct sock_filter *)(uintptr_t)
				hutch_seccomp_precompiled[hutch_seccomp_variant(v ? &wx : &w)]
					.insns,
			hutch_seccomp_precompiled[hutch_seccomp_variant(v ? &wx : &w)].size /
				sizeof(struct sock_filter)};

		for (int k = 0; k < 2; k++, p = &pre) {
			for (size_t i = 0; i < ARRAY_SIZE(ro_flags); i++) {
				bad += native3(p, SYS_openat, AT_FDCWD, 0, ro_flags[i]) !=
				       RET_ALLOW;
#ifdef SYS_open
				bad += native3(p, SYS_open, 0, ro_flags[i], 0) != RET_ALLOW;
#endif
			}
			for (size_t i = 0; i < ARRAY_SIZE(rw_flags); i++) {
				bad += native3(p, SYS_openat, AT_FDCWD, 0, rw_flags[i]) !=
				       RET_NOTIFY;
#ifdef SYS_open
				bad += native3(p, SYS_open, 0, rw_flags[i], 0) != RET_NOTIFY;
#endif
			}
			for (size_t i = 0; i < ARRAY_SIZE(notified); i++)
				bad += native3(p, notified[i], 0, 0, 0) != RET_NOTIFY;
			for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
				bad += native3(p, plain[i], 0, 0, O_WRONLY) != RET_ALLOW;
			bad += native3(p, SYS_execve, 0, 0, 0) != (v ? RET_NOTIFY : RET_ALLOW);
		}
	}
	is_int(bad, 0, "notify_writes: writes by path notified, read-only opens and the rest not");
	bad = 0;
	for (size_t i = 0; i < ARRAY_SIZE(rw_flags); i++)
		bad += native3(&po, SYS_openat, AT_FDCWD, 0, rw_flags[i]) != RET_ALLOW;
	for (size_t i = 0; i < ARRAY_SIZE(notified); i++)
		bad += native3(&po, notified[i], 0, 0, 0) != RET_ALLOW;
	is_int(bad, 0, "without notify_writes: every write allowed, nothing notified");
	free(pw.insns);
	free(pwx.insns);
	free(po.insns);
}

static void test_bpf(void)
{
	struct hutch_seccomp_opts plain = {0}, noinet = {.deny_inet = true},
				  notify = {.notify_exec = true};
	struct prog p = {0}, pi = {0}, pn = {0};
	static const uint32_t ioctl_deny[] = {TIOCSTI, TIOCLINUX};
	static const uint32_t pers_ok[] = {0, 8, 0x20000, 0x20008, 0xffffffff};
	static const uint32_t af_ok[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t bad;

	if (export_prog(&plain, &p) < 0 || export_prog(&noinet, &pi) < 0 ||
	    export_prog(&notify, &pn) < 0) {
		ok(0, "filter exports as BPF");
		return;
	}
	ok(p.n > 0 && p.n <= BPF_MAXINSNS, "filter is %zu instructions (max %d)", p.n,
	   BPF_MAXINSNS);
	diag("BPF sizes: plain %zu, deny_inet %zu, notify %zu", p.n, pi.n, pn.n);

	test_bpf_table(&p, false);
	test_bpf_table(&pn, true);

	/* Architectures and ABIs. */
	is_int(native(&p, SYS_getpid, 0, 0), RET_ALLOW, "x86_64 getpid allowed");
	is_int(eval(&p, AUDIT_ARCH_I386, 20, 0, 0), RET_KILL, "i386 getpid kills");
	is_int(eval(&p, AUDIT_ARCH_I386, 0, 0, 0), RET_KILL, "i386 restart_syscall kills");
	is_int(eval(&p, NATIVE_ARCH == AUDIT_ARCH_AARCH64 ? AUDIT_ARCH_ARM : AUDIT_ARCH_AARCH64,
		    172, 0, 0),
	       RET_KILL, "a foreign 64/32-bit arch kills");
#ifdef __x86_64__
	is_int(native(&p, SYS_getpid | 0x40000000, 0, 0), RET_KILL, "x32 getpid kills");
	bad = 0;
	for (int nr = 0; nr < 1024; nr++)
		bad += native(&p, nr | 0x40000000, 0, 0) != RET_KILL;
	is_int(bad, 0, "x32: every number 0..1023 | 0x40000000 kills");
#endif
	is_int(native(&p, 1000, 0, 0), RET_ERRNO(ENOSYS), "unknown call -> ENOSYS");
	is_int(native(&p, SYS_kcmp, 0, 0), RET_ERRNO(ENOSYS), "unlisted kcmp -> ENOSYS");
	is_int(native(&p, SYS_clone3, 0, 0), RET_ERRNO(ENOSYS), "clone3 -> ENOSYS");
	is_int(native(&p, -1, 0, 0), RET_ERRNO(ENOSYS), "nr -1 -> ENOSYS");
	is_int(native(&p, SYS_execve, 0, 0), RET_ALLOW, "execve allowed");
	is_int(native(&pn, SYS_execve, 0, 0), RET_NOTIFY, "notify: execve notified");
	is_int(native(&pn, SYS_execveat, 0, 0), RET_NOTIFY, "notify: execveat notified");

	/* clone and unshare flags. */
	is_int(native(&p, SYS_clone, SIGCHLD, 0), RET_ALLOW, "clone(SIGCHLD) allowed");
	is_int(native(&p, SYS_clone,
		      CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			      CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
			      CLONE_CHILD_CLEARTID,
		      0),
	       RET_ALLOW, "clone(thread flags) allowed");
	is_int(native(&p, SYS_unshare, CLONE_FILES | CLONE_FS, 0), RET_ALLOW,
	       "unshare(CLONE_FILES|CLONE_FS) allowed");
	bad = 0;
	for (int bit = 0; bit < 32; bit++) {
		uint64_t f = UINT64_C(1) << bit;

		if (f & NS_FLAGS) {
			bad += native(&p, SYS_clone, f | SIGCHLD, 0) != RET_ERRNO(EPERM);
			bad += native(&p, SYS_clone, f | (UINT64_C(0xffffffff) << 32), 0) !=
			       RET_ERRNO(EPERM);
		}
		if (f & (NS_FLAGS | CLONE_NEWTIME))
			bad += native(&p, SYS_unshare, f, 0) != RET_ERRNO(EPERM);
	}
	is_int(bad, 0, "clone/unshare with each CLONE_NEW* flag -> EPERM");
	is_int(native(&p, SYS_unshare, CLONE_NEWTIME, 0), RET_ERRNO(EPERM),
	       "unshare(CLONE_NEWTIME) -> EPERM");
	bad = 0;
	for (int i = 0; i < 20000; i++) {
		uint64_t f = rnd(&seed);
		uint32_t want = (f & NS_FLAGS) ? RET_ERRNO(EPERM) : RET_ALLOW;

		bad += native(&p, SYS_clone, f, 0) != want;
		want = (f & (NS_FLAGS | CLONE_NEWTIME)) ? RET_ERRNO(EPERM) : RET_ALLOW;
		bad += native(&p, SYS_unshare, f, 0) != want;
	}
	is_int(bad, 0, "clone/unshare: 20000 random flag words decided by NS bits alone");

	/* ioctl: only the low 32 bits of the request count. */
	is_int(native(&p, SYS_ioctl, 0, TIOCSTI), RET_ERRNO(EPERM), "ioctl TIOCSTI -> EPERM");
	is_int(native(&p, SYS_ioctl, 0, TIOCSTI | (UINT64_C(1) << 32)), RET_ERRNO(EPERM),
	       "ioctl 0x100005412 -> EPERM");
	is_int(native(&p, SYS_ioctl, 0, TIOCSTI | (UINT64_C(0xffffffff) << 32)), RET_ERRNO(EPERM),
	       "ioctl 0xffffffff00005412 -> EPERM");
	is_int(native(&p, SYS_ioctl, 0, TIOCLINUX), RET_ERRNO(EPERM), "ioctl TIOCLINUX -> EPERM");
	is_int(native(&p, SYS_ioctl, 0, TIOCLINUX | (UINT64_C(1) << 40)), RET_ERRNO(EPERM),
	       "ioctl TIOCLINUX | 1<<40 -> EPERM");
	is_int(native(&p, SYS_ioctl, 0, TCGETS), RET_ALLOW, "ioctl TCGETS allowed");
	is_int(native(&p, SYS_ioctl, 0, TIOCGWINSZ), RET_ALLOW, "ioctl TIOCGWINSZ allowed");
	is_int(native(&p, SYS_ioctl, 0, FIONREAD), RET_ALLOW, "ioctl FIONREAD allowed");
	is_int(native(&p, SYS_ioctl, 0, TIOCSTI + 1), RET_ALLOW, "ioctl TIOCSTI+1 allowed");
	is_int(native(&p, SYS_ioctl, 0, TIOCSTI - 1), RET_ALLOW, "ioctl TIOCSTI-1 allowed");
	is_int(native(&p, SYS_ioctl, 0, 0), RET_ALLOW, "ioctl 0 allowed");
	is_int(native(&p, SYS_ioctl, 0, 0xffffffff), RET_ALLOW, "ioctl 0xffffffff allowed");
	bad = 0;
	for (int i = 0; i < 50000; i++) {
		uint64_t r = rnd(&seed);

		if (i % 4 == 0) /* near the denied values, any upper half */
			r = (r & ~UINT64_C(0xff)) | (uint32_t)(TIOCSTI - 8 + (r & 0x1f));
		bad += native(&p, SYS_ioctl, 0, r) !=
		       (in_u32((uint32_t)r, ioctl_deny, 2) ? RET_ERRNO(EPERM) : RET_ALLOW);
	}
	is_int(bad, 0, "ioctl: 50000 random requests decided by their low 32 bits");

	/* personality: Docker's harmless values only. */
	for (size_t i = 0; i < ARRAY_SIZE(pers_ok); i++)
		is_int(native(&p, SYS_personality, pers_ok[i], 0), RET_ALLOW,
		       "personality(0x%x) allowed", pers_ok[i]);
	is_int(native(&p, SYS_personality, READ_IMPLIES_EXEC, 0), RET_ERRNO(EPERM),
	       "personality(READ_IMPLIES_EXEC) -> EPERM");
	is_int(native(&p, SYS_personality, ADDR_NO_RANDOMIZE, 0), RET_ERRNO(EPERM),
	       "personality(ADDR_NO_RANDOMIZE) -> EPERM");
	is_int(native(&p, SYS_personality, 0xfffffffe, 0), RET_ERRNO(EPERM),
	       "personality(0xfffffffe) -> EPERM");
	bad = 0;
	for (int i = 0; i < 20000; i++) {
		uint64_t r = rnd(&seed);

		if (i % 2)
			r &= 0x3000f;
		if (i % 3 == 0)
			r = pers_ok[r % 5] | (r & (UINT64_C(1) << 40));
		bad += native(&p, SYS_personality, r, 0) !=
		       (r <= 0xffffffff && in_u32((uint32_t)r, pers_ok, 5) ? RET_ALLOW
									   : RET_ERRNO(EPERM));
	}
	is_int(bad, 0, "personality: 20000 random values, allowed only when exactly listed");
	is_int(native(&p, SYS_personality, UINT64_MAX, 0), RET_ERRNO(EPERM),
	       "personality(-1 as 64 bits) -> EPERM (as Docker)");
	is_int(native(&p, SYS_personality, UINT64_C(1) << 32, 0), RET_ERRNO(EPERM),
	       "personality(1 << 32) -> EPERM");

	/* socket families, with and without deny_inet. */
	bad = 0;
	for (uint32_t af = 0; af < 64; af++) {
		uint32_t want = in_u32(af, af_ok, 4) ? RET_ALLOW : RET_ERRNO(EAFNOSUPPORT);
		uint32_t want_i = (af == AF_INET || af == AF_INET6)	? RET_ERRNO(EACCES)
				  : (af == AF_UNIX || af == AF_NETLINK) ? RET_ALLOW
									: RET_ERRNO(EAFNOSUPPORT);

		bad += native(&p, SYS_socket, af, 0) != want;
		bad += native(&pi, SYS_socket, af, 0) != want_i;
		/* Upper bits set: refused, whatever the low half says. */
		bad += native(&p, SYS_socket, af | (UINT64_C(1) << 32), 0) !=
		       RET_ERRNO(EAFNOSUPPORT);
		bad += native(&pi, SYS_socket, af | (UINT64_C(7) << 33), 0) !=
		       RET_ERRNO(EAFNOSUPPORT);
	}
	is_int(bad, 0, "socket: families 0..63 decided as tabled, upper bits refused");
	bad = 0;
	for (int i = 0; i < 20000; i++) {
		uint64_t r = rnd(&seed);

		if (i % 2)
			r &= 0x3f;
		bad += native(&p, SYS_socket, r, 0) != (r < 64 && in_u32((uint32_t)r, af_ok, 4)
								? RET_ALLOW
								: RET_ERRNO(EAFNOSUPPORT));
	}
	is_int(bad, 0, "socket: 20000 random family values");
	is_int(native(&p, SYS_socket, AF_VSOCK, 0), RET_ERRNO(EAFNOSUPPORT),
	       "socket(AF_VSOCK) -> EAFNOSUPPORT");
	is_int(native(&p, SYS_socket, AF_PACKET, 0), RET_ERRNO(EAFNOSUPPORT),
	       "socket(AF_PACKET) -> EAFNOSUPPORT");
	is_int(native(&pi, SYS_socket, AF_INET, 0), RET_ERRNO(EACCES),
	       "deny_inet: socket(AF_INET) -> EACCES");
	is_int(native(&pi, SYS_socket, AF_INET6, 0), RET_ERRNO(EACCES),
	       "deny_inet: socket(AF_INET6) -> EACCES");
	is_int(native(&pi, SYS_socket, AF_INET6 | (UINT64_C(1) << 32), 0), RET_ERRNO(EAFNOSUPPORT),
	       "deny_inet: socket(AF_INET6 | 1<<32) -> EAFNOSUPPORT");
	is_int(native(&p, SYS_socketpair, AF_UNIX, 0), RET_ALLOW, "socketpair(AF_UNIX) allowed");
	is_int(native(&p, SYS_socketpair, AF_TIPC, 0), RET_ERRNO(EAFNOSUPPORT),
	       "socketpair(AF_TIPC) -> EAFNOSUPPORT");
	/* deny_inet changes nothing else. */
	is_int(native(&pi, SYS_connect, 0, 0), RET_ALLOW, "deny_inet: connect still allowed");
	is_int(native(&pi, SYS_execve, 0, 0), RET_ALLOW, "deny_inet: execve still allowed");

	free(p.insns);
	free(pi.insns);
	free(pn.insns);
}

/* ---- 3. loaded for real, in children ---------------------------------------------- */

/* Children report "1 text" / "0 text" lines on a pipe; the parent turns them into TAP. */
static int report_fd = -1;

static __attribute__((format(printf, 2, 3))) void check(bool cond, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	dprintf(report_fd, "%d %s\n", cond ? 1 : 0, buf);
}

#define check_errno(expr, want, what)                                                              \
	do {                                                                                       \
		errno = 0;                                                                         \
		long _r = (long)(expr);                                                            \
		int _e = _r < 0 ? errno : 0;                                                       \
		check(_e == (want), "%s -> %s (got %s)", what, ename(want), ename(_e));            \
	} while (0)

/* Run @fn in a child; its check() lines become TAP lines. Returns the wait status. */
static int in_child(void (*fn)(void), const char *what)
{
	int p[2], status = -1;
	pid_t pid;
	FILE *f;
	char line[600];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		report_fd = p[1];
		fn();
		_exit(0);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		ok(line[0] == '1', "%s: %s", what, line + 2);
	}
	if (f)
		fclose(f);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child finished normally", what);
	return status;
}

/* Load through libseccomp (hutch_seccomp_load) or as exported BPF (hutch_seccomp_load_bpf). */
static bool use_bpf;

/* The filter for @opts as BPF in memory, as seccomp-gen would precompile it. */
static int export_bpf(const struct hutch_seccomp_opts *opts, struct hutch_seccomp_bpf *out)
{
	struct prog p = {0};

	if (export_prog(opts, &p) < 0)
		return -1;
	out->insns = (const unsigned char *)p.insns;
	out->size = p.n * sizeof(struct sock_filter);
	return 0;
}

static int load_any(const struct hutch_seccomp_opts *opts, int *notify_fd, hutch_error *err)
{
	static const struct hutch_seccomp_opts none = {0};
	struct hutch_seccomp_bpf bpf;

	if (!use_bpf)
		return hutch_seccomp_load(opts, notify_fd, err);
	/* what hutch run loads: the arrays seccomp-gen wrote at build time */
	bpf = hutch_seccomp_precompiled[hutch_seccomp_variant(opts ? opts : &none)];
	return hutch_seccomp_load_bpf(&bpf, opts && hutch_seccomp_notifies(opts), notify_fd, err);
}

static bool load(const struct hutch_seccomp_opts *opts, int *notify_fd)
{
	hutch_error err = {0};
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		check(0, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return false;
	}
	r = load_any(opts, notify_fd, &err);
	check(r == 0, "%s returns 0 (%s)",
	      use_bpf ? "hutch_seccomp_load_bpf" : "hutch_seccomp_load", r ? err.msg : "ok");
	return r == 0;
}

static void child_no_nnp(void)
{
	hutch_error err = {0};
	int r = load_any(NULL, NULL, &err);

	check(r == -EPERM, "without no_new_privs: -EPERM (got %d)", r);
	check(strstr(err.msg, "no_new_privs") != NULL, "message names no_new_privs: %s", err.msg);
	check(err.hint[0] != '\0', "with a hint: %s", err.hint);
	check(prctl(PR_GET_SECCOMP) == 0, "and no filter was loaded");
}

static int status_field(const char *name)
{
	char buf[4096], *p;
	_cleanup_close_ int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, name);
	return p ? atoi(p + strlen(name)) : -1;
}

static int wait_status(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static void child_filtered(void)
{
	char buf[64];
	int fds[2], status;
	void *m;
	pid_t pid;

	if (!load(NULL, NULL))
		return;
	check(status_field("Seccomp:\t") == 2, "/proc/self/status: Seccomp 2");
	check(status_field("NoNewPrivs:\t") == 1, "/proc/self/status: NoNewPrivs 1");
	check(syscall(SYS_getpid) == getpid() && getpid() > 0, "getpid works");

	check_errno(syscall(SYS_clone3, NULL, 0), ENOSYS, "clone3");
	check_errno(unshare(CLONE_NEWUSER), EPERM, "unshare(CLONE_NEWUSER)");
	check_errno(unshare(CLONE_NEWNS), EPERM, "unshare(CLONE_NEWNS)");
	check_errno(unshare(CLONE_NEWNET), EPERM, "unshare(CLONE_NEWNET)");
	check_errno(unshare(CLONE_NEWPID), EPERM, "unshare(CLONE_NEWPID)");
	check_errno(unshare(CLONE_FILES), 0, "unshare(CLONE_FILES) still works");
	errno = 0;
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);
	if (pid == 0)
		_exit(0);
	check(pid < 0 && errno == EPERM, "clone(CLONE_NEWUSER|SIGCHLD) -> EPERM (got %s)",
	      pid < 0 ? ename(errno) : "a child");
	if (pid > 0)
		wait_status(pid);
	check_errno(syscall(SYS_setns, -1, 0), EPERM, "setns");
	check_errno(syscall(SYS_mount, NULL, NULL, NULL, 0, NULL), EPERM, "mount");
	check_errno(syscall(SYS_umount2, "/", ~0U), EPERM, "umount2");
	check_errno(syscall(SYS_chroot, NULL), EPERM, "chroot");
	check_errno(syscall(SYS_keyctl, -1, 0, 0, 0, 0), EPERM, "keyctl");
	check_errno(syscall(SYS_bpf, -1, NULL, 0), EPERM, "bpf");
	check_errno(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM, "perf_event_open");
	check_errno(syscall(SYS_userfaultfd, ~0U), EPERM, "userfaultfd");
	check_errno(syscall(SYS_io_uring_setup, 0, NULL), EPERM, "io_uring_setup");
	check_errno(syscall(SYS_open_by_handle_at, -1, NULL, 0), EPERM, "open_by_handle_at");
	check_errno(syscall(SYS_reboot, 0, 0, 0, NULL), EPERM, "reboot");
	check_errno(syscall(SYS_adjtimex, NULL), EPERM, "adjtimex");
	check_errno(syscall(SYS_personality, READ_IMPLIES_EXEC), EPERM,
		    "personality(READ_IMPLIES_EXEC)");
	check(syscall(SYS_personality, 0xffffffffUL) >= 0, "personality query works");
	check_errno(syscall(SYS_kcmp, -1, -1, 0, 0, 0), ENOSYS, "kcmp (unlisted)");
	check_errno(syscall(SYS_ptrace, PTRACE_DETACH, -1, NULL, NULL), ESRCH,
		    "ptrace reaches the kernel");
	check_errno(socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0), EAFNOSUPPORT,
		    "socket(AF_VSOCK)");
	check_errno(socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0), EAFNOSUPPORT,
		    "socket(AF_PACKET)");

	/* An ordinary program's life: files, memory, pipes, fork, exec. */
	{
		_cleanup_close_ int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

		check(fd >= 0 && read(fd, buf, sizeof(buf)) > 0, "open + read work");
	}
	m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(m != MAP_FAILED, "mmap works");
	if (m != MAP_FAILED) {
		memset(m, 1, 1 << 20);
		munmap(m, 1 << 20);
	}
	check(pipe2(fds, O_CLOEXEC) == 0 && write(fds[1], "x", 1) == 1 && read(fds[0], buf, 1) == 1,
	      "pipe + write + read work");
	{
		_cleanup_close_ int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		check(s >= 0, "socket(AF_INET) works without deny_inet");
	}
	pid = fork();
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	status = wait_status(pid);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork + exec /bin/true exits 0");
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "echo hi | cat >/dev/null && ls / >/dev/null",
		      (char *)NULL);
		_exit(127);
	}
	status = wait_status(pid);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a shell pipeline exits 0");
}

static void child_deny_inet(void)
{
	struct hutch_seccomp_opts o = {.deny_inet = true};

	if (!load(&o, NULL))
		return;
	check_errno(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), EACCES, "socket(AF_INET)");
	check_errno(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), EACCES, "socket(AF_INET6)");
	check_errno(syscall(SYS_socket, AF_INET | (1UL << 32), SOCK_STREAM, 0), EAFNOSUPPORT,
		    "socket(AF_INET | 1<<32)");
	{
		_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		check(s >= 0, "socket(AF_UNIX) still works");
	}
}

/* A pty as our controlling terminal, so TIOCSTI would work without the filter. */
static void child_tiocsti(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s, r;
	char c = ' ';
	struct winsize ws;

	check(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "posix_openpt");
	if (m < 0)
		return;
	check(setsid() > 0, "setsid");
	s = open(ptsname(m), O_RDWR | O_CLOEXEC);
	check(s >= 0, "open the pty slave as controlling terminal");
	if (s < 0)
		return;
	r = ioctl(s, TIOCSTI, &c);
	if (r < 0)
		diag("note: without the filter TIOCSTI fails too here (%s)", ename(errno));
	if (!load(NULL, NULL))
		return;
	check_errno(ioctl(s, TIOCSTI, &c), EPERM, "TIOCSTI on the pty");
	check_errno(syscall(SYS_ioctl, s, (unsigned long)TIOCSTI | (1UL << 32), &c), EPERM,
		    "TIOCSTI | 1<<32 on the pty");
	check_errno(ioctl(s, TIOCLINUX, &c), EPERM, "TIOCLINUX on the pty");
	check_errno(syscall(SYS_ioctl, s, (unsigned long)TIOCLINUX | (1UL << 32), &c), EPERM,
		    "TIOCLINUX | 1<<32 on the pty");
	check_errno(ioctl(s, TIOCGWINSZ, &ws), 0, "TIOCGWINSZ still works");
	check(isatty(s) == 1, "isatty (TCGETS) still works");
}

#ifdef __x86_64__
static void i386_getpid(void)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	_exit(ret == getpid() ? 0 : 1);
}

static void x32_getpid(void)
{
	syscall(39 | 0x40000000);
	_exit(0);
}

/* Whether the entry point works without a filter, then that the filter kills it. */
static void child_abi(void)
{
	int st;
	pid_t pid = fork();

	if (pid == 0)
		i386_getpid();
	st = wait_status(pid);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "baseline: int 0x80 getpid works without the filter");
	if (!load(NULL, NULL))
		return;
	pid = fork();
	if (pid == 0)
		i386_getpid();
	st = wait_status(pid);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "int 0x80 getpid: killed by SIGSYS");
	pid = fork();
	if (pid == 0)
		x32_getpid();
	st = wait_status(pid);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "x32 getpid: killed by SIGSYS");
	check(syscall(SYS_getpid) == getpid(), "native getpid still works");
}
#endif

static bool wait_notif(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 10000) == 1;
}

static void child_notify(void)
{
	struct hutch_seccomp_opts o = {.notify_exec = true};
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	int fd = -1, flags, st;
	pid_t pid;

	if (!load(&o, &fd))
		return;
	check(fd >= 0, "a notification listener fd is returned");
	flags = fcntl(fd, F_GETFD);
	check(flags >= 0 && (flags & FD_CLOEXEC), "the listener is close-on-exec");
	check(hutch_seccomp_notify_alloc(&req, &resp) == 0, "notify_alloc");
	if (fd < 0 || !req)
		return;

	/* exec allowed with CONTINUE. */
	pid = fork();
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(100 + errno);
	}
	check(wait_notif(fd), "a notification arrives for the grandchild's exec");
	check(hutch_seccomp_notify_receive(fd, req) == 0, "notify_receive");
	check(req->pid == (uint32_t)pid, "from the grandchild (pid %u, want %d)", req->pid, pid);
	check(req->data.nr == SYS_execve, "for execve (nr %d)", req->data.nr);
	check(req->data.arch == NATIVE_ARCH, "native arch");
	check(hutch_seccomp_notify_id_valid(fd, req->id) == 0, "id valid while pending");
	check(hutch_seccomp_notify_continue(fd, resp, req->id) == 0, "respond CONTINUE");
	st = wait_status(pid);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the exec went through: /bin/true exits 0");
	check(hutch_seccomp_notify_id_valid(fd, req->id) == -ENOENT, "id invalid once answered");

	/* exec refused with an errno. */
	pid = fork();
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(100 + errno);
	}
	check(wait_notif(fd) && hutch_seccomp_notify_receive(fd, req) == 0,
	      "second notification received");
	check(hutch_seccomp_notify_deny(fd, resp, req->id, EACCES) == 0, "respond EACCES");
	st = wait_status(pid);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 100 + EACCES,
	      "the exec failed with EACCES (exit %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	/* A caller that dies before the answer. */
	pid = fork();
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(100 + errno);
	}
	check(wait_notif(fd) && hutch_seccomp_notify_receive(fd, req) == 0,
	      "third notification received");
	kill(pid, SIGKILL);
	wait_status(pid);
	check(hutch_seccomp_notify_continue(fd, resp, req->id) == -ENOENT,
	      "answering a dead caller -> -ENOENT");
	hutch_seccomp_notify_free(req, resp);
	close(fd);
}

/* Run try-syscall (next to this test in the build tree) with or without the filter. */
struct result {
	char name[32];
	char value[32];
};

#define MAX_RESULTS 128

static size_t run_try_syscall(const struct hutch_seccomp_opts *opts, struct result *out)
{
	char exe[4096], line[128];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 64);
	int p[2];
	pid_t pid;
	size_t count = 0;
	FILE *f;

	if (n <= 0)
		return 0;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	n = (ssize_t)strlen(exe);
	snprintf(exe + n, sizeof(exe) - (size_t)n, "/../helpers/try-syscall");
	if (pipe2(p, O_CLOEXEC) < 0)
		return 0;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		hutch_error err = {0};

		dup2(p[1], 1);
		if (opts && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
			     load_any(opts, NULL, &err) < 0)) {
			printf("load-failed %s\n", err.msg);
			_exit(1);
		}
		execl(exe, "try-syscall", (char *)NULL);
		printf("exec-failed %s\n", strerror(errno));
		_exit(1);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	while (f && count < MAX_RESULTS && fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s %31s", out[count].name, out[count].value) == 2)
			count++;
	if (f)
		fclose(f);
	wait_status(pid);
	return count;
}

static const char *lookup(const struct result *r, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0)
			return r[i].value;
	return NULL;
}

/* What each probe must give under the filter; "=" means: what it gave without it. */
static const struct {
	const char *probe, *filtered, *no_inet;
} expect[] = {
	{"clone3", "ENOSYS", NULL},
	{"clone_newuser", "EPERM", NULL},
	{"clone_newns", "EPERM", NULL},
	{"clone_newnet", "EPERM", NULL},
	{"clone_newpid", "EPERM", NULL},
	{"unshare_newuser", "EPERM", NULL},
	{"unshare_newns", "EPERM", NULL},
	{"unshare_newnet", "EPERM", NULL},
	{"unshare_newpid", "EPERM", NULL},
	{"unshare_newipc", "EPERM", NULL},
	{"unshare_newuts", "EPERM", NULL},
	{"unshare_newcgroup", "EPERM", NULL},
	{"unshare_newtime", "EPERM", NULL},
	{"userns", "EPERM", NULL},
	{"unshare_files", "0", NULL},
	{"setns", "EPERM", NULL},
	{"mount", "EPERM", NULL},
	{"umount2", "EPERM", NULL},
	{"pivot_root", "EPERM", NULL},
	{"open_tree", "EPERM", NULL},
	{"move_mount", "EPERM", NULL},
	{"fsopen", "EPERM", NULL},
	{"fsconfig", "EPERM", NULL},
	{"fsmount", "EPERM", NULL},
	{"fspick", "EPERM", NULL},
	{"mount_setattr", "EPERM", NULL},
	{"chroot", "EPERM", NULL},
	{"quotactl", "EPERM", NULL},
	{"keyctl", "EPERM", NULL},
	{"add_key", "EPERM", NULL},
	{"request_key", "EPERM", NULL},
	{"bpf", "EPERM", NULL},
	{"perf_event_open", "EPERM", NULL},
	{"userfaultfd", "EPERM", NULL},
	{"io_uring_setup", "EPERM", NULL},
	{"io_uring_enter", "EPERM", NULL},
	{"io_uring_register", "EPERM", NULL},
	{"fanotify_init", "EPERM", NULL},
	{"open_by_handle_at", "EPERM", NULL},
	{"kexec_load", "EPERM", NULL},
	{"kexec_file_load", "EPERM", NULL},
	{"init_module", "EPERM", NULL},
	{"finit_module", "EPERM", NULL},
	{"delete_module", "EPERM", NULL},
	{"acct", "EPERM", NULL},
	{"swapon", "EPERM", NULL},
	{"swapoff", "EPERM", NULL},
	{"reboot", "EPERM", NULL},
	{"syslog", "EPERM", NULL},
	{"sethostname", "EPERM", NULL},
	{"setdomainname", "EPERM", NULL},
#ifdef __x86_64__
	{"iopl", "EPERM", NULL},
	{"ioperm", "EPERM", NULL},
#endif
	{"settimeofday", "EPERM", NULL},
	{"clock_settime", "EPERM", NULL},
	{"clock_adjtime", "EPERM", NULL},
	{"adjtimex", "EPERM", NULL},
	{"personality_bad", "EPERM", NULL},
	{"personality_norandom", "EPERM", NULL},
	{"personality_0", "0", NULL},
	{"personality_query", "0", NULL},
	{"personality_linux32", "0", NULL},
	{"ptrace", "=", NULL},
	{"process_vm_readv", "=", NULL},
	{"kcmp", "ENOSYS", NULL},
	{"pidfd_getfd", "ENOSYS", NULL},
	{"getpid", "0", NULL},
	{"exec", "0", NULL},
	{"memfd_create", "0", NULL},
	{"fchmodat2", "=", NULL},
	{"mseal", "=", NULL},
	{"tiocsti", "EPERM", NULL},
	{"tiocsti64", "EPERM", NULL},
	{"tioclinux", "EPERM", NULL},
	{"tioclinux64", "EPERM", NULL},
	{"tiocgwinsz", "0", NULL},
#ifdef __x86_64__
	{"i386", "SIGSYS", NULL},
	{"x32", "SIGSYS", NULL},
#endif
	{"socket_unix", "0", "0"},
	{"socket_inet", "0", "EACCES"},
	{"socket_inet6", "0", "EACCES"},
	{"socket_inet_hi", "EAFNOSUPPORT", "EAFNOSUPPORT"},
	{"socket_netlink", "0", "0"},
	{"socket_packet", "EAFNOSUPPORT", "EAFNOSUPPORT"},
	{"socket_vsock", "EAFNOSUPPORT", "EAFNOSUPPORT"},
	{"socketpair_unix", "0", "0"},
};

static void test_try_syscall(void)
{
	static struct result base[MAX_RESULTS], filt[MAX_RESULTS], noinet[MAX_RESULTS],
		bfilt[MAX_RESULTS], bnoinet[MAX_RESULTS];
	struct hutch_seccomp_opts plain = {0}, o_noinet = {.deny_inet = true};
	size_t nb = run_try_syscall(NULL, base), nf = run_try_syscall(&plain, filt),
	       ni = run_try_syscall(&o_noinet, noinet), nbf, nbi, differ = 0;

	/* The precompiled path must behave exactly like the libseccomp one. */
	use_bpf = true;
	nbf = run_try_syscall(&plain, bfilt);
	nbi = run_try_syscall(&o_noinet, bnoinet);
	use_bpf = false;
	ok(nbf == nf && nbi == ni, "try-syscall under the precompiled filter ran %zu/%zu probes",
	   nbf, nbi);
	for (size_t i = 0; i < nf && i < nbf; i++)
		if (strcmp(filt[i].name, bfilt[i].name) || strcmp(filt[i].value, bfilt[i].value)) {
			diag("%s: %s via libseccomp, %s precompiled", filt[i].name, filt[i].value,
			     bfilt[i].value);
			differ++;
		}
	for (size_t i = 0; i < ni && i < nbi; i++)
		if (strcmp(noinet[i].name, bnoinet[i].name) ||
		    strcmp(noinet[i].value, bnoinet[i].value))
			differ++;
	is_int(differ, 0, "precompiled BPF gives the same result as libseccomp for every probe");

	ok(nb == ARRAY_SIZE(expect) && nf == nb && ni == nb,
	   "try-syscall ran %zu/%zu/%zu probes (want %zu)", nb, nf, ni, ARRAY_SIZE(expect));
	for (size_t i = 0; i < ARRAY_SIZE(expect); i++) {
		const char *b = lookup(base, nb, expect[i].probe);
		const char *f = lookup(filt, nf, expect[i].probe);
		const char *n = lookup(noinet, ni, expect[i].probe);
		const char *want = strcmp(expect[i].filtered, "=") == 0 ? b : expect[i].filtered;
		const char *want_n = expect[i].no_inet ? expect[i].no_inet : want;

		if (!b || !f || !n) {
			ok(0, "try-syscall %s: ran in all three runs", expect[i].probe);
			continue;
		}
		ok(want && strcmp(f, want) == 0,
		   "try-syscall %s: %s under the filter (got %s; %s without)", expect[i].probe,
		   want ? want : "?", f, b);
		if (strcmp(n, want_n) != 0)
			ok(0, "try-syscall %s: %s with deny_inet (got %s)", expect[i].probe, want_n,
			   n);
		/* The filter, not the kernel, gave the answer (clear when running as root). */
		if (strcmp(expect[i].filtered, "=") != 0 && strcmp(expect[i].filtered, "0") != 0 &&
		    strcmp(b, f) == 0)
			diag("%s: same result without the filter (%s) as uid %d", expect[i].probe,
			     b, (int)getuid());
	}
	if (getuid() == 0) {
		size_t same = 0;

		for (size_t i = 0; i < ARRAY_SIZE(expect); i++) {
			const char *b = lookup(base, nb, expect[i].probe);
			const char *f = lookup(filt, nf, expect[i].probe);

			if (b && f && strcmp(expect[i].filtered, "=") != 0 &&
			    strcmp(expect[i].filtered, "0") != 0 && strcmp(b, f) == 0)
				same++;
		}
		is_int(same, 0, "as root, every denial differs from the kernel's own answer");
	}
}

static void test_probe(void)
{
	bool filter = false, notify = false;

	is_int(hutch_seccomp_probe(&filter, &notify), 0, "probe runs");
	ok(filter, "probe: filters work here");
	ok(notify, "probe: user notification with CONTINUE works here");
}

/* ---- 2b. the compact program against libseccomp's --------------------------------- */

/* Every value worth trying for one argument of a conditional call. */
static size_t arg_values(uint64_t *v, size_t max)
{
	const struct hutch_sc_cond *conds;
	size_t n = 0, nconds;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

#define ADD(x)                                                                                     \
	do {                                                                                       \
		if (n < max)                                                                       \
			v[n++] = (x);                                                              \
	} while (0)
	ADD(0);
	ADD(~UINT64_C(0));
	ADD(UINT64_C(0xffffffff));
	ADD(UINT64_C(1) << 32);
	for (unsigned b = 0; b < 64; b++)
		ADD(UINT64_C(1) << b);
	conds = hutch_seccomp_conds(&nconds);
	for (size_t i = 0; i < nconds; i++) {
		ADD(conds[i].flags);
		ADD(~conds[i].flags);
		for (size_t k = 0; k < conds[i].nvalues; k++) {
			uint64_t x = conds[i].values[k].value;
			ADD(x);
			ADD(x + 1);
			ADD(x - 1);
			ADD(x | (UINT64_C(1) << 32));
			ADD(x | UINT64_C(0xffffffff00000000));
		}
	}
	for (int i = 0; i < 200; i++)
		ADD(rnd(&seed));
	for (int i = 0; i < 50; i++)
		ADD(rnd(&seed) & 0xffffffff);
#undef ADD
	return n;
}

/*
 * hutch_seccomp_compile() must give libseccomp's verdict for every call
 * number (and the numbers around and far above), every arch, and for the
 * argument-dependent calls every value above in every argument; and what the
 * build wrote into the precompiled arrays must be that program.
 */
static void test_compact(void)
{
	static const uint32_t arches[] = {NATIVE_ARCH, AUDIT_ARCH_I386, AUDIT_ARCH_ARM, 0,
					  0xffffffff};
	static const uint32_t high[] = {0x3fffffff, 0x40000000, 0x40000001, 0x40000200,
					0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};
	static uint64_t vals[2048];
	size_t nvals = arg_values(vals, ARRAY_SIZE(vals));

	for (unsigned variant = 0; variant < HUTCH_SECCOMP_VARIANTS; variant++) {
		struct hutch_seccomp_opts o = hutch_seccomp_variant_opts(variant);
		struct prog ref = {0}, c = {0};
		const struct hutch_seccomp_bpf *pre = &hutch_seccomp_precompiled[variant];
		uint32_t verdict[1024];
		hutch_error err = {0};
		size_t runs = 0, wrong = 0;

		if (export_prog(&o, &ref) < 0 ||
		    hutch_seccomp_compile(&o, &c.insns, &c.n, &err) < 0 ||
		    hutch_seccomp_verdicts(&o, verdict, ARRAY_SIZE(verdict)) < 0) {
			ok(0, "variant %u: both programs (%s)", variant, err.msg);
			continue;
		}
		ok(c.n * 2 < ref.n, "variant %u: %zu instructions, under half of libseccomp's %zu",
		   variant, c.n, ref.n);
		ok(pre->size == c.n * sizeof(*c.insns) && !memcmp(pre->insns, c.insns, pre->size),
		   "variant %u: the precompiled array is this program", variant);
		for (size_t a = 0; a < ARRAY_SIZE(arches); a++)
			for (uint32_t nr = 0; nr < 1100 + ARRAY_SIZE(high); nr++) {
				uint32_t n = nr < 1100 ? nr : high[nr - 1100];
				bool args = n < 1024 && verdict[n] == HUTCH_SC_VERDICT_ARGS &&
					    arches[a] == NATIVE_ARCH;
				size_t nv = args ? nvals : 4;

				for (unsigned arg = 0; arg < (args ? 6U : 1U); arg++)
					for (size_t k = 0; k < nv; k++) {
						struct seccomp_data d = {.nr = (int)n,
									 .arch = arches[a]};
						uint32_t want, got;

						d.args[arg] = vals[k];
						want = bpf_run(&ref, &d);
						got = bpf_run(&c, &d);
						runs++;
						if (want != got || want == RET_BAD) {
							if (wrong++ < 5)
								diag("arch 0x%x nr %u "
								     "arg%u=0x%llx: "
								     "libseccomp 0x%x, compact "
								     "0x%x",
								     arches[a], n, arg,
								     (unsigned long long)vals[k],
								     want, got);
						}
					}
			}
		is_int(wrong, 0, "variant %u: the same verdict in all %zu cases", variant, runs);
		free(ref.insns);
		free(c.insns);
	}
}

/* hutch_seccomp_load_bpf refuses programs that are not libseccomp output for this arch. */
static void test_bpf_checks(void)
{
	struct hutch_seccomp_opts plain = {0};
	struct hutch_seccomp_bpf bpf, bad;
	struct sock_filter *copy;
	hutch_error err = {0};
	int fd = -1;

	if (export_bpf(&plain, &bpf) < 0) {
		ok(0, "export for the precompiled checks");
		return;
	}
	bad = bpf;
	bad.size = 7;
	is_int(hutch_seccomp_load_bpf(&bad, false, &fd, &err), -EINVAL, "odd size refused");
	like(err.msg, "malformed", "message: %s", err.msg);
	bad.size = 0;
	is_int(hutch_seccomp_load_bpf(&bad, false, &fd, &err), -EINVAL, "empty program refused");
	copy = malloc(bpf.size);
	memcpy(copy, bpf.insns, bpf.size);
	copy[1].k = AUDIT_ARCH_I386;
	bad = (struct hutch_seccomp_bpf){(const unsigned char *)copy, bpf.size};
	is_int(hutch_seccomp_load_bpf(&bad, false, &fd, &err), -EINVAL,
	       "a program for another arch refused");
	like(err.msg, "architecture", "message: %s", err.msg);
	is_int(prctl(PR_GET_SECCOMP), 0, "nothing was loaded");
	free(copy);
	free((void *)bpf.insns);
}

int main(void)
{
	test_table();
	test_bpf();
	test_bpf_writes();
	test_compact();
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0)
		in_child(child_no_nnp, "no NNP");
	else
		diag("skipping the no_new_privs refusal test: this process already has NNP");
	in_child(child_filtered, "filtered");
	in_child(child_deny_inet, "deny_inet");
	in_child(child_tiocsti, "tiocsti");
#ifdef __x86_64__
	in_child(child_abi, "abi");
#endif
	in_child(child_notify, "notify");
	test_bpf_checks();
	use_bpf = true;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0)
		in_child(child_no_nnp, "precompiled, no NNP");
	in_child(child_filtered, "precompiled");
	in_child(child_deny_inet, "precompiled, deny_inet");
	in_child(child_notify, "precompiled, notify");
	use_bpf = false;
	test_try_syscall();
	test_probe();
	return done_testing();
}
