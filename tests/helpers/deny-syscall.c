/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * deny-syscall RULE... -- COMMAND [ARG...]: run COMMAND with some kernel
 * features made unavailable, to check that hutch refuses to run (fails
 * closed) when a layer its policy requires is missing. Each RULE is one of
 *
 *   landlock   landlock_create_ruleset/add_rule/restrict_self -> EOPNOTSUPP
 *              (what a kernel built without Landlock, or booted without
 *              "landlock" in lsm=, answers)
 *   seccomp    seccomp(2) -> EINVAL and prctl(PR_GET_SECCOMP) -> EINVAL
 *              (a kernel without CONFIG_SECCOMP_FILTER)
 *   userns     clone/unshare with CLONE_NEWUSER -> EPERM, clone3 -> ENOSYS
 *              (what a restricting LSM or sysctl answers)
 *   nftables   socket(AF_NETLINK, *, NETLINK_NETFILTER) -> EPROTONOSUPPORT
 *              (a kernel without nfnetlink, as CONFIG_NETFILTER_NETLINK=n
 *              answers: hutch cannot load the transparent egress rules)
 *
 * The filter is a small hand-written classic BPF program (native
 * architecture only; anything else is killed), installed with
 * no_new_privs, inherited by COMMAND and its children.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "deny-syscall: add this architecture's AUDIT_ARCH"
#endif

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif

#define MAX_INSNS 128
#define NR_OFF offsetof(struct seccomp_data, nr)
#define ARG0_LO offsetof(struct seccomp_data, args[0])
#define ARG2_LO offsetof(struct seccomp_data, args[2])

struct prog {
	struct sock_filter f[MAX_INSNS];
	unsigned short n;
};

static void emit(struct prog *p, struct sock_filter insn)
{
	if (p->n < MAX_INSNS)
		p->f[p->n++] = insn;
}

/* if nr == NR: return ERRNO */
static void deny_nr(struct prog *p, int nr, int err)
{
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1));
	emit(p, (struct sock_filter)BPF_STMT(
			BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)));
}

/* if nr == NR && (arg0 & MASK) == VALUE: return ERRNO (low 32 bits of arg0) */
static void deny_arg0(struct prog *p, int nr, unsigned mask, unsigned value, int err)
{
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 4));
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO));
	emit(p, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, mask));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 0, 1));
	emit(p, (struct sock_filter)BPF_STMT(
			BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)));
}

/* if nr == NR && arg0 == A0 && arg2 == A2: return ERRNO (low 32 bits of both) */
static void deny_arg02(struct prog *p, int nr, unsigned a0, unsigned a2, int err)
{
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 5));
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, a0, 0, 3));
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG2_LO));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, a2, 0, 1));
	emit(p, (struct sock_filter)BPF_STMT(
			BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)));
}

int main(int argc, char **argv)
{
	struct prog p = {.n = 0};
	struct sock_fprog fprog;
	int i;

	emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch)));
	emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0));
	emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "landlock")) {
			deny_nr(&p, __NR_landlock_create_ruleset, EOPNOTSUPP);
			deny_nr(&p, __NR_landlock_add_rule, EOPNOTSUPP);
			deny_nr(&p, __NR_landlock_restrict_self, EOPNOTSUPP);
		} else if (!strcmp(argv[i], "seccomp")) {
			deny_nr(&p, __NR_seccomp, EINVAL);
			deny_arg0(&p, __NR_prctl, ~0U, PR_GET_SECCOMP, EINVAL);
			deny_arg0(&p, __NR_prctl, ~0U, PR_SET_SECCOMP, EINVAL);
		} else if (!strcmp(argv[i], "userns")) {
			deny_arg0(&p, __NR_clone, CLONE_NEWUSER, CLONE_NEWUSER, EPERM);
			deny_arg0(&p, __NR_unshare, CLONE_NEWUSER, CLONE_NEWUSER, EPERM);
			deny_nr(&p, __NR_clone3, ENOSYS);
		} else if (!strcmp(argv[i], "nftables")) {
			deny_arg02(&p, __NR_socket, AF_NETLINK, NETLINK_NETFILTER, EPROTONOSUPPORT);
		} else {
			fprintf(stderr, "deny-syscall: unknown rule '%s'\n", argv[i]);
			return 2;
		}
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "usage: deny-syscall RULE... -- COMMAND [ARG...]\n");
		return 2;
	}
	emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	if (p.n >= MAX_INSNS) {
		fprintf(stderr, "deny-syscall: too many rules\n");
		return 2;
	}
	fprog.len = p.n;
	fprog.filter = p.f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0) {
		perror("deny-syscall: installing the filter");
		return 125;
	}
	execvp(argv[i + 1], argv + i + 1);
	perror("deny-syscall: exec");
	return 127;
}
