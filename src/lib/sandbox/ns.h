/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Namespaces and id maps. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "hutch.h"

/* Namespaces every sandbox gets; CLONE_NEWNET is added unless --net host. */
unsigned long hutch_ns_clone_flags(bool new_net);

/*
 * In the child, right after clone(CLONE_NEWUSER): map the caller's uid and
 * gid to themselves (one line each, after "deny" to setgroups), as an
 * unprivileged process may do for its own namespace.
 */
int hutch_ns_write_id_maps(uid_t uid, gid_t gid, hutch_error *err);

/*
 * The general form: one line each, inside id -> outside id for @count ids,
 * into /proc/@pid (0: self). A count above 1, or an outside id other than
 * the writer's own, needs CAP_SETUID/CAP_SETGID in the parent namespace: the
 * launcher writes those for its child (--ephemeral=root as the host's root).
 */
struct hutch_id_map {
	uid_t inside_uid, uid;
	gid_t inside_gid, gid;
	unsigned count;
};
int hutch_ns_write_maps(pid_t pid, const struct hutch_id_map *m, hutch_error *err);
