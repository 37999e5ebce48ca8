/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The container's daemon (netd.c) once it is set up (docs/oci.md, "What the daemon keeps").
 * Everything that needed root is done by then: the container's network namespace entered
 * and left, its sockets made and its nftables rules loaded, the audit file opened, the
 * control socket bound, the pid file written. What it does from then on is serve
 * descriptors it holds: accept on its listeners, connect out from the host's network
 * namespace, write to the audit file, receive the inits' seccomp listeners. So it
 *
 *   - becomes nobody (uid and gid 65534, no supplementary group): root, even without a
 *     capability, owns most of the host's files (/etc/passwd is root's, mode 0644);
 *   - keeps no capability, or with the audit of execs the three the exec monitor
 *     (audit/execmon.c) needs for processes of any user in the container: CAP_SYS_PTRACE
 *     (process_vm_readv of the exec's arguments, /proc/PID/root, cwd and fd), and
 *     CAP_DAC_READ_SEARCH (the exec's file looked up in the container's root as the
 *     kernel will: a directory nobody cannot search must not make an exec look refused),
 *     CAP_KILL (the container is killed when its audit log cannot go on). The bounding set
 *     holds the same, no ambient or inheritable capability is left;
 *   - sets no_new_privs and is not dumpable;
 *   - loads a seccomp filter that refuses what none of this needs, above all what those
 *     capabilities would otherwise allow beyond reading: ptrace, process_vm_writev,
 *     pidfd_getfd, open_by_handle_at, opening a file for writing, a signal to another
 *     process than the container's (its pidfd), execve, mounts and namespaces, io_uring.
 *
 * Descriptors: the daemon closed every inherited one when it started; the bundle's
 * directory is closed here. The result is checked (fail closed): the container does not
 * start with a daemon that kept more.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/error.h"
#include "base/file.h"
#include "oci/oci-int.h"

#define NOBODY_ID 65534 /* Debian's nobody and nogroup, the kernel's overflow ids */

/* What no daemon needs: refused with EPERM. Names a kernel or libseccomp lacks are skipped. */
static const char *const denied[] = {
	"ptrace",
	"process_vm_writev",
	"pidfd_getfd",
	"open_by_handle_at",
	"name_to_handle_at",
	"execve",
	"execveat",
	"kill",
	"tkill",
	"rt_sigqueueinfo",
	/* mounts, namespaces, the kernel's own */
	"mount",
	"umount2",
	"move_mount",
	"fsopen",
	"fsmount",
	"fsconfig",
	"fspick",
	"open_tree",
	"mount_setattr",
	"pivot_root",
	"chroot",
	"setns",
	"unshare",
	"bpf",
	"perf_event_open",
	"kexec_load",
	"kexec_file_load",
	"init_module",
	"finit_module",
	"delete_module",
	"reboot",
	"swapon",
	"swapoff",
	"acct",
	"quotactl",
	"quotactl_fd",
	"settimeofday",
	"clock_settime",
	"clock_adjtime",
	"adjtimex",
	"sethostname",
	"setdomainname",
	"iopl",
	"ioperm",
	"syslog",
	"userfaultfd",
	"keyctl",
	"add_key",
	"request_key",
	"personality",
	"fanotify_init",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	/* identities */
	"setuid",
	"setgid",
	"setreuid",
	"setregid",
	"setresuid",
	"setresgid",
	"setgroups",
	"setfsuid",
	"setfsgid",
	"capset",
	/* changing files */
	"creat",
	"mknod",
	"mknodat",
	"chown",
	"fchown",
	"lchown",
	"fchownat",
	"chmod",
	"fchmod",
	"fchmodat",
	"fchmodat2",
	"link",
	"linkat",
	"symlink",
	"symlinkat",
	"rename",
	"renameat",
	"renameat2",
	"unlink",
	"unlinkat",
	"rmdir",
	"mkdir",
	"mkdirat",
	"truncate",
};

/* open and openat with one of these flags: a file opened to be changed (EACCES). */
static const int write_flags[] = {O_WRONLY, O_RDWR, O_CREAT, O_TRUNC};

static int rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
		const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0;
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

static int load_filter(int pidfd, hutch_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
	int r = ctx ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < sizeof(denied) / sizeof(denied[0]); i++)
		r = rule(ctx, eperm, denied[i], 0, NULL);
	for (size_t i = 0; r == 0 && i < sizeof(write_flags) / sizeof(write_flags[0]); i++) {
		struct scmp_arg_cmp a1 = SCMP_A1(SCMP_CMP_MASKED_EQ, (scmp_datum_t)write_flags[i],
						 (scmp_datum_t)write_flags[i]);
		struct scmp_arg_cmp a2 = SCMP_A2(SCMP_CMP_MASKED_EQ, (scmp_datum_t)write_flags[i],
						 (scmp_datum_t)write_flags[i]);

		r = rule(ctx, SCMP_ACT_ERRNO(EACCES), "open", 1, &a1);
		if (r == 0)
			r = rule(ctx, SCMP_ACT_ERRNO(EACCES), "openat", 1, &a2);
	}
	if (r == 0) {
		/* signals: to its own threads, and to the container's process through its pidfd */
		struct scmp_arg_cmp self = SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)getpid());
		struct scmp_arg_cmp other[2] = {SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)pidfd),
						SCMP_A1(SCMP_CMP_NE, 0)};

		r = rule(ctx, eperm, "tgkill", 1, &self);
		if (r == 0)
			r = rule(ctx, eperm, "rt_tgsigqueueinfo", 1, &self);
		/* signal 0 (is it alive?) to any pidfd, as the exec monitor asks */
		if (r == 0)
			r = rule(ctx, eperm, "pidfd_send_signal", 2, other);
	}
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r < 0 ? hutch_err(err, -r, "the daemon's seccomp filter") : 0;
}

static int last_cap(void)
{
	char buf[16];
	ssize_t n = hutch_read_small_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", buf,
					sizeof(buf) - 1);

	if (n <= 0)
		return 40; /* CAP_CHECKPOINT_RESTORE, Linux 5.9 */
	buf[n] = '\0';
	return atoi(buf);
}

static int set_caps(uint64_t keep, hutch_error *err)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct c[2];

	memset(c, 0, sizeof(c));
	c[0].effective = c[0].permitted = (uint32_t)keep;
	c[1].effective = c[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &h, c) < 0)
		return hutch_err(err, errno, "the daemon's capabilities");
	return 0;
}

/* The capabilities in effect and permitted, as the kernel now has them. */
static int get_caps(uint64_t *eff, uint64_t *prm)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct c[2];

	if (syscall(SYS_capget, &h, c) < 0)
		return -errno;
	*eff = c[0].effective | (uint64_t)c[1].effective << 32;
	*prm = c[0].permitted | (uint64_t)c[1].permitted << 32 | c[0].inheritable |
	       (uint64_t)c[1].inheritable << 32;
	return 0;
}

/* One thread: capset and prctl apply per thread (setresuid is made process-wide by libc). */
static bool single_threaded(void)
{
	char buf[4096], *p;
	ssize_t n = hutch_read_small_at(AT_FDCWD, "/proc/self/status", buf, sizeof(buf) - 1);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strstr(buf, "\nThreads:");
	return p && atoi(p + 9) == 1;
}

static int drop_identity(uint64_t keep, hutch_error *err)
{
	int last = last_cap();

	if (!single_threaded())
		return hutch_errx(err, EBUSY,
				  "the daemon has threads before dropping its privileges");
	if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hutch_err(err, errno, "PR_SET_KEEPCAPS");
	for (int cap = 0; cap <= last && cap < 64; cap++)
		if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return hutch_err(err, errno, "dropping capability %d from the bounding set",
					 cap);
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY_ID, NOBODY_ID, NOBODY_ID) < 0 ||
	    setresuid(NOBODY_ID, NOBODY_ID, NOBODY_ID) < 0)
		return hutch_err(err, errno, "becoming nobody (%d)", NOBODY_ID);
	if (set_caps(keep, err) < 0)
		return -EPERM;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return hutch_err(err, errno, "the daemon's process attributes");
	return 0;
}

/* Checked afterwards: what the kernel says, not what was asked. */
static int check(uint64_t keep, hutch_error *err)
{
	uid_t u[3];
	gid_t g[3];
	uint64_t eff = 0, prm = 0;

	if (getresuid(&u[0], &u[1], &u[2]) < 0 || getresgid(&g[0], &g[1], &g[2]) < 0 ||
	    get_caps(&eff, &prm) < 0)
		return hutch_err(err, errno, "the daemon's identity");
	for (int i = 0; i < 3; i++)
		if (u[i] != NOBODY_ID || g[i] != NOBODY_ID)
			return hutch_errx(err, EPERM, "the daemon is still uid %d gid %d",
					  (int)u[i], (int)g[i]);
	if (eff != keep || prm != keep || getgroups(0, NULL) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return hutch_errx(err, EPERM, "the daemon kept capabilities (%#llx)",
				  (unsigned long long)prm);
	return 0;
}

int hutch_oci_netd_confine(bool audit, int pidfd, hutch_error *err)
{
	uint64_t keep = audit ? (1ULL << CAP_SYS_PTRACE) | (1ULL << CAP_DAC_READ_SEARCH) |
					(1ULL << CAP_KILL)
			      : 0;
	int r = drop_identity(keep, err);

	if (r == 0)
		r = check(keep, err);
	if (r == 0)
		r = load_filter(pidfd, err);
	return r;
}
