/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch diff [SESSION] [--stat | --json | --name-status] [-U N] [-C DIR] */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum { FMT_PATCH, FMT_STAT, FMT_JSON, FMT_NAMES };

struct diff_args {
	int format;
	unsigned context;
	const char *dir;
	const char *id;
	bool color;
	bool tty; /* control characters in file contents are shown escaped */
};

static char qbuf[PATH_MAX * 4 + 3];

static const struct option diff_options[] = {
	{"stat", no_argument, NULL, 's'},
	{"json", no_argument, NULL, 'j'},
	{"name-status", no_argument, NULL, 'n'},
	{"unified", required_argument, NULL, 'U'},
	{"workspace", required_argument, NULL, 'C'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int diff_usage(FILE *f)
{
	fprintf(f, "Usage: hutch diff [SESSION] [OPTIONS]\n\n"
		   "Show what an ephemeral session changed, against the workspace as it is now.\n"
		   "SESSION is an id (or a unique prefix of one) from 'hutch ls'; default: the\n"
		   "latest session of the workspace containing the current directory.\n\n"
		   "      --stat          one line per path with added/removed line counts\n"
		   "      --name-status   one line per path: A added, M modified, D deleted\n"
		   "      --json          the changes as one JSON document\n"
		   "  -U, --unified N     lines of context (default 3)\n"
		   "  -C, --workspace DIR find the latest session of DIR instead\n\n"
		   "Text files get a unified diff, binary files one line. Marked on their own\n"
		   "line before the diff: '# protected' (hutch apply refuses it without\n"
		   "--include-protected) and '# conflict' (the file changed in the workspace\n"
		   "since the session started; hutch apply keeps yours).\n");
	return f == stderr ? HUTCH_EXIT_ERROR : 0;
}

static const char *kind_name(enum hutch_change_kind k)
{
	switch (k) {
	case HUTCH_CHANGE_ADDED:
		return "added";
	case HUTCH_CHANGE_MODIFIED:
		return "modified";
	case HUTCH_CHANGE_DELETED:
		return "deleted";
	}
	return "?";
}

static const char *type_name(enum hutch_file_type t)
{
	switch (t) {
	case HUTCH_FILE_NONE:
		return "none";
	case HUTCH_FILE_REGULAR:
		return "file";
	case HUTCH_FILE_DIR:
		return "directory";
	case HUTCH_FILE_SYMLINK:
		return "symlink";
	case HUTCH_FILE_FIFO:
		return "fifo";
	case HUTCH_FILE_OTHER:
		return "other";
	}
	return "?";
}

static unsigned type_bits(enum hutch_file_type t)
{
	switch (t) {
	case HUTCH_FILE_REGULAR:
		return 0100000;
	case HUTCH_FILE_DIR:
		return 040000;
	case HUTCH_FILE_SYMLINK:
		return 0120000;
	case HUTCH_FILE_FIFO:
		return 010000;
	case HUTCH_FILE_NONE:
	case HUTCH_FILE_OTHER:
		break;
	}
	return 0;
}

static void color(const struct diff_args *a, const char *code)
{
	if (a->color)
		fputs(code, stdout);
}

static void link_target(hutch_session *s, const char *path, bool in_layer, char *out, size_t size)
{
	char full[PATH_MAX * 2];
	ssize_t n;

	if (in_layer)
		snprintf(full, sizeof(full), "%s/upper/%s", hutch_session_dir(s), path);
	else
		snprintf(full, sizeof(full), "%s/%s", hutch_session_workspace(s), path);
	n = readlink(full, out, size - 1);
	out[n < 0 ? 0 : n] = '\0';
}

/* A line of file content: on a terminal, control characters (but tab) are shown as ^X. */
static void put_line(const struct diff_args *a, const char *p, size_t l)
{
	if (!a->tty) {
		fwrite(p, 1, l, stdout);
		return;
	}
	for (size_t i = 0; i < l; i++) {
		unsigned char ch = (unsigned char)p[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			printf("^%c", ch == 0x7f ? '?' : ch + '@');
		else
			putchar(ch);
	}
}

static void print_hunks(const struct diff_args *a, const char *text, size_t len)
{
	if (!a->tty) {
		fwrite(text, 1, len, stdout);
		return;
	}
	for (const char *p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
		const char *c = !a->color   ? ""
				: *p == '+' ? "\033[32m"
				: *p == '-' ? "\033[31m"
				: *p == '@' ? "\033[36m"
					    : "";
		fputs(c, stdout);
		put_line(a, p, l);
		printf("%s\n", *c ? "\033[m" : "");
		p += l + 1;
	}
}

static int print_patch(hutch_session *s, const struct hutch_change *c, const struct diff_args *a)
{
	hutch_error err = {0};
	char *text = NULL;
	size_t len = 0;
	unsigned add = 0, del = 0;
	bool is_dir = (c->kind == HUTCH_CHANGE_DELETED ? c->old_type : c->type) == HUTCH_FILE_DIR;
	const char *path = cli_quote_path(c->path, qbuf, sizeof(qbuf));

	if (c->protected_path)
		printf("# protected: hutch apply refuses %s without --include-protected\n", path);
	if (c->conflict)
		printf("# conflict: %s changed in the workspace since the session started\n", path);
	color(a, "\033[1m");
	printf("diff --git a/%s b/%s\n", path, path);
	if (c->kind == HUTCH_CHANGE_ADDED)
		printf("new %s mode %06o\n", is_dir ? "directory" : "file",
		       type_bits(c->type) | c->mode);
	else if (c->kind == HUTCH_CHANGE_DELETED)
		printf("deleted %s mode %06o\n", is_dir ? "directory" : "file",
		       type_bits(c->old_type) | c->old_mode);
	else if (c->mode != c->old_mode || c->type != c->old_type)
		printf("old mode %06o\nnew mode %06o\n", type_bits(c->old_type) | c->old_mode,
		       type_bits(c->type) | c->mode);
	color(a, "\033[m");
	if (is_dir || !c->content_changed)
		return 0;
	if (c->type == HUTCH_FILE_SYMLINK || c->old_type == HUTCH_FILE_SYMLINK) {
		char from[PATH_MAX] = "", to[PATH_MAX] = "";
		if (c->kind != HUTCH_CHANGE_ADDED && c->old_type == HUTCH_FILE_SYMLINK)
			link_target(s, c->path, false, from, sizeof(from));
		if (c->kind != HUTCH_CHANGE_DELETED && c->type == HUTCH_FILE_SYMLINK)
			link_target(s, c->path, true, to, sizeof(to));
		if (from[0])
			printf("symlink was -> %s\n", cli_quote_path(from, qbuf, sizeof(qbuf)));
		if (to[0])
			printf("symlink now -> %s\n", cli_quote_path(to, qbuf, sizeof(qbuf)));
		return 0;
	}
	if ((c->kind != HUTCH_CHANGE_DELETED && c->type != HUTCH_FILE_REGULAR) ||
	    (c->kind == HUTCH_CHANGE_DELETED && c->old_type != HUTCH_FILE_REGULAR))
		return 0;
	if (c->binary) {
		printf("Binary files %s and %s differ (%llu -> %llu bytes)\n",
		       c->kind == HUTCH_CHANGE_ADDED ? "/dev/null" : "a",
		       c->kind == HUTCH_CHANGE_DELETED ? "/dev/null" : "b",
		       (unsigned long long)c->old_size, (unsigned long long)c->size);
		return 0;
	}
	if (hutch_change_diff(s, c, a->context, &text, &len, &add, &del, &err) < 0) {
		fflush(stdout);
		return cli_error(&err);
	}
	if (!text) {
		printf("Large file, not shown (%llu -> %llu bytes)\n",
		       (unsigned long long)c->old_size, (unsigned long long)c->size);
		return 0;
	}
	color(a, "\033[1m");
	printf("--- %s%s\n+++ %s%s\n", c->kind == HUTCH_CHANGE_ADDED ? "/dev/null" : "a/",
	       c->kind == HUTCH_CHANGE_ADDED ? "" : path,
	       c->kind == HUTCH_CHANGE_DELETED ? "/dev/null" : "b/",
	       c->kind == HUTCH_CHANGE_DELETED ? "" : path);
	color(a, "\033[m");
	print_hunks(a, text, len);
	free(text);
	return 0;
}

static void counts(hutch_session *s, const struct hutch_change *c, const struct diff_args *a,
		   unsigned *add, unsigned *del, bool *shown)
{
	char *text = NULL;
	size_t len;

	*add = *del = 0;
	*shown = false;
	if (hutch_change_diff(s, c, a->context, &text, &len, add, del, NULL) >= 0 && text)
		*shown = true;
	free(text);
}

static int print_stat(hutch_session *s, const struct hutch_changes *ch, const struct diff_args *a)
{
	unsigned long long tadd = 0, tdel = 0;
	size_t files = 0;

	for (size_t i = 0; i < ch->n; i++) {
		const struct hutch_change *c = &ch->v[i];
		unsigned add, del;
		bool shown;
		bool is_dir =
			(c->kind == HUTCH_CHANGE_DELETED ? c->old_type : c->type) == HUTCH_FILE_DIR;

		counts(s, c, a, &add, &del, &shown);
		tadd += add;
		tdel += del;
		files++;
		printf(" %c %s%s |", "AMD"[c->kind], cli_quote_path(c->path, qbuf, sizeof(qbuf)),
		       is_dir ? "/" : "");
		if (shown)
			printf(" +%u -%u", add, del);
		else if (c->binary)
			printf(" Bin %llu -> %llu bytes", (unsigned long long)c->old_size,
			       (unsigned long long)c->size);
		else if (c->kind == HUTCH_CHANGE_MODIFIED && !c->content_changed)
			printf(" mode %04o -> %04o", c->old_mode, c->mode);
		else
			printf(" %s",
			       type_name(c->kind == HUTCH_CHANGE_DELETED ? c->old_type : c->type));
		printf("%s%s\n", c->protected_path ? " [protected]" : "",
		       c->conflict ? " [conflict]" : "");
	}
	printf(" %zu path%s changed, %llu insertion%s(+), %llu deletion%s(-)\n", files,
	       files == 1 ? "" : "s", tadd, tadd == 1 ? "" : "s", tdel, tdel == 1 ? "" : "s");
	return 0;
}

static int print_json(hutch_session *s, const struct hutch_changes *ch, const struct diff_args *a)
{
	printf("{\"session\":");
	cli_json_string(stdout, hutch_session_id(s));
	printf(",\"workspace\":");
	cli_json_string(stdout, hutch_session_workspace(s));
	printf(",\"state\":");
	cli_json_string(stdout, hutch_session_state(s));
	printf(",\"changes\":[");
	for (size_t i = 0; i < ch->n; i++) {
		const struct hutch_change *c = &ch->v[i];
		unsigned add, del;
		bool shown;

		counts(s, c, a, &add, &del, &shown);
		printf("%s\n  {\"path\":", i ? "," : "");
		cli_json_string(stdout, c->path);
		printf(",\"change\":\"%s\"", kind_name(c->kind));
		if (c->kind != HUTCH_CHANGE_DELETED)
			printf(",\"type\":\"%s\",\"mode\":\"%04o\",\"size\":%llu",
			       type_name(c->type), c->mode, (unsigned long long)c->size);
		if (c->kind != HUTCH_CHANGE_ADDED)
			printf(",\"oldType\":\"%s\",\"oldMode\":\"%04o\",\"oldSize\":%llu",
			       type_name(c->old_type), c->old_mode,
			       (unsigned long long)c->old_size);
		printf(",\"contentChanged\":%s,\"binary\":%s,\"protected\":%s,\"conflict\":%s",
		       c->content_changed ? "true" : "false", c->binary ? "true" : "false",
		       c->protected_path ? "true" : "false", c->conflict ? "true" : "false");
		if (shown)
			printf(",\"added\":%u,\"removed\":%u", add, del);
		printf("}");
	}
	printf("%s]}\n", ch->n ? "\n" : "");
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	struct diff_args a = {.format = FMT_PATCH, .context = 3};
	struct hutch_changes ch = {0};
	hutch_session *s = NULL;
	hutch_error err = {0};
	int c, r = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":U:C:h", diff_options, NULL)) != -1) {
		switch (c) {
		case 's':
			a.format = FMT_STAT;
			break;
		case 'j':
			a.format = FMT_JSON;
			break;
		case 'n':
			a.format = FMT_NAMES;
			break;
		case 'U': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 100000)
				return cli_cmd_error("diff", "-U: not a number of lines: %s",
						     optarg);
			a.context = (unsigned)v;
			break;
		}
		case 'C':
			a.dir = optarg;
			break;
		case 'h':
			return diff_usage(stdout);
		default:
			return cli_bad_option("diff", c, argv);
		}
	}
	if (optind < argc)
		a.id = argv[optind++];
	if (optind < argc)
		return cli_cmd_error("diff", "one session at a time");
	a.tty = isatty(1);
	a.color = a.format == FMT_PATCH && a.tty && !getenv("NO_COLOR");
	r = cli_open_session(a.id, a.dir, &s);
	if (r)
		return r;
	if (hutch_session_changes(s, &ch, &err) < 0) {
		hutch_session_free(s);
		return cli_error(&err);
	}
	if (hutch_session_running(s) && !cli_quiet && a.format != FMT_JSON)
		cli_warn("session %s is running: its layer may change while you look",
			 hutch_session_id(s));
	switch (a.format) {
	case FMT_STAT:
		r = print_stat(s, &ch, &a);
		break;
	case FMT_JSON:
		r = print_json(s, &ch, &a);
		break;
	case FMT_NAMES:
		for (size_t i = 0; i < ch.n; i++)
			printf("%c\t%s%s%s\n", "AMD"[ch.v[i].kind],
			       cli_quote_path(ch.v[i].path, qbuf, sizeof(qbuf)),
			       ch.v[i].protected_path ? "\t[protected]" : "",
			       ch.v[i].conflict ? "\t[conflict]" : "");
		break;
	default:
		for (size_t i = 0; i < ch.n && r == 0; i++)
			r = print_patch(s, &ch.v[i], &a);
		break;
	}
	hutch_changes_free(&ch);
	hutch_session_free(s);
	return r;
}
