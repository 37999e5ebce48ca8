/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * first-act: a program whose very first instructions try what the sandbox
 * forbids, before any C library runs (no libc, no dynamic loader: _start is
 * ours), and print what the kernel said:
 *
 *   nnp=1 seccomp=2 capeff=0 capprm=0 bnd_sys_admin=0 unshare_user=-1 comm_write=-13
 *
 * nnp: PR_GET_NO_NEW_PRIVS; seccomp: PR_GET_SECCOMP (2: a filter); capeff, capprm:
 * the low 32 bits of the effective and permitted sets (capget); bnd_sys_admin:
 * PR_CAPBSET_READ of CAP_SYS_ADMIN; unshare_user: unshare(CLONE_NEWUSER), -errno
 * (-1 EPERM from the filter); comm_write: open("/proc/self/comm", O_WRONLY),
 * -errno (-13 EACCES from Landlock, which gives no write right on /proc).
 * Tests check that a command has every layer from its first instruction on
 * (tests/integration/named.t). x86_64 only: the system calls are inline asm.
 */
#include <asm/unistd.h>
#include <linux/capability.h>
#include <linux/prctl.h>
#include <linux/sched.h>

#define O_WRONLY_ 01

static long sc(long n, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

static char out[256];
static unsigned long len;

static void put(const char *s)
{
	while (*s && len < sizeof(out))
		out[len++] = *s++;
}

static void put_num(const char *name, long v)
{
	char d[24];
	int n = 0;
	unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;

	if (len)
		put(" ");
	put(name);
	put("=");
	if (v < 0)
		put("-");
	do
		d[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < 23);
	while (n > 0 && len < sizeof(out))
		out[len++] = d[--n];
}

void _start(void);
__attribute__((noreturn, used, force_align_arg_pointer)) void _start(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {{0, 0, 0}, {0, 0, 0}};
	long fd;

	put_num("nnp", sc(__NR_prctl, PR_GET_NO_NEW_PRIVS, 0, 0));
	put_num("seccomp", sc(__NR_prctl, PR_GET_SECCOMP, 0, 0));
	if (sc(__NR_capget, (long)&hdr, (long)data, 0) < 0)
		data[0].effective = data[0].permitted = ~0U;
	put_num("capeff", data[0].effective);
	put_num("capprm", data[0].permitted);
	put_num("bnd_sys_admin", sc(__NR_prctl, PR_CAPBSET_READ, CAP_SYS_ADMIN, 0));
	put_num("unshare_user", sc(__NR_unshare, CLONE_NEWUSER, 0, 0));
	fd = sc(__NR_open, (long)"/proc/self/comm", O_WRONLY_, 0);
	put_num("comm_write", fd);
	if (fd >= 0)
		sc(__NR_close, fd, 0, 0);
	put("\n");
	sc(__NR_write, 1, (long)out, (long)len);
	sc(__NR_exit_group, 0, 0, 0);
	for (;;)
		;
}
