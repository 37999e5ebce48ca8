/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch discard [SESSION...] [-C DIR] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct option discard_options[] = {
	{"workspace", required_argument, NULL, 'C'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int discard_usage(FILE *f)
{
	fprintf(f, "Usage: hutch discard [SESSION...] [-C DIR] [-q]\n\n"
		   "Throw an ephemeral session away: its layer and everything it recorded. The\n"
		   "workspace is not touched. Default: the latest session of the workspace\n"
		   "containing the current directory (or DIR). A running session is refused.\n");
	return f == stderr ? HUTCH_EXIT_ERROR : 0;
}

static int discard_one(const char *id, const char *dir)
{
	_cleanup_session_ hutch_session *s = NULL;
	hutch_error err = {0};
	int r = cli_open_session(id, dir, &s);

	if (r)
		return r;
	if (hutch_session_discard(s, &err) < 0)
		return cli_error(&err);
	if (!cli_quiet)
		fprintf(stderr, "%s: discarded session %s\n", cli_prog, hutch_session_id(s));
	return 0;
}

int cmd_discard(int argc, char **argv)
{
	const char *dir = NULL;
	int c, status = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":C:qh", discard_options, NULL)) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case 'q':
			cli_quiet = true;
			break;
		case 'h':
			return discard_usage(stdout);
		default:
			return cli_bad_option("discard", c, argv);
		}
	}
	if (optind >= argc)
		return discard_one(NULL, dir);
	for (int i = optind; i < argc; i++) {
		int r = discard_one(argv[i], dir);
		if (r && !status)
			status = r;
	}
	return status;
}
