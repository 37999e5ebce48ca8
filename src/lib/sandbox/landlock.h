/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Landlock: filesystem rights and IPC scoping, independent of the mount view. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hutch.h"

/* The highest Landlock ABI hutch knows; the ABI in force is min(kernel, this). */
#define HUTCH_LANDLOCK_ABI_MAX 7

/* Hard limits: every list has a bound (HACKING.md, conventions). */
#define HUTCH_LANDLOCK_MAX_PATHS 4096  /* entries per spec list */
#define HUTCH_LANDLOCK_MAX_RULES 65536 /* rules in one hide plan */

/* Rights granted to read_exec paths (LANDLOCK_ACCESS_FS_EXECUTE|READ_FILE|READ_DIR). */
#define HUTCH_LANDLOCK_READ_EXEC ((uint64_t)((1ULL << 0) | (1ULL << 2) | (1ULL << 3)))
/* Every filesystem right up to HUTCH_LANDLOCK_ABI_MAX (what writable paths get). */
#define HUTCH_LANDLOCK_FS_ALL ((uint64_t)((1ULL << 16) - 1))

struct hutch_landlock_spec {
	const char *const *read_exec; /* read + execute (directories or files) */
	size_t n_read_exec;
	const char *const *writable; /* every filesystem right (directories or files) */
	size_t n_writable;
	/* Device trees (the sandbox's own /dev): read, write and ioctl on what is there; nothing
	 * made or removed. */
	const char *const *devices;
	size_t n_devices;
	bool scope_ipc; /* ABI >= 6: abstract Unix sockets and signals scoped to the sandbox */
	bool deny_tcp;	/* ABI >= 4: no TCP bind/connect at all (degraded --net none) */

	/*
	 * Degraded mode (no mount namespace). hidden: paths that must be
	 * neither readable nor writable; protect: paths kept read-only (read
	 * and execute at most) even beneath writable roots. Both may not exist
	 * yet, and are resolved (symlinks) as far as they exist. Rights on a
	 * root containing such a path are given to the entries along the way
	 * instead of the root itself (see hutch_landlock_plan).
	 */
	const char *const *hidden;
	size_t n_hidden;
	const char *const *protect;
	size_t n_protect;
	/* With hidden paths: still allow listing (READ_DIR) their ancestors. */
	bool hide_list_ancestors;

	/*
	 * Also allow reopening the regular files and devices behind fds 0-2
	 * with the rights their open mode already gives (so that
	 * open("/dev/stdout") works when stdout is redirected to a file
	 * outside the writable roots).
	 */
	bool stdio;
};

struct hutch_landlock_report {
	int abi;	      /* ABI in force (min of kernel and what hutch knows) */
	uint64_t handled_fs;  /* LANDLOCK_ACCESS_FS_* handled */
	uint64_t handled_net; /* LANDLOCK_ACCESS_NET_* handled */
	uint64_t scoped;      /* LANDLOCK_SCOPE_* */
	int kernel_abi;	      /* what the kernel offers (may exceed abi) */
	size_t n_rules;	      /* path rules added */
	size_t n_skipped;     /* paths skipped because missing */
};

/* Kernel's Landlock ABI version, or a negative errno (-EOPNOTSUPP: disabled at boot). */
int hutch_landlock_abi(void);

/* Restrict the calling thread. Missing paths in the spec are skipped. */
int hutch_landlock_apply(const struct hutch_landlock_spec *spec, struct hutch_landlock_report *rep,
			 hutch_error *err);

/*
 * A spec without hidden or protected paths, prepared once: the ABI probed, each path
 * opened (O_PATH, kept open) and its rights masked. hutch_landlock_apply_prepared()
 * then makes and enforces a ruleset from it in a few system calls (one per rule, the
 * stdio rules, create and restrict), for each command of a named session. The rules
 * follow the files opened at preparation (a path made later gets no rule).
 *
 * hutch_landlock_prepared_ruleset() instead makes that ruleset in the caller (a named
 * session's init) for a command's stdio @fds; the command then only enforces it
 * (hutch_landlock_enforce_prepared()). With no regular file among @fds (pipes,
 * sockets, devices such as /dev/null), the ruleset is kept for the next command with
 * the same stdio (the same devices, open the same way): *kept, the prepared object's,
 * not closed by the caller. A regular file's is not kept (its rule would hold the
 * file, and the space of a deleted one, for as long): the caller closes it.
 */
#define HUTCH_LANDLOCK_CACHED 4

struct hutch_landlock_stdio_key {
	uint64_t access; /* 0: no rule (not a file or device, or not open) */
	uint64_t dev, ino;
};

struct hutch_landlock_cached {
	struct hutch_landlock_stdio_key key[3];
	int fd; /* -1: free */
	uint64_t used;
};

struct hutch_landlock_prepared {
	int abi, kernel_abi;
	uint64_t handled_fs, handled_net, scoped;
	bool stdio;
	size_t n, n_skipped;
	int *fd;
	uint64_t *access;
	struct hutch_landlock_cached cache[HUTCH_LANDLOCK_CACHED];
	uint64_t tick;
};

int hutch_landlock_prepare(const struct hutch_landlock_spec *spec,
			   struct hutch_landlock_prepared **out, hutch_error *err);
int hutch_landlock_apply_prepared(const struct hutch_landlock_prepared *p,
				  struct hutch_landlock_report *rep, hutch_error *err);
int hutch_landlock_prepared_ruleset(struct hutch_landlock_prepared *p, const int fds[3], bool *kept,
				    hutch_error *err);
int hutch_landlock_enforce_prepared(const struct hutch_landlock_prepared *p, int ruleset_fd,
				    struct hutch_landlock_report *rep, hutch_error *err);
void hutch_landlock_prepared_free(struct hutch_landlock_prepared *p);

/* Filesystem / network / scope masks an ABI version knows (0 for an unknown version). */
uint64_t hutch_landlock_fs_mask(int abi);
uint64_t hutch_landlock_net_mask(int abi);
uint64_t hutch_landlock_scope_mask(int abi);

/*
 * Describe what @rep enforces, for `hutch check` and the audit start event:
 * "abi 7; fs: execute,write_file,...; net: bind_tcp,connect_tcp; scope: signal,...".
 * Always NUL-terminates @buf (truncating if needed) and returns it.
 */
const char *hutch_landlock_describe(const struct hutch_landlock_report *rep, char *buf, size_t len);

/* ---- hidden and protected paths without a mount namespace ---------------------------------- */

/* Called by a lister for each entry of a directory (never "." or ".."). */
typedef int (*hutch_landlock_entry_fn)(void *ctx, const char *name, bool is_symlink);

/*
 * Lists the directory @dir, calling @each for every entry. Returns 0, or a
 * negative errno: -ENOENT (missing), -ENOTDIR (not a directory), -EACCES and
 * -EPERM (not listable) are expected and mean nothing more is granted
 * beneath @dir; any other error, or a negative value returned by @each,
 * stops the plan.
 */
typedef int (*hutch_landlock_lister_fn)(void *userdata, const char *dir,
					hutch_landlock_entry_fn each, void *ctx);

struct hutch_landlock_root {
	const char *path; /* absolute, normalised */
	uint64_t access;  /* LANDLOCK_ACCESS_FS_* (directory semantics) */
};

/* At and beneath @path, no more than @max (0: hidden; read+execute: protected). */
struct hutch_landlock_limit {
	const char *path; /* absolute, normalised */
	uint64_t max;
};

struct hutch_landlock_rule {
	char *path;
	uint64_t access; /* masked to file rights when @path is not a directory */
};

struct hutch_landlock_plan {
	struct hutch_landlock_rule *rules;
	size_t n, cap;
};

/*
 * Plan rules that give each root its rights everywhere, except that at and
 * beneath each limit's path no more than the limit's rights are granted.
 * Landlock only grants, and a rule on a directory covers everything beneath
 * it, so a directory with a limit beneath it only gets what every limit
 * beneath it leaves (nothing if a hidden path is beneath it), and each of its
 * entries gets the rights it may have, recursively, down to the limits.
 * Symbolic links among the entries get no rule (their targets are covered
 * where they really live). Deny beats allow: a root at or beneath a limit is
 * cut down to it. Pure: the filesystem is only seen through @list (only
 * directories with a limit beneath them are listed). All paths must be
 * absolute and normalised (no "//", ".", "..", no trailing "/").
 *
 * Limitation: a directory with a hidden path beneath it cannot be listed
 * (unless @list_ancestors: READ_DIR on it, which also lets the hidden
 * directories beneath it be listed, not read), and nothing can be created
 * directly in a directory with a limit beneath it.
 */
int hutch_landlock_plan(const struct hutch_landlock_root *roots, size_t n_roots,
			const struct hutch_landlock_limit *limits, size_t n_limits,
			bool list_ancestors, hutch_landlock_lister_fn list, void *userdata,
			struct hutch_landlock_plan *plan, hutch_error *err);

void hutch_landlock_plan_free(struct hutch_landlock_plan *plan);

/* The lister used by hutch_landlock_apply: the real filesystem, without following symlinks. */
int hutch_landlock_list_dir(void *userdata, const char *dir, hutch_landlock_entry_fn each,
			    void *ctx);
