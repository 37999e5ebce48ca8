/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch trust [FILE]: pin a project policy (default ./.hutch.json) by its content hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int trust_usage(FILE *f)
{
	fprintf(f, "Usage: hutch trust [FILE]\n\n"
		   "Pin a project policy (default: ./.hutch.json) by its path and SHA-256, so\n"
		   "that hutch run applies it. Any change to the file makes it untrusted again:\n"
		   "review it and run hutch trust once more.\n");
	return f == stderr ? HUTCH_EXIT_ERROR : 0;
}

int cmd_trust(int argc, char **argv)
{
	const char *file = ".hutch.json";
	hutch_error err = {0};
	_cleanup_free_ char *real = NULL;
	char hex[65];

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return trust_usage(stdout);
	if (argc > 1 && argv[1][0] == '-' && strcmp(argv[1], "--") != 0)
		return cli_cmd_error("trust", "unknown option '%s'", argv[1]);
	if (argc > 1 && !strcmp(argv[1], "--")) {
		argv++;
		argc--;
	}
	if (argc > 2)
		return cli_cmd_error("trust", "one file at a time");
	if (argc == 2)
		file = argv[1];

	/* Pinning a file hutch would refuse to load helps nobody: validate first. */
	if (hutch_policy_validate_file(file, NULL, &err) < 0)
		return cli_error(&err);
	if (hutch_trust_add(file, hex, &err) < 0)
		return cli_error(&err);
	real = realpath(file, NULL);
	if (!cli_quiet)
		printf("trusted %s (sha256 %s)\n", real ? real : file, hex);
	return 0;
}
