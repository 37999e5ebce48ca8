/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch exec NAME [--] COMMAND [ARG...]   and   hutch stop [--stop-timeout D] NAME */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_parse_stop_timeout(const char *cmd, const char *s, int64_t *ms)
{
	uint64_t v = 0;

	/* "0" alone: no grace period (hutch_parse_duration wants a unit) */
	if (strcmp(s, "0") != 0 && hutch_parse_duration(s, &v) < 0) {
		cli_cmd_error(cmd, "--stop-timeout: invalid duration '%s' (e.g. 10s, 500ms, 2m, 0)",
			      s);
		return -1;
	}
	if (v > INT32_MAX) {
		cli_cmd_error(cmd, "--stop-timeout: '%s' is too long (at most 24 days)", s);
		return -1;
	}
	*ms = (int64_t)v;
	return 0;
}

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
	if (hutch_named_exec(argv[1], argv + first, cli_lib_warn, NULL, -1, &status, &err) < 0)
		return cli_error(&err);
	return status;
}

int cmd_stop(int argc, char **argv)
{
	hutch_error err = {0};
	int64_t grace = -1;
	int i = 1;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: hutch stop [--stop-timeout DURATION] NAME\n\n"
		       "End the named session NAME: SIGTERM to every process in it, SIGKILL to\n"
		       "what is left after DURATION (default 10s). Its commands end with their\n"
		       "status (128+N for signal N).\n");
		return 0;
	}
	if (i < argc && !strncmp(argv[i], "--stop-timeout", 14) &&
	    (argv[i][14] == '=' || argv[i][14] == '\0')) {
		const char *v = argv[i][14] == '=' ? argv[i] + 15 : NULL;

		if (!v && i + 1 < argc)
			v = argv[++i];
		if (!v)
			return cli_cmd_error("stop", "option '--stop-timeout' needs a duration");
		if (cli_parse_stop_timeout("stop", v, &grace) < 0)
			return HUTCH_EXIT_ERROR;
		i++;
	}
	if (i < argc && argv[i][0] == '-')
		return cli_cmd_error("stop", "unknown option '%s'", argv[i]);
	if (i >= argc)
		return cli_cmd_error("stop", "which session? (hutch stop NAME)");
	if (i != argc - 1)
		return cli_cmd_error("stop", "unexpected argument '%s'", argv[i + 1]);
	if (hutch_named_stop(argv[i], grace, cli_lib_warn, NULL, &err) < 0)
		return cli_error(&err);
	return 0;
}
