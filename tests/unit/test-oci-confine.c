/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hutch_oci_netd_confine() (src/lib/oci/confine.c), in a child of the test as root: it is
 * nobody with the capabilities asked for, and its seccomp filter refuses what DAC alone
 * would let nobody do (create a file in /tmp, signal itself with kill, execve), while
 * what serving needs still works (a socket, a signal to its own thread, signal 0 to a
 * pidfd). Skipped when not root: only root can become nobody.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci/oci-int.h"
#include "tap.h"

/* What the confined child saw, filled in shared order through a pipe. */
struct seen {
	int confine, uid, gid;
	unsigned long long eff;
	int open_errno, mkdir_errno, kill_errno, exec_errno, socket_ok, tgkill_ok, pidfd0_ok,
		pidfd_kill_errno;
};

static void child(int out, bool audit)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct c[2] = {{0}};
	struct seen s = {0};
	hutch_error err = {0};
	int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
	int other = (int)syscall(SYS_pidfd_open, getppid(), 0);
	char *argv[] = {(char *)"/bin/true", NULL};
	int fd;

	s.confine = hutch_oci_netd_confine(audit, self, &err);
	s.uid = (int)getuid();
	s.gid = (int)getgid();
	if (syscall(SYS_capget, &h, c) == 0)
		s.eff = c[0].effective | (unsigned long long)c[1].effective << 32;
	fd = open("/tmp/hutch-test-oci-confine", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	s.open_errno = fd < 0 ? errno : 0;
	if (fd >= 0)
		unlink("/tmp/hutch-test-oci-confine");
	s.mkdir_errno = mkdir("/tmp/hutch-test-oci-confine.d", 0700) < 0 ? errno : 0;
	if (!s.mkdir_errno)
		rmdir("/tmp/hutch-test-oci-confine.d");
	s.kill_errno = kill(getpid(), 0) < 0 ? errno : 0;
	execve(argv[0], argv, NULL);
	s.exec_errno = errno;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	s.socket_ok = fd >= 0;
	s.tgkill_ok = syscall(SYS_tgkill, getpid(), gettid(), 0) == 0;
	s.pidfd0_ok = syscall(SYS_pidfd_send_signal, other, 0, NULL, 0) == 0;
	s.pidfd_kill_errno =
		syscall(SYS_pidfd_send_signal, other, SIGCONT, NULL, 0) < 0 ? errno : 0;
	if (write(out, &s, sizeof(s)) != (ssize_t)sizeof(s))
		_exit(2);
	_exit(0);
}

static int run(bool audit, struct seen *s)
{
	int p[2], st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(p[1], audit);
	}
	close(p[1]);
	memset(s, 0, sizeof(*s));
	if (read(p[0], s, sizeof(*s)) != (ssize_t)sizeof(*s))
		s->confine = -999;
	close(p[0]);
	waitpid(pid, &st, 0);
	return 0;
}

int main(void)
{
	struct seen s;

	if (geteuid() != 0) {
		printf("1..0 # SKIP only root can become nobody\n");
		return 0;
	}
	run(false, &s);
	is_int(s.confine, 0, "confined (no audit)");
	is_int(s.uid, 65534, "  nobody");
	is_int(s.gid, 65534, "  nogroup");
	ok(s.eff == 0, "  no capability (%#llx)", s.eff);
	is_int(s.open_errno, EACCES, "  a file cannot be created, even in /tmp (seccomp)");
	is_int(s.mkdir_errno, EPERM, "  nor a directory");
	is_int(s.kill_errno, EPERM, "  kill() is refused, even to itself");
	is_int(s.exec_errno, EPERM, "  execve is refused");
	ok(s.socket_ok, "  a socket can be made (the proxy connects out)");
	ok(s.tgkill_ok, "  its own threads can be signalled");

	run(true, &s);
	is_int(s.confine, 0, "confined (audit of execs)");
	is_int(s.uid, 65534, "  nobody");
	ok(s.eff == ((1ULL << CAP_SYS_PTRACE) | (1ULL << CAP_DAC_READ_SEARCH) | (1ULL << CAP_KILL)),
	   "  CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_KILL alone (%#llx)", s.eff);
	is_int(s.open_errno, EACCES, "  still no file opened for writing");
	/* with CAP_KILL, the kernel would let these pass: the filter decides */
	ok(s.pidfd0_ok, "  signal 0 through any pidfd (the exec monitor's liveness check)");
	is_int(s.pidfd_kill_errno, EPERM,
	       "  a real signal only through the container's pidfd, despite CAP_KILL");
	is_int(s.kill_errno, EPERM, "  kill() refused despite CAP_KILL");
	return done_testing();
}
