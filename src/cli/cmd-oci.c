/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hutch oci (also installed as hutch-oci): a runc-compatible runtime for Docker, Podman
 * and containerd (docs/oci.md). runc sets the container up; hutch rewrites the bundle on
 * create/run (hutch_oci_prepare()) and the process of exec so that its static init
 * applies hutch's layers before the workload. Every other subcommand, and runc's global
 * options, go to runc unchanged. hutch's own errors go to stderr and, with --log, to the
 * log file in runc's format (what containerd and Docker show their users); status 1 as
 * runc's.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/escape.h"
#include "base/file.h"
#include "cli.h"

#define DEFAULT_RUNC "/usr/sbin/runc"
#define MAX_GLOBALS 32
#define MAX_STATE_BYTES (1024 * 1024)

struct oci {
	const char *runc;
	const char *policy;
	const char *log;
	bool log_json;
	bool allow_degraded;
	char *globals[MAX_GLOBALS]; /* runc's global options, as given */
	int n_globals;
};

/* runc's global options that take a value (urfave/cli: "--x v", "--x=v", "-x v"). */
static const char *const global_with_value[] = {"root", "log", "log-format", "criu", "rootless"};

static int oci_usage(FILE *f)
{
	fprintf(f,
		"Usage: hutch oci [HUTCH-OPTIONS] [RUNC-OPTIONS] COMMAND ...\n"
		"       hutch-oci ...  (the same, for engines that want a runtime path)\n\n"
		"A runc-compatible OCI runtime: runc sets the container up, hutch's init applies\n"
		"Landlock, seccomp and no_new_privs before the workload (docs/oci.md).\n\n"
		"  --runc PATH          the runc to use (env HUTCH_OCI_RUNC, default %s)\n"
		"  --hutch-policy FILE  the policy of every container (default %s\n"
		"                       if it exists); an annotation dev.hutch.policy adds to it\n"
		"  --allow-degraded     run containers without Landlock where there is none\n\n"
		"Commands: create, run and exec get hutch's layers; start, delete, kill, state,\n"
		"ps, pause, resume, update, features, --version go to runc as they are.\n",
		DEFAULT_RUNC, HUTCH_OCI_DEFAULT_POLICY);
	return f == stderr ? 1 : 0;
}

/* "--name", "-name", "--name=V": the option's name, and its inline value if any. */
static bool opt_is(const char *arg, const char *name, const char **inline_value)
{
	size_t n = strlen(name);
	const char *a = arg;

	if (a[0] != '-')
		return false;
	a += a[1] == '-' ? 2 : 1;
	if (strncmp(a, name, n) != 0)
		return false;
	if (a[n] == '\0') {
		*inline_value = NULL;
		return true;
	}
	if (a[n] == '=') {
		*inline_value = a + n + 1;
		return true;
	}
	return false;
}

/* ---- errors in runc's way ------------------------------------------------------------- */

static void log_line(const struct oci *o, const char *level, const char *msg)
{
	_cleanup_close_ int fd = -1;
	char esc[4096], when[64], line[sizeof(esc) + 256];
	time_t now = time(NULL);
	struct tm tm;
	size_t used, n;
	bool invalid;

	if (!o->log)
		return;
	fd = open(o->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (o->log_json) {
		n = hutch_json_escape((const uint8_t *)msg, strlen(msg), esc, sizeof(esc) - 1,
				      &used, &invalid, HUTCH_JSON_ESC_C1);
		esc[n] = '\0';
		n = (size_t)snprintf(line, sizeof(line),
				     "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n", level,
				     esc, when);
	} else {
		hutch_escape_str(msg, esc, sizeof(esc), 0);
		n = (size_t)snprintf(line, sizeof(line), "time=\"%s\" level=%s msg=\"%s\"\n", when,
				     level, esc);
	}
	(void)hutch_write_all(fd, line, n < sizeof(line) ? n : sizeof(line) - 1);
}

static int oci_fail(const struct oci *o, const char *msg, const char *hint)
{
	char buf[2048], esc[4 * sizeof(buf)];

	snprintf(buf, sizeof(buf), "hutch: %s%s%s%s", msg, hint && *hint ? " (hint: " : "",
		 hint && *hint ? hint : "", hint && *hint ? ")" : "");
	fprintf(stderr, "%s\n", hutch_escape_str(buf, esc, sizeof(esc), 0));
	log_line(o, "error", buf);
	return 1;
}

static int oci_fail_err(const struct oci *o, const hutch_error *err)
{
	return oci_fail(o, err->msg[0] ? err->msg : "unknown error", err->hint);
}

/* ---- running runc ---------------------------------------------------------------------- */

/* argv for runc: runc, the global options, then @argc words of @argv. */
static char **runc_argv(const struct oci *o, int argc, char **argv)
{
	char **v = calloc((size_t)o->n_globals + (size_t)argc + 2, sizeof(*v));
	int k = 0;

	if (!v)
		return NULL;
	v[k++] = (char *)o->runc;
	for (int i = 0; i < o->n_globals; i++)
		v[k++] = o->globals[i];
	for (int i = 0; i < argc; i++)
		v[k++] = argv[i];
	v[k] = NULL;
	return v;
}

static int exec_runc(const struct oci *o, int argc, char **argv)
{
	char **v = runc_argv(o, argc, argv);
	char msg[PATH_MAX + 64];

	if (!v)
		return oci_fail(o, "out of memory", NULL);
	execv(o->runc, v);
	snprintf(msg, sizeof(msg), "cannot execute runc %s: %s", o->runc, strerror(errno));
	free(v);
	return oci_fail(o, msg, "install runc, or name it with --runc PATH or HUTCH_OCI_RUNC");
}

/* runc with @argc words of @argv, waited for: its exit status (as the runtime's), or -1. */
static int run_runc(const struct oci *o, int argc, char **argv)
{
	_cleanup_free_ char **v = runc_argv(o, argc, argv);
	int status;
	pid_t pid;

	if (!v)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(o->runc, v);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run @v (v[0] a path) with stdout to a pipe: its output (malloc'd) if it exits 0, else NULL. */
static char *capture(char **v, size_t *len)
{
	char *out = NULL;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (dup2(p[1], 1) < 0 || (devnull >= 0 && dup2(devnull, 2) < 0))
			_exit(127);
		execv(v[0], v);
		_exit(127);
	}
	close(p[1]);
	if (hutch_read_fd(p[0], MAX_STATE_BYTES, &out, len) < 0)
		out = NULL;
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* `runc state ID`: its output (malloc'd), or NULL. */
static char *runc_state(const struct oci *o, char *id, size_t *len)
{
	char *words[] = {(char *)"state", id};
	_cleanup_free_ char **v = runc_argv(o, 2, words);

	return v ? capture(v, len) : NULL;
}

/* ---- the static init ------------------------------------------------------------------- */

/*
 * The init on the host: $HUTCH_OCI_INIT, else the build tree's (src/oci/ beside
 * src/cli/, where this program runs from), else the installed one.
 */
const char *cli_oci_init_path(char *buf, size_t size)
{
	const char *env = getenv("HUTCH_OCI_INIT");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(buf, size, "%s/../oci/hutch-oci-init", dirname(exe));
		if (access(buf, X_OK) == 0 && realpath(buf, exe)) {
			snprintf(buf, size, "%s", exe);
			return buf;
		}
	}
	return HUTCH_OCI_INIT_PATH;
}

/*
 * Where the check of a container's writable binds puts what it takes away:
 * $XDG_STATE_HOME/hutch/quarantine, else ~/.local/state/hutch/quarantine (rootless
 * Podman runs the runtime as the user, as root of its user namespace, with the user's
 * HOME), else /var/lib/hutch/quarantine (rootful engines' daemons, run by systemd
 * without a HOME).
 */
static char *quarantine_base(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *q = NULL;

	if (xdg && xdg[0] == '/')
		return asprintf(&q, "%s/hutch/quarantine", xdg) < 0 ? NULL : q;
	if (!home || home[0] != '/' || !strcmp(home, "/"))
		return strdup("/var/lib/hutch/quarantine");
	return asprintf(&q, "%s/.local/state/hutch/quarantine", home) < 0 ? NULL : q;
}

/* ---- create / run ---------------------------------------------------------------------- */

/* runc create/run's options that take a value. */
static const char *const create_with_value[] = {"bundle", "b", "console-socket", "pid-file",
						"preserve-fds"};

/*
 * A container with writable binds, a network allowlist or an audit: runc creates it, then,
 * before `start` can run the workload, hutch binds the protected paths of its writable
 * binds read-only in its mount namespace (hutch_oci_protect_binds()) and starts its
 * daemon (hutch_oci_netd_start()). If either fails, the container is deleted: it never
 * runs without them.
 */
/*
 * The container's process after runc create: from the engine's --pid-file, which runc
 * wrote before it returned (every engine passes one), else from `runc state` (one more runc).
 */
static int created_pid(const struct oci *o, char *id, const char *pid_file, int *pid,
		       hutch_error *err)
{
	_cleanup_free_ char *state = NULL;
	char buf[32], *end;
	size_t len;
	long v;

	if (pid_file && hutch_read_small_at(AT_FDCWD, pid_file, buf, sizeof(buf)) > 0) {
		v = strtol(buf, &end, 10);
		if (end != buf && v > 0 && v <= INT_MAX && (*end == '\0' || *end == '\n')) {
			*pid = (int)v;
			return 0;
		}
	}
	state = runc_state(o, id, &len);
	if (!state)
		return hutch_errx(err, EIO, "runc state %s failed after create", id);
	return hutch_oci_state_pid(state, len, pid, err);
}

static int create_then(const struct oci *o, const struct hutch_oci_opts *opts, int argc,
		       char **argv, int id_at, const char *pid_file, bool netd, bool binds)
{
	char *del[] = {(char *)"delete", (char *)"--force", argv[id_at]};
	hutch_error err = {0};
	int st, pid;

	if (!strcmp(argv[0], "run")) {
		if (netd)
			return oci_fail(o,
					"a network allowlist or an audit needs create and start "
					"(runc run cannot be served)",
					"engines use create and start; so can you");
		return oci_fail(
			o,
			"a writable bind of a host directory needs create and start: hutch "
			"protects its git hooks and config between the two (runc run has no "
			"point between them)",
			"engines use create and start; so can you, or bind the directory "
			"read-only");
	}
	st = run_runc(o, argc, argv);
	if (st != 0)
		return st < 0 ? oci_fail(o, "cannot run runc", NULL) : st;
	if (created_pid(o, argv[id_at], pid_file, &pid, &err) == 0 &&
	    (!binds ||
	     hutch_oci_protect_binds(opts->bundle ? opts->bundle : ".", pid, &err) >= 0) &&
	    (!netd || hutch_oci_netd_start(opts, argv[id_at], pid, &err) == 0))
		return 0;
	(void)run_runc(o, 3, del);
	return oci_fail_err(o, &err);
}

static int oci_create(const struct oci *o, int argc, char **argv)
{
	_cleanup_free_ char *q = NULL;
	const char *bundle = NULL, *pid_file = NULL, *v;
	int id_at = -1, netd, binds;
	char initbuf[PATH_MAX];
	hutch_error err = {0};
	struct hutch_oci_opts opts;

	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-' || !strcmp(argv[i], "--")) {
			id_at = argv[i][0] != '-' ? i : (i + 1 < argc ? i + 1 : -1);
			break;
		}
		if (opt_is(argv[i], "bundle", &v) || opt_is(argv[i], "b", &v)) {
			if (!v && i + 1 < argc)
				v = argv[i + 1];
			bundle = v;
		}
		if (opt_is(argv[i], "pid-file", &v))
			pid_file = v ? v : (i + 1 < argc ? argv[i + 1] : NULL);
		for (size_t k = 0; k < sizeof(create_with_value) / sizeof(create_with_value[0]);
		     k++)
			if (opt_is(argv[i], create_with_value[k], &v) && !v) {
				i++;
				break;
			}
	}
	q = quarantine_base();
	opts = (struct hutch_oci_opts){.bundle = bundle,
				       .quarantine_dir = q,
				       .policy_file = o->policy,
				       .allow_degraded = o->allow_degraded,
				       .init_path = cli_oci_init_path(initbuf, sizeof(initbuf))};
	if (access(opts.init_path, X_OK) < 0) {
		char msg[PATH_MAX + 64];

		snprintf(msg, sizeof(msg), "hutch's container init %s: %s", opts.init_path,
			 strerror(errno));
		return oci_fail(o, msg, "reinstall hutch, or name the init with HUTCH_OCI_INIT");
	}
	if (hutch_oci_prepare(&opts, &err) < 0)
		return oci_fail_err(o, &err);
	netd = hutch_oci_bundle_netd(bundle ? bundle : ".");
	binds = hutch_oci_bundle_binds(bundle ? bundle : ".");
	if ((netd > 0 || binds > 0) && id_at > 0)
		return create_then(o, &opts, argc, argv, id_at, pid_file, netd > 0, binds > 0);
	return exec_runc(o, argc, argv);
}

/* ---- delete -------------------------------------------------------------------------------- */

/* What the check did: always said (a security action), on stderr and in --log. */
static void persist_item(const struct hutch_persist_item *it, void *data)
{
	const struct oci *o = data;
	char buf[3 * PATH_MAX], esc[4 * sizeof(buf)];

	switch (it->action) {
	case HUTCH_PERSIST_MOVED:
		snprintf(buf, sizeof(buf),
			 "hutch: quarantined %s (%s created or changed in the container) -> %s",
			 it->path, it->what, it->quarantine);
		break;
	case HUTCH_PERSIST_SANITIZED:
		snprintf(buf, sizeof(buf),
			 "hutch: removed %s from %s (%s changed in the container); original -> %s",
			 it->detail ? it->detail : "", it->path, it->what, it->quarantine);
		break;
	case HUTCH_PERSIST_FAILED:
	default:
		snprintf(buf, sizeof(buf),
			 "hutch: warning: could not check or neutralise %s (%s): %s", it->path,
			 it->what, it->detail ? it->detail : "");
		break;
	}
	fprintf(stderr, "%s\n", hutch_escape_str(buf, esc, sizeof(esc), 0));
	log_line(o, "warning", buf);
}

/*
 * runc delete, then the container's network daemon, if any, is ended (and waited for),
 * and the host directories it had writable are checked for planted code (docs/oci.md,
 * "Persistence: the mounted workspace"): after runc delete, so that nothing in the
 * container runs any more (delete --force killed it).
 */
static int oci_delete(const struct oci *o, int argc, char **argv)
{
	_cleanup_free_ char *state = NULL, *bundle = NULL, *q = NULL;
	hutch_error err = {0};
	size_t len;
	int i, st;

	for (i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++)
		;
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc)
		return exec_runc(o, argc, argv);
	state = runc_state(o, argv[i], &len);
	if (!state || hutch_oci_state_bundle(state, len, &bundle, &err) < 0 ||
	    hutch_oci_bundle_wrapped(bundle) <= 0)
		return exec_runc(o, argc, argv);
	st = run_runc(o, argc, argv);
	if (st != 0)
		return st < 0 ? oci_fail(o, "cannot run runc", NULL) : st;
	if (hutch_oci_bundle_netd(bundle) > 0) {
		if (hutch_oci_netd_stop(bundle, &err) < 0 ||
		    hutch_oci_netd_leave(bundle, argv[i], &err) < 0)
			return oci_fail_err(o, &err);
	}
	q = quarantine_base();
	if (!q)
		return oci_fail(o, "out of memory", NULL);
	if (hutch_oci_persist_check(bundle, argv[i], q, persist_item, (void *)o, &err) < 0)
		return oci_fail_err(o, &err);
	return 0;
}

/* ---- exec ------------------------------------------------------------------------------- */

static const char *const exec_with_value[] = {"console-socket",
					      "pid-file",
					      "process",
					      "p",
					      "cwd",
					      "env",
					      "e",
					      "user",
					      "u",
					      "additional-gids",
					      "g",
					      "process-label",
					      "apparmor",
					      "cap",
					      "c",
					      "preserve-fds",
					      "cgroup"};

static bool exec_takes_value(const char *arg)
{
	const char *v;

	for (size_t k = 0; k < sizeof(exec_with_value) / sizeof(exec_with_value[0]); k++)
		if (opt_is(arg, exec_with_value[k], &v))
			return v == NULL;
	return false;
}

static int oci_exec(const struct oci *o, int argc, char **argv)
{
	const char *process = NULL, *v;
	_cleanup_free_ char *state = NULL, *bundle = NULL;
	_cleanup_free_ char **nargv = NULL;
	hutch_error err = {0};
	size_t len;
	int i, wrapped;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if ((opt_is(argv[i], "process", &v) || opt_is(argv[i], "p", &v)))
			process = v ? v : (i + 1 < argc ? argv[i + 1] : NULL);
		if (exec_takes_value(argv[i]))
			i++;
	}
	if (i >= argc) /* no container id: runc says what is wrong */
		return exec_runc(o, argc, argv);
	state = runc_state(o, argv[i], &len);
	if (!state) /* not a container runc knows: its own error follows */
		return exec_runc(o, argc, argv);
	if (hutch_oci_state_bundle(state, len, &bundle, &err) < 0)
		return oci_fail_err(o, &err);
	wrapped = hutch_oci_bundle_wrapped(bundle);
	if (wrapped <= 0) /* not started by hutch oci (runc's own, sharing --root) */
		return exec_runc(o, argc, argv);
	if (process) {
		if (hutch_oci_wrap_process_file(process, &err) < 0)
			return oci_fail_err(o, &err);
		return exec_runc(o, argc, argv);
	}
	if (i + 1 >= argc)
		return exec_runc(o, argc, argv);
	/* runc exec [OPTIONS] ID COMMAND...: the init goes before COMMAND. */
	nargv = calloc((size_t)argc + 2, sizeof(*nargv));
	if (!nargv)
		return oci_fail(o, "out of memory", NULL);
	for (int k = 0, j = 0; k < argc; k++) {
		nargv[j++] = argv[k];
		if (k == i)
			nargv[j++] = (char *)HUTCH_OCI_INIT_DEST;
	}
	return exec_runc(o, argc + 1, nargv);
}

/* ---- hutch check ---------------------------------------------------------------------- */

bool cli_oci_node(bool landlock, bool seccomp, char *detail, size_t size, const char **fix)
{
	const char *runc = getenv("HUTCH_OCI_RUNC");
	char *v[] = {NULL, (char *)"--version", NULL};
	char initbuf[PATH_MAX], esc[256];
	_cleanup_free_ char *out = NULL;
	const char *init;
	size_t len;

	if (!runc || !*runc)
		runc = DEFAULT_RUNC;
	v[0] = (char *)runc;
	out = capture(v, &len);
	init = cli_oci_init_path(initbuf, sizeof(initbuf));
	*fix = NULL;
	if (!out) {
		snprintf(detail, size, "runc at %s does not run", runc);
		*fix = "apt-get install runc (or name another with HUTCH_OCI_RUNC)";
		return false;
	}
	out[strcspn(out, "\n")] = '\0';
	if (access(init, X_OK) < 0) {
		snprintf(detail, size, "%s; hutch's container init %s: %s",
			 hutch_escape_str(out, esc, sizeof(esc), 0), init, strerror(errno));
		*fix = "reinstall hutch (it installs hutch-oci-init)";
		return false;
	}
	if (!landlock || !seccomp) {
		snprintf(detail, size, "%s; but %s missing (see above)",
			 hutch_escape_str(out, esc, sizeof(esc), 0),
			 !landlock ? "Landlock is" : "seccomp is");
		*fix = "the kernel needs Landlock and seccomp (see their lines above)";
		return false;
	}
	snprintf(detail, size, "%s (%s), Landlock and seccomp: hutch-oci can serve containers",
		 hutch_escape_str(out, esc, sizeof(esc), 0), runc);
	return true;
}

/* ---- global options --------------------------------------------------------------------- */

static int parse_globals(struct oci *o, int argc, char **argv, int *next)
{
	const char *v;
	int i;

	for (i = 1;
	     i < argc && argv[i][0] == '-' && strcmp(argv[i], "--version") && strcmp(argv[i], "-v");
	     i++) {
		bool takes = false;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return -1;
		if (!strcmp(argv[i], "--allow-degraded")) {
			o->allow_degraded = true;
			continue;
		}
		if (opt_is(argv[i], "runc", &v) || opt_is(argv[i], "hutch-policy", &v)) {
			bool runc = opt_is(argv[i], "runc", &v);

			if (!v && ++i >= argc)
				return -2;
			*(runc ? &o->runc : &o->policy) = v ? v : argv[i];
			continue;
		}
		for (size_t k = 0; k < sizeof(global_with_value) / sizeof(global_with_value[0]);
		     k++)
			if (opt_is(argv[i], global_with_value[k], &v)) {
				const char *val = v ? v : (i + 1 < argc ? argv[i + 1] : NULL);

				takes = !v;
				if (!strcmp(global_with_value[k], "log"))
					o->log = val;
				if (!strcmp(global_with_value[k], "log-format"))
					o->log_json = val && !strcmp(val, "json");
			}
		if (o->n_globals + 2 > MAX_GLOBALS)
			return -2;
		o->globals[o->n_globals++] = argv[i];
		if (takes && i + 1 < argc)
			o->globals[o->n_globals++] = argv[++i];
	}
	*next = i;
	return 0;
}

int cmd_oci(int argc, char **argv)
{
	struct oci o = {.runc = getenv("HUTCH_OCI_RUNC")};
	int i = 0, r;

	if (!o.runc || !*o.runc)
		o.runc = DEFAULT_RUNC;
	r = parse_globals(&o, argc, argv, &i);
	if (r == -1)
		return oci_usage(stdout);
	if (r < 0)
		return oci_fail(&o, "bad global options", "see hutch oci --help");
	if (i >= argc)
		return oci_usage(stderr);
	if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
		printf("hutch-oci version %s (hutch's layers in front of runc's containers)\n",
		       HUTCH_VERSION);
		fflush(stdout);
		return exec_runc(&o, argc - i, argv + i);
	}
	if (!strcmp(argv[i], "create") || !strcmp(argv[i], "run"))
		return oci_create(&o, argc - i, argv + i);
	if (!strcmp(argv[i], "exec"))
		return oci_exec(&o, argc - i, argv + i);
	if (!strcmp(argv[i], "delete"))
		return oci_delete(&o, argc - i, argv + i);
	return exec_runc(&o, argc - i, argv + i);
}
