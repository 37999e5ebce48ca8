/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hutch log FILE [--session ID] [--type T[,T...]] [--json]: an audit log for
 * a person (a timeline per session) or, with --json, the matching events
 * unchanged for jq and friends. Also the exit summary of hutch run.
 *
 * Everything shown comes from the sandbox and may be hostile: strings are
 * printed with control and non-printable bytes escaped, never raw.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/escape.h"
#include "cli.h"

#define LOG_MAX_LINE (1024 * 1024)
#define LOG_MAX_TYPES 16

struct log_opts {
	const char *session;
	const char *types[LOG_MAX_TYPES];
	size_t n_types;
	bool json;
	bool color;
};

/* ---- safe printing ------------------------------------------------------- */

/*
 * hutch_escape() (base/escape.h): printable UTF-8 passes; control bytes, DEL, C1
 * controls, bidirectional overrides and invalid UTF-8 are escaped. Each "'" of the
 * result is written as @squote when not NULL.
 */
static void put_escaped(FILE *f, const char *s, size_t n, unsigned flags, const char *squote)
{
	size_t cap = n * 4 + 8;
	_cleanup_free_ char *b = malloc(cap);

	if (!b) {
		fputs("(?)", f);
		return;
	}
	hutch_escape(s, n, b, cap, flags);
	for (const char *p = b; *p; p++)
		if (squote && *p == '\'')
			fputs(squote, f);
		else
			fputc(*p, f);
}

static void put_safe(FILE *f, const char *s, size_t n)
{
	put_escaped(f, s, n, 0, NULL);
}

static bool shell_safe(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    "_@%+=:,./-",
			    s[i]) ||
		    s[i] == '\0')
			return false;
	return true;
}

/* One argument, quoted the way a shell would need it: '...', or $'...' with escapes. */
static void put_arg(FILE *f, const char *s, size_t n)
{
	if (shell_safe(s, n)) {
		fwrite(s, 1, n, f);
		return;
	}
	if (!hutch_escape_needed(s, n)) {
		fputc('\'', f);
		put_escaped(f, s, n, 0, "'\\''");
		fputc('\'', f);
		return;
	}
	fputs("$'", f);
	put_escaped(f, s, n, HUTCH_ESC_QUOTE, "\\'");
	fputc('\'', f);
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void put_str(FILE *f, json_t *o, const char *key, const char *dflt)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		put_safe(f, json_string_value(v), json_string_length(v));
	else
		fputs(dflt, f);
}

static long long num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static void put_argv(FILE *f, json_t *ev)
{
	json_t *a = json_object_get(ev, "process.command_args");
	size_t i;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) == 0) {
		put_str(f, ev, "process.executable.path", "?");
		return;
	}
	json_array_foreach(a, i, v)
	{
		if (i)
			fputc(' ', f);
		if (json_is_string(v))
			put_arg(f, json_string_value(v), json_string_length(v));
	}
	if ((long long)json_array_size(a) < num(ev, "process.args_count"))
		fprintf(f, " ... (%lld arguments)", num(ev, "process.args_count"));
}

static void put_size(FILE *f, long long b)
{
	if (b < 1024)
		fprintf(f, "%lld B", b);
	else if (b < 1024 * 1024)
		fprintf(f, "%.1f kB", (double)b / 1024);
	else
		fprintf(f, "%.1f MB", (double)b / (1024 * 1024));
}

static void put_duration(FILE *f, unsigned long long ms)
{
	if (ms < 1000)
		fprintf(f, "%llu ms", ms);
	else if (ms < 120000)
		fprintf(f, "%.1f s", (double)ms / 1000);
	else
		fprintf(f, "%llum%02llus", ms / 60000, ms / 1000 % 60);
}

static void put_rule(FILE *f, json_t *ev)
{
	if (str(ev, "rule")) {
		fputs(" (rule \"", f);
		put_str(f, ev, "rule", "");
		fputc('"', f);
		if (str(ev, "rule_origin")) {
			fputs(" from ", f);
			put_str(f, ev, "rule_origin", "");
		}
		fputc(')', f);
	}
	if (str(ev, "reason")) {
		fputs(": ", f);
		put_str(f, ev, "reason", "");
	}
}

/* ---- the timeline -------------------------------------------------------- */

/* "2026-11-26T22:00:00.123456Z" -> seconds since the epoch (double); -1 if malformed. */
static double ts_seconds(const char *ts)
{
	struct tm tm;
	const char *rest;
	double frac = 0;

	if (!ts)
		return -1;
	memset(&tm, 0, sizeof(tm));
	rest = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -1;
	if (*rest == '.')
		frac = strtod(rest, NULL);
	return (double)timegm(&tm) + frac;
}

struct timeline {
	char session[65]; /* of the last event shown */
	char start_session[65];
	double start; /* time of that session's start event, shown or not */
	double t0;
};

/* Every start event (also filtered out) gives its session's time zero. */
static void note_start(struct timeline *tl, json_t *ev)
{
	const char *sb = str(ev, "sandbox"), *type = str(ev, "event");

	if (!type || strcmp(type, "start") != 0)
		return;
	snprintf(tl->start_session, sizeof(tl->start_session), "%s", sb ? sb : "");
	tl->start = ts_seconds(str(ev, "ts"));
}

static void header(FILE *f, struct timeline *tl, json_t *ev)
{
	const char *sb = str(ev, "sandbox");

	snprintf(tl->session, sizeof(tl->session), "%s", sb ? sb : "");
	tl->t0 =
		strcmp(tl->session, tl->start_session) == 0 ? tl->start : ts_seconds(str(ev, "ts"));
	fputs("== session ", f);
	put_safe(f, tl->session, strlen(tl->session));
	fputs(" ", f);
	put_str(f, ev, "ts", "");
	fputc('\n', f);
}

static void render(FILE *f, const struct log_opts *o, struct timeline *tl, json_t *ev)
{
	const char *type = str(ev, "event"), *sb = str(ev, "sandbox");
	double t = ts_seconds(str(ev, "ts"));
	const char *red = o->color ? "\033[1;31m" : "", *off = o->color ? "\033[0m" : "";

	if (!type)
		type = "?";
	if (!sb || strcmp(sb, tl->session) != 0 || strcmp(type, "start") == 0)
		header(f, tl, ev);
	if (t >= 0 && tl->t0 >= 0)
		fprintf(f, "  %+9.3fs  ", t - tl->t0);
	else
		fputs("             ", f);
	if (!strcmp(type, "start")) {
		json_t *layers = json_object_get(ev, "layers"), *v;
		size_t i;
		fputs("start    in ", f);
		put_str(f, ev, "workspace", "?");
		fputs("; layers:", f);
		json_array_foreach(layers, i, v)
		{
			fputc(' ', f);
			if (json_is_string(v))
				put_safe(f, json_string_value(v), json_string_length(v));
			if (json_is_string(v) && !strcmp(json_string_value(v), "landlock") &&
			    num(ev, "landlock.abi"))
				fprintf(f, "(v%lld)", num(ev, "landlock.abi"));
		}
		fputs("; network ", f);
		put_str(f, ev, "network.mode", "?");
		fputs("\n               command: ", f);
		put_argv(f, ev);
	} else if (!strcmp(type, "exec")) {
		fprintf(f, "exec     [%lld] ", num(ev, "process.pid"));
		put_argv(f, ev);
	} else if (!strcmp(type, "deny")) {
		const char *layer = str(ev, "layer");
		fprintf(f, "%sDENIED%s   ", red, off);
		if (layer && !strcmp(layer, "network")) {
			fputs("connection to ", f);
			put_str(f, ev, "server.address", "?");
			fprintf(f, ":%lld", num(ev, "server.port"));
		} else if (layer && !strcmp(layer, "commands")) {
			fprintf(f, "exec [%lld] ", num(ev, "process.pid"));
			put_argv(f, ev);
		} else {
			put_str(f, ev, "layer", "?");
		}
		put_rule(f, ev);
	} else if (!strcmp(type, "net") && str(ev, "outcome") &&
		   !strcmp(str(ev, "outcome"), "failed")) {
		fprintf(f, "%sFAILED%s   connection to ", red, off);
		put_str(f, ev, "server.address", "?");
		fprintf(f, ":%lld: ", num(ev, "server.port"));
		put_str(f, ev, "reason", "?");
	} else if (!strcmp(type, "net") && str(ev, "phase") && !strcmp(str(ev, "phase"), "open")) {
		fputs("net      ", f);
		put_str(f, ev, "server.address", "?");
		fprintf(f, ":%lld connected", num(ev, "server.port"));
	} else if (!strcmp(type, "net")) {
		fputs("net      ", f);
		put_str(f, ev, "server.address", "?");
		fprintf(f, ":%lld, ", num(ev, "server.port"));
		put_size(f, num(ev, "bytes_up"));
		fputs(" up, ", f);
		put_size(f, num(ev, "bytes_down"));
		fputs(" down, ", f);
		put_duration(f, (unsigned long long)num(ev, "duration_ms"));
		if (num(ev, "package.pid"))
			fprintf(f, " (package install [%lld])", num(ev, "package.pid"));
	} else if (!strcmp(type, "package")) {
		json_t *names = json_object_get(ev, "package.names"), *v;
		size_t i;
		fputs("package  ", f);
		put_str(f, ev, "package.manager", "?");
		fputc(' ', f);
		put_str(f, ev, "package.action", "?");
		json_array_foreach(names, i, v)
		{
			fputc(' ', f);
			if (json_is_string(v))
				put_arg(f, json_string_value(v), json_string_length(v));
		}
		if (json_is_true(json_object_get(ev, "package.from_manifest")))
			fputs(" (from the project's manifest)", f);
	} else if (!strcmp(type, "file")) {
		fputs("file     ", f);
		put_str(f, ev, "change", "?");
		fputc(' ', f);
		put_str(f, ev, "file.path", "?");
		if (str(ev, "file.type") && strcmp(str(ev, "file.type"), "file")) {
			fputs(" (", f);
			put_str(f, ev, "file.type", "");
			fputs(")", f);
		}
	} else if (!strcmp(type, "limit")) {
		fprintf(f, "%sLIMIT%s    ", red, off);
		put_str(f, ev, "limit", "?");
		if (str(ev, "detail")) {
			fputs(": ", f);
			put_str(f, ev, "detail", "");
		}
	} else if (!strcmp(type, "end")) {
		json_t *c = json_object_get(ev, "counts"), *fl = json_object_get(ev, "files");
		fprintf(f, "end      exit %lld", num(ev, "process.exit.code"));
		if (num(ev, "signal"))
			fprintf(f, " (signal %lld)", num(ev, "signal"));
		if (json_is_true(json_object_get(ev, "timed_out")))
			fputs(" (timed out)", f);
		fputs(" after ", f);
		put_duration(f, (unsigned long long)num(ev, "duration_ms"));
		fprintf(f,
			": %lld commands, %lld refused, %lld connections, %lld failed, %lld "
			"refused",
			num(c, "exec"), num(c, "exec_denied"), num(c, "net"), num(c, "net_failed"),
			num(c, "net_denied"));
		if (json_is_true(json_object_get(fl, "tracked")))
			fprintf(f, "; files %lld created, %lld modified, %lld deleted%s",
				num(fl, "created"), num(fl, "modified"), num(fl, "deleted"),
				json_is_true(json_object_get(fl, "complete")) ? ""
									      : " (incomplete)");
		if (str(ev, "error")) {
			fputs("\n               error: ", f);
			put_str(f, ev, "error", "");
		}
	} else if (!strcmp(type, "suppressed")) {
		fprintf(f, "%sHELD%s     %lld ", red, off, num(ev, "count"));
		put_str(f, ev, "suppressed.event", "?");
		fputs(" events not written (over the rate bound)", f);
	} else {
		put_safe(f, type, strlen(type));
	}
	if (json_is_true(json_object_get(ev, "truncated")))
		fputs(" [truncated]", f);
	fputc('\n', f);
}

static bool wanted(const struct log_opts *o, json_t *ev)
{
	const char *sb = str(ev, "sandbox"), *type = str(ev, "event");

	if (o->session && (!sb || strncmp(sb, o->session, strlen(o->session)) != 0))
		return false;
	if (o->n_types == 0)
		return true;
	for (size_t i = 0; i < o->n_types; i++)
		if (type && !strcmp(type, o->types[i]))
			return true;
	return false;
}

static int log_usage(FILE *f)
{
	fprintf(f, "Usage: hutch log FILE [--session ID] [--type TYPE[,TYPE...]] [--json]\n\n"
		   "Show an audit log (hutch run --audit FILE) as a timeline per session.\n"
		   "  FILE               the JSON Lines log, - for standard input\n"
		   "  -s, --session ID   only this session (an id or a prefix of one)\n"
		   "  -t, --type TYPE    only these events: start exec deny package net file\n"
		   "                     limit end (comma-separated, repeatable)\n"
		   "      --json         print the matching events unchanged (for jq)\n\n"
		   "Exit status 1 when a line is not a JSON event (a damaged log).\n");
	return f == stderr ? HUTCH_EXIT_ERROR : 0;
}

static int add_types(struct log_opts *o, char *s)
{
	for (char *save = NULL, *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->n_types >= LOG_MAX_TYPES)
			return cli_usage_error("log: at most %d event types", LOG_MAX_TYPES);
		o->types[o->n_types++] = t;
	}
	return 0;
}

int cmd_log(int argc, char **argv)
{
	static const struct option options[] = {
		{"session", required_argument, NULL, 's'},
		{"type", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct log_opts o = {0};
	struct timeline tl = {.t0 = -1, .start = -1};
	const char *path;
	FILE *in;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, lineno = 0, bad = 0;
	ssize_t n;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:t:h", options, NULL)) != -1) {
		switch (c) {
		case 's':
			o.session = optarg;
			break;
		case 't':
			if (add_types(&o, optarg) != 0)
				return HUTCH_EXIT_ERROR;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			return log_usage(stdout);
		default:
			return cli_bad_option("log", c, argv);
		}
	}
	if (optind >= argc)
		return cli_cmd_error("log", "which file? (hutch log FILE, - for stdin)");
	if (optind != argc - 1)
		return cli_cmd_error("log", "unexpected argument '%s'", argv[optind + 1]);
	path = argv[optind];
	in = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (!in)
		return cli_usage_error("log: cannot open %s: %s", path, strerror(errno));
	o.color = !o.json && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	while ((n = getline(&line, &cap, in)) > 0) {
		json_t *ev;
		lineno++;
		if (n > LOG_MAX_LINE) {
			fprintf(stderr, "%s: log: %s:%zu: line longer than %d bytes, skipped\n",
				cli_prog, path, lineno, LOG_MAX_LINE);
			bad++;
			continue;
		}
		ev = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, NULL);
		if (!json_is_object(ev) || !str(ev, "event")) {
			fprintf(stderr, "%s: log: %s:%zu: not a JSON event, skipped\n", cli_prog,
				path, lineno);
			bad++;
			json_decref(ev);
			continue;
		}
		note_start(&tl, ev);
		if (wanted(&o, ev)) {
			if (o.json) {
				fwrite(line, 1, (size_t)n, stdout);
				if (line[n - 1] != '\n')
					fputc('\n', stdout);
			} else {
				render(stdout, &o, &tl, ev);
			}
		}
		json_decref(ev);
	}
	if (in != stdin)
		fclose(in);
	return bad ? 1 : 0;
}

/* ---- the exit summary of hutch run ------------------------------------------ */

/* "PATH, PATH (+N more)", each PATH in $HOME shown as ~/...; escaped. */
static void put_paths(FILE *f, const char *list)
{
	const char *home = getenv("HOME");
	size_t hl = home && home[0] == '/' && home[1] ? strlen(home) : 0;
	const char *p = list;

	while (*p) {
		const char *sep = strstr(p, ", ");
		size_t n = sep ? (size_t)(sep - p) : strlen(p);

		if (hl && n > hl && !strncmp(p, home, hl) && p[hl] == '/') {
			fputc('~', f);
			put_safe(f, p + hl, n - hl);
		} else {
			put_safe(f, p, n);
		}
		if (!sep)
			break;
		fputs(", ", f);
		p = sep + 2;
	}
}

void cli_run_summary(const struct hutch_run_summary *s)
{
	FILE *f = stderr;

	if (!s->valid)
		return;
	fprintf(f, "%s: session %s: ", cli_prog, s->sandbox);
	if (s->timed_out)
		fprintf(f, "timed out (exit %d)", s->status);
	else if (s->signal)
		fprintf(f, "killed by signal %d (exit %d)", s->signal, s->status);
	else
		fprintf(f, "exit %d", s->status);
	fputs(" after ", f);
	put_duration(f, (unsigned long long)s->duration_ms);
	fputc('\n', f);
	if (s->exec_tracked) {
		fprintf(f, "%s:   commands: %llu run", cli_prog, (unsigned long long)s->commands);
		if (s->commands_denied) {
			fprintf(f, ", %llu refused: ", (unsigned long long)s->commands_denied);
			put_safe(f, s->denied_commands, strlen(s->denied_commands));
		}
		if (s->packages)
			fprintf(f, "; %llu package install%s", (unsigned long long)s->packages,
				s->packages == 1 ? "" : "s");
		fputc('\n', f);
	}
	if (s->net_allowed || s->net_denied || s->net_failed) {
		fprintf(f, "%s:   network: %llu connection%s made", cli_prog,
			(unsigned long long)s->net_allowed, s->net_allowed == 1 ? "" : "s");
		if (s->net_failed) {
			fprintf(f, ", %llu failed: ", (unsigned long long)s->net_failed);
			put_safe(f, s->failed_hosts, strlen(s->failed_hosts));
		}
		if (s->net_denied) {
			fprintf(f, ", %llu refused: ", (unsigned long long)s->net_denied);
			put_safe(f, s->denied_hosts, strlen(s->denied_hosts));
		}
		fputc('\n', f);
	}
	if (s->files_tracked)
		fprintf(f, "%s:   files: %llu created, %llu modified, %llu deleted%s\n", cli_prog,
			(unsigned long long)s->files_created, (unsigned long long)s->files_modified,
			(unsigned long long)s->files_deleted,
			s->files_incomplete ? " (incomplete: the scan hit its budget)" : "");
	if (s->persist_checked && (s->persist_neutralised || s->persist_failed))
		fprintf(f, "%s:   git check: %llu neutralised, %llu could not be checked\n",
			cli_prog, (unsigned long long)s->persist_neutralised,
			(unsigned long long)s->persist_failed);
	if (s->writes_refused) {
		fprintf(f, "%s:   writes: %llu refused by the sandbox (%s): ", cli_prog,
			(unsigned long long)s->writes_refused, s->refused_why);
		put_paths(f, s->refused_writes);
		fputs(s->audited ? "\n" : "; --audit FILE logs each one\n", f);
	}
	if (s->audit_errors) {
		fprintf(f, "%s:   audit log: %llu event%s could not be written: ", cli_prog,
			(unsigned long long)s->audit_errors, s->audit_errors == 1 ? "" : "s");
		put_safe(f, s->audit_error, strlen(s->audit_error));
		fputc('\n', f);
	}
}
