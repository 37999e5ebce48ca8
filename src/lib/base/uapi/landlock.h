/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Landlock user-space API, ABI versions 1 to 7.
 *
 * Written for hutch from the kernel's include/uapi/linux/landlock.h (Linux
 * 6.15, the first release with ABI 7) because Debian 12's linux-libc-dev stops
 * at ABI 2. Only constants and structure layouts are taken; they are the
 * kernel ABI and never change once released. Include this header instead of
 * <linux/landlock.h>; it defines that header's guard so a later system include
 * becomes a no-op.
 *
 * What each ABI version added:
 *   1 (5.13)  filesystem rights EXECUTE .. MAKE_SYM
 *   2 (5.19)  LANDLOCK_ACCESS_FS_REFER (reparenting: cross-directory rename/link)
 *   3 (6.2)   LANDLOCK_ACCESS_FS_TRUNCATE
 *   4 (6.7)   TCP bind/connect rights (handled_access_net, LANDLOCK_RULE_NET_PORT)
 *   5 (6.10)  LANDLOCK_ACCESS_FS_IOCTL_DEV
 *   6 (6.12)  scopes: abstract Unix sockets, signals (landlock_ruleset_attr.scoped)
 *   7 (6.15)  audit logging flags for landlock_restrict_self(); no new rights
 *             (LANDLOCK_CREATE_RULESET_ERRATA came with the same release)
 */
#ifndef HUTCH_UAPI_LINUX_LANDLOCK_H
#define HUTCH_UAPI_LINUX_LANDLOCK_H

#ifdef _LINUX_LANDLOCK_H
#error "include \"uapi/landlock.h\" before (instead of) <linux/landlock.h>"
#endif
#define _LINUX_LANDLOCK_H 1 /* make the (older) system header a no-op */

#include <linux/types.h>

/*
 * Argument of landlock_create_ruleset(). Each field is a deny-by-default set:
 * a right listed here is refused unless a rule grants it. The kernel accepts
 * a shorter structure from older programs (size argument).
 */
struct landlock_ruleset_attr {
	__u64 handled_access_fs;  /* LANDLOCK_ACCESS_FS_*  (ABI 1) */
	__u64 handled_access_net; /* LANDLOCK_ACCESS_NET_* (ABI 4) */
	__u64 scoped;		  /* LANDLOCK_SCOPE_*      (ABI 6) */
};

/* landlock_create_ruleset() flags (attr must be NULL and size 0 with these). */
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0) /* returns the highest ABI version */
#define LANDLOCK_CREATE_RULESET_ERRATA (1U << 1)  /* returns the fixed-errata bitmask */

/* landlock_restrict_self() flags (ABI 7): audit logging of denials. */
#define LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF (1U << 0)
#define LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON (1U << 1)
#define LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF (1U << 2)

/* landlock_add_rule() rule types. */
enum landlock_rule_type {
	LANDLOCK_RULE_PATH_BENEATH = 1, /* struct landlock_path_beneath_attr */
	LANDLOCK_RULE_NET_PORT,		/* struct landlock_net_port_attr (ABI 4) */
};

/* A file hierarchy (or a single file) and the rights granted beneath it. */
struct landlock_path_beneath_attr {
	__u64 allowed_access;
	__s32 parent_fd; /* preferably an O_PATH descriptor */
} __attribute__((packed));

/* A TCP port (host byte order) and the rights granted on it. */
struct landlock_net_port_attr {
	__u64 allowed_access;
	__u64 port;
};

/*
 * Filesystem rights. EXECUTE, WRITE_FILE, READ_FILE, TRUNCATE and IOCTL_DEV
 * apply to files; READ_DIR to a directory and what is beneath it; the others
 * to the content of a directory only. REFER is always denied unless granted
 * by a rule (even when not handled), so with ABI 1 reparenting always fails
 * with EXDEV. Not restrictable: chdir, stat, flock, chmod, chown, setxattr,
 * utime, fcntl, access.
 */
#define LANDLOCK_ACCESS_FS_EXECUTE (1ULL << 0)
#define LANDLOCK_ACCESS_FS_WRITE_FILE (1ULL << 1)
#define LANDLOCK_ACCESS_FS_READ_FILE (1ULL << 2)
#define LANDLOCK_ACCESS_FS_READ_DIR (1ULL << 3)
#define LANDLOCK_ACCESS_FS_REMOVE_DIR (1ULL << 4)
#define LANDLOCK_ACCESS_FS_REMOVE_FILE (1ULL << 5)
#define LANDLOCK_ACCESS_FS_MAKE_CHAR (1ULL << 6)
#define LANDLOCK_ACCESS_FS_MAKE_DIR (1ULL << 7)
#define LANDLOCK_ACCESS_FS_MAKE_REG (1ULL << 8)
#define LANDLOCK_ACCESS_FS_MAKE_SOCK (1ULL << 9)
#define LANDLOCK_ACCESS_FS_MAKE_FIFO (1ULL << 10)
#define LANDLOCK_ACCESS_FS_MAKE_BLOCK (1ULL << 11)
#define LANDLOCK_ACCESS_FS_MAKE_SYM (1ULL << 12)
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)	  /* ABI 2 */
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */

/* Network rights on TCP ports (ABI 4). */
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)

/* Scopes (ABI 6): deny reaching IPC objects created outside the domain. */
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)

#endif /* HUTCH_UAPI_LINUX_LANDLOCK_H */
