/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/resource.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "rlimit.h"

static const struct {
	int resource;
	const char *name;
	size_t offset; /* into struct hutch_limits, or (size_t)-1 for "always 0" */
} rlimit_table[] = {
	{ RLIMIT_CORE, "RLIMIT_CORE", (size_t)-1 },
	{ RLIMIT_NPROC, "RLIMIT_NPROC", offsetof(struct hutch_limits, pids) },
	{ RLIMIT_FSIZE, "RLIMIT_FSIZE", offsetof(struct hutch_limits, file_size) },
	{ RLIMIT_NOFILE, "RLIMIT_NOFILE", offsetof(struct hutch_limits, open_files) },
};

int hutch_rlimits_apply(const struct hutch_limits *l, hutch_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_table); i++) {
		struct rlimit rl = { 0, 0 };
		uint64_t v = 0;

		if (rlimit_table[i].offset != (size_t)-1) {
			v = *(const uint64_t *)((const char *)l + rlimit_table[i].offset);
			if (v == 0)
				continue; /* unset */
			rl.rlim_cur = rl.rlim_max = v;
		}
		if (setrlimit(rlimit_table[i].resource, &rl) < 0)
			return hutch_err(err, errno, 0, "rlimits: setting %s to %llu",
					 rlimit_table[i].name, (unsigned long long)v);
	}
	return 0;
}
