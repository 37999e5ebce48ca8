/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch run --ephemeral / --session ID: the CLI side, and session lookup for diff, apply, ... */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "base/escape.h"
#include "cli.h"

/* The session this hutch run made, if any (removed again when the sandbox never started). */
static hutch_session *fresh_session;

char *cli_session_workspace(const char *id)
{
	_cleanup_session_ hutch_session *s = NULL;

	if (hutch_session_open(id, NULL, &s, NULL) < 0)
		return NULL;
	return strdup(hutch_session_workspace(s));
}

int cli_ephemeral_start(const hutch_policy *p, const char *mode, const char *id, const char *name,
			hutch_session **out, hutch_error *err)
{
	int r;

	bool root = mode && !strcmp(mode, "root");

	*out = NULL;
	if (mode && mode[0] && strcmp(mode, "workspace") && !root)
		return cli_usage_error("--ephemeral=%s: unknown mode (use --ephemeral or "
				       "--ephemeral=root)",
				       mode),
		       -1;
	if (name)
		return cli_usage_error("--ephemeral and --session cannot be combined with --name "
				       "yet"),
		       -1;
	if (id) {
		/* --session ID --ephemeral=root: from now on the session has a root layer too */
		r = hutch_session_open(id, NULL, out, err);
		if (r >= 0 && root)
			r = hutch_session_set_root(*out, err);
		if (r < 0) {
			hutch_session_free(*out);
			*out = NULL;
			return cli_error(err), -1;
		}
		return 0;
	}
	r = hutch_session_create(p, NULL, out, err);
	if (r < 0)
		return cli_error(err), -1;
	fresh_session = *out;
	if (root && hutch_session_set_root(*out, err) < 0) {
		cli_ephemeral_finish(*out, false);
		*out = NULL;
		return cli_error(err), -1;
	}
	return 0;
}

static bool no_changes(hutch_session *s)
{
	bool any = true;

	return hutch_session_has_changes(s, &any, NULL) == 0 && !any;
}

void cli_ephemeral_finish(hutch_session *s, bool started)
{
	hutch_error err = {0};
	const char *id = hutch_session_id(s);

	if (!started && s == fresh_session) {
		/* the sandbox never ran: nothing to keep */
		(void)hutch_session_discard(s, &err);
	} else if (s == fresh_session && no_changes(s)) {
		/* a new session the command did not change: nothing to review */
		if (hutch_session_discard(s, &err) == 0 && cli_verbose)
			fprintf(stderr, "%s: no changes: session %s discarded\n", cli_prog, id);
	} else if (!cli_quiet) {
		struct statvfs vfs;
		/* under 1 MiB or 1% left: some write inside may have had ENOSPC */
		if (statvfs(hutch_session_dir(s), &vfs) == 0 &&
		    ((uint64_t)vfs.f_bavail * vfs.f_frsize < 1024 * 1024 ||
		     vfs.f_bavail < vfs.f_blocks / 100))
			cli_warn(
				"the filesystem of session %s is full or nearly: writes inside may "
				"have failed with \"No space left on device\" (%s)",
				id, hutch_session_dir(s));
		fprintf(stderr,
			"%s: session %s keeps the changes: 'hutch diff %s' to review, 'hutch apply "
			"%s' to keep, 'hutch discard %s' to drop\n",
			cli_prog, id, id, id, id);
		if (hutch_session_is_root(s))
			fprintf(stderr,
				"%s: (its root layer, the writes outside the workspace, is never "
				"applied: 'hutch run --session %s' sees it, discard drops it)\n",
				cli_prog, id);
	}
	fresh_session = NULL;
	hutch_session_free(s);
}

int cli_open_session(const char *id, const char *dir, hutch_session **out)
{
	hutch_error err = {0};

	if (hutch_session_open(id, dir, out, &err) < 0)
		return cli_error(&err);
	return 0;
}

void cli_json_bytes(FILE *f, const char *s, size_t n, bool *invalid)
{
	char buf[1024];
	size_t i = 0;

	fputc('"', f);
	while (i < n) {
		size_t used = 0;
		size_t w = hutch_json_escape((const uint8_t *)s + i, n - i, buf, sizeof(buf), &used,
					     invalid, HUTCH_JSON_ESC_C1);

		fwrite(buf, 1, w, f);
		if (used == 0)
			break;
		i += used;
	}
	fputc('"', f);
}

void cli_json_string(FILE *f, const char *s)
{
	bool invalid = false;

	s = s ? s : "";
	cli_json_bytes(f, s, strlen(s), &invalid);
}

const char *cli_quote_path(const char *s, char *buf, size_t size)
{
	size_t n;

	if (!*s)
		return "."; /* the workspace itself (its own mode changed) */
	if (!hutch_escape_needed(s, strlen(s)) && !strpbrk(s, "\"\\"))
		return s;
	if (size < 8)
		return "\"...\"";
	buf[0] = '"';
	hutch_escape_str(s, buf + 1, size - 2, HUTCH_ESC_QUOTE);
	n = strlen(buf);
	buf[n] = '"';
	buf[n + 1] = '\0';
	return buf;
}
