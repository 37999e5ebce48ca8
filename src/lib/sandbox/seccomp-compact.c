/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The syscall filter, compacted (see hutch_seccomp_compile in seccomp.h).
 *
 * libseccomp emits about 900 instructions for the table: one comparison per
 * call, and for argument values many masked-range rules (its rules cannot
 * say "any other value"). The kernel converts and JIT-compiles the whole
 * program at every seccomp(2) call: ~300-400 us of each start-up here. Most
 * calls share one of a handful of verdicts and come in runs of consecutive
 * numbers, so this program is:
 *
 *   arch check   a foreign audit arch, x32 on x86_64: kill (as libseccomp's)
 *   search       binary search over the runs: JGE lo (true: over the left
 *                subtree) / left / right, or where the left subtree is longer
 *                than a conditional jump reaches: JGE lo / JA right / left / right
 *   leaves       RET verdict, or JA to the argument check of that call
 *   checks       one per argument-dependent call (seccomp-table.c's conds):
 *                FLAGS: JSET on each half -> errno, else allow;
 *                VALUES: JEQ per value -> its verdict, else the default
 *
 * A conditional jump skips at most 255 instructions; every longer jump is a
 * JA (32-bit offset), so no subtree size limits the layout. One instruction
 * per node instead of two: the kernel checks, converts and JIT-compiles each
 * instruction at every start. libseccomp stays the
 * reference: tests/unit/test-seccomp-compact.c runs both programs in a BPF
 * interpreter for every call number and many argument values and expects
 * the same verdict from each.
 */
#include <endian.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <seccomp.h> /* libseccomp's, for seccomp_arch_native() */

#include "base/cleanup.h"
#include "base/error.h"
#include "sandbox/seccomp.h"

/* Syscall numbers below this are looked at one by one; all above share the default. */
#define NR_SPAN 1024
#define DEFAULT_VERDICT (SECCOMP_RET_ERRNO | HUTCH_SC_DEFAULT_ERRNO)

#if __BYTE_ORDER == __LITTLE_ENDIAN
#define LO_HALF 0
#define HI_HALF 4
#else
#define LO_HALF 4
#define HI_HALF 0
#endif

struct run {
	uint32_t lo; /* first number of the run */
	uint32_t verdict;
};

struct prog {
	struct sock_filter *v;
	size_t n;
};

/* A leaf jumping to the check of an argument-dependent call. */
struct fixup {
	size_t at;   /* the JA */
	uint32_t nr; /* the call */
};

static int put(struct prog *p, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (p->n >= BPF_MAXINSNS)
		return -E2BIG;
	p->v[p->n++] = (struct sock_filter){code, jt, jf, k};
	return 0;
}

/*
 * The instructions of the search tree over runs [a, b): a node is one JGE
 * whose true branch skips its left subtree when that fits in the 8-bit jump
 * offset, else a JGE over a JA (two).
 */
static size_t tree_size(size_t a, size_t b)
{
	size_t mid, left;

	if (b - a == 1)
		return 1;
	mid = a + (b - a) / 2;
	left = tree_size(a, mid);
	return (left <= 255 ? 1 : 2) + left + tree_size(mid, b);
}

/* Runs [a, b): a search tree whose leaves return or jump to an argument check. */
static int emit_tree(struct prog *p, const struct run *runs, size_t a, size_t b,
		     struct fixup *fixups, size_t *n_fixups)
{
	size_t mid, ja, left;
	int r;

	if (b - a == 1) {
		if (runs[a].verdict != HUTCH_SC_VERDICT_ARGS)
			return put(p, BPF_RET | BPF_K, 0, 0, runs[a].verdict);
		fixups[(*n_fixups)++] = (struct fixup){p->n, runs[a].lo};
		return put(p, BPF_JMP | BPF_JA, 0, 0, 0);
	}
	mid = a + (b - a) / 2;
	left = tree_size(a, mid);
	if (left <= 255) {
		/* nr >= runs[mid].lo: over the left half, to the right one; else on to the left */
		r = put(p, BPF_JMP | BPF_JGE | BPF_K, (uint8_t)left, 0, runs[mid].lo);
		if (r >= 0)
			r = emit_tree(p, runs, a, mid, fixups, n_fixups);
		return r < 0 ? r : emit_tree(p, runs, mid, b, fixups, n_fixups);
	}
	/* nr >= runs[mid].lo: on to the JA to the right half; else over it, to the left half */
	r = put(p, BPF_JMP | BPF_JGE | BPF_K, 0, 1, runs[mid].lo);
	if (r < 0)
		return r;
	ja = p->n;
	r = put(p, BPF_JMP | BPF_JA, 0, 0, 0);
	if (r < 0)
		return r;
	r = emit_tree(p, runs, a, mid, fixups, n_fixups);
	if (r < 0)
		return r;
	p->v[ja].k = (uint32_t)(p->n - ja - 1);
	return emit_tree(p, runs, mid, b, fixups, n_fixups);
}

/* The arch check libseccomp starts with: anything but the native arch is killed. */
static int emit_arch_check(struct prog *p)
{
	uint32_t arch = seccomp_arch_native();
	int r;

	r = put(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
	if (r >= 0)
		r = put(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, arch);
	if (r >= 0)
		r = put(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
	if (r >= 0)
		r = put(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
	if (r < 0 || arch != SCMP_ARCH_X86_64)
		return r;
	/* x32 calls (bit 30) on x86_64: killed; nr -1 (a tracer's skip) goes on */
	r = put(p, BPF_JMP | BPF_JGE | BPF_K, 0, 2, 0x40000000);
	if (r >= 0)
		r = put(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0xffffffff);
	if (r >= 0)
		r = put(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
	return r;
}

/* "if (A & k) return verdict" / "if (A == k) return verdict": two instructions. */
static int emit_test_return(struct prog *p, uint16_t op, uint32_t k, uint32_t verdict)
{
	int r = put(p, BPF_JMP | op | BPF_K, 0, 1, k);

	return r < 0 ? r : put(p, BPF_RET | BPF_K, 0, 0, verdict);
}

/* The check of one argument-dependent call (@arg: its argument's index). */
static int emit_cond(struct prog *p, const struct hutch_sc_cond *c, unsigned arg)
{
	uint32_t lo = (uint32_t)(offsetof(struct seccomp_data, args) + 8 * arg + LO_HALF);
	uint32_t hi = (uint32_t)(offsetof(struct seccomp_data, args) + 8 * arg + HI_HALF);
	uint32_t other = hutch_seccomp_verdict_of(c->errnum);
	int r = 0;

	if (arg > 5)
		return -EINVAL;
	if (c->kind == HUTCH_SC_FLAGS) {
		/* any of the flags set, in either half: the errno; else allowed */
		if ((uint32_t)c->flags) {
			r = put(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, lo);
			if (r >= 0)
				r = emit_test_return(p, BPF_JSET, (uint32_t)c->flags, other);
		}
		if (r >= 0 && (uint32_t)(c->flags >> 32)) {
			r = put(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, hi);
			if (r >= 0)
				r = emit_test_return(p, BPF_JSET, (uint32_t)(c->flags >> 32),
						     other);
		}
		return r < 0 ? r : put(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	}
	if (c->nvalues == 0 || c->nvalues > HUTCH_SC_MAX_VALUES || c->width > 32)
		return -EINVAL;
	if (c->width) {
		/* whole 64-bit values below 1 << width: a set upper half is "other" */
		r = put(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, hi);
		if (r >= 0)
			r = put(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0);
		if (r >= 0)
			r = put(p, BPF_RET | BPF_K, 0, 0, other);
	}
	if (r >= 0)
		r = put(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, lo);
	for (size_t i = 0; r >= 0 && i < c->nvalues; i++) {
		if (c->width < 32 && c->width && c->values[i].value >> c->width)
			return -ERANGE;
		r = emit_test_return(p, BPF_JEQ, c->values[i].value,
				     hutch_seccomp_verdict_of(c->values[i].errnum));
	}
	return r < 0 ? r : put(p, BPF_RET | BPF_K, 0, 0, other);
}

/* The runs of equal verdicts; an argument-dependent call is a run of its own. */
static size_t make_runs(const uint32_t *verdict, struct run *runs)
{
	size_t n = 0;

	for (uint32_t nr = 0; nr < NR_SPAN; nr++)
		if (n == 0 || verdict[nr] != runs[n - 1].verdict ||
		    verdict[nr] == HUTCH_SC_VERDICT_ARGS)
			runs[n++] = (struct run){nr, verdict[nr]};
	/* every number from NR_SPAN up (the last run goes on to 2^32 - 1): the default */
	if (runs[n - 1].verdict != DEFAULT_VERDICT)
		runs[n++] = (struct run){NR_SPAN, DEFAULT_VERDICT};
	return n;
}

/* The argument checks after the search, and the leaves' jumps to them. */
static int emit_conds(struct prog *p, const struct hutch_seccomp_opts *opts,
		      const struct fixup *fixups, size_t n_fixups)
{
	const struct hutch_sc_cond *conds;
	size_t nconds, placed = 0;
	int r;

	conds = hutch_seccomp_conds(&nconds);
	for (size_t i = 0; i < nconds; i++) {
		const struct hutch_sc_cond *c = &conds[i];
		size_t start = p->n, users = 0;
		unsigned arg = 0;
		int nr = hutch_seccomp_cond_nr(c, opts, &arg);

		if (nr < 0)
			continue;
		for (size_t f = 0; f < n_fixups; f++) {
			if (fixups[f].nr != (uint32_t)nr)
				continue;
			if (p->v[fixups[f].at].k)
				return -EEXIST; /* two checks for one call: the table is wrong */
			p->v[fixups[f].at].k = (uint32_t)(start - fixups[f].at - 1);
			users++;
		}
		if (users != 1)
			return -EINVAL;
		r = emit_cond(p, c, arg);
		if (r < 0)
			return r;
		placed++;
	}
	return placed == n_fixups ? 0 : -EINVAL;
}

int hutch_seccomp_compile(const struct hutch_seccomp_opts *opts, struct sock_filter **out,
			  size_t *n, hutch_error *err)
{
	_cleanup_free_ uint32_t *verdict = calloc(NR_SPAN, sizeof(uint32_t));
	_cleanup_free_ struct run *runs = calloc(NR_SPAN + 1, sizeof(struct run));
	_cleanup_free_ struct fixup *fixups = calloc(NR_SPAN, sizeof(struct fixup));
	_cleanup_free_ struct sock_filter *v = calloc(BPF_MAXINSNS, sizeof(struct sock_filter));
	struct prog p = {0};
	size_t n_runs, n_fixups = 0;
	int r;

	if (!verdict || !runs || !fixups || !v)
		return -ENOMEM;
	r = hutch_seccomp_verdicts(opts, verdict, NR_SPAN);
	if (r < 0)
		return hutch_err(err, r, "seccomp: the table's verdicts");
	n_runs = make_runs(verdict, runs);
	p.v = v;
	r = emit_arch_check(&p);
	if (r >= 0)
		r = emit_tree(&p, runs, 0, n_runs, fixups, &n_fixups);
	if (r >= 0)
		r = emit_conds(&p, opts, fixups, n_fixups);
	if (r < 0)
		return hutch_err(err, r, "seccomp: compiling the filter");
	*out = TAKE_PTR(v);
	*n = p.n;
	return 0;
}
