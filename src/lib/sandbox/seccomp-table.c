/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The syscall table: every call the sandbox knows about, in named groups.
 *
 * Modelled on Docker's default profile (moby profiles/seccomp/default.json)
 * for an unprivileged container; docs/seccomp.md lists where and why this
 * one differs. Rules of the table:
 *   - a call not named here fails with ENOSYS (HUTCH_SC_DEFAULT_ERRNO), so
 *     programs take their "old kernel" fallback;
 *   - calls that are deliberately denied, and that programs expect to be
 *     refused, fail with EPERM ("deny-*" groups);
 *   - calls with a dangerous argument are in the conditional table below;
 *   - each call appears once in the whole file (tests/unit/test-seccomp.c
 *     checks it).
 * Names of calls that do not exist on the build architecture are ignored by
 * libseccomp (e.g. arch_prctl outside x86), so the table stays arch-neutral.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "base/cleanup.h"
#include "sandbox/seccomp.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define CALLS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct hutch_sc_group groups[] = {
	/* Process runtime: memory, threads, identity, limits, scheduling. */
	{"base", HUTCH_SC_ALLOW, false,
	 CALLS("brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "mincore", "msync",
	       "mlock", "mlock2", "munlock", "mlockall", "munlockall", "membarrier", "memfd_create",
	       "memfd_secret", "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages",
	       "map_shadow_stack", "mseal", "futex", "futex_waitv", "futex_wake", "futex_wait",
	       "futex_requeue", "set_robust_list", "get_robust_list", "set_tid_address", "rseq",
	       "arch_prctl", "get_thread_area", "set_thread_area", "exit", "exit_group", "getpid",
	       "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getresuid",
	       "getresgid", "getgroups", "uname", "sysinfo", "getrandom", "getcpu", "getrlimit",
	       "setrlimit", "prlimit64", "getrusage", "times", "umask", "getpriority",
	       "setpriority", "ioprio_get", "ioprio_set", "sched_yield", "sched_getaffinity",
	       "sched_setaffinity", "sched_getattr", "sched_setattr", "sched_getparam",
	       "sched_setparam", "sched_getscheduler", "sched_setscheduler",
	       "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
	       "capget", "capset", "prctl",
	       /* self-restriction only ever narrows what the caller may do */
	       "seccomp", "landlock_create_ruleset", "landlock_add_rule",
	       "landlock_restrict_self")},

	/* Signals. */
	{"signal", HUTCH_SC_ALLOW, false,
	 CALLS("rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigsuspend",
	       "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "signalfd",
	       "signalfd4", "pause", "restart_syscall", "kill", "tkill", "tgkill", "pidfd_open",
	       "pidfd_send_signal")},

	/* Reading clocks, sleeping, timers. Setting clocks is in deny-clock. */
	{"time", HUTCH_SC_ALLOW, false,
	 CALLS("clock_gettime", "clock_getres", "clock_nanosleep", "gettimeofday", "time",
	       "nanosleep", "alarm", "getitimer", "setitimer", "timer_create", "timer_delete",
	       "timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create",
	       "timerfd_gettime", "timerfd_settime")},

	/* Descriptors and I/O on them. ioctl is conditional (TIOCSTI, TIOCLINUX). */
	{"io", HUTCH_SC_ALLOW, false,
	 CALLS("read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	       "preadv2", "pwritev2", "close", "close_range", "dup", "dup2", "dup3", "fcntl",
	       "lseek", "pipe", "pipe2", "sendfile", "splice", "tee", "vmsplice", "copy_file_range",
	       "eventfd", "eventfd2", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
	       "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select", "pselect6", "io_setup",
	       "io_destroy", "io_submit", "io_getevents", "io_pgetevents", "io_cancel")},

	/* Files and directories. Landlock and the mount view decide which ones. */
	{"file", HUTCH_SC_ALLOW, false,
	 CALLS("open", "openat", "stat", "fstat", "lstat", "newfstatat", "statx", "statfs",
	       "fstatfs", "access", "faccessat", "faccessat2", "getcwd", "chdir", "fchdir",
	       "readlink", "readlinkat", "fchmod", "fchown", "utime", "utimes", "utimensat",
	       "futimesat", "getdents", "getdents64", "ftruncate", "fallocate", "fadvise64",
	       "readahead", "flock", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range",
	       "cachestat", "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr",
	       "fsetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr",
	       "fremovexattr", "getxattrat", "setxattrat", "listxattrat", "removexattrat",
	       "file_getattr", "file_setattr", "inotify_init", "inotify_init1", "inotify_add_watch",
	       "inotify_rm_watch", "fanotify_mark", "name_to_handle_at")},

	/*
	 * Files and directories written by path: allowed, or notified with
	 * opts->notify_writes (audit/writemon.c counts those the sandbox refuses;
	 * each is answered "continue", the kernel decides). openat2's flags are in
	 * a struct a filter cannot read: every openat2 is notified. Changing only
	 * the times or extended attributes of a file is not notified (tar calls
	 * them for every file it extracts).
	 */
	{"file-write", HUTCH_SC_ALLOW, HUTCH_SC_ON_WRITES,
	 CALLS("openat2", "creat", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename",
	       "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "mknod",
	       "mknodat", "truncate", "chmod", "fchmodat", "fchmodat2", "chown", "lchown",
	       "fchownat")},

	/* Processes. clone and unshare are conditional (no CLONE_NEW*). */
	{"process", HUTCH_SC_ALLOW, false,
	 CALLS("fork", "vfork", "wait4", "waitid", "setsid", "setpgid", "getpgid", "getpgrp",
	       "getsid", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
	       "setfsuid", "setfsgid", "setgroups", "process_mrelease")},

	/* Program execution: notified to the supervisor with opts->notify_exec. */
	{"exec", HUTCH_SC_ALLOW, HUTCH_SC_ON_EXEC, CALLS("execve", "execveat")},

	/*
	 * Debugging. The PID namespace only shows the sandbox's own processes,
	 * Landlock scopes ptrace to the same domain, and hutch's helpers inside
	 * are non-dumpable, so debuggers and strace work on the workload only.
	 */
	{"debug", HUTCH_SC_ALLOW, false, CALLS("ptrace", "process_vm_readv", "process_vm_writev")},

	/* Sockets. socket and socketpair are conditional (address family). */
	{"network", HUTCH_SC_ALLOW, false,
	 CALLS("connect", "bind", "listen", "accept", "accept4", "getsockname", "getpeername",
	       "getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
	       "recvmmsg", "shutdown")},

	/* System V and POSIX IPC, private to the sandbox's IPC namespace. */
	{"ipc", HUTCH_SC_ALLOW, false,
	 CALLS("msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop", "semctl",
	       "shmget", "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink", "mq_timedsend",
	       "mq_timedreceive", "mq_notify", "mq_getsetattr")},

	/* Mounting and changing the root: the mount view is built before the filter. */
	{"deny-mount", EPERM, false,
	 CALLS("mount", "umount2", "pivot_root", "open_tree", "open_tree_attr", "move_mount",
	       "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "chroot", "quotactl",
	       "quotactl_fd")},

	/* Joining namespaces (creating them: clone/unshare flags below). */
	{"deny-namespace", EPERM, false, CALLS("setns")},

	/* The kernel keyring is not namespaced: keys would be shared with the host user. */
	{"deny-keys", EPERM, false, CALLS("keyctl", "add_key", "request_key")},

	/* Large kernel attack surface with no place in a coding sandbox. */
	{"deny-kernel", EPERM, false,
	 CALLS("bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
	       "io_uring_register", "open_by_handle_at", "fanotify_init", "lookup_dcookie")},

	/* Whole-machine administration. */
	{"deny-system", EPERM, false,
	 CALLS("kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	       "acct", "swapon", "swapoff", "reboot", "syslog", "sethostname", "setdomainname",
	       "iopl", "ioperm", "vhangup")},

	/* Setting clocks (adjtimex and clock_adjtime can set, their struct can't be checked). */
	{"deny-clock", EPERM, false,
	 CALLS("settimeofday", "clock_settime", "clock_adjtime", "adjtimex")},

	/* clone3 passes its flags in memory a filter cannot read: glibc falls back to clone. */
	{"enosys", ENOSYS, false, CALLS("clone3")},
};

/* An open that may write: what the kernel needs a writable mount for (O_TMPFILE has O_RDWR). */
#define OPEN_WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)

#define NS_FLAGS                                                                                   \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET)

static const struct hutch_sc_cond conds[] = {
	/* clone(2) with any namespace flag; the flags are argument 1 on s390. */
	{.name = "clone",
	 .group = "process",
	 .kind = HUTCH_SC_FLAGS,
	 .when = HUTCH_SC_ALWAYS,
	 .arg = 0,
	 .arg_s390 = 1,
	 .flags = NS_FLAGS,
	 .errnum = EPERM},
	/* unshare(2) of anything but namespaces (CLONE_FILES, CLONE_FS...) is fine. */
	{.name = "unshare",
	 .group = "process",
	 .kind = HUTCH_SC_FLAGS,
	 .when = HUTCH_SC_ALWAYS,
	 .arg = 0,
	 .arg_s390 = 0,
	 .flags = NS_FLAGS | CLONE_NEWTIME,
	 .errnum = EPERM},
	/*
	 * Pushing input into a terminal (TIOCSTI) and the VT's selection paste
	 * (TIOCLINUX) would let the sandbox type commands into the user's shell.
	 * The request is an unsigned int to the kernel: only its low 32 bits count.
	 */
	{.name = "ioctl",
	 .group = "io",
	 .kind = HUTCH_SC_VALUES,
	 .when = HUTCH_SC_ALWAYS,
	 .arg = 1,
	 .arg_s390 = 1,
	 .errnum = HUTCH_SC_ALLOW,
	 .nvalues = 2,
	 .values = {{TIOCSTI, EPERM}, {TIOCLINUX, EPERM}}},
	/*
	 * Docker's harmless personalities: Linux, 32-bit uname, 2.6 uname, and the
	 * query; compared as whole 64-bit values, as Docker does.
	 */
	{.name = "personality",
	 .group = "base",
	 .kind = HUTCH_SC_VALUES,
	 .width = 32,
	 .when = HUTCH_SC_ALWAYS,
	 .arg = 0,
	 .arg_s390 = 0,
	 .errnum = EPERM,
	 .nvalues = 5,
	 .values = {{0x0000, HUTCH_SC_ALLOW},
		    {0x0008, HUTCH_SC_ALLOW},
		    {0x20000, HUTCH_SC_ALLOW},
		    {0x20008, HUTCH_SC_ALLOW},
		    {0xffffffff, HUTCH_SC_ALLOW}}},
	/*
	 * Address families: the everyday ones; AF_VSOCK, AF_TIPC, AF_PACKET... are
	 * not. Families are below 64 (AF_MAX is 46): a value with anything in its
	 * upper bits is refused rather than truncated by the kernel.
	 */
	{.name = "socket",
	 .group = "network",
	 .kind = HUTCH_SC_VALUES,
	 .width = 6,
	 .when = HUTCH_SC_INET,
	 .arg = 0,
	 .arg_s390 = 0,
	 .errnum = EAFNOSUPPORT,
	 .nvalues = 4,
	 .values = {{AF_UNIX, HUTCH_SC_ALLOW},
		    {AF_INET, HUTCH_SC_ALLOW},
		    {AF_INET6, HUTCH_SC_ALLOW},
		    {AF_NETLINK, HUTCH_SC_ALLOW}}},
	/* Degraded mode without a network namespace: no IP sockets at all. */
	{.name = "socket",
	 .group = "network",
	 .kind = HUTCH_SC_VALUES,
	 .width = 6,
	 .when = HUTCH_SC_NO_INET,
	 .arg = 0,
	 .arg_s390 = 0,
	 .errnum = EAFNOSUPPORT,
	 .nvalues = 4,
	 .values = {{AF_UNIX, HUTCH_SC_ALLOW},
		    {AF_INET, EACCES},
		    {AF_INET6, EACCES},
		    {AF_NETLINK, HUTCH_SC_ALLOW}}},
	/*
	 * With opts->notify_writes, an open with a write flag goes to the
	 * supervisor; a read-only open never stops (group "file" otherwise).
	 */
	{.name = "open",
	 .group = "file",
	 .kind = HUTCH_SC_FLAGS,
	 .when = HUTCH_SC_WRITES,
	 .arg = 1,
	 .arg_s390 = 1,
	 .flags = OPEN_WRITE_FLAGS,
	 .errnum = HUTCH_SC_NOTIFY},
	{.name = "openat",
	 .group = "file",
	 .kind = HUTCH_SC_FLAGS,
	 .when = HUTCH_SC_WRITES,
	 .arg = 2,
	 .arg_s390 = 2,
	 .flags = OPEN_WRITE_FLAGS,
	 .errnum = HUTCH_SC_NOTIFY},
	/* socketpair: Unix only (AF_TIPC pairs exist too). */
	{.name = "socketpair",
	 .group = "network",
	 .kind = HUTCH_SC_VALUES,
	 .width = 6,
	 .when = HUTCH_SC_ALWAYS,
	 .arg = 0,
	 .arg_s390 = 0,
	 .errnum = EAFNOSUPPORT,
	 .nvalues = 1,
	 .values = {{AF_UNIX, HUTCH_SC_ALLOW}}},
};

/*
 * Calls added after libseccomp 2.5 shipped. Since Linux 5.1 new calls get the
 * same number on every architecture libseccomp supports except MIPS (which
 * adds its ABI offset), so these numbers are used only when libseccomp does
 * not know the name and the native architecture is not MIPS.
 */
static const struct hutch_sc_generic generic_nrs[] = {
	{"cachestat", 451},    {"fchmodat2", 452},     {"map_shadow_stack", 453},
	{"futex_wake", 454},   {"futex_wait", 455},    {"futex_requeue", 456},
	{"mseal", 462},	       {"setxattrat", 463},    {"getxattrat", 464},
	{"listxattrat", 465},  {"removexattrat", 466}, {"open_tree_attr", 467},
	{"file_getattr", 468}, {"file_setattr", 469},
};

const struct hutch_sc_group *hutch_seccomp_groups(size_t *n)
{
	*n = ARRAY_SIZE(groups);
	return groups;
}

const struct hutch_sc_cond *hutch_seccomp_conds(size_t *n)
{
	*n = ARRAY_SIZE(conds);
	return conds;
}

const struct hutch_sc_generic *hutch_seccomp_generic_nrs(size_t *n)
{
	*n = ARRAY_SIZE(generic_nrs);
	return generic_nrs;
}
