/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch run [OPTIONS] [--] COMMAND [ARG...] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ask.h"
#include "base/escape.h"
#include "cli.h"

enum {
	OPT_PROFILE = 256,
	OPT_SRT_SETTINGS,
	OPT_ASK,
	OPT_NET,
	OPT_DENY,
	OPT_RW,
	OPT_RO,
	OPT_HIDE,
	OPT_PRIVATE,
	OPT_SOCKET,
	OPT_EPHEMERAL,
	OPT_NAME,
	OPT_AUDIT,
	OPT_MEMORY,
	OPT_PIDS,
	OPT_CPUS,
	OPT_TIMEOUT,
	OPT_STOP_TIMEOUT,
	OPT_ALLOW_DEGRADED,
	OPT_DRY_RUN,
	OPT_SESSION,
	OPT_ALLOW_DANGEROUS_WORKSPACE,
	OPT_HOST_PORT,
};

static const struct option run_options[] = {
	{"workspace", required_argument, NULL, 'C'},
	{"policy", required_argument, NULL, 'p'},
	{"srt-settings", required_argument, NULL, OPT_SRT_SETTINGS},
	{"ask", no_argument, NULL, OPT_ASK},
	{"profile", required_argument, NULL, OPT_PROFILE},
	{"net", required_argument, NULL, OPT_NET},
	{"allow", required_argument, NULL, 'a'},
	{"deny", required_argument, NULL, OPT_DENY},
	{"host-port", required_argument, NULL, OPT_HOST_PORT},
	{"rw", required_argument, NULL, OPT_RW},
	{"ro", required_argument, NULL, OPT_RO},
	{"hide", required_argument, NULL, OPT_HIDE},
	{"private", required_argument, NULL, OPT_PRIVATE},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"env", required_argument, NULL, 'e'},
	{"ephemeral", optional_argument, NULL, OPT_EPHEMERAL},
	{"name", required_argument, NULL, OPT_NAME},
	{"session", required_argument, NULL, OPT_SESSION},
	{"audit", required_argument, NULL, OPT_AUDIT},
	{"memory", required_argument, NULL, OPT_MEMORY},
	{"pids", required_argument, NULL, OPT_PIDS},
	{"cpus", required_argument, NULL, OPT_CPUS},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
	{"allow-degraded", no_argument, NULL, OPT_ALLOW_DEGRADED},
	{"allow-dangerous-workspace", no_argument, NULL, OPT_ALLOW_DANGEROUS_WORKSPACE},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int run_usage(FILE *f)
{
	fprintf(f,
		"Usage: hutch run [OPTIONS] [--] COMMAND [ARG...]\n\n"
		"  -C, --workspace DIR     writable project root (default: current directory)\n"
		"  -p, --policy FILE       policy file, repeatable, merged in order\n"
		"      --srt-settings FILE Anthropic sandbox-runtime settings, mapped onto the "
		"policy\n"
		"      --profile NAME      default, strict, claude-code, codex, gemini, aider\n"
		"      --net MODE          none | proxy | host      (default: none)\n"
		"  -a, --allow DOMAIN      allow a destination (implies --net proxy)\n"
		"      --deny DOMAIN       deny a destination\n"
		"      --host-port PORT    the sandbox's 127.0.0.1:PORT and localhost:PORT lead "
		"to\n"
		"                          the host's (a local model API such as Ollama)\n"
		"      --ask               on a terminal, ask before refusing a destination\n"
		"                          (once, session, always = saved to your policy, deny)\n"
		"      --rw PATH           extra writable path\n"
		"      --ro PATH           extra read-only path\n"
		"      --hide PATH         make a path invisible\n"
		"      --private PATH      an empty writable directory over PATH, discarded\n"
		"                          at the end (the host's is never seen nor written)\n"
		"      --socket PATH       expose one host Unix socket (a hole: use sparingly)\n"
		"  -e, --env NAME[=VALUE]  pass or set a variable\n"
		"      --ephemeral         writes go to a session layer; review them with\n"
		"                          hutch diff, keep them with hutch apply\n"
		"      --ephemeral=root    the rest of the filesystem under a session layer too\n"
		"                          (apt-get, pip, /usr): never applied, goes with it\n"
		"      --session ID        continue in ephemeral session ID (hutch ls, hutch "
		"fork)\n"
		"      --name NAME         keep the sandbox as a named session (hutch exec NAME)\n"
		"      --audit FILE        append JSON Lines audit events to FILE (- = stderr,\n"
		"                          syslog = the local syslog); hutch log FILE shows it\n"
		"      --memory SIZE  --pids N  --cpus N  --timeout DURATION\n"
		"      --stop-timeout DURATION  after SIGTERM/SIGINT/SIGHUP to hutch or "
		"--timeout,\n"
		"                          SIGKILL to the whole sandbox after this (default 10s)\n"
		"      --allow-degraded    run with the layers this machine has\n"
		"      --allow-dangerous-workspace  let the workspace or an --rw path be $HOME,\n"
		"                          above it, or a system directory (refused otherwise)\n"
		"      --dry-run           print the effective policy and layers, run nothing\n"
		"  -q, --quiet   -v, --verbose\n\n"
		"Example: hutch run --profile claude-code -- claude\n"
		"A summary is printed at exit with -v or --audit, on a terminal when commands\n"
		"or connections were watched; never with -q. Policy \"commands\" rules are guard\n"
		"rails, not a security boundary. More: man hutch, man hutch-policy.\n");
	return f == stderr ? HUTCH_EXIT_ERROR : 0;
}

struct run_args {
	const char *profile;
	const char *workspace;
	const char **policy_files;
	size_t n_policy_files;
	bool dry_run;
	const char *name;		 /* --name: keep the sandbox as a named session */
	char *session_ws;		 /* --session's workspace (owned) */
	const char *srt_settings;	 /* --srt-settings FILE, merged after the -p files */
	bool ask;			 /* --ask */
	int64_t stop_timeout_ms;	 /* --stop-timeout, -1: not given */
	const char *ephemeral, *session; /* --ephemeral[=MODE], --session ID */
	/* flags applied after the files, in order */
	struct flag {
		bool is_list;
		int which;
		const char *value;
		const char *origin;
	} * flags;
	size_t n_flags;
};

static int push_flag(struct run_args *a, bool is_list, int which, const char *value,
		     const char *origin)
{
	struct flag *v = realloc(a->flags, (a->n_flags + 1) * sizeof(*v));

	if (!v)
		return -1;
	a->flags = v;
	a->flags[a->n_flags++] = (struct flag){is_list, which, value, origin};
	return 0;
}

static int parse_args(int argc, char **argv, struct run_args *a, int *optind_out)
{
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+:C:p:a:e:qvh", run_options, NULL)) != -1) {
		int r = 0;
		switch (c) {
		case 'C':
			a->workspace = optarg;
			break;
		case 'p': {
			const char **v =
				realloc(a->policy_files, (a->n_policy_files + 1) * sizeof(*v));
			if (!v)
				return -1;
			a->policy_files = v;
			a->policy_files[a->n_policy_files++] = optarg;
			break;
		}
		case OPT_PROFILE:
			a->profile = optarg;
			break;
		case OPT_SRT_SETTINGS:
			a->srt_settings = optarg;
			break;
		case OPT_ASK:
			a->ask = true;
			break;
		case OPT_NET:
			r = push_flag(a, false, HUTCH_KEY_NET_MODE, optarg, "--net");
			break;
		case 'a':
			r = push_flag(a, true, HUTCH_LIST_NET_ALLOW, optarg, "--allow");
			break;
		case OPT_DENY:
			r = push_flag(a, true, HUTCH_LIST_NET_DENY, optarg, "--deny");
			break;
		case OPT_HOST_PORT:
			r = push_flag(a, true, HUTCH_LIST_NET_HOST_PORTS, optarg, "--host-port");
			break;
		case OPT_RW:
			r = push_flag(a, true, HUTCH_LIST_WRITABLE, optarg, "--rw");
			break;
		case OPT_RO:
			r = push_flag(a, true, HUTCH_LIST_READONLY, optarg, "--ro");
			break;
		case OPT_HIDE:
			r = push_flag(a, true, HUTCH_LIST_HIDDEN, optarg, "--hide");
			break;
		case OPT_PRIVATE:
			r = push_flag(a, true, HUTCH_LIST_PRIVATE, optarg, "--private");
			break;
		case OPT_SOCKET:
			r = push_flag(a, true, HUTCH_LIST_SOCKETS, optarg, "--socket");
			break;
		case 'e':
			r = push_flag(a, true,
				      strchr(optarg, '=') ? HUTCH_LIST_ENV_SET
							  : HUTCH_LIST_ENV_PASS,
				      optarg, "--env");
			break;
		case OPT_EPHEMERAL:
			a->ephemeral = optarg ? optarg : "";
			break;
		case OPT_SESSION:
			a->session = optarg;
			break;
		case OPT_NAME:
			a->name = optarg;
			break;
		case OPT_AUDIT:
			r = push_flag(a, false, HUTCH_KEY_AUDIT_FILE, optarg, "--audit");
			break;
		case OPT_MEMORY:
			r = push_flag(a, false, HUTCH_KEY_MEMORY, optarg, "--memory");
			break;
		case OPT_PIDS:
			r = push_flag(a, false, HUTCH_KEY_PIDS, optarg, "--pids");
			break;
		case OPT_CPUS:
			r = push_flag(a, false, HUTCH_KEY_CPUS, optarg, "--cpus");
			break;
		case OPT_TIMEOUT:
			r = push_flag(a, false, HUTCH_KEY_TIMEOUT, optarg, "--timeout");
			break;
		case OPT_STOP_TIMEOUT:
			if (cli_parse_stop_timeout("run", optarg, &a->stop_timeout_ms) < 0)
				return -2;
			break;
		case OPT_ALLOW_DEGRADED:
			r = push_flag(a, false, HUTCH_KEY_ALLOW_DEGRADED, "true",
				      "--allow-degraded");
			break;
		case OPT_ALLOW_DANGEROUS_WORKSPACE:
			r = push_flag(a, false, HUTCH_KEY_ALLOW_DANGEROUS_WORKSPACE, "true",
				      "--allow-dangerous-workspace");
			break;
		case OPT_DRY_RUN:
			a->dry_run = true;
			break;
		case 'q':
			cli_quiet = true;
			break;
		case 'v':
			cli_verbose++;
			break;
		case 'h':
			return run_usage(stdout), -3;
		default:
			return cli_bad_option("run", c, argv), -2;
		}
		if (r < 0)
			return -1;
	}
	*optind_out = optind;
	/* --session: its workspace unless -C says otherwise (then hutch_run checks they match) */
	if (a->session && !a->workspace)
		a->workspace = a->session_ws = cli_session_workspace(a->session);
	return 0;
}

static bool is_cli_net_allow(const struct run_args *a)
{
	for (size_t i = 0; i < a->n_flags; i++)
		if (a->flags[i].is_list && a->flags[i].which == HUTCH_LIST_NET_ALLOW)
			return true;
	return false;
}

static bool has_net_flag(const struct run_args *a)
{
	for (size_t i = 0; i < a->n_flags; i++)
		if (!a->flags[i].is_list && a->flags[i].which == HUTCH_KEY_NET_MODE)
			return true;
	return false;
}

/* The last --net MODE given, or NULL. */
static const char *net_flag(const struct run_args *a)
{
	const char *mode = NULL;

	for (size_t i = 0; i < a->n_flags; i++)
		if (!a->flags[i].is_list && a->flags[i].which == HUTCH_KEY_NET_MODE)
			mode = a->flags[i].value;
	return mode;
}

/* --net none -a HOST would reach nothing: a refusal, not a silent no-op. */
static int check_net_flags(const struct run_args *a, hutch_error *err)
{
	const char *mode = net_flag(a);

	if (!mode || strcmp(mode, "none") != 0 || (!is_cli_net_allow(a) && !a->ask))
		return 0;
	snprintf(err->msg, sizeof(err->msg),
		 "%s with --net none: no destination can be reached without a network",
		 is_cli_net_allow(a) ? "--allow" : "--ask");
	snprintf(err->hint, sizeof(err->hint),
		 "use --net proxy (or leave --net out) to reach only the allowed destinations");
	err->status = HUTCH_EXIT_ERROR;
	return -EINVAL;
}

/* Merge order (docs/hutch-policy.5.scd, MERGE ORDER): profile, system, user, -p files, project,
 * flags. */
static int build_policy(const struct run_args *a, hutch_policy **out, hutch_error *err)
{
	_cleanup_policy_ hutch_policy *p = hutch_policy_new();
	const char *home = getenv("HOME");
	const char *ws;
	int r;

	if (!p)
		return -1;
	r = check_net_flags(a, err);
	if (r >= 0)
		r = hutch_policy_apply_profile(p, a->profile ? a->profile : "default", err);
	if (r >= 0)
		r = hutch_policy_load_standard(p, err);
	for (size_t i = 0; r >= 0 && i < a->n_policy_files; i++)
		r = hutch_policy_load_file(p, a->policy_files[i], HUTCH_SOURCE_FILE, err);
	if (r >= 0 && a->srt_settings) {
		/* Like one more -p file; settings hutch would enforce less for are refused. */
		_cleanup_srt_ hutch_srt *srt = NULL;

		r = hutch_srt_load_file(a->srt_settings, &srt, err);
		for (size_t i = 0; r >= 0 && i < hutch_srt_n_notes(srt) && !cli_quiet; i++)
			cli_warn("%s", hutch_srt_note(srt, i, NULL));
		if (r >= 0)
			r = hutch_srt_apply(srt, p, false, err);
		if (r >= 0)
			r = hutch_policy_protect_file(p, a->srt_settings, err);
	}
	if (r >= 0 && a->workspace)
		r = hutch_policy_set(p, HUTCH_KEY_WORKSPACE, a->workspace, "--workspace", err);
	if (r >= 0) {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);
		ws = a->workspace ? a->workspace : cwd;
		r = ws ? hutch_policy_load_project(p, ws, err) : 0;
	}
	/* -a (and --ask) imply --net proxy unless --net was given explicitly */
	if (r >= 0 && (is_cli_net_allow(a) || a->ask) && !has_net_flag(a))
		r = hutch_policy_set(p, HUTCH_KEY_NET_MODE, "proxy", "--allow", err);
	for (size_t i = 0; r >= 0 && i < a->n_flags; i++) {
		const struct flag *f = &a->flags[i];
		r = f->is_list ? hutch_policy_add(p, (enum hutch_list)f->which, f->value, f->origin,
						  err)
			       : hutch_policy_set(p, (enum hutch_key)f->which, f->value, f->origin,
						  err);
	}
	/* Protected paths that depend on the workspace (Claude Code's auto-memory). */
	if (r >= 0)
		r = hutch_agentstate_policy(p, home, a->workspace, err);
	if (r >= 0)
		r = hutch_policy_finalize(p, home, err);
	if (r < 0)
		return r;
	*out = TAKE_PTR(p);
	return 0;
}

void cli_lib_warn(const char *msg, void *data)
{
	(void)data;
	if (!cli_quiet)
		cli_put_lib_text("", msg);
}

static void report_ignored(const hutch_policy *p)
{
	const char *path;

	for (size_t i = 0; (path = hutch_policy_ignored(p, i)) && !cli_quiet; i++)
		cli_warn("ignored untrusted project policy %s; run 'hutch trust %s' to apply it",
			 path, path);
}

/*
 * An agent profile's state and private directories (~/.claude, ...) must exist to
 * be mounted: those of --profile, and of the last profile applied (a policy file's
 * "extends"). A failure is a warning: the run then says which directory is missing.
 */
static void prepare_profiles(const char *profile, const hutch_policy *p)
{
	const char *const names[] = {profile, hutch_policy_profile(p)};
	hutch_error err = {0};

	for (size_t i = 0; i < 2; i++) {
		if (!names[i] || (i == 1 && profile && !strcmp(names[i], profile)))
			continue;
		if (hutch_profile_prepare(names[i], NULL, &err) < 0 && !cli_quiet)
			cli_warn("%s", err.msg);
		err = (hutch_error){0};
	}
}

static int dry_run(const hutch_policy *p)
{
	_cleanup_free_ char *json = hutch_policy_to_json(p);

	if (!json)
		return HUTCH_EXIT_ERROR;
	printf("%s\n", json);
	for (int f = 0; f < _HUTCH_FEAT_MAX; f++) {
		struct hutch_feature_info fi;
		hutch_probe((enum hutch_feature)f, &fi);
		fprintf(stderr, "layer %-18s %s (%s)\n", fi.name, fi.available ? "yes" : "no",
			fi.detail);
	}
	return 0;
}

/* 'PATH' for a shell, then escaped for the terminal. */
static void put_quoted(FILE *f, const char *s)
{
	char buf[8192];

	fputc('\'', f);
	for (const char *p = s; *p; p++) {
		const char *q = strchr(p, '\'');
		size_t n = q ? (size_t)(q - p) : strlen(p);
		fputs(hutch_escape(p, n, buf, sizeof(buf), 0), f);
		if (!q)
			break;
		fputs("'\\''", f);
		p = q;
	}
	fputc('\'', f);
}

/* What the end-of-run check did to planted git code: always said (a security action). */
static void persist_item(const struct hutch_persist_item *it, void *data)
{
	char path[4096], what[256], detail[1024];
	FILE *f = stderr;

	(void)data;
	hutch_escape_str(it->path, path, sizeof(path), 0);
	hutch_escape_str(it->what, what, sizeof(what), 0);
	hutch_escape_str(it->detail ? it->detail : "", detail, sizeof(detail), 0);
	switch (it->action) {
	case HUTCH_PERSIST_MOVED:
		fprintf(f, "%s: quarantined %s (%s created or changed inside the sandbox) -> ",
			cli_prog, path, what);
		break;
	case HUTCH_PERSIST_SANITIZED:
		fprintf(f, "%s: removed %s from %s (%s changed inside the sandbox); original -> ",
			cli_prog, detail, path, what);
		break;
	case HUTCH_PERSIST_FAILED:
	default:
		fprintf(f, "%s: warning: could not check or neutralise %s (%s): %s\n", cli_prog,
			path, what, detail);
		return;
	}
	hutch_escape_str(it->quarantine, path, sizeof(path), 0);
	fprintf(f, "%s; restore with: mv -- ", path);
	put_quoted(f, it->quarantine);
	fputc(' ', f);
	put_quoted(f, it->path);
	fputc('\n', f);
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = {.stop_timeout_ms = -1};
	struct hutch_run_opts opts = {0};
	struct hutch_run_summary sum = {0};
	struct cli_ask ask = {.tty = -1};
	_cleanup_agentstate_ hutch_agentstate *state = NULL;
	_cleanup_policy_ hutch_policy *p = NULL;
	hutch_error err = {0};
	int first, r, status = HUTCH_EXIT_ERROR;

	r = parse_args(argc, argv, &a, &first);
	if (r >= 0 && first >= argc && !a.dry_run)
		r = cli_cmd_error("run", "no command given (hutch run [OPTIONS] -- COMMAND "
					 "[ARG...])");
	else if (r >= 0)
		r = build_policy(&a, &p, &err) < 0 ? cli_error(&err) : 0;
	else
		r = r == -3 ? 0 : HUTCH_EXIT_ERROR;
	free(a.flags);
	free(a.session_ws);
	free(a.policy_files);
	if (!p)
		return r;
	report_ignored(p);
	if (a.dry_run)
		return dry_run(p);
	prepare_profiles(a.profile, p);
	opts.verbose = cli_verbose;
	opts.quiet = cli_quiet;
	opts.warn = cli_lib_warn;
	if ((a.ephemeral || a.session) &&
	    cli_ephemeral_start(p, a.ephemeral, a.session, a.name, &opts.session, &err) < 0)
		return HUTCH_EXIT_ERROR;
	if (a.name && a.ask && !cli_quiet)
		cli_warn("--ask: not available for named sessions: destinations outside the "
			 "allowlist are denied");
	if (a.name) {
		/*
		 * A named session: start it in the background, run the first command in
		 * it. Its daemon makes the agent's working copies and carries them back
		 * at hutch stop (docs/profiles.md, "State the agent writes").
		 */
		r = hutch_named_start(p, a.name, &err);
		if (r >= 0)
			r = hutch_named_exec(a.name, argv + first, cli_lib_warn, NULL,
					     a.stop_timeout_ms, &status, &err);
		return r < 0 ? cli_error(&err) : status;
	}
	opts.summary = &sum;
	opts.persist = persist_item;
	if (a.stop_timeout_ms >= 0) {
		opts.stop_timeout_set = true;
		opts.stop_timeout_ms = (uint64_t)a.stop_timeout_ms;
	}
	if (a.ask) {
		/* Asked on /dev/tty only when stdin is a terminal; otherwise a plain denial. */
		if (cli_ask_init(&ask, NULL) >= 0 && ask.tty >= 0) {
			opts.ask = cli_ask;
			opts.ask_data = &ask;
		} else if (!cli_quiet) {
			cli_warn("--ask: stdin is not a terminal: destinations outside the "
				 "allowlist "
				 "are denied");
		}
	}
	/* The agent's state file: a working copy inside, the safe part carried back after. */
	if (hutch_agentstate_begin(p, NULL, &state, &err) < 0) {
		cli_ask_done(&ask);
		if (opts.session)
			cli_ephemeral_finish(opts.session, false);
		return cli_error(&err);
	}
	r = hutch_run(p, argv + first, &opts, &status, &err);
	cli_ask_done(&ask);
	if (state) {
		hutch_error serr = {0};

		/* The host's file is unchanged then: say so, keep the command's status. */
		if (hutch_agentstate_end(state, cli_lib_warn, NULL, &serr) < 0 && !cli_quiet)
			cli_warn("%s", serr.msg);
		hutch_agentstate_free(TAKE_PTR(state));
	}
	/*
	 * The summary, never with -q: with -v or an audit log; on a terminal when there is
	 * more to say than the exit status (commands were watched, the proxy was used).
	 */
	if (r >= 0 && !cli_quiet &&
	    (cli_verbose || sum.audited || sum.persist_neutralised || sum.persist_failed ||
	     (isatty(STDERR_FILENO) && (sum.exec_tracked || sum.net_allowed || sum.net_denied ||
					sum.net_failed || sum.writes_refused))))
		cli_run_summary(&sum);
	if (opts.session)
		cli_ephemeral_finish(opts.session, r >= 0);
	if (r < 0)
		return cli_error(&err);
	return status;
}
