/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch check: what this machine supports, and the one-line fix for what is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cmd_check(int argc, char **argv)
{
	bool color = isatty(1) && !getenv("NO_COLOR");
	int missing = 0;
	bool landlock = false, seccomp = false;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: hutch check\n\nShow which sandbox layers this machine supports.\n");
		return 0;
	}
	if (argc > 1)
		return cli_cmd_error("check",
				     argv[1][0] == '-' ? "unknown option '%s'"
						       : "unexpected argument '%s'",
				     argv[1]);
	for (int f = 0; f < _HUTCH_FEAT_MAX; f++) {
		struct hutch_feature_info fi;

		hutch_probe((enum hutch_feature)f, &fi);
		if (f == HUTCH_FEAT_LANDLOCK)
			landlock = fi.available;
		if (f == HUTCH_FEAT_SECCOMP)
			seccomp = fi.available;
		printf("%-18s %s%-9s%s %s\n", fi.name,
		       color ? (fi.available ? "\033[32m" : "\033[33m") : "",
		       fi.available ? "available" : "missing", color ? "\033[0m" : "", fi.detail);
		if (!fi.available) {
			missing++;
			if (fi.fix)
				printf("%-18s fix: %s\n", "", fi.fix);
		}
	}
	{
		/* hutch oci (docs/oci.md): runc, hutch's container init, Landlock, seccomp. */
		char detail[512];
		const char *fix;
		bool ok = cli_oci_node(landlock, seccomp, detail, sizeof(detail), &fix);

		printf("%-18s %s%-9s%s %s\n", "oci-node",
		       color ? (ok ? "\033[32m" : "\033[33m") : "", ok ? "available" : "missing",
		       color ? "\033[0m" : "", detail);
		if (!ok && fix)
			printf("%-18s fix: %s\n", "", fix);
	}
	{
		struct hutch_limit_info li[_HUTCH_LIMIT_MAX];
		char buf[512];

		printf("\nresource limits (what would enforce each one here):\n");
		hutch_limits_probe(NULL, li);
		for (int i = 0; i < _HUTCH_LIMIT_MAX; i++)
			printf("  %s\n", hutch_limit_describe(&li[i], buf, sizeof(buf)));
	}
	return 0;
}
