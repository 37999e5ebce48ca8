/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * try-syscall NAME...: call each named probe with harmless arguments and
 * print "NAME RESULT" per line. RESULT is 0 when the call succeeded, the
 * errno's name (EPERM, ENOSYS, ...) when it failed, or the signal's name
 * (SIGSYS) when the probe was killed. With no NAME, every probe runs;
 * --list prints the names.
 *
 * The arguments are chosen so that a call which reaches the kernel fails in
 * a recognisable, side-effect-free way (EBADF, EFAULT, EINVAL...) or does
 * something harmless, while a call stopped by the seccomp filter gets the
 * filter's errno (EPERM, ENOSYS, EACCES, EAFNOSUPPORT). Probes that may
 * change the process (namespaces, personality, sessions) or get it killed
 * (foreign syscall ABIs) run in a forked child.
 *
 * Same idea as bubblewrap's tests/try-syscall.c; written for hutch.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_mseal
#define __NR_mseal 462
#endif

/* A probe returns 0 or a positive errno. */
typedef int (*probe_fn)(void);

static int res(long r)
{
	return r < 0 ? errno : 0;
}

/* ---- namespaces ------------------------------------------------------------ */

/* A namespace flag with CLONE_THREAD but no CLONE_SIGHAND: EINVAL before anything is made. */
static int clone_flag(unsigned long flag)
{
	long r = syscall(SYS_clone, flag | CLONE_THREAD, 0, NULL, NULL, 0);

	if (r == 0)
		_exit(0);
	return res(r);
}

/* A namespace flag with CLONE_PARENT, which unshare() rejects with EINVAL. */
static int unshare_flag(unsigned long flag)
{
	return res(syscall(SYS_unshare, flag | CLONE_PARENT));
}

static int p_clone3(void)
{
	return res(syscall(SYS_clone3, NULL, 0));
}
static int p_clone_newuser(void)
{
	return clone_flag(CLONE_NEWUSER);
}
static int p_clone_newns(void)
{
	return clone_flag(CLONE_NEWNS);
}
static int p_clone_newnet(void)
{
	return clone_flag(CLONE_NEWNET);
}
static int p_clone_newpid(void)
{
	return clone_flag(CLONE_NEWPID);
}
static int p_unshare_newuser(void)
{
	return unshare_flag(CLONE_NEWUSER);
}
static int p_unshare_newns(void)
{
	return unshare_flag(CLONE_NEWNS);
}
static int p_unshare_newnet(void)
{
	return unshare_flag(CLONE_NEWNET);
}
static int p_unshare_newpid(void)
{
	return unshare_flag(CLONE_NEWPID);
}
static int p_unshare_newipc(void)
{
	return unshare_flag(CLONE_NEWIPC);
}
static int p_unshare_newuts(void)
{
	return unshare_flag(CLONE_NEWUTS);
}
static int p_unshare_newcgroup(void)
{
	return unshare_flag(CLONE_NEWCGROUP);
}
static int p_unshare_newtime(void)
{
	return unshare_flag(CLONE_NEWTIME);
}
/* The real thing: a nested user namespace (in a child). */
static int p_userns(void)
{
	return res(unshare(CLONE_NEWUSER));
}
static int p_unshare_files(void)
{
	return res(unshare(CLONE_FILES));
}
static int p_setns(void)
{
	return res(syscall(SYS_setns, -1, 0));
}

/* ---- mount family ------------------------------------------------------------ */

static int p_mount(void)
{
	return res(syscall(SYS_mount, NULL, NULL, NULL, 0, NULL));
}
static int p_umount2(void)
{
	return res(syscall(SYS_umount2, "/", ~0U));
}
static int p_pivot_root(void)
{
	return res(syscall(SYS_pivot_root, NULL, NULL));
}
static int p_open_tree(void)
{
	return res(syscall(SYS_open_tree, -1, NULL, ~0U));
}
static int p_move_mount(void)
{
	return res(syscall(SYS_move_mount, -1, NULL, -1, NULL, ~0U));
}
static int p_fsopen(void)
{
	return res(syscall(SYS_fsopen, NULL, ~0U));
}
static int p_fsconfig(void)
{
	return res(syscall(SYS_fsconfig, -1, ~0U, NULL, NULL, 0));
}
static int p_fsmount(void)
{
	return res(syscall(SYS_fsmount, -1, ~0U, 0));
}
static int p_fspick(void)
{
	return res(syscall(SYS_fspick, -1, NULL, ~0U));
}
static int p_mount_setattr(void)
{
	return res(syscall(SYS_mount_setattr, -1, NULL, ~0U, NULL, 0));
}
static int p_chroot(void)
{
	return res(syscall(SYS_chroot, NULL));
}
static int p_quotactl(void)
{
	return res(syscall(SYS_quotactl, 0, NULL, 0, NULL));
}

/* ---- keys, kernel interfaces --------------------------------------------------- */

static int p_keyctl(void)
{
	return res(syscall(SYS_keyctl, -1, 0, 0, 0, 0));
}
static int p_add_key(void)
{
	return res(syscall(SYS_add_key, NULL, NULL, NULL, 0, 0));
}
static int p_request_key(void)
{
	return res(syscall(SYS_request_key, NULL, NULL, NULL, 0));
}
static int p_bpf(void)
{
	return res(syscall(SYS_bpf, -1, NULL, 0));
}
static int p_perf_event_open(void)
{
	return res(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
}
static int p_userfaultfd(void)
{
	return res(syscall(SYS_userfaultfd, ~0U));
}
static int p_io_uring_setup(void)
{
	return res(syscall(SYS_io_uring_setup, 0, NULL));
}
static int p_io_uring_enter(void)
{
	return res(syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0));
}
static int p_io_uring_register(void)
{
	return res(syscall(SYS_io_uring_register, -1, 0, NULL, 0));
}
static int p_fanotify_init(void)
{
	return res(syscall(SYS_fanotify_init, ~0U, 0));
}
static int p_open_by_handle_at(void)
{
	return res(syscall(SYS_open_by_handle_at, -1, NULL, 0));
}
static int p_kexec_load(void)
{
	return res(syscall(SYS_kexec_load, 0, ~0UL, NULL, ~0UL));
}
static int p_kexec_file_load(void)
{
	return res(syscall(SYS_kexec_file_load, -1, -1, 0, NULL, ~0UL));
}
static int p_init_module(void)
{
	return res(syscall(SYS_init_module, NULL, 0, NULL));
}
static int p_finit_module(void)
{
	return res(syscall(SYS_finit_module, -1, NULL, 0));
}
static int p_delete_module(void)
{
	return res(syscall(SYS_delete_module, NULL, 0));
}
/* A bad pointer, not NULL: acct(NULL) would switch accounting off. */
static int p_acct(void)
{
	return res(syscall(SYS_acct, (const char *)1));
}
static int p_swapon(void)
{
	return res(syscall(SYS_swapon, NULL, 0));
}
static int p_swapoff(void)
{
	return res(syscall(SYS_swapoff, NULL));
}
/* No magic numbers: EINVAL from the kernel. */
static int p_reboot(void)
{
	return res(syscall(SYS_reboot, 0, 0, 0, NULL));
}
/* SYSLOG_ACTION_READ into NULL: EINVAL. */
static int p_syslog(void)
{
	return res(syscall(SYS_syslog, 2, NULL, 10));
}
static int p_sethostname(void)
{
	return res(syscall(SYS_sethostname, NULL, 100000));
}
static int p_setdomainname(void)
{
	return res(syscall(SYS_setdomainname, NULL, 100000));
}
#ifdef __x86_64__
static int p_iopl(void)
{
	return res(syscall(SYS_iopl, 4));
}
static int p_ioperm(void)
{
	return res(syscall(SYS_ioperm, 65536, 1, 0));
}
#endif

/* ---- clocks ------------------------------------------------------------------- */

static int p_settimeofday(void)
{
	struct timeval tv = {0, -1};

	return res(syscall(SYS_settimeofday, &tv, NULL));
}
static int p_clock_settime(void)
{
	struct timespec ts = {-1, -1};

	return res(syscall(SYS_clock_settime, CLOCK_REALTIME, &ts));
}
static int p_clock_adjtime(void)
{
	return res(syscall(SYS_clock_adjtime, CLOCK_REALTIME, NULL));
}
static int p_adjtimex(void)
{
	return res(syscall(SYS_adjtimex, NULL));
}

/* ---- personality --------------------------------------------------------------- */

static int p_personality_bad(void)
{
	return res(syscall(SYS_personality, READ_IMPLIES_EXEC));
}
static int p_personality_norandom(void)
{
	return res(syscall(SYS_personality, ADDR_NO_RANDOMIZE));
}
static int p_personality_0(void)
{
	return res(syscall(SYS_personality, 0));
}
static int p_personality_query(void)
{
	return res(syscall(SYS_personality, 0xffffffffUL));
}
static int p_personality_linux32(void)
{
	return res(syscall(SYS_personality, PER_LINUX32));
}

/* ---- processes, debugging ----------------------------------------------------------- */

static int p_ptrace(void)
{
	return res(syscall(SYS_ptrace, PTRACE_DETACH, -1, NULL, NULL));
}
static int p_process_vm_readv(void)
{
	return res(syscall(SYS_process_vm_readv, -1, NULL, 0, NULL, 0, ~0UL));
}
static int p_kcmp(void)
{
	return res(syscall(SYS_kcmp, -1, -1, 0, 0, 0));
}
static int p_pidfd_getfd(void)
{
	return res(syscall(SYS_pidfd_getfd, -1, -1, 0));
}
static int p_getpid(void)
{
	return res(syscall(SYS_getpid));
}
static int p_exec(void)
{
	char *argv[] = {"true", NULL}, *envp[] = {NULL};
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return errno;
	if (pid == 0) {
		execve("/bin/true", argv, envp);
		_exit(errno);
	}
	if (waitpid(pid, &status, 0) < 0)
		return errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
}
static int p_memfd_create(void)
{
	long fd = syscall(SYS_memfd_create, "try-syscall", 0);

	if (fd >= 0)
		close(fd);
	return res(fd);
}
static int p_fchmodat2(void)
{
	return res(syscall(__NR_fchmodat2, -1, "", 0, ~0U));
}
static int p_mseal(void)
{
	return res(syscall(__NR_mseal, 0, 0, ~0UL));
}

/* ---- terminals ------------------------------------------------------------------- */

/*
 * A fresh pseudo-terminal made the controlling terminal of a new session, so
 * TIOCSTI would work if it reached the kernel (with dev.tty.legacy_tiocsti=1
 * or CAP_SYS_ADMIN). Exits with 200 when no pty can be had.
 */
static int own_pty(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s;

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		_exit(200);
	if (setsid() < 0)
		_exit(200);
	s = open(ptsname(m), O_RDWR | O_CLOEXEC);
	if (s < 0)
		_exit(200);
	if (ioctl(s, TIOCSCTTY, 0) < 0 && errno != EPERM)
		_exit(200);
	return s;
}
static int pty_ioctl(unsigned long request, void *arg)
{
	int s = own_pty();

	return res(syscall(SYS_ioctl, s, request, arg));
}
static int p_tiocsti(void)
{
	char c = ' ';

	return pty_ioctl(TIOCSTI, &c);
}
static int p_tiocsti64(void)
{
	char c = ' ';

	return pty_ioctl((unsigned long)TIOCSTI | (1UL << 32), &c);
}
/* Subcode 0 is no valid TIOCLINUX subcode: EINVAL/ENOTTY from the kernel. */
static int p_tioclinux(void)
{
	char sub = 0;

	return pty_ioctl(TIOCLINUX, &sub);
}
static int p_tioclinux64(void)
{
	char sub = 0;

	return pty_ioctl((unsigned long)TIOCLINUX | (1UL << 32), &sub);
}
static int p_tiocgwinsz(void)
{
	struct winsize ws;

	return pty_ioctl(TIOCGWINSZ, &ws);
}

/* ---- foreign syscall ABIs ----------------------------------------------------------- */

#ifdef __x86_64__
/* getpid through the i386 entry point (int $0x80, i386 nr 20). */
static int p_i386(void)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	if (ret < 0)
		return (int)-ret;
	return ret == getpid() ? 0 : ESRCH;
}
/* getpid through the x32 ABI (nr | __X32_SYSCALL_BIT). */
static int p_x32(void)
{
	return res(syscall(39 | 0x40000000));
}
#endif

/* ---- sockets ---------------------------------------------------------------------- */

static int sock(unsigned long family, int type)
{
	long fd = syscall(SYS_socket, family, type, 0);

	if (fd >= 0)
		close(fd);
	return res(fd);
}
static int p_socket_unix(void)
{
	return sock(AF_UNIX, SOCK_STREAM);
}
static int p_socket_inet(void)
{
	return sock(AF_INET, SOCK_STREAM);
}
static int p_socket_inet6(void)
{
	return sock(AF_INET6, SOCK_STREAM);
}
/* AF_INET with garbage in the upper half: the kernel only sees the low 32 bits. */
static int p_socket_inet_hi(void)
{
	return sock(AF_INET | (1UL << 32), SOCK_STREAM);
}
static int p_socket_netlink(void)
{
	return sock(AF_NETLINK, SOCK_RAW);
}
static int p_socket_packet(void)
{
	return sock(AF_PACKET, SOCK_DGRAM);
}
static int p_socket_vsock(void)
{
	return sock(AF_VSOCK, SOCK_STREAM);
}
static int p_socketpair_unix(void)
{
	int sv[2];
	long r = syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);

	if (r == 0) {
		close(sv[0]);
		close(sv[1]);
	}
	return res(r);
}

/* ---- the table ------------------------------------------------------------------------ */

static const struct probe {
	const char *name;
	probe_fn fn;
	bool fork; /* may change or kill the process: run in a child */
} probes[] = {
	{"clone3", p_clone3, false},
	{"clone_newuser", p_clone_newuser, true},
	{"clone_newns", p_clone_newns, true},
	{"clone_newnet", p_clone_newnet, true},
	{"clone_newpid", p_clone_newpid, true},
	{"unshare_newuser", p_unshare_newuser, true},
	{"unshare_newns", p_unshare_newns, true},
	{"unshare_newnet", p_unshare_newnet, true},
	{"unshare_newpid", p_unshare_newpid, true},
	{"unshare_newipc", p_unshare_newipc, true},
	{"unshare_newuts", p_unshare_newuts, true},
	{"unshare_newcgroup", p_unshare_newcgroup, true},
	{"unshare_newtime", p_unshare_newtime, true},
	{"userns", p_userns, true},
	{"unshare_files", p_unshare_files, true},
	{"setns", p_setns, false},
	{"mount", p_mount, false},
	{"umount2", p_umount2, false},
	{"pivot_root", p_pivot_root, false},
	{"open_tree", p_open_tree, false},
	{"move_mount", p_move_mount, false},
	{"fsopen", p_fsopen, false},
	{"fsconfig", p_fsconfig, false},
	{"fsmount", p_fsmount, false},
	{"fspick", p_fspick, false},
	{"mount_setattr", p_mount_setattr, false},
	{"chroot", p_chroot, false},
	{"quotactl", p_quotactl, false},
	{"keyctl", p_keyctl, false},
	{"add_key", p_add_key, false},
	{"request_key", p_request_key, false},
	{"bpf", p_bpf, false},
	{"perf_event_open", p_perf_event_open, false},
	{"userfaultfd", p_userfaultfd, false},
	{"io_uring_setup", p_io_uring_setup, false},
	{"io_uring_enter", p_io_uring_enter, false},
	{"io_uring_register", p_io_uring_register, false},
	{"fanotify_init", p_fanotify_init, false},
	{"open_by_handle_at", p_open_by_handle_at, false},
	{"kexec_load", p_kexec_load, false},
	{"kexec_file_load", p_kexec_file_load, false},
	{"init_module", p_init_module, false},
	{"finit_module", p_finit_module, false},
	{"delete_module", p_delete_module, false},
	{"acct", p_acct, false},
	{"swapon", p_swapon, false},
	{"swapoff", p_swapoff, false},
	{"reboot", p_reboot, false},
	{"syslog", p_syslog, false},
	{"sethostname", p_sethostname, false},
	{"setdomainname", p_setdomainname, false},
#ifdef __x86_64__
	{"iopl", p_iopl, false},
	{"ioperm", p_ioperm, false},
#endif
	{"settimeofday", p_settimeofday, false},
	{"clock_settime", p_clock_settime, false},
	{"clock_adjtime", p_clock_adjtime, false},
	{"adjtimex", p_adjtimex, false},
	{"personality_bad", p_personality_bad, true},
	{"personality_norandom", p_personality_norandom, true},
	{"personality_0", p_personality_0, true},
	{"personality_query", p_personality_query, false},
	{"personality_linux32", p_personality_linux32, true},
	{"ptrace", p_ptrace, false},
	{"process_vm_readv", p_process_vm_readv, false},
	{"kcmp", p_kcmp, false},
	{"pidfd_getfd", p_pidfd_getfd, false},
	{"getpid", p_getpid, false},
	{"exec", p_exec, false},
	{"memfd_create", p_memfd_create, false},
	{"fchmodat2", p_fchmodat2, false},
	{"mseal", p_mseal, false},
	{"tiocsti", p_tiocsti, true},
	{"tiocsti64", p_tiocsti64, true},
	{"tioclinux", p_tioclinux, true},
	{"tioclinux64", p_tioclinux64, true},
	{"tiocgwinsz", p_tiocgwinsz, true},
#ifdef __x86_64__
	{"i386", p_i386, true},
	{"x32", p_x32, true},
#endif
	{"socket_unix", p_socket_unix, false},
	{"socket_inet", p_socket_inet, false},
	{"socket_inet6", p_socket_inet6, false},
	{"socket_inet_hi", p_socket_inet_hi, false},
	{"socket_netlink", p_socket_netlink, false},
	{"socket_packet", p_socket_packet, false},
	{"socket_vsock", p_socket_vsock, false},
	{"socketpair_unix", p_socketpair_unix, false},
};

#define N_PROBES (sizeof(probes) / sizeof(probes[0]))

static void print_errno(const char *name, int e)
{
	const char *s = e ? strerrorname_np(e) : NULL;

	if (e == 0)
		printf("%s 0\n", name);
	else if (s)
		printf("%s %s\n", name, s);
	else
		printf("%s %d\n", name, e);
}

static int run(const struct probe *p)
{
	pid_t pid;
	int status;

	if (!p->fork) {
		print_errno(p->name, p->fn());
		return 0;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(p->fn() & 0xff);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (WIFSIGNALED(status)) {
		const char *s = sigabbrev_np(WTERMSIG(status));

		printf("%s SIG%s\n", p->name, s ? s : "UNKNOWN");
	} else if (WEXITSTATUS(status) == 200) {
		printf("%s NOPTY\n", p->name);
	} else {
		print_errno(p->name, WEXITSTATUS(status));
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < N_PROBES; i++)
			printf("%s\n", probes[i].name);
		return 0;
	}
	if (argc == 1) {
		for (size_t i = 0; i < N_PROBES; i++)
			if (run(&probes[i]) < 0)
				rc = 1;
		return rc;
	}
	for (int a = 1; a < argc; a++) {
		size_t i;

		for (i = 0; i < N_PROBES; i++)
			if (strcmp(argv[a], probes[i].name) == 0)
				break;
		if (i == N_PROBES) {
			fprintf(stderr, "try-syscall: unknown probe '%s' (see --list)\n", argv[a]);
			rc = 2;
			continue;
		}
		if (run(&probes[i]) < 0)
			rc = 1;
	}
	fflush(stdout);
	return rc;
}
