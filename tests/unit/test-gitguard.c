/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gitconfig.c (parse, sanitize), dotenv.c and gitguard.c (the rules, the end-of-run check). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/dotenv.h"
#include "audit/rebasetodo.h"
#include "audit/gitconfig.h"
#include "audit/gitguard.h"
#include "tap.h"

static int count_entries(const struct hutch_gitconfig_entry *e, void *data)
{
	(void)e;
	(*(int *)data)++;
	return 0;
}

static char *sanitize(const char *in, char **removed, int *n)
{
	char *out = NULL;
	size_t len = 0;

	*n = hutch_gitconfig_sanitize(in, strlen(in), &out, &len, removed);
	return out;
}

static void test_parse(void)
{
	static const char *const bad[] = {
		"[core] fsmonitor = x\n",     /* a key after the header: not read here */
		"[core]\n\tpager = \"less\n", /* unterminated quote */
		"[core]\n\tpager = a\\qb\n",  /* unknown escape */
		"key = x\n",		      /* no section */
		"[core\n",		      /* unterminated header */
		"[core \"sub]\n",	      /* unterminated subsection */
		"[core]\n\t1key = x\n",	      /* a key starts with a letter */
	};
	const char *good = "\xef\xbb\xbf# comment\n; comment\n[core]\n\tbare = false\n"
			   "\tquiet\n[remote \"a \\\"b\\\"\"] # c\n\turl = \"x y\" ; c\n"
			   "[section.Sub]\n\tkey = a \\\n b\n";
	int n = 0;

	is_int(hutch_gitconfig_parse(good, strlen(good), count_entries, &n), 0, "valid config");
	is_int(n, 4, "four entries");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(hutch_gitconfig_parse(bad[i], strlen(bad[i]), count_entries, &n), -EINVAL,
		       "refused: bad config %zu", i);
	is_int(hutch_gitconfig_parse("[core]\n\0x", 10, count_entries, &n), -EINVAL, "NUL refused");
}

static void test_sanitize(void)
{
	char *removed = NULL, *out;
	int n;

	out = sanitize("[core]\n\tbare = false\n\tFSMonitor = \"touch \\\n /tmp/x\"\n"
		       "[alias]\n\tst = status\n\tx = \"!sh -c evil\"\n"
		       "[Filter \"lfs\"]\n\tsmudge = evil\n[user]\n\tname = me\n",
		       &removed, &n);
	is_int(n, 3, "three keys removed");
	ok(out && !strstr(out, "touch") && !strstr(out, "/tmp/x") && !strstr(out, "evil"),
	   "the dangerous values are gone (a continuation line too)");
	ok(out && strstr(out, "bare = false") && strstr(out, "st = status") &&
		   strstr(out, "name = me"),
	   "the safe keys are kept");
	is_str(removed, "core.fsmonitor, alias.x, filter.smudge", "the removed keys named");
	free(out);
	free(removed);
	out = sanitize("[core]\n\tbare = false\n[alias]\n\tst = status\n", &removed, &n);
	is_int(n, 0, "nothing dangerous: nothing removed");
	ok(!out && !removed, "and no copy made");
	static const char *const keys[] = {
		"core.hooksPath = h",
		"core.sshCommand = s",
		"core.pager = p",
		"core.editor = e",
		"core.askPass = a",
		"core.gitProxy = g",
		"sequence.editor = e",
		"diff.external = d",
		"diff.x.command = c",
		"diff.x.textconv = t",
		"merge.x.driver = d",
		"include.path = p",
		"includeIf.gitdir:/.path = p",
		"credential.helper = h",
		"gpg.program = g",
		"gpg.ssh.program = g",
		"uploadpack.packObjectsHook = h",
		"remote.o.uploadpack = u",
		"remote.o.receivepack = r",
		"protocol.ext.allow = always",
		"hook.lint.command = c",
		"init.templateDir = t",
		"lfs.customtransfer.x.path = p",
		"lfs.extension.x.clean = c",
		"lfs.extension.x.smudge = s",
		"guitool.x.cmd = c",
		"instaweb.httpd = h",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char in[256], sec[64], sub[64] = "", key[64], val[64];
		const char *dot = strchr(keys[i], '.'), *last = strrchr(keys[i], '.');
		const char *eq = strstr(keys[i], " = ");
		snprintf(sec, sizeof(sec), "%.*s", (int)(dot - keys[i]), keys[i]);
		if (last != dot)
			snprintf(sub, sizeof(sub), " \"%.*s\"", (int)(last - dot - 1), dot + 1);
		snprintf(key, sizeof(key), "%.*s", (int)(eq - last - 1), last + 1);
		snprintf(val, sizeof(val), "%s", eq + 3);
		snprintf(in, sizeof(in), "[%s%s]\n\t%s = %s\n", sec, sub, key, val);
		out = sanitize(in, &removed, &n);
		is_int(n, 1, "dangerous: %s", keys[i]);
		free(out);
		free(removed);
	}
}

static bool test_is_gitdir(const char *dir, void *data)
{
	(void)data;
	return !strcmp(dir, "bare.git") || !strcmp(dir, ".git/modules/third_party/lib") ||
	       !strcmp(dir, "gitdirs/x");
}

static void test_code_path(void)
{
	static const struct {
		const char *path;
		bool dir, want;
	} cases[] = {
		{".git/hooks/pre-commit", false, true},
		{".git/hooks", true, true},
		{".git/config", false, true},
		{".git/config.worktree", false, true},
		{".git/worktrees/wt/config.worktree", false, false}, /* not a git dir here */
		{".git/modules/third_party/lib/hooks/post-checkout", false, true},
		{".git/modules/third_party/lib/config", false, true},
		{"bare.git/hooks/update", false, true},
		{"gitdirs/x/config", false, true},
		{"gitdirs/y/config", false, false},
		{"a/b/.git", false, true},
		{"a/b/.git", true, false},
		{".git/objects/ab/cd", false, false},
		{".git/index", false, false},
		{".git/rebase-merge/git-rebase-todo", false, true},
		{".git/worktrees/wt/rebase-merge", true, false}, /* not a git dir here */
		{"src/rebase-merge/x", false, false},
		{".git/refs/heads/main", false, false},
		{"src/hooks/x", false, false},
		{"config", false, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(hutch_gitguard_is_code_path(cases[i].path, cases[i].dir, test_is_gitdir,
						   NULL),
		       cases[i].want, "code path %s: %s", cases[i].path,
		       cases[i].want ? "yes" : "no");
}

/* ---- the check on a real tree --------------------------------------------- */

static int n_moved, n_sanitized, n_failed;
static char seen[8192];

static void item(const struct hutch_persist_item *it, void *data)
{
	(void)data;
	if (it->action == HUTCH_PERSIST_MOVED)
		n_moved++;
	else if (it->action == HUTCH_PERSIST_SANITIZED)
		n_sanitized++;
	else
		n_failed++;
	snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s\n", it->path);
}

/* A shell command; $D is the test's directory. */
static void sh(const char *cmd)
{
	if (system(cmd) != 0) // NOLINT(cert-env33-c): the test builds its tree with the shell
		diag("command failed: %s", cmd);
}

static bool exists(const char *dir, const char *rel)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return access(p, F_OK) == 0;
}

static void test_check(void)
{
	char tmpl[] = "/tmp/test-gitguard-XXXXXX";
	char *dir = mkdtemp(tmpl), ws[4200], q[4200];
	const char *roots[1];
	struct hutch_gitguard_stats st;
	struct timespec start;
	hutch_error err = {0};

	if (!dir) {
		ok(0, "mkdtemp");
		return;
	}
	setenv("D", dir, 1);
	snprintf(ws, sizeof(ws), "%s/ws", dir);
	snprintf(q, sizeof(q), "%s/q", dir);
	/* before the run: a repository with an old hook, an old hooksPath, an old symlinked hooks
	 */
	sh("mkdir -p $D/ws/r/.git/hooks $D/ws/r/.githooks $D/ws/tools/githooks $D/ws/s/.git");
	sh("mkdir -p $D/ws/r/.git/objects $D/ws/r/.git/refs $D/ws/s/.git/objects "
	   "$D/ws/s/.git/refs");
	sh("echo 'ref: refs/heads/main' > $D/ws/r/.git/HEAD; echo old > "
	   "$D/ws/r/.git/hooks/pre-push;"
	   "printf '[core]\\n\\thooksPath = .githooks\\n' > $D/ws/r/.git/config");
	sh("echo 'ref: refs/heads/main' > $D/ws/s/.git/HEAD; ln -s ../../tools/githooks "
	   "$D/ws/s/.git/hooks; echo old > $D/ws/tools/githooks/pre-commit");
	sleep(1); /* older than the start by more than the margin (a few clock ticks) */
	clock_gettime(CLOCK_REALTIME, &start);
	/* during the run */
	sh("echo new > $D/ws/r/.githooks/pre-commit; echo new > $D/ws/tools/githooks/post-checkout;"
	   "echo x > $D/ws/r/.git/hooks/pre-push.sample");
	sh("mkdir -p $D/ws/deep/a/b/c/d/e/f/g/h/i/j/bare.git/objects "
	   "$D/ws/deep/a/b/c/d/e/f/g/h/i/j/"
	   "bare.git/refs $D/ws/deep/a/b/c/d/e/f/g/h/i/j/bare.git/hooks");
	sh("echo hook > $D/ws/deep/a/b/c/d/e/f/g/h/i/j/bare.git/hooks/update; printf "
	   "'[core]\\n\\tbare = true\\n[core]\\n\\tfsmonitor = evil\\n' > "
	   "$D/ws/deep/a/b/c/d/e/f/g/h/i/j/bare.git/config");
	sh("mkdir -p $D/ws/new/.git/hooks; echo 'ref: x' > $D/ws/new/.git/HEAD; printf '[core] "
	   "fsmonitor = evil\\n' > $D/ws/new/.git/config");
	roots[0] = ws;
	{
		/* a run that planted nothing (another workspace): no quarantine directory made */
		char clean[4200], q0[4200];
		const char *r0[1] = {clean};

		snprintf(clean, sizeof(clean), "%s/clean", dir);
		snprintf(q0, sizeof(q0), "%s/q0", dir);
		sh("mkdir -p $D/clean/.git/hooks $D/clean/.git/objects $D/clean/.git/refs; echo "
		   "'ref: x' > $D/clean/.git/HEAD");
		is_int(hutch_gitguard_check(r0, 1, NULL, 0, &start, q0, NULL, item, NULL, &st,
					    &err),
		       0, "a check of a clean workspace runs");
		ok(!exists(dir, "q0"), "  and makes no quarantine directory (nothing went there)");
		ok(n_moved == 0 && n_sanitized == 0 && n_failed == 0, "  and moves nothing");
	}
	{
		/* the quarantine cannot be made: each planted item is reported failed, none lost */
		char bad[4200], qb[4200];
		const char *rb[1] = {bad};
		int failed_before = n_failed;

		snprintf(bad, sizeof(bad), "%s/bad", dir);
		snprintf(qb, sizeof(qb), "%s/ro/q", dir);
		sh("mkdir -p $D/bad/.git/hooks $D/bad/.git/objects $D/bad/.git/refs $D/ro; echo "
		   "'ref: x' > $D/bad/.git/HEAD; echo x > $D/bad/.git/hooks/pre-commit; "
		   "printf 'not a dir' > $D/ro/q");
		hutch_gitguard_check(rb, 1, NULL, 0, &start, qb, NULL, item, NULL, &st, &err);
		ok(n_failed == failed_before + 1 && exists(bad, ".git/hooks/pre-commit"),
		   "  no quarantine possible: the planted hook is reported as failed, left in "
		   "place");
		n_failed = failed_before;
	}
	is_int(hutch_gitguard_check(roots, 1, NULL, 0, &start, q, NULL, item, NULL, &st, &err), 0,
	       "check runs");
	diag("%s", seen);
	is_int(n_failed, 0, "nothing failed");
	ok(!exists(ws, "r/.githooks/pre-commit") && exists(ws, "r/.git/hooks/pre-push"),
	   "a hook made in the hooksPath moved, an old hook kept");
	ok(exists(ws, "r/.git/hooks/pre-push.sample"), "a .sample hook kept");
	ok(!exists(ws, "tools/githooks/post-checkout") && exists(ws, "tools/githooks/pre-commit"),
	   "a hook made behind an old hooks symlink moved, the old one kept");
	ok(!exists(ws, "deep/a/b/c/d/e/f/g/h/i/j/bare.git/hooks/update"),
	   "a deep bare repository's new hook moved");
	ok(exists(q, &ws[1]) && exists(dir, "q/tmp"), "the quarantine mirrors the path");
	{
		char p[8192];
		FILE *f;
		char buf[512] = "";
		snprintf(p, sizeof(p), "%s/deep/a/b/c/d/e/f/g/h/i/j/bare.git/config", ws);
		f = fopen(p, "r");
		if (f) {
			size_t k = fread(buf, 1, sizeof(buf) - 1, f);
			buf[k] = '\0';
			fclose(f);
		}
		ok(!strstr(buf, "evil") && strstr(buf, "bare = true"),
		   "a changed config lost its fsmonitor, kept the rest");
		snprintf(p, sizeof(p), "%s/new/.git/config", ws);
		f = fopen(p, "r");
		buf[0] = '\0';
		if (f) {
			size_t k = fread(buf, 1, sizeof(buf) - 1, f);
			buf[k] = '\0';
			fclose(f);
		}
		ok(!strstr(buf, "evil") && strstr(buf, "repositoryformatversion"),
		   "an unreadable config replaced by a minimal one");
	}
	is_int(n_moved, 3, "three hooks moved");
	is_int(n_sanitized, 2, "two configs sanitized");
	sh("rm -rf $D");
}

static void test_dotenv(void)
{
	static const struct {
		const char *in, *out, *removed;
	} cases[] = {
		{"A=1\nB=2\n", NULL, NULL},
		{"LD_PRELOAD=/x\nA=1\n", "# LD_PRELOAD removed by hutch\nA=1\n", "LD_PRELOAD"},
		{"export  ld_preload=/x", "# ld_preload removed by hutch\n", "ld_preload"},
		{"\xef\xbb\xbfNODE_OPTIONS=--require=x\n", "# NODE_OPTIONS removed by hutch\n",
		 "NODE_OPTIONS"},
		{"'PYTHONPATH'=/x\n", "# PYTHONPATH removed by hutch\n", "PYTHONPATH"},
		{"AIDER_LINT_CMD: x\n", "# AIDER_LINT_CMD removed by hutch\n", "AIDER_LINT_CMD"},
		{"A=1\rGIT_SSH_COMMAND=x\n", "A=1\r# GIT_SSH_COMMAND removed by hutch\n",
		 "GIT_SSH_COMMAND"},
		{"A=\"x\n  HTTPS_PROXY=y\n\"\n", "A=\"x\n# HTTPS_PROXY removed by hutch\n\"\n",
		 "HTTPS_PROXY"},
		{"GEMINI_API_KEY=k\nGEMINI_SYSTEM_MD=/x\n",
		 "GEMINI_API_KEY=k\n# GEMINI_SYSTEM_MD removed by hutch\n", "GEMINI_SYSTEM_MD"},
		{"API_BASE_URL=http://localhost\nDATABASE_URL=x\n# LD_PRELOAD=x\n", NULL, NULL},
		{"LD_PRELOAD\n", NULL, NULL}, /* no value: sets nothing */
	};
	char *out = NULL, *removed = NULL;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = hutch_dotenv_sanitize(cases[i].in, strlen(cases[i].in), &out, &len,
					      &removed);

		is_int(n, cases[i].out ? 1 : 0, "dotenv case %zu: lines removed", i);
		is_str(out ? out : "(none)", cases[i].out ? cases[i].out : "(none)",
		       "dotenv case %zu: text", i);
		is_str(removed ? removed : "(none)", cases[i].removed ? cases[i].removed : "(none)",
		       "dotenv case %zu: names", i);
		free(out);
		free(removed);
		out = removed = NULL;
	}
	is_int(hutch_dotenv_sanitize("A=1\0LD_PRELOAD=x", 17, &out, &len, &removed), -EINVAL,
	       "dotenv: a NUL byte is refused");
}

static void test_agent_path(void)
{
	static const struct {
		const char *path;
		bool want;
	} cases[] = {
		{"pkg/.claude/settings.json", true},
		{".claude/commands/x.md", true},
		{"a/b/.vscode/tasks.json", true},
		{"pkg/.mcp.json", true},
		{"pkg/.hutch.json", true},
		{"x/CLAUDE.local.md", true},
		{"pkg/.claude", false}, /* the directory itself: its files are */
		{"node_modules/p/.vscode/settings.json", false},
		{"a/node_modules/p/.claude/x", false},
		{".gemini/.hutch-home/.gemini/settings.json", false},
		{"src/claude/settings.json", false},
		{"src/main.c", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(hutch_gitguard_is_agent_path(cases[i].path), cases[i].want,
		       "agent path %s: %s", cases[i].path, cases[i].want ? "yes" : "no");
}

static void test_rebase_todo(void)
{
	static const struct {
		const char *in, *out;
		int n;
	} cases[] = {
		{"pick 1 a\nexec make\n", "pick 1 a\n# removed by hutch: exec make\n", 1},
		{"x touch m\n  X\ttouch m",
		 "# removed by hutch: x touch m\n# removed by hutch:   X\ttouch m", 2},
		{"EXEC sh\r\nbreak\n", "# removed by hutch: EXEC sh\r\nbreak\n", 1},
		{"pick 1 exec\nexecute 2\nxx 3\n# exec c\nlabel x\n", NULL, 0},
	};
	char *out = NULL;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = hutch_rebase_todo_sanitize(cases[i].in, strlen(cases[i].in), &out, &len);
		is_int(n, cases[i].n, "rebase todo case %zu: lines commented", i);
		is_str(out ? out : "(none)", cases[i].out ? cases[i].out : "(none)",
		       "rebase todo case %zu: text", i);
		free(out);
		out = NULL;
	}
	is_int(hutch_rebase_todo_sanitize("pick\0exec x", 12, &out, &len), -EINVAL,
	       "rebase todo: a NUL byte is refused");
}

int main(void)
{
	test_rebase_todo();
	test_agent_path();
	test_dotenv();
	test_parse();
	test_sanitize();
	test_code_path();
	test_check();
	return done_testing();
}
