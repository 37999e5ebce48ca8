/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Codex's trusted projects (agentstate.h). Codex keeps them in
 * ~/.codex/config.toml, next to MCP servers and the "notify" command, and
 * saves that file through a temporary file renamed over it, so the
 * protected (read-only) file makes "Trust this folder" fail. The codex
 * profile sets CODEX_HOME=~/.codex/.hutch-home: a private home made before
 * the run that holds a working copy of config.toml and a symlink to
 * ~/.codex/NAME for everything else (sessions, history, login, and the
 * protected files, which stay read-only through the link). After the run
 * only the workspace's trust entry,
 *
 *     [projects."/path/to/workspace"]
 *     trust_level = "trusted"
 *
 * is carried back into ~/.codex/config.toml, by a line-based edit (appended
 * when the host's file has no entry for that project), and so are the UI
 * preference tables Codex writes at every launch ([tui], [notice], whole
 * tables, ui_tables below); every other change is refused and reported. The
 * private home is removed. The working copy also sets Codex's sandbox mode
 * (with_sandbox_mode).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/agentstate-int.h"
#include "base/cleanup.h"
#include "base/path.h"

#define PRIVATE_HOME ".hutch-home"
#define CONFIG "config.toml"
#define MAX_REPORTED 6

/* Linked even when missing: files Codex creates in place (opened, not renamed). */
static const char *const linked_files[] = {
	"auth.json",	".credentials.json",	 "history.jsonl",
	"version.json", "internal_storage.json", "models_cache.json",
	NULL,
};
/* Directories Codex creates beneath: made in ~/.codex when missing, then linked. */
static const char *const linked_dirs[] = {
	"sessions", "archived_sessions", "log", "shell_snapshots", NULL,
};
/* The protected entries (profiles.c): linked, so Codex finds their read-only stand-ins. */
static const char *const linked_protected[] = {
	"AGENTS.md", "AGENTS.override.md", ".env",    "hooks.json", "prompts", "rules",
	"skills",    "packages",	   "plugins", NULL,
};

struct hutch_codex_state {
	int dir_fd;	/* ~/.codex */
	char *ws;	/* the workspace: trust entries for it (or inside it) go back */
	char *snapshot; /* the host's config.toml before the run ("" when none) */
	size_t snapshot_len;
};

static bool is_codex(const struct hutch_policy *p, const char *home)
{
	return hutch_as_uses_copy(p, home, "CODEX_HOME", ".codex/" PRIVATE_HOME, ".codex");
}

/* What the private home holds of its own: not linked back to ~/.codex. */
static bool is_own(const char *name)
{
	return !strcmp(name, PRIVATE_HOME) || !strcmp(name, CONFIG);
}

static int make_private_home(struct hutch_codex_state *c)
{
	_cleanup_close_ int pfd = -1;
	int r;

	r = hutch_as_rm_rf_at(c->dir_fd, PRIVATE_HOME, 0);
	if (r < 0)
		return r;
	if (mkdirat(c->dir_fd, PRIVATE_HOME, 0700) < 0)
		return -errno;
	pfd = openat(c->dir_fd, PRIVATE_HOME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	r = hutch_as_link_all(c->dir_fd, pfd, "../", is_own, linked_dirs,
			      (const char *const *const[]){linked_files, linked_protected, NULL});
	if (r == 0 && c->snapshot_len)
		r = hutch_as_write_copy_at(pfd, CONFIG, c->snapshot, c->snapshot_len, 0600);
	return r;
}

/*
 * Codex's own sandboxes cannot run inside hutch (user namespaces are refused
 * there; docs/profiles.md, "The agents' own sandboxes"): the working copy
 * says sandbox_mode = "danger-full-access", at the top, in place of a
 * top-level sandbox_mode of the host's file. Codex's command line (--sandbox,
 * -c sandbox_mode=..., --profile) still wins over the file; the approval
 * policy is the user's. The line is part of the snapshot, so it is neither
 * carried back nor reported.
 */
static bool is_sandbox_mode_line(const char *l, size_t len)
{
	while (len && (*l == ' ' || *l == '\t'))
		l++, len--;
	if (len < 12 || strncmp(l, "sandbox_mode", 12))
		return false;
	for (l += 12, len -= 12; len && (*l == ' ' || *l == '\t'); l++, len--)
		;
	return len && *l == '=';
}

static bool is_table_line(const char *l, size_t len)
{
	while (len && (*l == ' ' || *l == '\t'))
		l++, len--;
	return len && *l == '[';
}

static int with_sandbox_mode(char **text, size_t *len)
{
	static const char head[] =
		"# hutch: its sandbox is the one this runs in (not carried back)\n"
		"sandbox_mode = \"danger-full-access\"\n";
	char *out = malloc(sizeof(head) + *len + 1), *o;
	bool top = true;

	if (!out)
		return -ENOMEM;
	memcpy(out, head, sizeof(head) - 1);
	o = out + sizeof(head) - 1;
	for (const char *l = *text; l < *text + *len;) {
		const char *e = memchr(l, '\n', (size_t)(*text + *len - l));
		size_t n = e ? (size_t)(e - l) + 1 : (size_t)(*text + *len - l);

		top = top && !is_table_line(l, n);
		if (!(top && is_sandbox_mode_line(l, n))) {
			memcpy(o, l, n);
			o += n;
		}
		l += n;
	}
	*o = '\0';
	free(*text);
	*text = out;
	*len = (size_t)(o - out);
	return 0;
}

void hutch_codex_state_free(struct hutch_codex_state *c)
{
	if (!c)
		return;
	if (c->dir_fd >= 0)
		close(c->dir_fd);
	free(c->ws);
	free(c->snapshot);
	free(c);
}

bool hutch_codex_state_wanted(const struct hutch_policy *p, const char *home)
{
	return is_codex(p, home);
}

int hutch_codex_state_begin(const struct hutch_policy *p, const char *home, bool join,
			    struct hutch_codex_state **out, hutch_error *err)
{
	struct hutch_codex_state *c;
	_cleanup_close_ int hfd = -1;
	int r;

	*out = NULL;
	if (!is_codex(p, home))
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return hutch_err(err, ENOMEM, "profile codex");
	c->ws = p->workspace ? strdup(p->workspace) : NULL;
	hfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	c->dir_fd =
		hfd < 0 ? -1
			: openat(hfd, ".codex", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->dir_fd < 0) {
		r = hutch_err(err, errno, "profile codex: its state directory %s/.codex", home);
		goto fail;
	}
	r = hutch_as_read_at(c->dir_fd, CONFIG, &c->snapshot, &c->snapshot_len, NULL);
	if (r == -ENOENT) {
		c->snapshot = strdup("");
		r = c->snapshot ? 0 : -ENOMEM;
	}
	if (r >= 0)
		r = with_sandbox_mode(&c->snapshot, &c->snapshot_len);
	if (r >= 0 && !(join && hutch_as_dir_there(c->dir_fd, PRIVATE_HOME)))
		r = make_private_home(c);
	if (r < 0) {
		hutch_err(err, -r,
			  "profile codex: cannot make its private home %s/.codex/" PRIVATE_HOME
			  " (with a copy of %s/.codex/" CONFIG ")",
			  home, home);
		hutch_err_hint(err, "check that %s/.codex/" CONFIG " is a regular file you own",
			       home);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	hutch_codex_state_free(c);
	return r;
}

/* ---- the line-based carry-back -------------------------------------------------------------- */

/* @line without leading and trailing blanks, in @buf. */
static const char *trimmed(const char *line, size_t len, char *buf, size_t size)
{
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len && strchr(" \t\r", line[len - 1]))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	return buf;
}

/*
 * Is @t a table header [projects."PATH"]? PATH (no quote, backslash or
 * control character: nothing to unescape) into @path.
 */
static bool project_header(const char *t, char *path, size_t size)
{
	size_t n = strlen(t);

	if (strncmp(t, "[projects.\"", 11) || n < 14 || strcmp(t + n - 2, "\"]"))
		return false;
	if (n - 13 >= size)
		return false;
	for (size_t i = 11; i < n - 2; i++)
		if (t[i] == '"' || t[i] == '\\' || (unsigned char)t[i] < 0x20)
			return false;
	memcpy(path, t + 11, n - 13);
	path[n - 13] = '\0';
	return path[0] == '/';
}

static bool is_trusted_line(const char *t)
{
	const char *v = t;

	if (strncmp(v, "trust_level", 11))
		return false;
	v += 11;
	v += strspn(v, " \t");
	if (*v++ != '=')
		return false;
	v += strspn(v, " \t");
	return !strcmp(v, "\"trusted\"");
}

struct lines {
	char **v;
	size_t n;
};

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* The non-blank, non-comment lines of @text, trimmed. */
static int split(const char *text, struct lines *out)
{
	char buf[4096];

	out->v = NULL;
	out->n = 0;
	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		const char *t = trimmed(l, len, buf, sizeof(buf));

		if (*t && *t != '#') {
			char **nv = realloc(out->v, (out->n + 1) * sizeof(char *));

			if (!nv)
				return -ENOMEM;
			out->v = nv;
			out->v[out->n] = strdup(t);
			if (!out->v[out->n])
				return -ENOMEM;
			out->n++;
		}
		l = e ? e + 1 : l + len;
	}
	return 0;
}

static bool has_line(const struct lines *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] && !strcmp(l->v[i], s))
			return true;
	return false;
}

/*
 * From @in (the working copy's lines), take out each block that is exactly
 * [projects."PATH"] + trust_level = "trusted" for a PATH in the workspace
 * (NULLed in @in) and collect its PATH in @trusted (at most @max).
 */
static size_t take_trust_blocks(struct lines *in, const char *ws, char trusted[][4096], size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i + 1 < in->n; i++) {
		char path[4096];

		if (!project_header(in->v[i], path, sizeof(path)) || !is_trusted_line(in->v[i + 1]))
			continue;
		if (i + 2 < in->n && in->v[i + 2][0] != '[')
			continue; /* more keys in that table: not only a trust entry */
		if (!ws || !hutch_path_has_prefix(path, ws) || n >= max)
			continue;
		snprintf(trusted[n++], 4096, "%s", path);
		free(in->v[i]);
		free(in->v[i + 1]);
		in->v[i] = in->v[i + 1] = NULL;
		i++;
	}
	return n;
}

/* The same trust blocks out of @snap, where it had them already (not a removal then). */
static void untake_known_trust(struct lines *snap, char trusted[][4096], size_t n)
{
	char header[4200];

	for (size_t t = 0; t < n; t++) {
		snprintf(header, sizeof(header), "[projects.\"%s\"]", trusted[t]);
		for (size_t i = 0; i + 1 < snap->n; i++) {
			if (!snap->v[i] || strcmp(snap->v[i], header) || !snap->v[i + 1] ||
			    !is_trusted_line(snap->v[i + 1]))
				continue;
			free(snap->v[i]);
			free(snap->v[i + 1]);
			snap->v[i] = snap->v[i + 1] = NULL;
		}
	}
}

/* What a changed line is about: a table header, or the key before "=". */
static void describe(const char *line, char *buf, size_t size)
{
	size_t n = line[0] == '[' ? strlen(line) : strcspn(line, "=");

	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n > 60)
		n = 60;
	snprintf(buf, size, "%.*s", (int)n, line);
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

static void report_other_changes(const struct lines *in, const struct lines *host,
				 hutch_agentstate_note_fn note, void *data)
{
	char msg[1024], what[80];
	size_t o = 0, shown = 0, more = 0;

	const char *table = NULL;
	bool table_shown = false;

	for (size_t i = 0; i < in->n; i++) {
		bool header = in->v[i] && in->v[i][0] == '[';

		if (header) {
			table = in->v[i];
			table_shown = false;
		}
		if (!in->v[i] || has_line(host, in->v[i]) || (!header && table_shown))
			continue;
		if (shown >= MAX_REPORTED) {
			more++;
			continue;
		}
		table_shown = header;
		describe(in->v[i], what, sizeof(what));
		if (!header && table) {
			char key[80];

			snprintf(key, sizeof(key), "%s", what);
			describe(table, what, sizeof(what));
			snprintf(what + strlen(what), sizeof(what) - strlen(what), " %s", key);
		}
		o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s%s", shown ? ", " : "", what);
		shown++;
		if (o >= sizeof(msg))
			o = sizeof(msg) - 1;
	}
	if (!shown) {
		snprintf(msg, sizeof(msg), "entries removed or reordered");
	} else if (more) {
		snprintf(msg + o, sizeof(msg) - o, " and %zu more", more);
	}
	if (note) {
		char full[1400];

		snprintf(full, sizeof(full),
			 "~/.codex/" CONFIG ": changed in the sandbox and not carried back "
			 "(only the workspace's trust entry and UI preferences are): %s",
			 msg);
		note(full, data);
	}
}

static bool same_lines(const struct lines *a, const struct lines *b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a->n && !a->v[i])
			i++;
		while (j < b->n && !b->v[j])
			j++;
		if (i == a->n || j == b->n)
			return i == a->n && j == b->n;
		if (strcmp(a->v[i++], b->v[j++]))
			return false;
	}
}

/* Does the host's table @header already say trust_level = "trusted"? */
static bool trusted_already(const struct lines *l, const char *header)
{
	size_t i = 0;

	while (i < l->n && !(l->v[i] && !strcmp(l->v[i], header)))
		i++;
	for (i++; i < l->n; i++) {
		const char *s = l->v[i];
		char norm[64];
		size_t n = 0;

		if (!s)
			continue;
		if (s[strspn(s, " \t")] == '[')
			return false; /* the next table */
		for (; *s && n < sizeof(norm) - 1; s++)
			if (*s != ' ' && *s != '\t')
				norm[n++] = *s;
		norm[n] = '\0';
		if (!strcmp(norm, "trust_level=\"trusted\""))
			return true;
	}
	return false;
}

/* Append the trust entries for @trusted to the host's config.toml, atomically. */
static int append_trust(struct hutch_codex_state *c, char trusted[][4096], size_t n,
			hutch_agentstate_note_fn note, void *data)
{
	_cleanup_free_ char *cur = NULL, *out = NULL;
	struct lines host = {0};
	size_t len = 0, add = 0;
	mode_t mode = 0600;
	FILE *m;
	int r;

	r = hutch_as_read_at(c->dir_fd, CONFIG, &cur, &len, &mode);
	if (r == -ENOENT) {
		cur = strdup("");
		r = cur ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	r = split(cur, &host);
	m = r < 0 ? NULL : open_memstream(&out, &len);
	if (!m) {
		lines_free(&host);
		return -ENOMEM;
	}
	fputs(cur, m);
	if (*cur && cur[strlen(cur) - 1] != '\n')
		fputc('\n', m);
	for (size_t i = 0; i < n; i++) {
		char header[4200];

		snprintf(header, sizeof(header), "[projects.\"%s\"]", trusted[i]);
		if (has_line(&host, header)) {
			if (trusted_already(&host, header))
				continue; /* nothing to carry back */
			if (note) {
				char msg[4400];

				snprintf(msg, sizeof(msg),
					 "~/.codex/" CONFIG
					 ": the trust entry for %s is not carried "
					 "back: the host's file has an entry for that project "
					 "already",
					 trusted[i]);
				note(msg, data);
			}
			continue;
		}
		fprintf(m, "%s%s\ntrust_level = \"trusted\"\n", (*cur || add) ? "\n" : "", header);
		add++;
	}
	lines_free(&host);
	if (fclose(m) != 0)
		return -ENOMEM;
	return add ? hutch_as_write_at(c->dir_fd, CONFIG, out, len, NULL, mode) : 0;
}

/* ---- UI preferences ([tui], [notice]) ------------------------------------------------------ */

/*
 * Tables of UI preferences and dialogs already seen that Codex writes on its
 * own (0.171: [tui] screen_reader_detection_done, [tui.model_availability_nux]
 * at every launch; [notice] hide_*_warning, model_migrations after a dialog).
 * Carried back, whole tables, when every key is a plain one-line value whose
 * name says nothing of running or loading something.
 */
static const char *const ui_tables[] = {"tui", "notice", NULL};
static const char *const ui_refused_parts[] = {
	"command", "cmd",  "exec", "script", "shell", "hook",
	"program", "path", "dir",  "url",    "env",   NULL,
};
#define MAX_UI_TABLES 16

/* Is @t the header of a UI table ([tui], [tui.KEY], [notice], [notice.KEY], KEY bare)? */
static bool ui_header(const char *t)
{
	size_t n = strlen(t);

	if (n < 3 || t[0] != '[' || t[1] == '[' || t[n - 1] != ']')
		return false;
	for (size_t i = 0; ui_tables[i]; i++) {
		size_t l = strlen(ui_tables[i]);

		if (strncmp(t + 1, ui_tables[i], l))
			continue;
		if (t[1 + l] == ']' && 1 + l == n - 1)
			return true;
		if (t[1 + l] != '.')
			continue;
		for (size_t j = 2 + l; j < n - 1; j++)
			if (!(isalnum((unsigned char)t[j]) || strchr("_-.", t[j])))
				return false;
		return n - 1 > 2 + l;
	}
	return false;
}

/* A "key = value" line of a UI table: one-line value, key not naming a program or a path. */
static bool ui_line(const char *t)
{
	const char *eq = strchr(t, '=');
	char key[128];
	const char *v;
	size_t kl;

	if (!eq || t[0] == '[' || (size_t)(eq - t) >= sizeof(key))
		return false;
	kl = (size_t)(eq - t);
	memcpy(key, t, kl);
	key[kl] = '\0';
	for (size_t i = 0; ui_refused_parts[i]; i++)
		if (strcasestr(key, ui_refused_parts[i]))
			return false;
	v = eq + 1 + strspn(eq + 1, " \t");
	if (strstr(v, "\"\"\"") || strstr(v, "'''"))
		return false;
	if ((*v == '[' && v[strlen(v) - 1] != ']') || (*v == '{' && v[strlen(v) - 1] != '}'))
		return false;
	return *v != '\0';
}

/*
 * The end of the block that starts with the header at @i: the next header, a
 * line already taken out (a taken block started there), or @l->n.
 */
static size_t block_end(const struct lines *l, size_t i)
{
	for (i++; i < l->n; i++)
		if (!l->v[i] || l->v[i][0] == '[')
			break;
	return i;
}

static size_t find_header(const struct lines *l, const char *h)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] && !strcmp(l->v[i], h))
			return i;
	return l->n;
}

static bool same_block(const struct lines *a, size_t ai, const struct lines *b, size_t bi)
{
	size_t ae = block_end(a, ai), be = block_end(b, bi);

	if (ae - ai != be - bi)
		return false;
	for (size_t k = 1; ai + k < ae; k++)
		if (!has_line(b, a->v[ai + k]))
			return false;
	return true;
}

static void null_block(struct lines *l, size_t i)
{
	size_t e = block_end(l, i);

	for (; i < e; i++) {
		free(l->v[i]);
		l->v[i] = NULL;
	}
}

struct ui_block {
	char *text; /* the header and its lines, '\n'-terminated */
	char header[128];
};

/*
 * Take each safe UI table out of @in (and the same table out of @snap); the
 * changed ones, as text, into @out. Returns how many, or -ENOMEM.
 */
static int take_ui_blocks(struct lines *in, struct lines *snap, struct ui_block *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < in->n; i++) {
		size_t e, si;
		bool safe;

		if (!in->v[i] || !ui_header(in->v[i]) || strlen(in->v[i]) >= sizeof(out->header))
			continue;
		e = block_end(in, i);
		safe = true;
		for (size_t k = i + 1; k < e && safe; k++)
			safe = in->v[k] && ui_line(in->v[k]);
		if (!safe)
			continue;
		si = find_header(snap, in->v[i]);
		if (si == snap->n || !same_block(in, i, snap, si)) {
			FILE *m;
			size_t len;

			if (n >= max)
				continue; /* left in: reported */
			out[n].text = NULL;
			m = open_memstream(&out[n].text, &len);
			if (!m)
				return -ENOMEM;
			for (size_t k = i; k < e; k++)
				fprintf(m, "%s\n", in->v[k]);
			if (fclose(m) != 0)
				return -ENOMEM;
			snprintf(out[n].header, sizeof(out[n].header), "%s", in->v[i]);
			n++;
		}
		if (si < snap->n)
			null_block(snap, si);
		null_block(in, i);
		i = e - 1;
	}
	return (int)n;
}

/*
 * Does the host's file set a UI table some other way (a top-level
 * "tui = {...}" or "tui.x = ..." before its first table)? Then a [tui]
 * table appended would make it invalid: nothing is carried back.
 */
static bool ui_defined_inline(const char *text)
{
	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		const char *t = l + strspn(l, " \t");

		if (*t == '[')
			return false;
		for (size_t i = 0; ui_tables[i]; i++) {
			size_t tl = strlen(ui_tables[i]);

			if (!strncmp(t, ui_tables[i], tl) && t[tl] && strchr(" \t.=", t[tl]))
				return true;
		}
		l = e ? e + 1 : l + len;
	}
	return false;
}

/*
 * The host's config.toml with each table of @b replaced (its header and key
 * lines removed, comments and blank lines kept) by the working copy's,
 * appended at the end; written atomically, the mode kept.
 */
static int carry_ui(struct hutch_codex_state *c, struct ui_block *b, size_t n,
		    hutch_agentstate_note_fn note, void *data)
{
	_cleanup_free_ char *cur = NULL, *out = NULL;
	size_t len = 0;
	mode_t mode = 0600;
	bool skip = false;
	FILE *m;
	int r;

	r = hutch_as_read_at(c->dir_fd, CONFIG, &cur, &len, &mode);
	if (r == -ENOENT) {
		cur = strdup("");
		r = cur ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	if (ui_defined_inline(cur)) {
		if (note)
			note("~/.codex/" CONFIG
			     ": the sandbox's [tui]/[notice] preferences are not "
			     "carried back: the host's file sets them without a table header",
			     data);
		return 0;
	}
	m = open_memstream(&out, &len);
	if (!m)
		return -ENOMEM;
	for (const char *l = cur; *l;) {
		const char *e = strchr(l, '\n');
		size_t ll = e ? (size_t)(e - l) : strlen(l);
		char buf[4096];
		const char *t = trimmed(l, ll, buf, sizeof(buf));

		if (*t == '[') {
			skip = false;
			for (size_t i = 0; i < n && !skip; i++)
				skip = !strcmp(t, b[i].header);
		}
		if (!skip || !*t || *t == '#')
			fprintf(m, "%.*s\n", (int)ll, l);
		l = e ? e + 1 : l + ll;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(m, "%s%s", (ftell(m) > 0) ? "\n" : "", b[i].text);
	if (fclose(m) != 0)
		return -ENOMEM;
	return hutch_as_write_at(c->dir_fd, CONFIG, out, len, NULL, mode);
}

int hutch_codex_state_end(struct hutch_codex_state *c, bool last, hutch_agentstate_note_fn note,
			  void *data, hutch_error *err)
{
	_cleanup_close_ int pfd = -1;
	_cleanup_free_ char *in_buf = NULL;
	struct lines in = {0}, snap = {0};
	char(*trusted)[4096] = NULL;
	struct ui_block *ui = NULL;
	size_t len = 0, n = 0;
	int r, n_ui = 0;

	if (!c)
		return 0;
	pfd = openat(c->dir_fd, PRIVATE_HOME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	r = pfd < 0 ? -errno : hutch_as_read_at(pfd, CONFIG, &in_buf, &len, NULL);
	if (r == -EINVAL && note)
		note("~/.codex/" PRIVATE_HOME "/" CONFIG ": not carried back: not a regular file",
		     data);
	if (r < 0 || (len == c->snapshot_len && !memcmp(in_buf, c->snapshot, len)))
		goto out;
	trusted = calloc(MAX_REPORTED, sizeof(*trusted));
	r = trusted ? split(in_buf, &in) : -ENOMEM;
	if (r >= 0)
		r = split(c->snapshot, &snap);
	if (r < 0)
		goto out;
	n = take_trust_blocks(&in, c->ws, trusted, MAX_REPORTED);
	untake_known_trust(&snap, trusted, n);
	ui = calloc(MAX_UI_TABLES, sizeof(*ui));
	n_ui = ui ? take_ui_blocks(&in, &snap, ui, MAX_UI_TABLES) : -ENOMEM;
	if (n_ui < 0) {
		r = n_ui;
		n_ui = MAX_UI_TABLES; /* free what was taken */
		goto out;
	}
	if (!same_lines(&in, &snap))
		report_other_changes(&in, &snap, note, data);
	r = n_ui ? carry_ui(c, ui, (size_t)n_ui, note, data) : 0;
	if (r >= 0 && n)
		r = append_trust(c, trusted, n, note, data);
out:
	for (int i = 0; ui && i < n_ui; i++)
		free(ui[i].text);
	free(ui);
	free(trusted);
	lines_free(&in);
	lines_free(&snap);
	if (last)
		hutch_as_rm_rf_at(c->dir_fd, PRIVATE_HOME, 0);
	if (r < 0 && r != -ENOENT && r != -EINVAL)
		return hutch_err(err, -r,
				 "profile codex: carrying the workspace's trust entry back into "
				 "~/.codex/" CONFIG);
	return 0;
}
