/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Resource limits set with setrlimit before exec. */
#pragma once

#include "policy/policy.h"

/*
 * RLIMIT_CORE 0 (not raisable), plus, for each non-zero field of @l:
 * pids -> RLIMIT_NPROC, fileSize -> RLIMIT_FSIZE, openFiles -> RLIMIT_NOFILE,
 * memory -> RLIMIT_DATA, cpus x timeout -> RLIMIT_CPU. Pass the limits that
 * no cgroup enforces (hutch_limits_rlimits() in limits.h), not the policy's.
 */
int hutch_rlimits_apply(const struct hutch_limits *l, hutch_error *err);
/* The RLIMIT_CPU budget in seconds: cpus x timeout rounded up, 0 unless both are set. */
uint64_t hutch_rlimit_cpu_seconds(const struct hutch_limits *l);
