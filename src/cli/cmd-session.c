/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch exec NAME [--] COMMAND [ARG...]   and   hutch stop NAME */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_exec(int argc, char **argv)
{
	hutch_error err = {0};
	int first = 2, status = HUTCH_EXIT_ERROR;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: hutch exec NAME [--] COMMAND [ARG...]\n\n"
		       "Run another command in the named session NAME (started with\n"
		       "'hutch run --name NAME ...'), with the same layers and restrictions.\n"
		       "Exit status: the command's own, as with 'hutch run'.\n");
		return 0;
	}
	if (argc < 2)
		return cli_cmd_error("exec",
				     "which session? (hutch exec NAME [--] COMMAND [ARG...])");
	if (argv[1][0] == '-')
		return cli_cmd_error("exec", "unknown option '%s'", argv[1]);
	if (argc > 2 && !strcmp(argv[2], "--"))
		first = 3;
	if (first >= argc)
		return cli_cmd_error("exec", "no command given");
	if (hutch_session_exec(argv[1], argv + first, cli_lib_warn, NULL, &status, &err) < 0)
		return cli_error(&err);
	return status;
}

int cmd_stop(int argc, char **argv)
{
	hutch_error err = {0};

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: hutch stop NAME\n\nEnd the named session NAME: everything in it is "
		       "killed.\n");
		return 0;
	}
	if (argc > 1 && argv[1][0] == '-')
		return cli_cmd_error("stop", "unknown option '%s'", argv[1]);
	if (argc != 2)
		return argc < 2 ? cli_cmd_error("stop", "which session? (hutch stop NAME)")
				: cli_cmd_error("stop", "unexpected argument '%s'", argv[2]);
	if (hutch_session_stop(argv[1], &err) < 0)
		return cli_error(&err);
	return 0;
}
