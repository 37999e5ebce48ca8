/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Session layers without a sandbox: unified diffs (checked by applying them
 * back), the protected-path matcher, path escaping, the change walk over a
 * hand-made overlay upper directory (whiteouts, opaque directories, type
 * changes, placeholders), the snapshot and conflicts, apply (and again),
 * fork, list and discard.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "session/apply.h"
#include "session/changes.h"
#include "policy/policy.h"
#include "session/session.h"
#include "tap.h"

/* ---- unified diff, checked by a tiny patch applier ------------------------ */

struct lines {
	char **v;
	size_t n;
};

static void split(const char *s, size_t len, struct lines *out)
{
	out->v = calloc(len + 2, sizeof(char *));
	out->n = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - s) + 1 : len;
		out->v[out->n++] = strndup(s + i, e - i);
		i = e;
	}
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* Copy @s (with its NUL) to @dst, the caller sized @dst; returns strlen(@s). */
static size_t cat(char *dst, const char *s)
{
	size_t n = strlen(s);

	memcpy(dst, s, n + 1);
	return n;
}

/* Apply @patch (hunks) to @a; returns the result (malloc'd) or NULL if it does not fit. */
static char *patch(const char *a, size_t alen, const char *p, unsigned *adds, unsigned *dels)
{
	struct lines la;
	size_t ai = 0, cap = alen + strlen(p) + 1, olen = 0;
	char *out = calloc(1, cap);
	const char *q = p;
	char last = 0;

	*adds = *dels = 0;
	split(a, alen, &la);
	while (*q) {
		unsigned long as, ac = 1, bs, bc = 1;
		char *e;
		const char *nl;
		if (strncmp(q, "@@ -", 4))
			goto bad;
		as = strtoul(q + 4, &e, 10);
		if (*e == ',')
			ac = strtoul(e + 1, &e, 10);
		if (strncmp(e, " +", 2))
			goto bad;
		bs = strtoul(e + 2, &e, 10);
		if (*e == ',')
			bc = strtoul(e + 1, &e, 10);
		(void)bs;
		q = strchr(q, '\n') + 1;
		/* lines before the hunk */
		{
			size_t first = ac ? as - 1 : as;
			if (first < ai || first > la.n)
				goto bad;
			while (ai < first) {
				olen += cat(out + olen, la.v[ai++]);
			}
		}
		while (*q && *q != '@') {
			char tag = *q;
			size_t l;
			nl = strchr(q, '\n');
			l = (size_t)(nl - q); /* without the newline */
			if (tag == '\\') {
				/* the previous line had no newline: drop it from the output */
				if (last != '-' && olen && out[olen - 1] == '\n')
					out[--olen] = '\0';
				q = nl + 1;
				continue;
			}
			if (tag == ' ' || tag == '-') {
				if (ai >= la.n || strncmp(la.v[ai], q + 1, l - 1))
					goto bad;
				if (tag == ' ') {
					olen += cat(out + olen, la.v[ai]);
					if (out[olen - 1] != '\n')
						out[olen++] =
							'\n'; /* "\" line follows and removes it */
				} else {
					(*dels)++;
				}
				ai++;
			} else if (tag == '+') {
				memcpy(out + olen, q + 1, l - 1);
				olen += l - 1;
				out[olen++] = '\n';
				(*adds)++;
			} else {
				goto bad;
			}
			last = tag;
			q = nl + 1;
		}
		(void)bc;
	}
	while (ai < la.n) {
		olen += cat(out + olen, la.v[ai++]);
	}
	out[olen] = '\0';
	lines_free(&la);
	return out;
bad:
	lines_free(&la);
	free(out);
	return NULL;
}

static void diff_is(const char *a, const char *b, unsigned ctx, const char *want, const char *name)
{
	char *out = NULL;
	size_t len;
	int r = hutch_udiff(a, strlen(a), b, strlen(b), ctx, &out, &len, NULL, NULL);

	ok(r == 0, "udiff %s: ok", name);
	is_str(out ? out : "", want, "udiff %s", name);
	free(out);
}

static char *random_text(unsigned *seed, size_t *len)
{
	static const char *const words[] = {"a", "b", "c", "d", "e", ""};
	size_t n = (size_t)(rand_r(seed) % 40), cap = n * 4 + 4, o = 0;
	char *s = calloc(1, cap);

	for (size_t i = 0; i < n; i++) {
		const char *w = words[rand_r(seed) % 6];
		memcpy(s + o, w, strlen(w));
		o += strlen(w);
		if (i + 1 < n || rand_r(seed) % 4)
			s[o++] = '\n';
	}
	*len = o;
	return s;
}

static void test_udiff(void)
{
	unsigned seed = 1234, bad = 0, counts_bad = 0;

	diff_is("a\nb\nc\n", "a\nB\nc\n", 3, "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n", "one line");
	diff_is("", "x\n", 3, "@@ -0,0 +1 @@\n+x\n", "from empty");
	diff_is("x\n", "", 3, "@@ -1 +0,0 @@\n-x\n", "to empty");
	diff_is("a\nb", "a\nc", 3,
		"@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end "
		"of "
		"file\n",
		"no newline at end");
	diff_is("same\n", "same\n", 3, "", "identical");
	diff_is("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n",
		"1\nX\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\nY\n19\n20\n", 3,
		"@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -15,6 +15,6 @@\n 15\n 16\n "
		"17\n-18\n+Y\n 19\n"
		" 20\n",
		"two hunks");
	diff_is("1\n2\n3\n4\n5\n6\n7\n8\n", "1\nX\n3\n4\n5\n6\n7\nY\n", 3,
		"@@ -1,8 +1,8 @@\n 1\n-2\n+X\n 3\n 4\n 5\n 6\n 7\n-8\n+Y\n",
		"close changes: one hunk");
	diff_is("a\nb\n", "a\nx\nb\n", 0, "@@ -1,0 +2 @@\n+x\n", "insertion without context");

	for (int i = 0; i < 400; i++) {
		size_t la, lb, len;
		char *a = random_text(&seed, &la), *b = random_text(&seed, &lb), *out = NULL, *got;
		unsigned adds = 0, dels = 0, pa, pd;

		if (hutch_udiff(a, la, b, lb, (unsigned)(i % 4), &out, &len, &adds, &dels) < 0) {
			bad++;
		} else {
			got = patch(a, la, out, &pa, &pd);
			if (!got || strcmp(got, b)) {
				if (!bad)
					diag("a='%s' b='%s' patch='%s' got='%s'", a, b, out,
					     got ? got : "(no fit)");
				bad++;
			}
			if (pa != adds || pd != dels)
				counts_bad++;
			free(got);
		}
		free(out);
		free(a);
		free(b);
	}
	is_int(bad, 0, "400 random diffs apply back to the new text");
	is_int(counts_bad, 0, "added/removed counts match the hunks");

	/* beyond the D bound: still a correct (replacing) diff */
	{
		size_t n = 6000, la = 0, lb = 0, len;
		char *a = malloc(n * 8), *b = malloc(n * 8), *out = NULL, *got;
		unsigned adds, dels, pa, pd;
		for (size_t i = 0; i < n; i++) {
			la += (size_t)snprintf(a + la, n * 8 - la, "%zu\n", i * 2);
			lb += (size_t)snprintf(b + lb, n * 8 - lb, "%zu\n", i * 2 + 1);
		}
		ok(hutch_udiff(a, la, b, lb, 3, &out, &len, &adds, &dels) == 0, "large diff");
		got = out ? patch(a, la, out, &pa, &pd) : NULL;
		ok(got && !strcmp(got, b), "large diff applies back");
		is_int(adds, 6000, "large diff: every line added");
		free(got);
		free(out);
		free(a);
		free(b);
	}
}

/* ---- protected paths ---------------------------------------------------------- */

static bool repo_sub(const char *dir, void *data)
{
	return !strcmp(dir, "sub") || !strcmp(dir, "a/b");
}

static void test_protected(void)
{
	char *rel[] = {".git/hooks", ".git/config", ".envrc", ".vscode", "./.mcp.json"};
	char *anch[] = {"docs/secret"};
	struct {
		const char *path;
		bool gitfile, want;
	} cases[] = {
		{".envrc", false, true},
		{"sub/.envrc", false, true},
		{"other/.envrc", false, false},
		{".envrcx", false, false},
		{".mcp.json", false, true},
		{".vscode", false, true},
		{".vscode/settings.json", false, true},
		{"a/b/.vscode/tasks.json", false, true},
		{".vscodex/x", false, false},
		{".git/hooks", false, true},
		{".git/hooks/pre-commit", false, true},
		{"x/y/.git/hooks/post-checkout", false, true},
		{".git/config", false, true},
		{".git/modules/m/hooks/pre-push", false, true},
		{".git/modules/m/modules/n/config", false, true},
		{".git/modules/third_party/lib/hooks/pre-push", false, true},
		{".git/modules/a/b/modules/c/d/config", false, true},
		{".git/objects/ab/cdef", false, false},
		{".git/hooksx", false, false},
		{"docs/secret", false, true},
		{"docs/secret/key", false, true},
		{"docs/secrets", false, false},
		{"sub/.git", true, true},
		{"sub/.git", false, false},
		{"README", false, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(hutch_protected_match(rel, 5, anch, 1, cases[i].path, cases[i].gitfile,
					     repo_sub, NULL),
		       cases[i].want, "protected(%s%s) is %s", cases[i].path,
		       cases[i].gitfile ? ", a file" : "", cases[i].want ? "yes" : "no");
}

static void test_escape(void)
{
	const char *in = "a b\n%c\td\x01\xc3\xa9";
	char buf[256];

	ok(hutch_path_escape(in, buf, sizeof(buf)) == 0, "escape");
	ok(!strchr(buf, '\n') && !strchr(buf, ' ') && !strchr(buf, '\t'), "escaped: no separators");
	ok(hutch_path_unescape(buf) == 0 && !strcmp(buf, in), "unescape gives it back");
	snprintf(buf, sizeof(buf), "bad%%0");
	ok(hutch_path_unescape(buf) < 0, "truncated escape refused");
	snprintf(buf, sizeof(buf), "nul%%00");
	ok(hutch_path_unescape(buf) < 0, "escaped NUL refused");
}

/* ---- a session over a hand-made layer -------------------------------------- */

static char base[256], ws[300], home[300];

static void putn(const char *dir, const char *rel, const char *content, size_t len, mode_t mode)
{
	char p[1024];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, content, len) < 0 || fchmod(fd, mode) < 0)
		diag("put %s: %s", p, strerror(errno));
	close(fd);
}

static void put(const char *dir, const char *rel, const char *content, mode_t mode)
{
	putn(dir, rel, content, strlen(content), mode);
}

static void mkd(const char *dir, const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (mkdir(p, 0755) < 0)
		diag("mkdir %s: %s", p, strerror(errno));
}

static void whiteout(const char *dir, const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (mknod(p, S_IFCHR, makedev(0, 0)) < 0)
		diag("whiteout %s: %s", p, strerror(errno));
}

static char *slurp(const char *dir, const char *rel)
{
	char p[1024];
	static char buf[4096];
	int fd;
	ssize_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static mode_t mode_of(const char *dir, const char *rel)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &st) == 0 ? st.st_mode : 0;
}

static void describe(const struct hutch_changes *ch, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ch->n; i++) {
		const struct hutch_change *c = &ch->v[i];
		o += (size_t)snprintf(
			out + o, size - o, "%c %s%s%s%s%s;", "AMD"[c->kind], c -> path,
			c -> protected_path ? " P" : "", c->binary ? " B" : "",
			c->conflict ? " C" : "",
			c->kind == HUTCH_CHANGE_MODIFIED && !c->content_changed ? " mode" : "");
	}
}

struct tally {
	char log[4096];
};

static void on_report(const struct hutch_change *c, enum hutch_apply_result r, const char *detail,
		      void *data)
{
	struct tally *t = data;
	size_t o = strlen(t->log);

	if (r != HUTCH_APPLIED)
		snprintf(t->log + o, sizeof(t->log) - o, "%d %s;", (int)r, c->path);
}

static hutch_policy *policy_for(const char *dir)
{
	hutch_policy *p = hutch_policy_new();
	hutch_error err = {0};

	if (hutch_policy_apply_profile(p, "default", &err) < 0 ||
	    hutch_policy_set(p, HUTCH_KEY_WORKSPACE, dir, "test", &err) < 0 ||
	    hutch_policy_finalize(p, home, &err) < 0)
		diag("policy: %s", err.msg);
	return p;
}

static void test_session(void)
{
	hutch_policy *p;
	hutch_session *s = NULL, *f = NULL, *again = NULL;
	hutch_error err = {0};
	struct hutch_changes ch = {0};
	struct hutch_apply_summary sum;
	struct tally t = {""};
	struct hutch_apply_opts o = {.report = on_report, .data = &t};
	char upper[512], got[4096], *overlay = NULL, *root_ov = NULL, *text = NULL;
	size_t len;
	struct hutch_session_info *info = NULL;
	size_t ninfo = 0;

	snprintf(ws, sizeof(ws), "%s/ws", base);
	snprintf(home, sizeof(home), "%s/home", base);
	mkdir(ws, 0755);
	mkdir(home, 0755);
	setenv("HOME", home, 1);
	unsetenv("XDG_STATE_HOME");
	put(ws, "keep", "keep\n", 0644);
	put(ws, "mod.txt", "one\ntwo\nthree\n", 0644);
	put(ws, "del.txt", "bye\n", 0644);
	mkd(ws, "deldir");
	put(ws, "deldir/x", "x\n", 0644);
	put(ws, "deldir/y", "y\n", 0644);
	mkd(ws, "opq");
	put(ws, "opq/old1", "same\n", 0644);
	put(ws, "opq/old2", "gone\n", 0644);
	put(ws, "typechg", "was a file\n", 0644);
	putn(ws, "bin.dat", "a\0b", 3, 0644);
	put(ws, "modeonly.sh", "#!/bin/sh\n", 0644);
	put(ws, "conflict.txt", "base\n", 0644);
	{
		char l[600];
		snprintf(l, sizeof(l), "%s/link", ws);
		if (symlink("target-a", l) < 0)
			diag("symlink: %s", strerror(errno));
	}

	p = policy_for(ws);
	ok(hutch_session_create(p, NULL, &s, &err) == 0, "session created (%s)", err.msg);
	if (!s)
		return;
	like(hutch_session_dir(s), "/.local/state/hutch/sessions/", "under $HOME/.local/state");
	is_int(mode_of(hutch_session_dir(s), "") & 0777, 0700, "session directory is 0700");
	is_str(hutch_session_state(s), "new", "state new");

	/* the snapshot, as a run takes it (helper process), without a sandbox */
	ok(hutch_session_run_begin(s, p, &overlay, &root_ov, &err) == 0, "run_begin (%s)", err.msg);
	like(overlay ? overlay : "", "/upper\n", "overlay spec names the upper layer");
	free(overlay);
	ok(hutch_session_running(s) == false, "we hold the lock ourselves");
	{
		hutch_session *other = NULL;
		ok(hutch_session_open(hutch_session_id(s), NULL, &other, &err) == 0, "open by id");
		ok(other && hutch_session_running(other), "another handle sees it running");
		ok(other && hutch_session_lock(other, &err) == -EBUSY, "and cannot lock it");
		hutch_session_free(other);
	}
	/* the run wrote something (the layer is not empty): the snapshot is waited for */
	snprintf(upper, sizeof(upper), "%s/upper", hutch_session_dir(s));
	put(upper, "keep", "keep\n", 0644);
	hutch_session_run_end(s);
	snprintf(upper, sizeof(upper), "%s/snapshot", hutch_session_dir(s));
	ok(access(upper, F_OK) == 0, "snapshot written");
	is_str(hutch_session_state(s), "stopped", "state stopped");
	{
		bool any = true;
		ok(hutch_session_has_changes(s, &any, &err) == 0 && !any,
		   "a copied-up but unchanged file is no change");
	}
	/* a run that leaves the layer empty does not wait for (or keep) a snapshot */
	{
		hutch_session *e = NULL;
		char *ov = NULL, path[600];
		bool any = true;
		ok(hutch_session_create(p, "empty", &e, &err) == 0, "another session");
		ok(e && hutch_session_run_begin(e, p, &ov, &root_ov, &err) == 0, "run_begin");
		free(ov);
		if (e) {
			hutch_session_run_end(e);
			snprintf(path, sizeof(path), "%s/snapshot.tmp", hutch_session_dir(e));
			ok(access(path, F_OK) < 0, "no half-written snapshot left");
			ok(hutch_session_has_changes(e, &any, &err) == 0 && !any, "no changes");
			ok(hutch_session_discard(e, &err) == 0, "discarded");
			hutch_session_free(e);
		}
	}

	/* the agent's layer, by hand */
	snprintf(upper, sizeof(upper), "%s/upper", hutch_session_dir(s));
	put(upper, "mod.txt", "one\n2\nthree\n", 0644);
	if (chmod(upper, 0750) < 0) /* the workspace root's own mode */
		diag("chmod: %s", strerror(errno));
	whiteout(upper, "del.txt");
	whiteout(upper, "deldir");
	mkd(upper, "opq");
	{
		char d[600];
		snprintf(d, sizeof(d), "%s/opq", upper);
		if (setxattr(d, "user.overlay.opaque", "y", 1, 0) < 0)
			diag("opaque xattr: %s", strerror(errno));
		snprintf(d, sizeof(d), "%s/typechg", upper);
		mkdir(d, 0750);
		if (setxattr(d, "user.overlay.opaque", "y", 1, 0) < 0)
			diag("opaque xattr: %s", strerror(errno));
	}
	put(upper, "opq/old1", "same\n", 0644);
	put(upper, "opq/new1", "new\n", 0644);
	put(upper, "typechg/inner", "inside\n", 0600);
	putn(upper, "bin.dat", "a\0c", 3, 0644);
	put(upper, "modeonly.sh", "#!/bin/sh\n", 0755);
	put(upper, "conflict.txt", "agent\n", 0644);
	put(upper, "keep", "keep\n", 0644); /* copied up, unchanged: not a change */
	mkd(upper, "new");
	put(upper, "new/f", "f\n", 04755);
	put(upper, ".envrc", "export EVIL=1\n", 0644);
	mkd(upper, ".vscode"); /* a placeholder: never shown */
	put(hutch_session_dir(s), "placeholders", "d .vscode\n", 0600);
	{
		char l[600];
		snprintf(l, sizeof(l), "%s/link", upper);
		if (symlink("target-b", l) < 0)
			diag("symlink: %s", strerror(errno));
		snprintf(l, sizeof(l), "%s/pipe", upper);
		if (mkfifo(l, 0640) < 0)
			diag("mkfifo: %s", strerror(errno));
	}
	hutch_session_free(s);
	s = NULL;
	/* the user edits the workspace meanwhile */
	put(ws, "conflict.txt", "user\n", 0644);

	ok(hutch_session_open(NULL, ws, &s, &err) == 0, "latest session of the workspace (%s)",
	   err.msg);
	if (!s)
		return;
	ok(hutch_session_changes(s, &ch, &err) == 0, "changes (%s)", err.msg);
	describe(&ch, got, sizeof(got));
	is_str(got,
	       "M  mode;A .envrc P;M bin.dat B;M conflict.txt C;D del.txt;D deldir/x;D deldir/y;D "
	       "deldir;"
	       "M link;M mod.txt;M modeonly.sh mode;A new;A new/f;A opq/new1;D opq/old2;A pipe;"
	       "D typechg;A typechg;A typechg/inner;",
	       "change list: whiteouts, opaque dir, type change, placeholder hidden, flags");
	for (size_t i = 0; i < ch.n; i++) {
		unsigned add, del;
		if (strcmp(ch.v[i].path, "mod.txt"))
			continue;
		ok(hutch_change_diff(s, &ch.v[i], 3, &text, &len, &add, &del, &err) == 0, "diff");
		is_str(text, "@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n", "diff of mod.txt");
		free(text);
	}
	hutch_changes_free(&ch);

	/* fork: the same changes */
	ok(hutch_session_fork(s, "forked", &f, &err) == 0, "fork (%s)", err.msg);
	if (f) {
		char got2[4096];
		ok(hutch_session_changes(f, &ch, &err) == 0, "fork's changes");
		describe(&ch, got2, sizeof(got2));
		is_str(got2, got, "the fork has the same changes");
		hutch_changes_free(&ch);
	}

	/* apply: all or nothing, so the conflict stops every change */
	ok(hutch_session_apply(s, &o, &sum, &err) == 0, "apply with a conflict (%s)", err.msg);
	is_int(sum.conflicts, 1, "one conflict (a type change is none)");
	is_int(sum.applied, 0, "  nothing applied");
	like(t.log, "1 conflict.txt;", "conflict reported");
	is_str(slurp(ws, "conflict.txt"), "user\n", "the user's version is kept");
	is_str(slurp(ws, "mod.txt"), "one\ntwo\nthree\n", "  the rest is not applied either");
	ok(slurp(ws, "del.txt") != NULL, "  nor a deletion");
	ok(S_ISREG(mode_of(ws, "typechg")), "  nor a type change");
	is_str(hutch_session_state(s), "stopped", "  state unchanged");

	/* the agent's version of the conflicting file dropped: the rest applies */
	{
		char cf[700];
		snprintf(cf, sizeof(cf), "%s/conflict.txt", upper);
		ok(unlink(cf) == 0, "the conflicting change taken out of the layer");
	}
	memset(t.log, 0, sizeof(t.log));
	ok(hutch_session_apply(s, &o, &sum, &err) == 0, "apply (%s)", err.msg);
	is_int(sum.conflicts, 0, "no conflict");
	is_int(sum.refused, 1, "one protected path refused");
	is_int(sum.failed, 0, "nothing failed");
	like(t.log, "2 .envrc;", "protected reported");
	is_str(slurp(ws, "conflict.txt"), "user\n", "the user's version is still there");
	ok(!slurp(ws, ".envrc"), ".envrc not applied");
	is_str(slurp(ws, "mod.txt"), "one\n2\nthree\n", "modified file applied");
	ok(!slurp(ws, "del.txt"), "deleted file gone");
	ok(mode_of(ws, "deldir") == 0, "deleted directory gone");
	ok(!slurp(ws, "opq/old2") && slurp(ws, "opq/new1") && slurp(ws, "opq/old1"),
	   "opaque directory: replaced content");
	ok(S_ISDIR(mode_of(ws, "typechg")) && (mode_of(ws, "typechg") & 0777) == 0750,
	   "file replaced by a directory, mode 0750");
	is_int(mode_of(ws, "typechg/inner") & 07777, 0600, "mode 0600 kept");
	is_int(mode_of(ws, "modeonly.sh") & 07777, 0755, "mode change applied");
	is_int(mode_of(ws, "") & 07777, 0750, "the workspace root's mode change applied");
	is_int(mode_of(ws, "new/f") & 07777, 0755, "set-uid bit dropped");
	ok(S_ISFIFO(mode_of(ws, "pipe")), "fifo applied");
	{
		char l[600], tgt[64] = "";
		ssize_t n;
		snprintf(l, sizeof(l), "%s/link", ws);
		n = readlink(l, tgt, sizeof(tgt) - 1);
		tgt[n < 0 ? 0 : n] = '\0';
		is_str(tgt, "target-b", "symlink retargeted");
	}
	is_str(hutch_session_state(s), "partial", "state partial");
	ok(hutch_session_changes(s, &ch, &err) == 0, "changes after apply");
	describe(&ch, got, sizeof(got));
	is_str(got, "A .envrc P;", "only what was not applied remains");
	hutch_changes_free(&ch);

	/* again: idempotent */
	memset(t.log, 0, sizeof(t.log));
	ok(hutch_session_apply(s, &o, &sum, &err) == 0, "apply again");
	is_int(sum.applied, 0, "nothing left to apply");
	is_int(sum.conflicts + sum.refused, 1, "the same one reported");

	/* a resumed run writes mod.txt again: what apply wrote is not the user's change */
	put(upper, "mod.txt", "one\n2\n3\n", 0644);
	ok(hutch_session_changes(s, &ch, &err) == 0, "changes after another round");
	describe(&ch, got, sizeof(got));
	like(got, "M mod.txt;", "mod.txt modified again, no conflict");
	hutch_changes_free(&ch);
	{
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	put(ws, "mod.txt", "user was here\n", 0644);
	ok(hutch_session_changes(s, &ch, &err) == 0, "changes after a user edit");
	describe(&ch, got, sizeof(got));
	like(got, "M mod.txt C;", "now it is a conflict");
	hutch_changes_free(&ch);

	/* include_protected */
	o.include_protected = true;
	ok(hutch_session_apply(s, &o, &sum, &err) == 0 && sum.conflicts == 1 && sum.applied == 0,
	   "--include-protected with the conflict on mod.txt: nothing applied");
	ok(!slurp(ws, ".envrc"), "  .envrc neither");
	{
		char mf[700];
		snprintf(mf, sizeof(mf), "%s/mod.txt", upper);
		ok(unlink(mf) == 0, "the conflicting change taken out of the layer");
	}
	ok(hutch_session_apply(s, &o, &sum, &err) == 0 && sum.refused == 0, "--include-protected");
	is_str(slurp(ws, ".envrc"), "export EVIL=1\n", ".envrc applied when asked");

	/* list, discard */
	ok(hutch_session_list(&info, &ninfo, &err) == 0 && ninfo == 2, "two sessions listed");
	for (size_t i = 0; i < ninfo; i++)
		if (!strcmp(info[i].id, "forked"))
			is_str(info[i].parent, hutch_session_id(s), "fork's parent listed");
	hutch_session_list_free(info, ninfo);
	/* an apply of the fork killed midway left a temporary: discard sweeps it */
	{
		char tmp[256];
		hutch_apply_tmp_name("mod.txt", hutch_session_id(f), tmp, sizeof(tmp));
		put(ws, tmp, "half", 0600);
		ok(slurp(ws, tmp) != NULL, "a stale temporary %s", tmp);
		ok(hutch_session_set_state(f, "applying", &err) == 0, "state applying");
		ok(hutch_session_discard(f, &err) == 0, "discard the fork");
		ok(!slurp(ws, tmp), "  removes the temporary of the killed apply");
	}
	ok(hutch_session_open("forked", NULL, &again, &err) == -ENOENT, "it is gone");
	ok(hutch_session_discard(s, &err) == 0, "discard");
	ok(mode_of(hutch_session_dir(s), "") == 0, "its directory is gone");
	hutch_session_free(f);
	hutch_session_free(s);
	hutch_policy_free(p);
}

int main(void)
{
	snprintf(base, sizeof(base), "/tmp/hutch-test-changes.XXXXXX");
	if (!mkdtemp(base)) {
		printf("1..0 # SKIP mkdtemp: %s\n", strerror(errno));
		return 0;
	}
	test_udiff();
	test_protected();
	test_escape();
	test_session();
	if (hutch_remove_tree(AT_FDCWD, base) < 0)
		diag("cleanup of %s failed", base);
	return done_testing();
}
