/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * SECCOMP_IOCTL_NOTIF_SET_FLAGS and SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6):
 * wake a listener's supervisor on the notifying task's CPU, and the task back on
 * the supervisor's.
 *
 * Written for hutch from the kernel's include/uapi/linux/seccomp.h because Debian
 * 12's linux-libc-dev (6.1) does not have them.
 */
#pragma once

#include <linux/seccomp.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
