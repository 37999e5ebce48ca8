/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The exec monitor's wake-up mode: the rule, the count it reads, and the kernel
 * taking the flag both ways.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/execmon.h"
#include "base/uapi/seccomp.h"
#include "tap.h"

static void test_rule(void)
{
	unsigned n = 0;

	ok(!hutch_execmon_sync_wanted(2.0, 2),
	   "2 CPUs, an exec and this thread runnable: ordinary wake-ups");
	ok(!hutch_execmon_sync_wanted(2.5, 2), "2 CPUs, 2.5 runnable: ordinary wake-ups");
	ok(hutch_execmon_sync_wanted(3.0, 2), "2 CPUs, one more task: hand-overs");
	ok(hutch_execmon_sync_wanted(4.0, 2), "2 CPUs, two more: hand-overs");
	ok(hutch_execmon_sync_wanted(2.0, 1), "1 CPU: hand-overs");
	ok(!hutch_execmon_sync_wanted(12.0, 16), "16 CPUs, 12 runnable: ordinary wake-ups");
	ok(hutch_execmon_sync_wanted(17.0, 16), "16 CPUs, 17 runnable: hand-overs");

	is_int(hutch_execmon_parse_loadavg("0.20 0.18 0.12 3/80 11206\n", &n), 0, "/proc/loadavg");
	is_int((int)n, 3, "  its tasks runnable now");
	is_int(hutch_execmon_parse_loadavg("12.01 9.84 7.40 123/4567 1\n", &n), 0, "a busier one");
	is_int((int)n, 123, "  123 runnable");
	is_int(hutch_execmon_parse_loadavg("0.20 0.18 0.12\n", &n), -EINVAL,
	       "no fourth field: refused");
	is_int(hutch_execmon_parse_loadavg("0.20 0.18 0.12 x/80 1\n", &n), -EINVAL,
	       "not a number: refused");
}

/*
 * In a child: a listener for getppid, then SECCOMP_IOCTL_NOTIF_SET_FLAGS setting
 * and clearing the flag, as a listener's thread does when the load changes.
 * Exit status: 0 both taken, 2 no listener here, 3 the flag unknown (before
 * Linux 6.6), 1 otherwise.
 */
static int child_flags(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	int fd;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 2;
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			  &prog);
	if (fd < 0)
		return 2;
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0)
		return errno == EINVAL || errno == ENOTTY ? 3 : 1;
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, 0UL) < 0)
		return 1;
	return ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0;
}

static void test_kernel_flag(void)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0)
		_exit(child_flags());
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
		diag("no seccomp listener here: the kernel side is not tested");
		ok(1, "# SKIP no seccomp listener");
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		diag("SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP unknown (Linux < 6.6): ordinary wake-ups");
		ok(1, "# SKIP no synchronous wake-ups in this kernel");
		return;
	}
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a listener takes the flag, cleared, and set again (status 0x%x)", status);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_rule();
	test_kernel_flag();
	return done_testing();
}
