/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox's filesystem view: a plan computed on the host side from the
 * policy, applied by the sandbox init inside its new mount namespace.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

enum hutch_mount_kind {
	MOUNT_BASE,	   /* the host's / (recursive, read-only): what the tree is built on */
	MOUNT_BIND_RO,	   /* read-only recursive bind of a host path */
	MOUNT_BIND_RW,	   /* writable recursive bind (workspace, --rw) */
	MOUNT_BIND_DEV,	   /* a host device node: writable, nosuid, noexec */
	MOUNT_BIND_SOCKET, /* one chosen host socket (--socket) */
	MOUNT_TMPFS,	   /* fresh private tmpfs */
	MOUNT_DIR,	   /* a directory in a tmpfs of ours */
	MOUNT_SYMLINK,	   /* a symlink in a tmpfs of ours */
	MOUNT_PROC,	   /* fresh procfs of the sandbox's PID namespace */
	MOUNT_DEVPTS,	   /* fresh devpts instance */
	MOUNT_HIDE,	   /* an empty read-only directory or file over a path */
	MOUNT_REBIND_RO,   /* make a path of the new tree read-only (/proc/sys) */
	MOUNT_PROTECT,	   /* read-only rebind beneath the workspace, no symlinks */
	MOUNT_PIN,	   /* bind a directory onto itself: it cannot be renamed or removed */
	MOUNT_OVERLAY,	   /* overlayfs: source = "LOWER\nUPPER\nWORK" host paths */
	MOUNT_WATCH,	   /* no mount: a path that must not exist after the session */
};

struct hutch_mount_op {
	char *path;   /* absolute path inside the sandbox */
	char *source; /* host path (binds), link target (symlinks), NULL otherwise */
	enum hutch_mount_kind kind;
	unsigned mode; /* tmpfs/dir mode */
	bool optional; /* skip silently when the source is missing */
	int order;     /* tie-break for equal paths: larger goes on top */
	/* filled while applying */
	int src_fd;
	bool src_is_dir;
	bool hide_with_children; /* MOUNT_HIDE that needs a fresh tmpfs */
};

struct hutch_mount_plan {
	struct hutch_mount_op *ops;
	size_t n, cap;
	char *workspace;     /* sandbox path of the workspace (same as host path) */
	char *cwd;	     /* directory to start in */
	uint64_t tmpfs_size; /* bytes for each private tmpfs (--memory), 0: kernel default */
	/* --ephemeral=root: top-level directories left read-only (they hold other mounts) */
	char **root_kept;
	size_t n_root_kept;
};

struct hutch_mount_env {
	const char *home;
	const char *cwd;
	const char *xdg_runtime_dir; /* may be NULL */
	const char *overlay; /* --ephemeral: MOUNT_OVERLAY source for the workspace, or NULL */
	/*
	 * --ephemeral=root: the session's root layer directory (holding upper/X and
	 * work/X for each top-level directory X), or NULL. See rootlayer.h.
	 */
	const char *root_layer;
	unsigned uid;
};

/* Top-level entries of the host's root that hutch replaces with mounts of its own. */
bool hutch_mount_top_level_replaced(const char *name);

int hutch_mount_plan_build(const struct hutch_policy *p, const struct hutch_mount_env *env,
			   struct hutch_mount_plan **out, hutch_error *err);
void hutch_mount_plan_free(struct hutch_mount_plan *plan);

/* For mount-tree.c: the protected-path kinds (applied last), and the plan's sort order. */
bool hutch_mount_is_protect_kind(enum hutch_mount_kind k);
int hutch_mount_op_cmp(const void *x, const void *y);

/* The innermost writable root (the workspace or a writable entry) strictly above @path, or NULL. */
const char *hutch_mount_writable_root_of(const struct hutch_policy *p, const char *path);

/* Add one op (used by the protected-path code). */
int hutch_mount_plan_add(struct hutch_mount_plan *plan, enum hutch_mount_kind kind,
			 const char *path, const char *source, unsigned mode, bool optional);

/*
 * The protected paths and pinned repositories (MOUNT_PROTECT, MOUNT_PIN) of
 * @plan from op *@from to op @to (excluded), packed into @buf for the
 * sandbox's copy of the plan: returns the bytes used, *@from the first op
 * left out (@to when all fit). Unpack appends them to the sandbox's plan
 * (-EBADMSG when @buf is not such a list).
 */
size_t hutch_mount_plan_pack(const struct hutch_mount_plan *plan, size_t *from, size_t to,
			     char *buf, size_t size);
int hutch_mount_plan_unpack(struct hutch_mount_plan *plan, const char *buf, size_t len);

/*
 * Inside the new mount namespace, in two steps. Begin: the tree on the host's
 * / (or, --ephemeral=root, a tmpfs), everything but the protected paths and
 * pins, which the supervisor looks for meanwhile. Finish: those (added to
 * @plan in between, hutch_mount_plan_unpack), then pivot_root into the tree:
 * on return the process's root and cwd are the sandbox's. Free the tree
 * after finish (or instead, to give up). Apply, between the two: the
 * protected paths and pins received so far, at once (those that exist on the
 * host while the supervisor makes the placeholders of the others); finish
 * applies the rest.
 */
struct hutch_mount_tree;

int hutch_mount_tree_begin(struct hutch_mount_plan *plan, struct hutch_mount_tree **out,
			   hutch_error *err);
int hutch_mount_tree_apply(struct hutch_mount_plan *plan, struct hutch_mount_tree *tree,
			   hutch_error *err);
int hutch_mount_tree_finish(struct hutch_mount_plan *plan, struct hutch_mount_tree *tree,
			    bool detach_later, hutch_error *err);
/*
 * After hutch_mount_tree_finish(..., detach_later = true): detach the old
 * root, stacked on top of the new one until then (the host's whole tree,
 * hidden paths unmasked, reachable through it): done before anything of the
 * workload runs.
 */
int hutch_mount_detach_old_root(hutch_error *err);
void hutch_mount_tree_free(struct hutch_mount_tree *tree);
