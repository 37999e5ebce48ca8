/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * PIDFD_GET_INFO (Linux 6.13): a process's ids from its pidfd, without a
 * lookup in /proc.
 *
 * Written for hutch from the kernel's include/uapi/linux/pidfd.h because
 * Debian 12's linux-libc-dev (6.1) does not have it. Only the first version
 * of the structure (PIDFD_INFO_SIZE_VER0, 64 bytes) is declared: the kernel
 * takes the size from the ioctl number and fills what both sides know.
 */
#pragma once

#include <linux/ioctl.h>
#include <linux/types.h>

struct hutch_pidfd_info {
	__u64 mask;
	__u64 cgroupid;
	__u32 pid;
	__u32 tgid;
	__u32 ppid;
	__u32 ruid;
	__u32 rgid;
	__u32 euid;
	__u32 egid;
	__u32 suid;
	__u32 sgid;
	__u32 fsuid;
	__u32 fsgid;
	__s32 exit_code; /* with PIDFD_INFO_EXIT (Linux 6.15): spare before */
};

#define HUTCH_PIDFD_INFO_PID (1ULL << 0)
#define HUTCH_PIDFD_INFO_CREDS (1ULL << 1)
#define HUTCH_PIDFD_INFO_EXIT (1ULL << 3) /* the wait status of a reaped process */
#define HUTCH_PIDFD_GET_INFO _IOWR(0xFF, 11, struct hutch_pidfd_info)
