/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hutch command line: one file per subcommand, the library through hutch.h only;
 * resources released with the library's own cleanup helpers (base/cleanup.h).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/cleanup.h"
#include "hutch.h"

/* _cleanup_ for the library's objects, as _cleanup_free_ is for memory. */
static inline void hutch_policy_freep(hutch_policy **p)
{
	hutch_policy_free(*p);
}
static inline void hutch_session_freep(hutch_session **s)
{
	hutch_session_free(*s);
}
static inline void hutch_srt_freep(hutch_srt **s)
{
	hutch_srt_free(*s);
}
static inline void hutch_agentstate_freep(hutch_agentstate **s)
{
	hutch_agentstate_free(*s);
}
#define _cleanup_policy_ _cleanup_(hutch_policy_freep)
#define _cleanup_session_ _cleanup_(hutch_session_freep)
#define _cleanup_srt_ _cleanup_(hutch_srt_freep)
#define _cleanup_agentstate_ _cleanup_(hutch_agentstate_freep)

extern const char *cli_prog;
extern int cli_verbose;
extern bool cli_quiet;

/* Print "hutch: <msg>" and the hint line, return err->status (or 125). */
int cli_error(const hutch_error *err);
/* "hutch: <prefix><text>" on stderr, @text (the library's) with control bytes escaped. */
void cli_put_lib_text(const char *prefix, const char *text);
/* Print "hutch: <fmt>" for usage errors and return 125. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The one form of a command-line error: "hutch CMD: <fmt>" and the line
 * "Try 'hutch CMD --help'."; returns 125. @cmd: "run", "policy show", ...
 */
int cli_cmd_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * getopt_long returned '?' or ':' (@c; the option string starts with ':' so
 * getopt prints nothing): "unknown option '--foo'" or "option '-C' requires
 * an argument", in the cli_cmd_error() form.
 */
int cli_bad_option(const char *cmd, int c, char *const argv[]);
/* A library warning callback (hutch_run_opts.warn, hutch_named_exec): "hutch: MSG" unless -q. */
void cli_lib_warn(const char *msg, void *data);

/* --stop-timeout DURATION (0 allowed: SIGKILL at once); prints the error, returns -1. */
int cli_parse_stop_timeout(const char *cmd, const char *s, int64_t *ms);

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_trust(int argc, char **argv);
int cmd_connect(int argc, char **argv); /* cmd-connect.c: ssh ProxyCommand via the proxy */
int cmd_exec(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_discard(int argc, char **argv);
int cmd_fork(int argc, char **argv);
int cmd_log(int argc, char **argv); /* cmd-log.c, also: */
int cmd_oci(int argc, char **argv); /* cmd-oci.c, also as hutch-oci */
/* cmd-oci.c: hutch's container init on the host (@buf or a constant). */
const char *cli_oci_init_path(char *buf, size_t size);
/* cmd-oci.c: can this machine serve as an OCI node (hutch check)? @detail says what was found. */
bool cli_oci_node(bool landlock, bool seccomp, char *detail, size_t size, const char **fix);
void cli_run_summary(const struct hutch_run_summary *s); /* the exit summary on stderr */

/* ephemeral.c: --ephemeral / --session for hutch run, session lookup for the others. */
/* The workspace of session @id (malloc'd), or NULL when there is no such session. */
char *cli_session_workspace(const char *id);
/* Create (or with @id, open) the session of an ephemeral run; prints errors, returns -1. */
int cli_ephemeral_start(const hutch_policy *p, const char *mode, const char *id, const char *name,
			hutch_session **out, hutch_error *err);
/* After the run: say where the changes are (or drop a session that never started); frees @s. */
void cli_ephemeral_finish(hutch_session *s, bool started);
/* Session @id (NULL: the latest for directory @dir, NULL = cwd); prints errors, returns 0 or
 * 125. */
int cli_open_session(const char *id, const char *dir, hutch_session **out);
/* A JSON string literal: cli_json_bytes() of a string (NULL: ""). */
void cli_json_string(FILE *f, const char *s);
/* @n bytes of @s as a JSON string (hutch_json_escape, C1 controls escaped too); *@invalid
 * set when a byte was not UTF-8 (written as U+FFFD). */
void cli_json_bytes(FILE *f, const char *s, size_t n, bool *invalid);
/*
 * A path as it may be shown on a terminal: itself, or in double quotes escaped by
 * hutch_escape() (base/escape.h: C0 and C1 controls, DEL, bidirectional overrides,
 * invalid UTF-8; '"' and '\\') when it holds any of those (an agent chooses its
 * file names: they must not drive the reviewer's terminal). @buf: 4x + 3 bytes.
 * "" (the workspace itself) is shown as ".".
 */
const char *cli_quote_path(const char *s, char *buf, size_t size);
