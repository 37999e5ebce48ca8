/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Resource limits set with setrlimit before exec. */
#pragma once

#include "policy.h"

/* RLIMIT_CORE 0 (not raisable), plus the policy's pids/fileSize/openFiles. */
int hutch_rlimits_apply(const struct hutch_limits *l, hutch_error *err);
