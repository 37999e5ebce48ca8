/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proc-attack OP PID [ARG] ...: attack another process the ways a hostile
 * sandbox would, and print "OP RESULT" per attack (0 = it worked, else the
 * errno's name). Arguments come in groups: OP PID, plus ARG for the ops
 * that take one.
 *
 *   ptrace-attach PID      PTRACE_ATTACH (detached again at once on success)
 *   ptrace-seize PID       PTRACE_SEIZE
 *   vm-read PID            process_vm_readv of one byte at PID's stack
 *                          address as seen in this process (permission is
 *                          checked first: EPERM; granted but unmapped: EFAULT)
 *   vm-write PID           process_vm_writev, same address
 *   pidfd-getfd PID FD     pidfd_open + pidfd_getfd: steal descriptor FD
 *   pidfd-signal PID SIG   pidfd_open + pidfd_send_signal (SIG 0 = probe)
 *   kill PID SIG           kill(2)
 *   read PID FILE          read /proc/PID/FILE (environ, mem, cmdline, ...)
 *   write-mem PID          open /proc/PID/mem for writing
 *   ptrace-child 0         control: fork a child and PTRACE_ATTACH it (same
 *                          sandbox, same uid: expected to work)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "UNKNOWN";
}

static void report(const char *op, int e)
{
	printf("%s %s\n", op, e ? errname(e) : "0");
	fflush(stdout);
}

static int do_ptrace(pid_t pid, int seize)
{
	long r = seize ? ptrace(PTRACE_SEIZE, pid, NULL, NULL)
		       : ptrace(PTRACE_ATTACH, pid, NULL, NULL);

	if (r < 0)
		return errno;
	if (!seize)
		waitpid(pid, NULL, __WALL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return 0;
}

static int do_vm(pid_t pid, int write)
{
	char local = 'x';
	struct iovec l = {&local, 1}, r = {&local, 1};
	ssize_t n = write ? process_vm_writev(pid, &l, 1, &r, 1, 0)
			  : process_vm_readv(pid, &l, 1, &r, 1, 0);

	return n < 0 ? errno : 0;
}

static int pidfd(pid_t pid)
{
	return (int)syscall(__NR_pidfd_open, pid, 0);
}

static int do_getfd(pid_t pid, int target)
{
	int p = pidfd(pid), fd;

	if (p < 0)
		return errno;
	fd = (int)syscall(__NR_pidfd_getfd, p, target, 0);
	if (fd < 0) {
		int e = errno;
		close(p);
		return e;
	}
	close(fd);
	close(p);
	return 0;
}

static int do_pidfd_signal(pid_t pid, int sig)
{
	int p = pidfd(pid), r;

	if (p < 0)
		return errno;
	r = (int)syscall(__NR_pidfd_send_signal, p, sig, NULL, 0);
	r = r < 0 ? errno : 0;
	close(p);
	return r;
}

static int do_read(pid_t pid, const char *file)
{
	char path[256], buf[64];
	int fd, e;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	e = read(fd, buf, sizeof(buf)) < 0 ? errno : 0;
	close(fd);
	return e;
}

static int do_write_mem(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int ptrace_child(void)
{
	pid_t c = fork();
	int e;

	if (c < 0)
		return errno;
	if (c == 0) {
		pause();
		_exit(0);
	}
	e = do_ptrace(c, 0);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	return e;
}

int main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *op = argv[i];
		pid_t pid = (pid_t)atoi(argv[i + 1]);
		const char *arg = i + 2 < argc ? argv[i + 2] : "0";

		if (!strcmp(op, "ptrace-attach")) {
			report(op, do_ptrace(pid, 0));
		} else if (!strcmp(op, "ptrace-seize")) {
			report(op, do_ptrace(pid, 1));
		} else if (!strcmp(op, "vm-read")) {
			report(op, do_vm(pid, 0));
		} else if (!strcmp(op, "vm-write")) {
			report(op, do_vm(pid, 1));
		} else if (!strcmp(op, "pidfd-getfd")) {
			report(op, do_getfd(pid, atoi(arg)));
			i++;
		} else if (!strcmp(op, "pidfd-signal")) {
			report(op, do_pidfd_signal(pid, atoi(arg)));
			i++;
		} else if (!strcmp(op, "kill")) {
			report(op, kill(pid, atoi(arg)) < 0 ? errno : 0);
			i++;
		} else if (!strcmp(op, "read")) {
			char name[128];
			snprintf(name, sizeof(name), "read-%s", arg);
			report(name, do_read(pid, arg));
			i++;
		} else if (!strcmp(op, "write-mem")) {
			report(op, do_write_mem(pid));
		} else if (!strcmp(op, "ptrace-child")) {
			report(op, ptrace_child());
		} else {
			fprintf(stderr, "proc-attack: unknown op '%s'\n", op);
			return 2;
		}
	}
	return 0;
}
