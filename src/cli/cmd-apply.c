/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch apply [SESSION] [--include-protected] [--dry-run] [-C DIR] */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct option apply_options[] = {
	{"include-protected", no_argument, NULL, 'P'},
	{"dry-run", no_argument, NULL, 'n'},
	{"workspace", required_argument, NULL, 'C'},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int apply_usage(FILE *f)
{
	fprintf(f, "Usage: hutch apply [SESSION] [OPTIONS]\n\n"
		   "Apply an ephemeral session's changes to the real workspace: each file\n"
		   "atomically (written beside it, then renamed over it), modes kept (set-id\n"
		   "bits dropped), deletions and replaced directories included. SESSION: an id\n"
		   "or unique prefix (hutch ls); default: the latest session of this workspace.\n\n"
		   "      --include-protected  also apply protected paths (git hooks and config,\n"
		   "                           shell rc files, editor and agent settings, ...)\n"
		   "  -n, --dry-run            say what would happen, change nothing\n"
		   "  -C, --workspace DIR      the latest session of DIR\n"
		   "  -q, --quiet              only problems     -v, --verbose   every path\n\n"
		   "All or nothing: when a file you changed in the workspace since the session\n"
		   "started conflicts with the agent's change, every conflict is listed and\n"
		   "nothing is written; when a write fails midway, what was written is put\n"
		   "back. A git index that git only refreshed meanwhile (git status) is no\n"
		   "conflict. An apply killed midway can be run again and finishes.\n"
		   "Exit status: 0 all applied, 1 some changes were not (conflicts and failures:\n"
		   "nothing applied; protected paths refused; each is listed), 125 hutch error.\n");
	return f == stderr ? HUTCH_EXIT_ERROR : 0;
}

struct apply_ui {
	bool dry_run;
};

static void on_report(const struct hutch_change *c, enum hutch_apply_result r, const char *detail,
		      void *data)
{
	struct apply_ui *ui = data;
	static char q1[PATH_MAX * 4 + 3], q2[PATH_MAX * 4 + 300];
	const char *what = NULL;

	switch (r) {
	case HUTCH_APPLIED:
		if (c->protected_path) {
			/* --include-protected: git code or agent settings, always said */
			fprintf(stderr,
				"%s: warning: %s protected path %s (it can run code outside the "
				"sandbox: review it)\n",
				cli_prog, ui->dry_run ? "would apply" : "applied",
				cli_quote_path(c->path, q1, sizeof(q1)));
			return;
		}
		if (cli_verbose)
			printf("%s %c %s\n", ui->dry_run ? "would apply" : "applied",
			       "AMD"[c->kind], cli_quote_path(c->path, q1, sizeof(q1)));
		return;
	case HUTCH_APPLY_CONFLICT:
		what = "conflict";
		break;
	case HUTCH_APPLY_PROTECTED:
		what = "refused";
		break;
	case HUTCH_APPLY_SKIPPED:
		what = "skipped";
		break;
	case HUTCH_APPLY_FAILED:
		what = "failed";
		break;
	}
	fprintf(stderr, "%s: %s: %s: %s\n", cli_prog, what, cli_quote_path(c->path, q1, sizeof(q1)),
		cli_quote_path(detail, q2, sizeof(q2)));
}

int cmd_apply(int argc, char **argv)
{
	struct apply_ui ui = {0};
	struct hutch_apply_opts o = {.report = on_report, .data = &ui};
	struct hutch_apply_summary sum;
	const char *dir = NULL, *id = NULL;
	_cleanup_session_ hutch_session *s = NULL;
	hutch_error err = {0};
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":nC:qvh", apply_options, NULL)) != -1) {
		switch (c) {
		case 'P':
			o.include_protected = true;
			break;
		case 'n':
			o.dry_run = ui.dry_run = true;
			break;
		case 'C':
			dir = optarg;
			break;
		case 'q':
			cli_quiet = true;
			break;
		case 'v':
			cli_verbose++;
			break;
		case 'h':
			return apply_usage(stdout);
		default:
			return cli_bad_option("apply", c, argv);
		}
	}
	if (optind < argc)
		id = argv[optind++];
	if (optind < argc)
		return cli_cmd_error("apply", "one session at a time");
	r = cli_open_session(id, dir, &s);
	if (r)
		return r;
	if (hutch_session_apply(s, &o, &sum, &err) < 0)
		return cli_error(&err);
	if (!o.dry_run && (sum.conflicts || sum.failed)) {
		fprintf(stderr,
			"%s: nothing applied from session %s to %s: %zu conflict%s, %zu failure%s "
			"(the workspace is as it was)\n",
			cli_prog, hutch_session_id(s), hutch_session_workspace(s), sum.conflicts,
			sum.conflicts == 1 ? "" : "s", sum.failed, sum.failed == 1 ? "" : "s");
	} else if (!cli_quiet || sum.conflicts || sum.refused || sum.failed) {
		fprintf(stderr, "%s: %s %zu change%s from session %s to %s", cli_prog,
			o.dry_run ? "would apply" : "applied", sum.applied,
			sum.applied == 1 ? "" : "s", hutch_session_id(s),
			hutch_session_workspace(s));
		if (sum.conflicts)
			fprintf(stderr, "; %zu conflict%s", sum.conflicts,
				sum.conflicts == 1 ? "" : "s");
		if (sum.refused)
			fprintf(stderr, "; %zu protected path%s refused (--include-protected)",
				sum.refused, sum.refused == 1 ? "" : "s");
		if (sum.skipped)
			fprintf(stderr, "; %zu skipped", sum.skipped);
		if (sum.failed)
			fprintf(stderr, "; %zu failed", sum.failed);
		fprintf(stderr, "\n");
	}
	return sum.conflicts || sum.refused || sum.failed ? 1 : 0;
}
