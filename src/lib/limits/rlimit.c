/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/resource.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "limits/rlimit.h"

/* Where a limit's value comes from. */
enum rl_source {
	RL_ZERO,  /* always 0 */
	RL_FIELD, /* a field of struct hutch_limits, 0 = unset */
	RL_CPU,	  /* cpus x timeout in CPU-seconds (both set), soft < hard for SIGXCPU first */
};

static const struct {
	int resource;
	const char *name;
	enum rl_source src;
	size_t offset; /* RL_FIELD: into struct hutch_limits */
} rlimit_table[] = {
	{RLIMIT_CORE, "RLIMIT_CORE", RL_ZERO, 0},
	{RLIMIT_NPROC, "RLIMIT_NPROC", RL_FIELD, offsetof(struct hutch_limits, pids)},
	{RLIMIT_FSIZE, "RLIMIT_FSIZE", RL_FIELD, offsetof(struct hutch_limits, file_size)},
	{RLIMIT_NOFILE, "RLIMIT_NOFILE", RL_FIELD, offsetof(struct hutch_limits, open_files)},
	{RLIMIT_DATA, "RLIMIT_DATA", RL_FIELD, offsetof(struct hutch_limits, memory)},
	{RLIMIT_CPU, "RLIMIT_CPU", RL_CPU, 0},
};

uint64_t hutch_rlimit_cpu_seconds(const struct hutch_limits *l)
{
	uint64_t ms;

	if (!l->cpus_milli || !l->timeout_ms)
		return 0;
	if (l->cpus_milli > UINT64_MAX / l->timeout_ms)
		return UINT64_MAX / 1000000;
	ms = l->cpus_milli * l->timeout_ms; /* milli-CPU x ms = 1e-6 CPU-seconds */
	return (ms + 999999) / 1000000;
}

int hutch_rlimits_apply(const struct hutch_limits *l, hutch_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_table); i++) {
		struct rlimit rl = {0, 0};
		uint64_t v = 0;

		switch (rlimit_table[i].src) {
		case RL_ZERO:
			break;
		case RL_FIELD:
			v = *(const uint64_t *)((const char *)l + rlimit_table[i].offset);
			if (v == 0)
				continue; /* unset */
			rl.rlim_cur = rl.rlim_max = v;
			break;
		case RL_CPU:
			v = hutch_rlimit_cpu_seconds(l);
			if (v == 0)
				continue;
			rl.rlim_cur = v;
			rl.rlim_max = v + 1; /* SIGXCPU at the budget, SIGKILL a second later */
			break;
		}
		if (setrlimit(rlimit_table[i].resource, &rl) < 0)
			return hutch_err(err, errno, "rlimits: setting %s to %llu",
					 rlimit_table[i].name, (unsigned long long)v);
	}
	return 0;
}
