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
