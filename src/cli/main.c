/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/escape.h"
#include "cli.h"

const char *cli_prog = "hutch";
int cli_verbose;
bool cli_quiet;

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"run", cmd_run, "run a command in a sandbox"},
	{"exec", cmd_exec, "run another command in a named session"},
	{"stop", cmd_stop, "end a named session"},
	{"ls", cmd_ls, "list sessions (ephemeral and named)"},
	{"diff", cmd_diff, "show what an ephemeral session changed"},
	{"apply", cmd_apply, "apply an ephemeral session's changes to the workspace"},
	{"discard", cmd_discard, "throw an ephemeral session away"},
	{"fork", cmd_fork, "start a new ephemeral session from another's layer"},
	{"log", cmd_log, "show an audit log as a timeline (or filter it as JSON)"},
	{"check", cmd_check, "show what this machine supports"},
	{"connect", cmd_connect,
	 "tunnel stdin/stdout to HOST PORT through the sandbox proxy (ssh ProxyCommand)"},
	{"policy", cmd_policy, "validate or show a policy; import sandbox-runtime settings"},
	{"trust", cmd_trust, "pin a project policy (.hutch.json) by its hash"},
	{"oci", cmd_oci, "a runc-compatible runtime for Docker, Podman, containerd"},
};

/*
 * The library's text on the terminal: a message may quote what it was given (a path, a
 * value) unescaped; control bytes are shown escaped here (base/escape.h), whatever the
 * layer that made the message did.
 */
void cli_put_lib_text(const char *prefix, const char *text)
{
	char buf[4 * sizeof(((hutch_error *)0)->msg)];

	fprintf(stderr, "%s: %s%s\n", cli_prog, prefix,
		hutch_escape_str(text, buf, sizeof(buf), 0));
}

int cli_error(const hutch_error *err)
{
	cli_put_lib_text("", err->msg[0] ? err->msg : "unknown error");
	if (err->hint[0])
		cli_put_lib_text("hint: ", err->hint);
	return err->status ? err->status : HUTCH_EXIT_ERROR;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return HUTCH_EXIT_ERROR;
}

int cli_cmd_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", cli_prog, cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s --help'.\n", cli_prog, cmd);
	return HUTCH_EXIT_ERROR;
}

int cli_bad_option(const char *cmd, int c, char *const argv[])
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;
	char opt[64];

	/* A long option as written (without "=VALUE"), else the short option's letter. */
	if (arg && arg[0] == '-' && arg[1] == '-')
		snprintf(opt, sizeof(opt), "%.*s", (int)strcspn(arg, "="), arg);
	else if (optopt > 0 && optopt < 128)
		snprintf(opt, sizeof(opt), "-%c", optopt);
	else
		snprintf(opt, sizeof(opt), "%s", arg ? arg : "?");
	for (char *o = opt; *o; o++)
		if ((unsigned char)*o < 0x20 || *o == 0x7f)
			*o = '?';
	if (c == ':')
		return cli_cmd_error(cmd, "option '%s' requires an argument", opt);
	return cli_cmd_error(cmd, "unknown option '%s'", opt);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: warning: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static int usage(FILE *f)
{
	fprintf(f, "Usage: hutch COMMAND [OPTIONS] [--] [ARG...]\n\n"
		   "Run AI coding agents and the commands they launch in a sandbox.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\nExamples:\n"
		"  hutch run --profile claude-code -- claude  Claude Code: its API, registries\n"
		"  hutch run -- bash                          a shell: secrets hidden, no network\n"
		"  hutch run -a github.com -- git fetch       only github.com, through the proxy\n"
		"  hutch check                                what this machine supports\n\n"
		"'hutch help run' lists the options; man hutch has the rest. Exit status: the\n"
		"command's own, 128+N for signal N, 124 timeout, 125 hutch error, 126 not\n"
		"executable, 127 not found.\n");
	return f == stderr ? HUTCH_EXIT_ERROR : 0;
}

int main(int argc, char **argv)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;

	/* Installed as hutch-oci too: engines name a runtime by its path alone. */
	base = base ? base + 1 : (argc > 0 ? argv[0] : "");
	if (!strcmp(base, "hutch-oci"))
		return cmd_oci(argc, argv);
	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			char *help_argv[] = {argv[2], (char *)"--help", NULL};
			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (!strcmp(argv[2], commands[i].name))
					return commands[i].fn(2, help_argv);
		}
		return usage(stdout);
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("hutch %s\n", HUTCH_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\nTry '%s --help'.\n", cli_prog, argv[1],
		cli_prog);
	return HUTCH_EXIT_ERROR;
}
