/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch fork SESSION [NEW] */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int fork_usage(FILE *f)
{
	fprintf(f,
		"Usage: hutch fork SESSION [NEW]\n\n"
		"Start a new ephemeral session NEW (default: a fresh id) from SESSION's current\n"
		"layer, to try two approaches side by side. The new id is printed. Continue in\n"
		"either with:\n"
		"  hutch run --session NEW [OPTIONS] -- COMMAND\n"
		"and compare, apply or discard each one on its own (hutch diff NEW, ...).\n"
		"Conflicts are judged against the workspace as it was when SESSION started.\n");
	return f == stderr ? HUTCH_EXIT_ERROR : 0;
}

int cmd_fork(int argc, char **argv)
{
	_cleanup_session_ hutch_session *src = NULL, *dst = NULL;
	hutch_error err = {0};
	int r;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return fork_usage(stdout);
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-')
			return cli_cmd_error("fork", "unknown option '%s'", argv[i]);
	if (argc < 2)
		return cli_cmd_error("fork", "which session? (hutch fork SESSION [NEW])");
	if (argc > 3)
		return cli_cmd_error("fork", "unexpected argument '%s'", argv[3]);
	r = cli_open_session(argv[1], NULL, &src);
	if (r)
		return r;
	if (hutch_session_running(src) && !cli_quiet)
		cli_warn("session %s is running: its layer is copied as it is now",
			 hutch_session_id(src));
	if (hutch_session_fork(src, argc == 3 ? argv[2] : NULL, &dst, &err) < 0)
		return cli_error(&err);
	printf("%s\n", hutch_session_id(dst));
	if (!cli_quiet)
		fprintf(stderr,
			"%s: forked session %s from %s: hutch run --session %s -- COMMAND\n",
			cli_prog, hutch_session_id(dst), hutch_session_id(src),
			hutch_session_id(dst));
	return 0;
}
