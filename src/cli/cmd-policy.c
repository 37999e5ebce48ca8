/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hutch policy validate [--profile NAME] FILE... | show [--profile NAME] [-p FILE]... [-C DIR]
 *            | import-srt FILE
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int policy_usage(FILE *f)
{
	fprintf(f,
		"Usage: hutch policy validate [--profile NAME] FILE...\n"
		"       hutch policy show [--profile NAME] [-p FILE]... [-C DIR]\n"
		"       hutch policy import-srt FILE\n\n"
		"validate    check each file as 'hutch run --profile NAME -p FILE' would use it\n"
		"            (default profile: default; without the system and user policies):\n"
		"            keys, types, values, paths, limits (errors name file:line:column)\n"
		"show        print the effective policy as JSON: the profile (default: default),\n"
		"            /etc/hutch/policy.json, the user policy, each -p FILE, a trusted\n"
		"            .hutch.json in the workspace, resolved for the workspace\n"
		"import-srt  print the hutch policy equivalent to an Anthropic sandbox-runtime\n"
		"            settings file (~/.srt-settings.json); what it cannot honour is\n"
		"            reported on stderr (NOT ENFORCED: hutch would enforce less)\n\n"
		"  -p, --policy FILE    policy file, repeatable, merged in order\n"
		"      --profile NAME   built-in profile:");
	for (const char *const *n = hutch_profile_names(); *n; n++)
		fprintf(f, " %s", *n);
	fprintf(f, "\n"
		   "  -C, --workspace DIR  the project directory (default: current directory)\n");
	return f == stderr ? HUTCH_EXIT_ERROR : 0;
}

static int policy_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"profile", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *profile = NULL;
	hutch_error err = {0};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			profile = optarg;
			break;
		case 'h':
			return policy_usage(stdout);
		default:
			return cli_bad_option("policy validate", c, argv);
		}
	}
	if (optind >= argc)
		return cli_cmd_error("policy validate", "which file? (hutch policy validate FILE)");
	for (int i = optind; i < argc; i++) {
		if (hutch_policy_validate_file(argv[i], profile, &err) < 0)
			return cli_error(&err);
		if (!cli_quiet)
			printf("%s: ok\n", argv[i]);
	}
	return 0;
}

static int policy_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"profile", required_argument, NULL, 'P'},
		{"workspace", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *profile = "default", *workspace = NULL;
	hutch_error err = {0};
	_cleanup_policy_ hutch_policy *p = NULL;
	const char *ignored;
	_cleanup_free_ char **files = NULL;
	size_t n_files = 0;
	_cleanup_free_ char *json = NULL;
	int c, r;

	files = calloc((size_t)argc + 1, sizeof(*files));
	if (!files)
		return cli_usage_error("out of memory");
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:p:C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			files[n_files++] = optarg;
			break;
		case 'P':
			profile = optarg;
			break;
		case 'C':
			workspace = optarg;
			break;
		case 'h':
			return policy_usage(stdout);
		default:
			return cli_bad_option("policy show", c, argv);
		}
	}
	if (optind < argc)
		return cli_cmd_error("policy show", "unexpected argument '%s'", argv[optind]);

	/* The same merge order as hutch run (docs/hutch-policy.5.scd, MERGE ORDER), without the
	 * flags. */
	p = hutch_policy_new();
	if (!p)
		return cli_usage_error("out of memory");
	r = hutch_policy_apply_profile(p, profile, &err);
	if (r >= 0)
		r = hutch_policy_load_standard(p, &err);
	for (size_t i = 0; r >= 0 && i < n_files; i++)
		r = hutch_policy_load_file(p, files[i], HUTCH_SOURCE_FILE, &err);
	if (r >= 0 && workspace)
		r = hutch_policy_set(p, HUTCH_KEY_WORKSPACE, workspace, "--workspace", &err);
	if (r >= 0)
		r = hutch_policy_load_project(p, workspace, &err);
	if (r >= 0)
		r = hutch_policy_finalize(p, getenv("HOME"), &err);
	if (r < 0)
		return cli_error(&err);
	for (size_t i = 0; (ignored = hutch_policy_ignored(p, i)); i++)
		cli_warn("ignored untrusted project policy %s; run 'hutch trust %s' to apply it",
			 ignored, ignored);
	json = hutch_policy_to_json(p);
	if (!json)
		return cli_usage_error("policy show: out of memory");
	printf("%s\n", json);
	return 0;
}

static int policy_import_srt(int argc, char **argv)
{
	hutch_error err = {0};
	_cleanup_srt_ hutch_srt *s = NULL;
	_cleanup_free_ char *json = NULL;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return policy_usage(stdout);
	if (argc == 2 && argv[1][0] == '-' && argv[1][1])
		return cli_cmd_error("policy import-srt", "unknown option '%s'", argv[1]);
	if (argc != 2)
		return cli_cmd_error("policy import-srt",
				     "which file? (hutch policy import-srt FILE > policy.json)");
	if (hutch_srt_load_file(argv[1], &s, &err) < 0)
		return cli_error(&err);
	for (size_t i = 0; i < hutch_srt_n_notes(s); i++)
		cli_warn("%s", hutch_srt_note(s, i, NULL));
	json = hutch_srt_to_json(s);
	if (!json)
		return cli_usage_error("policy import-srt: out of memory");
	printf("%s\n", json);
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	if (argc < 2)
		return policy_usage(stderr);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		return policy_usage(stdout);
	if (!strcmp(argv[1], "validate"))
		return policy_validate(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return policy_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "import-srt"))
		return policy_import_srt(argc - 1, argv + 1);
	return cli_cmd_error("policy", "unknown subcommand '%s'", argv[1]);
}
