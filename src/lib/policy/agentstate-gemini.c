/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Gemini CLI's trusted folders and settings (agentstate.h). Gemini CLI keeps
 * the folders the user trusted in ~/.gemini/trustedFolders.json and the
 * settings its dialogs save (sign-in method, theme, model) in
 * ~/.gemini/settings.json, next to MCP servers, hooks and tool allow-lists;
 * it saves both through a lock and a temporary file renamed over them, so the
 * protected (read-only) files make "Trust folder" and the sign-in dialog fail.
 *
 * The gemini profile sets GEMINI_CLI_HOME=~/.gemini/.hutch-home: Gemini CLI
 * then uses ~/.gemini/.hutch-home/.gemini as its directory, a private one
 * made before the run that holds working copies of those two files and a
 * symlink to ~/.gemini/NAME for everything else (login, history, chats, and
 * the protected files, which stay read-only through the link). After the run
 * only what is safe is carried back (docs/profiles.md, "gemini"):
 *
 *   trustedFolders.json  the workspace's own entry, "TRUST_FOLDER" or
 *                        "DO_NOT_TRUST"; any other path or level is refused;
 *   settings.json        the keys in gemini_safe (sign-in method, theme and
 *                        display, model); everything else is refused.
 *
 * Each file is merged into the host's current one by JSON key, written
 * atomically with its mode kept. The private directory is removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/agentstate-int.h"
#include "base/cleanup.h"
#include "base/path.h"

#define PRIVATE_HOME ".hutch-home"
#define PRIVATE_DIR PRIVATE_HOME "/.gemini"
#define TRUST "trustedFolders.json"
#define SETTINGS "settings.json"
#define MAX_REPORTED 6
#define KEY_MAX 256

/* Linked even when missing: files Gemini CLI creates in place. */
static const char *const linked_files[] = {
	"oauth_creds.json",	 "google_accounts.json",
	"mcp-oauth-tokens.json", "a2a-oauth-tokens.json",
	"installation_id",	 "user_id",
	"projects.json",	 "state.json",
	"keybindings.json",	 NULL,
};
/* Directories Gemini CLI creates beneath: made in ~/.gemini when missing, then linked. */
static const char *const linked_dirs[] = {"tmp", "history", NULL};
/* The protected entries (profiles.c): linked, so Gemini CLI finds their read-only stand-ins. */
static const char *const linked_protected[] = {
	"GEMINI.md", "commands", "extensions", ".env", "policies",
	"skills",    "agents",	 "system.md",  NULL,
};

/*
 * settings.json keys (dotted paths) carried back: what Gemini CLI's own
 * dialogs save. A "ui." key is carried back unless its name says it could
 * run or load something (ui_refused_parts).
 */
static const char *const gemini_safe[] = {
	"security.auth.selectedType", /* the sign-in method chosen in the first-run dialog */
	"model.name",		      /* /model */
	"ide.hasSeenNudge",
	"general.vimMode",
	NULL,
};
static const char *const ui_refused_parts[] = {
	"command", "cmd", "hook", "script", "exec", "shell", "path", "dir", "url", "mcp", NULL,
};

struct hutch_gemini_state {
	int dir_fd;	  /* ~/.gemini */
	char *ws;	  /* the workspace: its own trust entry goes back */
	json_t *trust;	  /* the host's trustedFolders.json before the run ({} when none) */
	json_t *settings; /* the host's settings.json before the run ({} when none) */
	char *trust_raw, *settings_raw; /* their bytes (NULL when none) */
	size_t trust_len, settings_len;
};

static bool is_gemini(const struct hutch_policy *p, const char *home)
{
	return hutch_as_uses_copy(p, home, "GEMINI_CLI_HOME", ".gemini/" PRIVATE_HOME, ".gemini");
}

static bool is_own(const char *name)
{
	return !strcmp(name, PRIVATE_HOME) || !strcmp(name, TRUST) || !strcmp(name, SETTINGS);
}

/*
 * ~/.gemini/.hutch-home: .gemini (working copies and links) and .agents, a
 * link to ~/.agents (Gemini CLI looks for skills in $GEMINI_CLI_HOME/.agents).
 */
static int make_private_home(struct hutch_gemini_state *g)
{
	_cleanup_close_ int hfd = -1, pfd = -1;
	int r;

	r = hutch_as_rm_rf_at(g->dir_fd, PRIVATE_HOME, 0);
	if (r < 0)
		return r;
	if (mkdirat(g->dir_fd, PRIVATE_HOME, 0700) < 0)
		return -errno;
	hfd = openat(g->dir_fd, PRIVATE_HOME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hfd < 0)
		return -errno;
	if (mkdirat(hfd, ".gemini", 0700) < 0)
		return -errno;
	pfd = openat(hfd, ".gemini", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	r = hutch_as_link_up(hfd, ".agents", "../../");
	if (r == 0)
		r = hutch_as_link_all(
			g->dir_fd, pfd, "../../", is_own, linked_dirs,
			(const char *const *const[]){linked_files, linked_protected, NULL});
	if (r == 0 && g->trust_raw)
		r = hutch_as_write_copy_at(pfd, TRUST, g->trust_raw, g->trust_len, 0600);
	if (r == 0 && g->settings_raw)
		r = hutch_as_write_copy_at(pfd, SETTINGS, g->settings_raw, g->settings_len, 0600);
	return r;
}

void hutch_gemini_state_free(struct hutch_gemini_state *g)
{
	if (!g)
		return;
	if (g->dir_fd >= 0)
		close(g->dir_fd);
	json_decref(g->trust);
	json_decref(g->settings);
	free(g->trust_raw);
	free(g->settings_raw);
	free(g->ws);
	free(g);
}

/* The host's @name: its bytes in @raw (NULL when missing) and as JSON in @json ({} then). */
static int snapshot(int dir_fd, const char *name, char **raw, size_t *len, json_t **json)
{
	json_error_t je;
	int r = hutch_as_read_at(dir_fd, name, raw, len, NULL);

	if (r == -ENOENT) {
		*raw = NULL;
		*json = json_object();
		return *json ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	*json = json_loadb(*raw, *len, 0, &je); /* NULL: not plain JSON, nothing goes back */
	return 0;
}

bool hutch_gemini_state_wanted(const struct hutch_policy *p, const char *home)
{
	return is_gemini(p, home);
}

int hutch_gemini_state_begin(const struct hutch_policy *p, const char *home, bool join,
			     struct hutch_gemini_state **out, hutch_error *err)
{
	struct hutch_gemini_state *g;
	_cleanup_close_ int hfd = -1;
	const char *what = TRUST;
	int r;

	*out = NULL;
	if (!is_gemini(p, home))
		return 0;
	g = calloc(1, sizeof(*g));
	if (!g)
		return hutch_err(err, ENOMEM, "profile gemini");
	if (p->workspace) {
		g->ws = realpath(p->workspace, NULL);
		if (!g->ws)
			g->ws = strdup(p->workspace);
	}
	hfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g->dir_fd =
		hfd < 0 ? -1
			: openat(hfd, ".gemini", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (g->dir_fd < 0) {
		r = hutch_err(err, errno, "profile gemini: its state directory %s/.gemini", home);
		goto fail;
	}
	r = snapshot(g->dir_fd, TRUST, &g->trust_raw, &g->trust_len, &g->trust);
	if (r >= 0) {
		what = SETTINGS;
		r = snapshot(g->dir_fd, SETTINGS, &g->settings_raw, &g->settings_len, &g->settings);
	}
	if (r >= 0 && !(join && hutch_as_dir_there(g->dir_fd, PRIVATE_HOME))) {
		what = PRIVATE_DIR;
		r = make_private_home(g);
	}
	if (r < 0) {
		hutch_err(
			err, -r,
			"profile gemini: cannot make its private directory %s/.gemini/" PRIVATE_DIR
			" (with copies of %s and %s): %s",
			home, TRUST, SETTINGS, what);
		hutch_err_hint(err,
			       "check that %s/.gemini/" TRUST " and " SETTINGS
			       " are regular files you own",
			       home);
		goto fail;
	}
	*out = g;
	return 0;
fail:
	hutch_gemini_state_free(g);
	return r;
}

/* ---- reporting ------------------------------------------------------------------------------ */

struct refusals {
	const char *file;
	char list[1024];
	size_t shown, more;
};

/* Printable, bounded copy of @s. */
static void printable(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	for (; *s && o + 1 < size; s++)
		buf[o++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	buf[o] = '\0';
}

static void refuse(struct refusals *rf, const char *what)
{
	char p[160];
	size_t o = strlen(rf->list);

	if (rf->shown >= MAX_REPORTED) {
		rf->more++;
		return;
	}
	printable(what, p, sizeof(p));
	snprintf(rf->list + o, sizeof(rf->list) - o, "%s%s", rf->shown ? ", " : "", p);
	rf->shown++;
}

static void report(const struct refusals *rf, const char *why, hutch_agentstate_note_fn note,
		   void *data)
{
	char msg[1600];

	if (!rf->shown || !note)
		return;
	snprintf(msg, sizeof(msg),
		 "~/.gemini/%s: changed in the sandbox and not carried back (%s): %s", rf->file,
		 why, rf->list);
	if (rf->more)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " and %zu more", rf->more);
	note(msg, data);
}

/* ---- trustedFolders.json -------------------------------------------------------------------- */

static bool same(const json_t *a, const json_t *b)
{
	return (!a && !b) || (a && b && json_equal(a, b));
}

/* A workspace entry that may go back: its own path, trusted or explicitly not trusted. */
static bool trust_safe(const char *path, const json_t *v, const char *ws)
{
	const char *s = json_string_value(v);

	if (!ws || !s || strcmp(path, ws))
		return false;
	return !strcmp(s, "TRUST_FOLDER") || !strcmp(s, "DO_NOT_TRUST");
}

/* The workspace's entry to carry back (a borrowed reference), or NULL; refusals in @rf. */
static json_t *trust_diff(const struct hutch_gemini_state *g, json_t *in, struct refusals *rf)
{
	const char *path;
	json_t *v, *keep = NULL;
	char what[KEY_MAX + 40];

	json_object_foreach(in, path, v)
	{
		if (same(json_object_get(g->trust, path), v))
			continue;
		if (trust_safe(path, v, g->ws)) {
			keep = v;
			continue;
		}
		snprintf(what, sizeof(what), "%.*s: %s", KEY_MAX, path,
			 json_is_string(v) ? json_string_value(v) : "(not a trust level)");
		refuse(rf, what);
	}
	json_object_foreach(g->trust, path, v) if (!json_object_get(in, path))
	{
		snprintf(what, sizeof(what), "%.*s removed", KEY_MAX, path);
		refuse(rf, what);
	}
	return keep;
}

/* ---- settings.json -------------------------------------------------------------------------- */

static bool setting_safe(const char *dotted)
{
	for (size_t i = 0; gemini_safe[i]; i++)
		if (!strcmp(dotted, gemini_safe[i]))
			return true;
	if (strncmp(dotted, "ui.", 3))
		return false;
	for (size_t i = 0; ui_refused_parts[i]; i++)
		if (hutch_as_contains_ci(dotted, ui_refused_parts[i]))
			return false;
	return true;
}

/*
 * Can a new object at @dotted hold a safe key? Then its keys are looked at
 * one by one; else it is reported as a whole (mcpServers.NAME, not each field).
 */
static bool may_hold_safe(const char *dotted)
{
	size_t n = strlen(dotted);

	if (!strcmp(dotted, "ui") || !strncmp(dotted, "ui.", 3))
		return true;
	for (size_t i = 0; gemini_safe[i]; i++)
		if (!strncmp(gemini_safe[i], dotted, n) && gemini_safe[i][n] == '.')
			return true;
	return false;
}

/* Set (or, @v NULL, remove) the dotted path @dotted in @host, making objects on the way. */
static int set_dotted(json_t *host, const char *dotted, json_t *v)
{
	char buf[KEY_MAX * 4];
	char *k = buf, *dot;
	json_t *o = host;

	snprintf(buf, sizeof(buf), "%s", dotted);
	while ((dot = strchr(k, '.'))) {
		json_t *next;

		*dot = '\0';
		next = json_object_get(o, k);
		if (!next) {
			if (!v)
				return 0;
			next = json_object();
			if (!next || json_object_set_new(o, k, next) < 0)
				return -ENOMEM;
		}
		if (!json_is_object(next))
			return -EINVAL;
		o = next;
		k = dot + 1;
	}
	if (!v)
		return json_object_del(o, k) < 0 ? 0 : 1;
	return json_object_set(o, k, v) < 0 ? -ENOMEM : 1;
}

struct change {
	char *dotted;
	json_t *v; /* borrowed from the working copy; NULL: removed */
};

struct changes {
	struct change v[64];
	size_t n;
};

/*
 * Compare @in with @old under @prefix, descending into objects both have:
 * each changed leaf is either collected in @ch (safe) or refused in @rf.
 */
static int settings_diff(const json_t *old, json_t *in, const char *prefix, struct changes *ch,
			 struct refusals *rf, int depth)
{
	const char *key;
	json_t *v;
	char dotted[KEY_MAX * 4];
	int r;

	json_object_foreach(in, key, v)
	{
		json_t *o = json_object_get(old, key);

		if (same(o, v))
			continue;
		snprintf(dotted, sizeof(dotted), "%s%s%s", prefix, *prefix ? "." : "", key);
		if (depth < 8 && json_is_object(v) && !strchr(key, '.') &&
		    (json_is_object(o) || (!o && may_hold_safe(dotted)))) {
			r = settings_diff(o, v, dotted, ch, rf, depth + 1);
			if (r < 0)
				return r;
			continue;
		}
		if (!setting_safe(dotted) || strchr(key, '.') || ch->n >= 64) {
			refuse(rf, dotted);
			continue;
		}
		ch->v[ch->n].dotted = strdup(dotted);
		if (!ch->v[ch->n].dotted)
			return -ENOMEM;
		ch->v[ch->n++].v = v;
	}
	json_object_foreach((json_t *)old, key, v) if (!json_object_get(in, key))
	{
		snprintf(dotted, sizeof(dotted), "%s%s%s", prefix, *prefix ? "." : "", key);
		if (!setting_safe(dotted) || ch->n >= 64) {
			refuse(rf, dotted);
			continue;
		}
		ch->v[ch->n].dotted = strdup(dotted);
		if (!ch->v[ch->n].dotted)
			return -ENOMEM;
		ch->v[ch->n++].v = NULL;
	}
	return 0;
}

/* ---- carrying back -------------------------------------------------------------------------- */

/* The working copy @name as JSON, or NULL (unchanged, missing or not JSON: said in @note). */
static json_t *working_copy(const struct hutch_gemini_state *g, int pfd, const char *name,
			    const char *raw, size_t raw_len, hutch_agentstate_note_fn note,
			    void *data)
{
	_cleanup_free_ char *buf = NULL;
	char msg[300];
	json_error_t je;
	json_t *in;
	size_t len = 0;
	int r = hutch_as_read_at(pfd, name, &buf, &len, NULL);

	(void)g;
	if (r < 0 || (raw && len == raw_len && !memcmp(buf, raw, len))) {
		if (r == -EINVAL && note) {
			snprintf(msg, sizeof(msg),
				 "~/.gemini/%s: not carried back: not a regular file", name);
			note(msg, data);
		}
		return NULL;
	}
	in = json_loadb(buf, len, 0, &je);
	if (!json_is_object(in)) {
		json_decref(in);
		if (note) {
			snprintf(msg, sizeof(msg),
				 "~/.gemini/%s: changed in the sandbox and not carried back: not "
				 "a JSON object",
				 name);
			note(msg, data);
		}
		return NULL;
	}
	return in;
}

/* Apply @apply to the host's current @name (re-read now) and write it back atomically. */
static int write_host(struct hutch_gemini_state *g, const char *name,
		      int (*apply)(json_t *host, void *arg), void *arg,
		      hutch_agentstate_note_fn note, void *data)
{
	_cleanup_free_ char *buf = NULL, *out = NULL;
	json_error_t je;
	json_t *host = NULL;
	mode_t mode = 0600;
	size_t len = 0;
	char msg[300];
	int r;

	r = hutch_as_read_at(g->dir_fd, name, &buf, &len, &mode);
	if (r == 0)
		host = json_loadb(buf, len, 0, &je);
	else if (r == -ENOENT)
		host = json_object();
	if (!json_is_object(host)) {
		json_decref(host);
		if (note) {
			snprintf(msg, sizeof(msg),
				 "~/.gemini/%s: the sandbox's safe changes are not carried back: "
				 "the host's file is %s",
				 name,
				 r == -EINVAL ? "not a regular file"
				 : r < 0      ? strerror(-r)
					      : "not plain JSON (comments?)");
			note(msg, data);
		}
		return 0;
	}
	r = apply(host, arg);
	if (r > 0) {
		out = json_dumps(host, JSON_INDENT(2));
		r = out ? hutch_as_write_at(g->dir_fd, name, out, strlen(out), "\n", mode)
			: -ENOMEM;
	}
	json_decref(host);
	return r < 0 ? r : 0;
}

struct trust_arg {
	const char *ws;
	json_t *v;
};

static int apply_trust(json_t *host, void *arg)
{
	struct trust_arg *t = arg;

	if (same(json_object_get(host, t->ws), t->v))
		return 0;
	return json_object_set(host, t->ws, t->v) < 0 ? -ENOMEM : 1;
}

static int apply_settings(json_t *host, void *arg)
{
	struct changes *ch = arg;
	int n = 0, r;

	for (size_t i = 0; i < ch->n; i++) {
		r = set_dotted(host, ch->v[i].dotted, ch->v[i].v);
		if (r == -ENOMEM)
			return r;
		n += r > 0;
	}
	return n;
}

static int end_trust(struct hutch_gemini_state *g, int pfd, hutch_agentstate_note_fn note,
		     void *data)
{
	struct refusals rf = {.file = TRUST};
	json_t *in = working_copy(g, pfd, TRUST, g->trust_raw, g->trust_len, note, data);
	struct trust_arg t = {.ws = g->ws};
	int r = 0;

	if (!in)
		return 0;
	if (!g->trust) {
		report(&(struct refusals){.file = TRUST,
					  .list = "the host's file is not plain JSON",
					  .shown = 1},
		       "only the workspace's own trust entry is", note, data);
		json_decref(in);
		return 0;
	}
	t.v = trust_diff(g, in, &rf);
	report(&rf, "only the workspace's own trust entry is", note, data);
	if (t.v)
		r = write_host(g, TRUST, apply_trust, &t, note, data);
	json_decref(in);
	return r;
}

static int end_settings(struct hutch_gemini_state *g, int pfd, hutch_agentstate_note_fn note,
			void *data)
{
	struct refusals rf = {.file = SETTINGS};
	struct changes *ch;
	json_t *in = working_copy(g, pfd, SETTINGS, g->settings_raw, g->settings_len, note, data);
	int r;

	if (!in)
		return 0;
	if (!g->settings) {
		report(&(struct refusals){.file = SETTINGS,
					  .list = "the host's file is not plain JSON",
					  .shown = 1},
		       "nothing is", note, data);
		json_decref(in);
		return 0;
	}
	ch = calloc(1, sizeof(*ch));
	r = ch ? settings_diff(g->settings, in, "", ch, &rf, 0) : -ENOMEM;
	report(&rf, "it could start programs, connect to servers or change what runs unasked", note,
	       data);
	if (r >= 0 && ch->n)
		r = write_host(g, SETTINGS, apply_settings, ch, note, data);
	for (size_t i = 0; ch && i < ch->n; i++)
		free(ch->v[i].dotted);
	free(ch);
	json_decref(in);
	return r;
}

int hutch_gemini_state_end(struct hutch_gemini_state *g, bool last, hutch_agentstate_note_fn note,
			   void *data, hutch_error *err)
{
	_cleanup_close_ int hfd = -1, pfd = -1;
	int r = 0, rs = 0;

	if (!g)
		return 0;
	/* One component at a time, following no symlink: the sandbox could have replaced either. */
	hfd = openat(g->dir_fd, PRIVATE_HOME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hfd >= 0)
		pfd = openat(hfd, ".gemini", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd >= 0) {
		r = end_trust(g, pfd, note, data);
		rs = end_settings(g, pfd, note, data);
	}
	if (last)
		hutch_as_rm_rf_at(g->dir_fd, PRIVATE_HOME, 0);
	if (r < 0 || rs < 0)
		return hutch_err(err, r < 0 ? -r : -rs,
				 "profile gemini: carrying the sandbox's safe state back into "
				 "~/.gemini");
	return 0;
}
