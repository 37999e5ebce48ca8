/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch ls [--json]: ephemeral and named sessions */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const struct option ls_options[] = {
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int ls_usage(FILE *f)
{
	fprintf(f,
		"Usage: hutch ls [--json]\n\n"
		"List your sessions: ephemeral ones (hutch run --ephemeral, hutch fork) with\n"
		"their workspace, state, layer size and age, and named ones (hutch run --name).\n"
		"States: new, running, stopped, interrupted (hutch was killed; the layer is\n"
		"intact), applying, applied, partial (some changes were not applied).\n");
	return f == stderr ? HUTCH_EXIT_ERROR : 0;
}

static void human_size(uint64_t n, char *out, size_t size)
{
	static const char units[] = "BKMGTP";
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, size, "%lluB", (unsigned long long)n);
	else
		snprintf(out, size, "%.*f%c", v < 10 ? 1 : 0, v, units[u]);
}

static void human_age(int64_t created, char *out, size_t size)
{
	int64_t d = (int64_t)time(NULL) - created;

	if (!created)
		snprintf(out, size, "-");
	else if (d < 60)
		snprintf(out, size, "%llds", (long long)(d < 0 ? 0 : d));
	else if (d < 3600)
		snprintf(out, size, "%lldm", (long long)(d / 60));
	else if (d < 86400)
		snprintf(out, size, "%lldh", (long long)(d / 3600));
	else
		snprintf(out, size, "%lldd", (long long)(d / 86400));
}

int cmd_ls(int argc, char **argv)
{
	struct hutch_session_info *v = NULL;
	hutch_error err = {0};
	bool json = false;
	size_t n = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", ls_options, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			return ls_usage(stdout);
		default:
			return cli_bad_option("ls", c, argv);
		}
	}
	if (optind < argc)
		return cli_cmd_error("ls", "unexpected argument '%s'", argv[optind]);
	if (hutch_session_list(&v, &n, &err) < 0)
		return cli_error(&err);
	if (json) {
		printf("[");
		for (size_t i = 0; i < n; i++) {
			printf("%s\n  {\"id\":", i ? "," : "");
			cli_json_string(stdout, v[i].id);
			printf(",\"kind\":");
			cli_json_string(stdout, v[i].kind);
			printf(",\"state\":");
			cli_json_string(stdout, v[i].state);
			printf(",\"workspace\":");
			if (v[i].workspace)
				cli_json_string(stdout, v[i].workspace);
			else
				printf("null");
			printf(",\"parent\":");
			if (v[i].parent)
				cli_json_string(stdout, v[i].parent);
			else
				printf("null");
			if (strcmp(v[i].kind, "named"))
				printf(",\"mode\":\"%s\"", v[i].root ? "root" : "workspace");
			printf(",\"created\":%lld,\"size\":%llu}", (long long)v[i].created,
			       (unsigned long long)v[i].size);
		}
		printf("%s]\n", n ? "\n" : "");
	} else if (n) {
		printf("%-18s %-10s %-12s %6s %5s  %s\n", "SESSION", "KIND", "STATE", "SIZE", "AGE",
		       "WORKSPACE");
		for (size_t i = 0; i < n; i++) {
			char size[32], age[32];
			human_size(v[i].size, size, sizeof(size));
			human_age(v[i].created, age, sizeof(age));
			printf("%-18s %-10s %-12s %6s %5s  %s", v[i].id, v[i].kind, v[i].state,
			       strcmp(v[i].kind, "named") ? size : "-", age,
			       v[i].workspace ? v[i].workspace : "-");
			if (v[i].root)
				printf("  (root layer)");
			if (v[i].parent)
				printf("  (forked from %s)", v[i].parent);
			printf("\n");
		}
	} else if (!cli_quiet) {
		fprintf(stderr, "%s: no sessions\n", cli_prog);
	}
	hutch_session_list_free(v, n);
	return 0;
}
