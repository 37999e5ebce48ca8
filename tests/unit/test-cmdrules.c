/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Command rules: globs, pattern splitting, deny/allow decisions. */
#include <string.h>

#include "audit/cmdrules.h"
#include "policy/policy.h"
#include "tap.h"

static bool g(const char *pat, const char *s)
{
	return hutch_glob(pat, strlen(pat), s, strlen(s));
}

/* Match @pattern against a command given as path + argv (NULL-terminated). */
static char joined[4096];
static bool m(const char *pattern, const char *path, const char *real, bool deny,
	      const char *const *argv)
{
	struct hutch_cmd c = {.path = path, .real_path = real, .argv = argv};

	while (argv[c.argc])
		c.argc++;
	c.args = joined;
	c.args_len = hutch_cmd_join_args(argv, NULL, c.argc, joined, sizeof(joined));
	return hutch_cmd_pattern_match(pattern, &c, deny);
}

#define A(...) ((const char *const[]){__VA_ARGS__, NULL})

int main(void)
{
	/* ---- globs */
	ok(g("", ""), "empty matches empty");
	ok(!g("", "a"), "empty does not match 'a'");
	ok(g("*", ""), "* matches empty");
	ok(g("*", "a b/c"), "* matches spaces and slashes");
	ok(g("a?c", "abc") && !g("a?c", "ac"), "? is exactly one byte");
	ok(g("--force*", "--force-with-lease"), "prefix glob");
	ok(!g("--force*", "--forc"), "prefix glob needs the whole prefix");
	ok(g("*.sh", "x.sh") && !g("*.sh", "x.shx"), "suffix glob anchored at the end");
	ok(g("a*b*c", "aXXbYYc") && !g("a*b*c", "aXXcYYb"), "several stars in order");
	ok(g("\\*", "*") && !g("\\*", "x"), "\\* is a literal star");
	ok(g("\\?", "?") && !g("\\?", "x"), "\\? is a literal question mark");
	ok(g("a\\\\b", "a\\b"), "\\\\ is a literal backslash");
	{
		/* no exponential blow-up */
		char s[4001], p[64];
		memset(s, 'a', 4000);
		s[4000] = '\0';
		strcpy(p, "*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
		ok(!g(p, s), "pathological pattern finishes (no match)");
	}

	/* ---- patterns */
	ok(m("sudo *", "/usr/bin/sudo", NULL, true, A("sudo", "ls")), "'sudo *' matches sudo ls");
	ok(m("sudo *", "/usr/bin/sudo", NULL, true, A("sudo")), "'sudo *' matches a bare sudo");
	ok(m("sudo", "/usr/bin/sudo", NULL, true, A("sudo", "-i")),
	   "a bare program matches any arguments");
	ok(!m("sudo *", "/usr/bin/sudoedit", NULL, true, A("sudoedit", "x")),
	   "'sudo *' does not match sudoedit");
	ok(!m("sudo *", "/usr/bin/ls", NULL, true, A("ls", "sudo")),
	   "'sudo *' does not match ls sudo");
	ok(m("git push --force*", "/usr/bin/git", NULL, true,
	     A("git", "push", "--force-with-lease", "origin")),
	   "'git push --force*' matches --force-with-lease");
	ok(m("git push --force*", "/usr/bin/git", NULL, true, A("git", "push", "--force")),
	   "'git push --force*' matches --force");
	ok(!m("git push --force*", "/usr/bin/git", NULL, true, A("git", "push", "origin")),
	   "'git push --force*' does not match a plain push");
	ok(!m("git push --force*", "/usr/bin/git", NULL, true, A("git", "pull", "--force")),
	   "'git push --force*' does not match git pull --force");
	ok(m("rm -rf /*", "/bin/rm", NULL, true, A("rm", "-rf", "/")),
	   "'rm -rf /*' matches rm -rf /");
	ok(m("rm -rf /*", "/bin/rm", NULL, true, A("rm", "-rf", "/home")),
	   "'rm -rf /*' matches rm -rf /home");
	ok(!m("rm -rf /*", "/bin/rm", NULL, true, A("rm", "-rf", "build")),
	   "'rm -rf /*' does not match rm -rf build");
	ok(m("/usr/bin/ssh *", "/usr/bin/ssh", NULL, true, A("ssh", "host")),
	   "a program with a slash matches the full path");
	ok(!m("/usr/bin/ssh *", "/opt/ssh", NULL, true, A("ssh", "host")),
	   "... and not another path with the same basename");
	ok(m("/usr/*/ssh *", "/usr/local/ssh", NULL, true, A("ssh")), "path globs work");
	ok(m("sudo *", "/home/u/bin/x", "/usr/bin/sudo", true, A("x", "ls")),
	   "the resolved path's basename counts (symlink to sudo)");
	ok(m("sudo *", "/usr/bin/busybox", NULL, true, A("sudo", "ls")),
	   "deny: argv[0]'s basename counts (busybox applets, exec -a)");
	ok(!m("sudo *", "/usr/bin/busybox", NULL, false, A("sudo", "ls")),
	   "allow: argv[0] does not count (exec -a git sudo must not pass an allow rule)");
	ok(m("  ssh   *  ", "/usr/bin/ssh", NULL, true, A("ssh", "h")),
	   "surrounding and repeated spaces are tolerated");
	ok(m("python* -c *", "/usr/bin/python3", NULL, true, A("python3", "-c", "print(1)")),
	   "globs in the program name");
	ok(m("echo a\\ b", "/bin/echo", NULL, true, A("echo", "a b")),
	   "an escaped space in the arguments is a literal space");
	ok(!m("sudo *", NULL, NULL, false, A("sudo")), "allow with an unknown path never matches");

	/* ---- decisions */
	{
		struct hutch_rules allow = {0}, deny = {0};
		const struct hutch_rule *rule = NULL;
		struct hutch_cmd c = {0};
		const char *const *argv = A("sudo", "ls");
		char buf[256];

		c.path = "/usr/bin/sudo";
		c.argv = argv;
		c.argc = 2;
		c.args = buf;
		c.args_len = hutch_cmd_join_args(argv, NULL, 2, buf, sizeof(buf));
		is_str(buf, "ls", "joined args");
		ok(hutch_cmdrules_decide(&allow, &deny, &c, &rule) && !rule,
		   "no rules: allowed, no rule decided");
		hutch_rules_add(&deny, "ssh *", "test", false);
		hutch_rules_add(&deny, "sudo *", "policy.json:3:5", false);
		ok(!hutch_cmdrules_decide(&allow, &deny, &c, &rule), "deny rule: refused");
		is_str(rule ? rule->value : NULL, "sudo *", "  the deciding rule");
		is_str(rule ? rule->origin : NULL, "policy.json:3:5", "  with its origin");
		hutch_rules_add(&allow, "sudo *", "x", false);
		ok(!hutch_cmdrules_decide(&allow, &deny, &c, &rule), "deny beats allow");
		hutch_rules_clear(&deny);
		ok(hutch_cmdrules_decide(&allow, &deny, &c, &rule) && rule &&
			   !strcmp(rule->value, "sudo *"),
		   "allow rule: allowed by that rule");
		c.path = "/bin/ls";
		c.argv = A("ls");
		c.argc = 1;
		c.args_len = 0;
		buf[0] = '\0';
		ok(!hutch_cmdrules_decide(&allow, &deny, &c, &rule) && !rule,
		   "with allow rules, a command matching none is refused");
		hutch_rules_clear(&allow);
	}
	{
		char buf[8];
		size_t n = hutch_cmd_join_args(A("x", "abc", "defgh"), NULL, 3, buf, sizeof(buf));
		is_int(n, 7, "joined args are cut at the buffer");
		is_str(buf, "abc def", "  and NUL-terminated");
	}
	return done_testing();
}
