/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Landlock: filesystem rights and IPC scoping, independent of the mount view. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hutch.h"

struct hutch_landlock_spec {
	const char *const *read_exec; /* read + execute (directories or files) */
	size_t n_read_exec;
	const char *const *writable;  /* every filesystem right (directories or files) */
	size_t n_writable;
	bool scope_ipc; /* ABI >= 6: abstract Unix sockets and signals scoped to the sandbox */
	bool deny_tcp;  /* ABI >= 4: no TCP bind/connect at all (degraded --net none) */
};

struct hutch_landlock_report {
	int abi;              /* ABI in force (min of kernel and what hutch knows) */
	uint64_t handled_fs;  /* LANDLOCK_ACCESS_FS_* handled */
	uint64_t handled_net; /* LANDLOCK_ACCESS_NET_* handled */
	uint64_t scoped;      /* LANDLOCK_SCOPE_* */
};

/* Kernel's Landlock ABI version, or a negative errno (-EOPNOTSUPP: disabled at boot). */
int hutch_landlock_abi(void);

/* Restrict the calling thread. Missing paths in the spec are skipped. */
int hutch_landlock_apply(const struct hutch_landlock_spec *spec, struct hutch_landlock_report *rep,
			 hutch_error *err);
