/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON policy files: the position locator, every key, every bad input's message, trust. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/json.h"
#include "policy/policy.h"
#include "tap.h"

static hutch_error err;
static char datadir[PATH_MAX];

/* The data directory: __FILE__ is relative to the build directory (or absolute). */
static void find_datadir(void)
{
	char exe[PATH_MAX], src[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		abort();
	exe[n] = '\0';
	snprintf(src, sizeof(src), "%s", __FILE__);
	if (src[0] == '/')
		snprintf(datadir, sizeof(datadir), "%s/data", dirname(src));
	else
		/* build/tests/unit/test-config -> build */
		snprintf(datadir, sizeof(datadir), "%s/../../%s/data", dirname(exe), dirname(src));
}

static int load(hutch_policy *p, const char *text, enum hutch_source src)
{
	memset(&err, 0, sizeof(err));
	return hutch_policy_load_data(p, "t.json", text, strlen(text), src, &err);
}

/* Load @text into a fresh policy and expect exactly @msg. */
static void bad(const char *text, const char *msg)
{
	hutch_policy *p = hutch_policy_new();
	int r = load(p, text, HUTCH_SOURCE_FILE);

	ok(r < 0 && err.status == 125, "refused: %s", msg);
	is_str(err.msg, msg, "  exact message");
	hutch_policy_free(p);
}

static void test_locator(void)
{
	static const char doc[] = "{\n"
				  "  \"a\": {\"b\": [10, {\"c\": \"x,]}\\\"\"}, 30]},\n"
				  "  \"\\u00e9t\\u00e9\": 1,\n"
				  "  \"d\\\"q\": [ [1], [2, 3] ],\n"
				  "  \"h\u00e9\": \"\u00e9\", \"z\": true\n"
				  "}\n";
	const uint8_t *b = (const uint8_t *)doc;
	size_t len = strlen(doc), off;
	unsigned line, col;

#define LOC(want_line, want_col, at_key, ...)                                                      \
	do {                                                                                       \
		struct hutch_jpath _p[] = {__VA_ARGS__};                                           \
		int _r = hutch_json_locate(b, len, _p, sizeof(_p) / sizeof(_p[0]), at_key, &off);  \
		line = col = 0;                                                                    \
		if (_r == 0)                                                                       \
			hutch_json_linecol(b, len, off, &line, &col);                              \
		ok(_r == 0 && line == (want_line) && col == (want_col),                            \
		   "locate %s -> %u:%u (got %d %u:%u)", #__VA_ARGS__, want_line, want_col, _r,     \
		   line, col);                                                                     \
	} while (0)

	LOC(2, 3, true, {"a", 0});
	LOC(2, 8, false, {"a", 0});
	LOC(2, 9, true, {"a", 0}, {"b", 0});
	LOC(2, 15, false, {"a", 0}, {"b", 0}, {NULL, 0});
	LOC(2, 19, false, {"a", 0}, {"b", 0}, {NULL, 1});
	LOC(2, 20, true, {"a", 0}, {"b", 0}, {NULL, 1}, {"c", 0});
	LOC(2, 36, false, {"a", 0}, {"b", 0}, {NULL, 2});
	LOC(3, 3, true, {"\xc3\xa9t\xc3\xa9", 0});
	LOC(4, 3, true, {"d\"q", 0});
	LOC(4, 22, false, {"d\"q", 0}, {NULL, 1}, {NULL, 1});
	LOC(5, 3, true, {"h\xc3\xa9", 0});
	LOC(5, 14, true, {"z", 0}); /* columns count characters, not bytes */
	{
		struct hutch_jpath nope[] = {{"a", 0}, {"nope", 0}};
		struct hutch_jpath past[] = {{"a", 0}, {"b", 0}, {NULL, 3}};
		struct hutch_jpath wrong[] = {{"a", 0}, {NULL, 0}};

		is_int(hutch_json_locate(b, len, nope, 2, true, &off), -ENOENT, "absent key");
		is_int(hutch_json_locate(b, len, past, 3, false, &off), -ENOENT, "index past end");
		is_int(hutch_json_locate(b, len, wrong, 2, false, &off), -ENOENT,
		       "index into an object");
		struct hutch_jpath b_key[] = {{"b", 0}};

		is_int(hutch_json_locate((const uint8_t *)"{\"a\": \"unterminated", 19, b_key, 1,
					 false, &off),
		       -EINVAL, "truncated input is EINVAL, not a crash");
	}
	hutch_json_linecol(b, len, 0, &line, &col);
	ok(line == 1 && col == 1, "offset 0 is 1:1");
}

static void test_good(void)
{
	char path[PATH_MAX + 64];
	hutch_policy *p = hutch_policy_new();
	int r;

	snprintf(path, sizeof(path), "%s/every-key.json", datadir);
	memset(&err, 0, sizeof(err));
	r = hutch_policy_load_file(p, path, HUTCH_SOURCE_FILE, &err);
	ok(r == 0, "every-key.json loads (%s)", err.msg);
	is_str(p->profile, "strict", "extends applied (even written last)");
	ok(hutch_rules_contains(&p->fs_hidden, "~") &&
		   hutch_rules_contains(&p->fs_hidden, "~/.ssh"),
	   "  with its base profile");
	is_int(p->require, HUTCH_LAYER_SECCOMP | HUTCH_LAYER_LANDLOCK,
	       "require replaces the profile's list (applied after extends)");
	ok(hutch_rules_contains(&p->fs_readonly, "/opt/sdk") &&
		   hutch_rules_contains(&p->fs_readonly, "$HOME/ref"),
	   "filesystem.readOnly");
	ok(hutch_rules_contains(&p->fs_writable, "build") &&
		   hutch_rules_contains(&p->fs_writable, "~/.cache/pip"),
	   "filesystem.writable");
	ok(hutch_rules_contains(&p->fs_hidden, "~/.secret-thing"), "filesystem.hidden");
	ok(hutch_rules_contains(&p->fs_protected, ".tool/hooks"), "filesystem.protected");
	ok(hutch_rules_contains(&p->fs_sockets, "/run/user/1000/podman.sock"),
	   "filesystem.sockets");
	ok(hutch_rules_contains(&p->fs_private, "~/.cache/scratch-thing"), "filesystem.private");
	is_int(p->net_mode, HUTCH_NET_PROXY, "network.mode");
	ok(hutch_rules_contains(&p->net_allow, "*.npmjs.org"), "network.allow");
	ok(hutch_rules_contains(&p->net_deny, "gist.github.com"), "network.deny");
	ok(p->allow_private, "network.allowPrivate");
	ok(!p->net_transparent, "network.transparent");
	is_int(p->http_port, 3128, "network.httpPort");
	is_int(p->socks_port, 1080, "network.socksPort");
	ok(hutch_rules_contains(&p->cmd_allow, "git *"), "commands.allow");
	ok(hutch_rules_contains(&p->cmd_deny, "sudo *"), "commands.deny");
	ok(hutch_rules_contains(&p->env_pass, "LC_*"), "env.pass");
	ok(hutch_rules_contains(&p->env_drop, "CORP_*"), "env.drop");
	ok(hutch_rules_contains(&p->env_set, "CI=1"), "env.set");
	ok(hutch_rules_contains(&p->env_set, "GREETING=h\xc3\xa9llo w\xc3\xb6rld"),
	   "env.set with \\u escapes and UTF-8");
	is_int(p->limits.memory, 512ull << 20, "limits.memory");
	is_int(p->limits.pids, 256, "limits.pids");
	is_int(p->limits.cpus_milli, 1500, "limits.cpus (a real number)");
	is_int(p->limits.timeout_ms, 5400000, "limits.timeout");
	is_int(p->limits.file_size, 1ull << 30, "limits.fileSize (an integer)");
	is_int(p->limits.open_files, 1024, "limits.openFiles");
	is_str(p->audit_file, "/var/log/hutch/audit.jsonl", "audit.file");
	{
		const struct hutch_rule *ru = hutch_rules_find(&p->fs_readonly, "/opt/sdk");
		char want[PATH_MAX + 64];

		snprintf(want, sizeof(want), "%s:5:18", path);
		is_str(ru ? ru->origin : NULL, want, "origins are file:line:col of the entry");
	}
	hutch_policy_free(p);

	snprintf(path, sizeof(path), "%s/design-example.json", datadir);
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_validate_file(path, NULL, &err) == 0,
	   "the design's example policy (data/design-example.json) validates (%s)", err.msg);

	p = hutch_policy_new();
	ok(load(p, "{}", HUTCH_SOURCE_FILE) == 0, "an empty object is a valid policy");
	ok(load(p, "{\"limits\": {\"cpus\": \"0.25\", \"memory\": 1048576}}", HUTCH_SOURCE_FILE) ==
			   0 &&
		   p->limits.cpus_milli == 250 && p->limits.memory == 1048576,
	   "cpus as a string, memory as bytes");
	ok(load(p, "{\"require\": []}", HUTCH_SOURCE_FILE) == 0 && p->require == 0,
	   "\"require\": [] requires nothing");
	ok(load(p, "{\"filesystem\": {\"hi\\u0064den\": [\"/x\"]}}", HUTCH_SOURCE_FILE) == 0 &&
		   hutch_rules_contains(&p->fs_hidden, "/x"),
	   "escaped key names are decoded");
	hutch_policy_free(p);
}

static void test_bad(void)
{
	char path[PATH_MAX + 64], want[PATH_MAX + 256];
	hutch_policy *p;

	bad("{\n  \"filesystem\": {\n    \"hiden\": [\"~/.ssh\"]\n  }\n}",
	    "t.json:3:5: unknown key \"hiden\" in \"filesystem\" (expected one of: readOnly, "
	    "writable, hidden, protected, sockets, private)");
	bad("{\"netwrok\": {}}",
	    "t.json:1:2: unknown key \"netwrok\" at the top level (expected one "
	    "of: $schema, extends, require, filesystem, network, commands, "
	    "env, limits, audit)");
	bad("{\"network\": {\"mode\": \"proxy\", \"allowprivate\": true}}",
	    "t.json:1:31: unknown key \"allowprivate\" in \"network\" (expected one of: mode, "
	    "allow, deny, allowPrivate, httpPort, socksPort, hostPorts, transparent)");
	bad("{\"limits\": {\"mem\": \"1G\"}}",
	    "t.json:1:13: unknown key \"mem\" in \"limits\" (expected one of: memory, pids, cpus, "
	    "timeout, fileSize, openFiles)");
	bad("{\n  \"filesystem\": {\n    \"hidden\": \"~/.ssh\"\n  }\n}",
	    "t.json:3:15: filesystem.hidden: expected an array of strings, got a string");
	bad("{\"filesystem\": {\"hidden\": [\"/a\", 2]}}",
	    "t.json:1:34: filesystem.hidden[1]: expected a string, got a number");
	bad("{\"filesystem\": [\"/a\"]}",
	    "t.json:1:16: filesystem: expected an object, got an array");
	bad("{\"network\": {\"allowPrivate\": \"false\"}}",
	    "t.json:1:30: network.allowPrivate: expected true or false, got a string");
	bad("{\"network\": {\"httpPort\": \"8080\"}}",
	    "t.json:1:26: network.httpPort: expected a port number, got a string");
	bad("{\"network\": {\"httpPort\": 70000}}",
	    "t.json:1:26: invalid httpPort \"70000\" (expected a port 1-65535)");
	bad("{\"network\": {\"mode\": \"bridge\"}}",
	    "t.json:1:22: invalid network mode \"bridge\" (expected one of: none, proxy, host)");
	bad("{\"network\": {\"allow\": [\"git hub.com\"]}}",
	    "t.json:1:24: host pattern \"git hub.com\" contains a space, control or non-ASCII "
	    "character");
	bad("{\n  \"network\": {\"mode\": \"none\"},\n  \"network\": {\"mode\": \"host\"}\n}",
	    "t.json:3:3: duplicate key \"network\"");
	bad("{\"env\": {\"set\": {\"A\": \"1\", \"A\": \"2\"}}}",
	    "t.json:1:28: duplicate key \"A\"");
	bad("{\n  \"filesystem\": {\n    \"hidden\": [\"~/.ssh\",]\n  }\n}",
	    "t.json:3:25: invalid JSON: unexpected token near ']'");
	bad("{\"a\": 1", "t.json:1:7: invalid JSON: '}' expected near end of file");
	bad("", "t.json:1:1: invalid JSON: '[' or '{' expected near end of file");
	bad("[\"~/.ssh\"]", "t.json:1:1: a policy must be a JSON object, not an array");
	bad("{\"filesystem\": {\"hidden\": [\"a\\u0000b\"]}}",
	    "t.json:1:37: invalid JSON: \\u0000 is not allowed without JSON_ALLOW_NUL near "
	    "'\"a\\u0000b\"'");
	bad("{\n  \"filesystem\": {\"writable\": [\"\"]}\n}", "t.json:2:31: empty path");
	bad("{\"filesystem\": {\"hidden\": [\"/a\\nb\"]}}",
	    "t.json:1:28: path \"/a\\nb\" contains a control character (newline, tab...)");
	/* private: a list of paths, checked as every other one, named by file:line:column */
	bad("{\n  \"filesystem\": {\n    \"private\": \"~/.claude/ide\"\n  }\n}",
	    "t.json:3:16: filesystem.private: expected an array of strings, got a string");
	bad("{\"filesystem\": {\"private\": [\"/a\", true]}}",
	    "t.json:1:35: filesystem.private[1]: expected a string, got a boolean");
	bad("{\n  \"filesystem\": {\"private\": [\"\"]}\n}", "t.json:2:30: empty path");
	bad("{\"filesystem\": {\"private\": [\"/a\\tb\"]}}",
	    "t.json:1:29: path \"/a\\tb\" contains a control character (newline, tab...)");
	bad("{\"filesystem\": {\"protected\": [\"../.bashrc\"]}}",
	    "t.json:1:31: relative protected path \"../.bashrc\" must not contain \"..\"");
	bad("{\"filesystem\": {\"sockets\": [\"run/docker.sock\"]}}",
	    "t.json:1:29: filesystem.sockets[0]: \"run/docker.sock\" is a relative path; an "
	    "absolute path (or ~/...) is needed");
	bad("{\"audit\": {\"file\": \"audit.jsonl\"}}",
	    "t.json:1:20: audit.file: \"audit.jsonl\" is a relative path; an absolute path (or "
	    "~/...) is needed");
	bad("{\n  \"extends\": \"lenient\"\n}",
	    "t.json:2:14: unknown profile \"lenient\" in \"extends\" (expected one of: default, "
	    "strict, claude-code, codex, gemini, aider)");
	bad("{\"extends\": \"s\\t\\\"rict\"}",
	    "t.json:1:13: unknown profile \"s\\t\\\"rict\" in \"extends\" (expected one of: "
	    "default, strict, claude-code, codex, gemini, aider)");
	bad("{\"extends\": [\"default\"]}", "t.json:1:13: extends: expected a profile name, got an "
					    "array");
	bad("{\"require\": [\"userns\", \"apparmor\"]}",
	    "t.json:1:24: unknown layer \"apparmor\" in \"require\" (expected one of: userns, "
	    "landlock, seccomp)");
	bad("{\"require\": \"userns\"}",
	    "t.json:1:13: require: expected an array of layer names, got a string");
	bad("{\"limits\": {\"memory\": \"4GB\"}}",
	    "t.json:1:23: invalid memory \"4GB\" (expected a size like 512M or 4G)");
	bad("{\"limits\": {\"memory\": -1}}", "t.json:1:23: limits.memory: must not be negative");
	bad("{\"limits\": {\"memory\": 1.5}}",
	    "t.json:1:23: limits.memory: expected a size like \"4G\" or a number of bytes, got a "
	    "number");
	bad("{\"limits\": {\"timeout\": 30}}",
	    "t.json:1:24: limits.timeout: expected a duration like \"30s\", got a number");
	bad("{\"limits\": {\"timeout\": \"30\"}}",
	    "t.json:1:24: invalid timeout \"30\" (expected a duration like 30s, 10m or 2h)");
	bad("{\"limits\": {\"cpus\": 0.0001}}", "t.json:1:21: limits.cpus: at most three decimals");
	bad("{\"limits\": {\"pids\": 0}}", "t.json:1:21: pids must be greater than zero");
	bad("{\"limits\": {\"pids\": \"64\"}}",
	    "t.json:1:21: limits.pids: expected an integer, got a string");
	bad("{\"env\": {\"set\": {\"1BAD\": \"x\"}}}",
	    "t.json:1:18: env.set: invalid variable name \"1BAD\" (expected letters, digits and _, "
	    "not starting with a digit)");
	bad("{\"env\": {\"set\": {\"A=B\": \"x\"}}}",
	    "t.json:1:18: env.set: invalid variable name \"A=B\" (expected letters, digits and _, "
	    "not starting with a digit)");
	bad("{\"env\": {\"set\": {\"N\": 1}}}", "t.json:1:23: env.set.N: expected a string, got a "
						"number");
	bad("{\"env\": {\"drop\": [\"A B\"]}}",
	    "t.json:1:19: invalid variable pattern \"A B\" (a name or a glob like AWS_*)");
	bad("{\"$schema\": 1}", "t.json:1:13: $schema: expected a string, got a number");
	bad("{\"hi\\u0064en\": 1}", "t.json:1:2: unknown key \"hiden\" at the top level (expected "
				    "one of: $schema, extends, "
				    "require, filesystem, network, commands, env, limits, audit)");

	snprintf(path, sizeof(path), "%s/misspelt.json", datadir);
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_validate_file(path, NULL, &err) < 0, "misspelt.json is refused");
	snprintf(want, sizeof(want),
		 "%s:5:5: unknown key \"hiden\" in \"filesystem\" (expected one of: readOnly, "
		 "writable, hidden, protected, sockets, private)",
		 path);
	is_str(err.msg, want, "  with the file's own name and position");

	memset(&err, 0, sizeof(err));
	ok(hutch_policy_validate_file("/nonexistent/p.json", NULL, &err) < 0,
	   "missing file refused");
	is_str(err.msg, "/nonexistent/p.json: cannot open: No such file or directory", "  message");
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_validate_file("/tmp", NULL, &err) < 0, "a directory is refused");
	is_str(err.msg, "/tmp: not a regular file", "  message");

	/* Too large: HUTCH_MAX_POLICY_BYTES + 1 bytes of valid JSON. */
	{
		char tmpl[] = "/tmp/hutch-test-big-XXXXXX";
		int fd = mkstemp(tmpl);
		size_t n = HUTCH_MAX_POLICY_BYTES + 1;
		char *buf = malloc(n);

		memset(buf, ' ', n);
		buf[0] = '{';
		buf[n - 1] = '}';
		ok(fd >= 0 && write(fd, buf, n) == (ssize_t)n, "wrote a %zu-byte file", n);
		close(fd);
		memset(&err, 0, sizeof(err));
		ok(hutch_policy_validate_file(tmpl, NULL, &err) == -EFBIG,
		   "too-large file refused");
		snprintf(want, sizeof(want),
			 "%s: policy file too large (1048577 bytes, at most 1048576)", tmpl);
		is_str(err.msg, want, "  message");
		p = hutch_policy_new();
		memset(&err, 0, sizeof(err));
		ok(hutch_policy_load_data(p, "mem.json", buf, n, HUTCH_SOURCE_FILE, &err) == -EFBIG,
		   "too-large data refused");
		is_str(err.msg, "mem.json: policy file too large (1048577 bytes, at most 1048576)",
		       "  message");
		hutch_policy_free(p);
		fd = open(tmpl, O_WRONLY);
		ok(ftruncate(fd, HUTCH_MAX_POLICY_BYTES) == 0 &&
			   pwrite(fd, "}", 1, HUTCH_MAX_POLICY_BYTES - 1) == 1,
		   "shrunk to exactly HUTCH_MAX_POLICY_BYTES");
		close(fd);
		ok(hutch_policy_validate_file(tmpl, NULL, &err) == 0,
		   "exactly the maximum is fine");
		unlink(tmpl);
		free(buf);
	}
}

static void test_system(void)
{
	static const char sys[] = "{\n"
				  "  \"network\": {\"mode\": \"proxy\", \"allowPrivate\": false,\n"
				  "              \"deny\": [\"pastebin.com\"]},\n"
				  "  \"filesystem\": {\"hidden\": [\"/srv/secrets\"]},\n"
				  "  \"limits\": {\"memory\": \"2G\"},\n"
				  "  \"require\": [\"seccomp\"],\n"
				  "  \"env\": {\"drop\": [\"CORP_*\"]}\n"
				  "}\n";
	hutch_policy *p = hutch_policy_new();

	hutch_policy_apply_profile(p, "default", &err);
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_load_data(p, "/etc/hutch/policy.json", sys, strlen(sys),
				  HUTCH_SOURCE_SYSTEM, &err) == 0,
	   "system policy loads (%s)", err.msg);
	ok(hutch_rules_find(&p->fs_hidden, "/srv/secrets")->locked, "its hidden entry is locked");
	ok(hutch_rules_find(&p->net_deny, "pastebin.com")->locked, "its deny entry is locked");
	ok(hutch_rules_find(&p->env_drop, "CORP_*")->locked, "its drop entry is locked");

#define USER_FAILS(text, want)                                                                     \
	do {                                                                                       \
		memset(&err, 0, sizeof(err));                                                      \
		ok(hutch_policy_load_data(p, "u.json", text, strlen(text), HUTCH_SOURCE_USER,      \
					  &err) < 0,                                               \
		   "user policy cannot loosen: %s", text);                                         \
		is_str(err.msg, want, "  message");                                                \
	} while (0)

	USER_FAILS("{\"network\": {\"mode\": \"host\"}}",
		   "u.json:1:22: network mode \"host\" is not allowed: the system policy "
		   "(/etc/hutch/policy.json:2:23) allows at most \"proxy\"");
	USER_FAILS("{\"network\": {\"allowPrivate\": true}}",
		   "u.json:1:30: cannot allow private addresses: the system policy "
		   "(/etc/hutch/policy.json:2:48) forbids them");
	USER_FAILS("{\"limits\": {\"memory\": \"3G\"}}",
		   "u.json:1:23: memory \"3G\" exceeds the ceiling set by the system policy "
		   "(/etc/hutch/policy.json:5:24)");
	USER_FAILS("{\"require\": [\"userns\"]}",
		   "u.json:1:13: cannot drop the required layers seccomp: the system policy "
		   "(/etc/hutch/policy.json:6:14) requires them");
	USER_FAILS("{\"require\": []}",
		   "u.json:1:13: cannot drop the required layers seccomp: the system policy "
		   "(/etc/hutch/policy.json:6:14) requires them");
	memset(&err, 0, sizeof(err));
	ok(load(p,
		"{\"network\": {\"mode\": \"none\"}, \"limits\": {\"memory\": \"1G\"}, "
		"\"require\": [\"seccomp\", \"landlock\"]}",
		HUTCH_SOURCE_USER) == 0,
	   "a user policy may tighten (%s)", err.msg);
	ok(p->net_mode == HUTCH_NET_NONE && p->limits.memory == 1ull << 30, "  and did");
	hutch_policy_free(p);

	p = hutch_policy_new();
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_load_data(p, "/etc/hutch/policy.json", "{\"extends\": \"strict\"}", 21,
				  HUTCH_SOURCE_SYSTEM, &err) == 0,
	   "system policy extends strict");
	ok(hutch_rules_find(&p->fs_hidden, "~")->locked, "  the profile's entries are locked");
	is_str(hutch_rules_find(&p->fs_hidden, "~")->origin, "/etc/hutch/policy.json:1:13",
	       "  with the system file as origin");
	hutch_policy_free(p);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	fchmod(fd, mode);
	close(fd);
}

static void test_trust(void)
{
	char tmp[] = "/tmp/hutch-test-trust-XXXXXX";
	char conf[128], ws[128], file[160], store[160], buf[512], hex[65], *json;
	hutch_policy *p;
	bool trusted = true;
	struct stat st;
	FILE *f;

	if (!mkdtemp(tmp))
		abort();
	snprintf(conf, sizeof(conf), "%s/conf", tmp);
	snprintf(ws, sizeof(ws), "%s/ws", tmp);
	snprintf(file, sizeof(file), "%s/.hutch.json", ws);
	snprintf(store, sizeof(store), "%s/hutch/trusted", conf);
	mkdir(ws, 0700);
	setenv("XDG_CONFIG_HOME", conf, 1);

	p = hutch_policy_new();
	ok(hutch_policy_load_project(p, ws, &err) == 0 && hutch_policy_ignored(p, 0) == NULL,
	   "no .hutch.json: nothing to do");
	write_file(file, "{\"network\": {\"mode\": \"host\"}}", 0644);
	ok(hutch_policy_load_project(p, ws, &err) == 0, "untrusted project policy: no error");
	is_str(hutch_policy_ignored(p, 0), file, "  it is reported as ignored");
	is_int(p->net_mode, HUTCH_NET_NONE, "  and not applied");
	hutch_policy_free(p);

	ok(hutch_trust_check(file, &trusted, &err) == 0 && !trusted, "trust_check: not trusted");
	memset(&err, 0, sizeof(err));
	ok(hutch_trust_add(file, hex, &err) == 0, "trust_add (%s)", err.msg);
	ok(stat(store, &st) == 0 && (st.st_mode & 0777) == 0600, "store written with mode 0600");
	f = fopen(store, "r");
	ok(f && fgets(buf, sizeof(buf), f), "store readable");
	if (f)
		fclose(f);
	snprintf(conf, sizeof(conf), "%s %s\n", hex, "");
	ok(strncmp(buf, hex, 64) == 0 && buf[64] == ' ' &&
		   strncmp(buf + 65, file, strlen(file)) == 0,
	   "store line is \"sha256 path\"");
	ok(hutch_trust_check(file, &trusted, &err) == 0 && trusted, "trust_check: trusted");
	ok(hutch_trust_add(file, NULL, &err) == 0, "trust_add again");
	ok(stat(store, &st) == 0 && st.st_size == 64 + 1 + (off_t)strlen(file) + 1,
	   "re-trusting replaces the entry");

	p = hutch_policy_new();
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_load_project(p, ws, &err) == 0 && hutch_policy_ignored(p, 0) == NULL,
	   "trusted project policy applied (%s)", err.msg);
	is_int(p->net_mode, HUTCH_NET_HOST, "  its content is in the policy");
	json = hutch_policy_to_json(p);
	like(json, "\"mode\": \"host\"", "  and in the JSON");
	free(json);
	hutch_policy_free(p);

	write_file(file, "{\"network\": {\"mode\": \"host\"}} ", 0644);
	ok(hutch_trust_check(file, &trusted, &err) == 0 && !trusted,
	   "a changed file is untrusted again");
	p = hutch_policy_new();
	ok(hutch_policy_load_project(p, ws, &err) == 0 && hutch_policy_ignored(p, 0) != NULL &&
		   p->net_mode == HUTCH_NET_NONE,
	   "  and ignored by load_project");
	hutch_policy_free(p);

	chmod(store, 0666);
	memset(&err, 0, sizeof(err));
	ok(hutch_trust_check(file, &trusted, &err) < 0, "a world-writable store is refused");
	like(err.msg, "writable by other users", "  message: %s", err.msg);
	unlink(store);

	/* The user policy from $XDG_CONFIG_HOME/hutch/policy.json. */
	snprintf(buf, sizeof(buf), "%s/conf/hutch/policy.json", tmp);
	write_file(buf, "{\"limits\": {\"pids\": 77}}", 0644);
	p = hutch_policy_new();
	memset(&err, 0, sizeof(err));
	if (access("/etc/hutch/policy.json", F_OK) == 0)
		diag("note: this machine has /etc/hutch/policy.json; it is loaded too");
	ok(hutch_policy_load_standard(p, &err) == 0 && p->limits.pids == 77,
	   "user policy loaded from $XDG_CONFIG_HOME (%s)", err.msg);
	hutch_policy_free(p);
	chmod(buf, 0666);
	p = hutch_policy_new();
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_load_standard(p, &err) < 0, "a world-writable user policy is refused");
	like(err.msg, "writable by other users or owned by someone else", "  message: %s", err.msg);
	hutch_policy_free(p);
	write_file(buf, "{\"limits\": {\"pidz\": 77}}", 0600);
	p = hutch_policy_new();
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_load_standard(p, &err) < 0, "an invalid user policy is an error");
	like(err.msg, "policy.json:1:13: unknown key \"pidz\"", "  message: %s", err.msg);
	hutch_policy_free(p);
	unlink(buf);
	setenv("XDG_CONFIG_HOME", "relative/dir", 1);
	{
		char *d = hutch_config_dir("/home/x");

		is_str(d, "/home/x/.config/hutch", "a relative XDG_CONFIG_HOME is ignored");
		free(d);
	}
	unsetenv("XDG_CONFIG_HOME");

	unlink(file);
	snprintf(buf, sizeof(buf), "%s/conf/hutch", tmp);
	rmdir(buf);
	snprintf(buf, sizeof(buf), "%s/conf", tmp);
	rmdir(buf);
	rmdir(ws);
	rmdir(tmp);
}

/*
 * Property: whatever the bytes, loading never crashes and every error names
 * t.json:LINE:COL. Deterministic mutations of every-key.json (a cheap fuzz
 * pass; under ASan it also checks the locator's bounds).
 */
static void test_mutations(void)
{
	char path[PATH_MAX + 64], *orig, *buf;
	size_t len, bad_shape = 0, errors = 0;
	unsigned seed = 12345;
	FILE *f;

	snprintf(path, sizeof(path), "%s/every-key.json", datadir);
	f = fopen(path, "r");
	if (!f)
		abort();
	orig = malloc(8192);
	len = fread(orig, 1, 8192, f);
	fclose(f);
	buf = malloc(len + 1);
	for (int iter = 0; iter < 20000; iter++) {
		hutch_policy *p = hutch_policy_new();
		int nmut = 1 + (int)(rand_r(&seed) % 4);
		unsigned line, col;
		char colon;

		memcpy(buf, orig, len);
		for (int m = 0; m < nmut; m++) {
			size_t at = (size_t)rand_r(&seed) % len;
			static const char interesting[] = "\"{}[],:0a \\\n-.e";

			buf[at] = (rand_r(&seed) & 1) ? interesting[rand_r(&seed) % 15]
						      : (char)(rand_r(&seed) & 0xff);
		}
		memset(&err, 0, sizeof(err));
		if (hutch_policy_load_data(p, "t.json", buf, len, HUTCH_SOURCE_FILE, &err) < 0) {
			errors++;
			if (getenv("HUTCH_T_SHOW"))
				diag("%s", err.msg);
			if (sscanf(err.msg, "t.json:%u:%u%c", &line, &col, &colon) != 3 ||
			    colon != ':' || line == 0 || col == 0) {
				if (bad_shape++ < 5)
					diag("error without a position: %s", err.msg);
			}
		}
		hutch_policy_free(p);
	}
	ok(errors > 1000, "mutations produced errors (%zu)", errors);
	is_int(bad_shape, 0, "every error names t.json:line:column");
	free(buf);
	free(orig);
}

/* What hutch run refuses, hutch policy validate refuses; what is implied, both imply. */
static void test_validate_like_run(void)
{
	char tmp[] = "/tmp/hutch-test-validate-XXXXXX", file[128];
	hutch_policy *p;
	FILE *f;

	p = hutch_policy_new();
	ok(load(p, "{\"network\": {\"allow\": [\"example.com\"]}}", HUTCH_SOURCE_FILE) == 0 &&
		   p->net_mode == HUTCH_NET_PROXY,
	   "network.allow without a mode means the proxy");
	like(p->key_origin[HUTCH_KEY_NET_MODE], "t.json:1:14",
	     "  the mode's origin is the allow key");
	hutch_policy_free(p);
	p = hutch_policy_new();
	ok(load(p, "{\"network\": {\"allow\": [\"example.com\"]}}", HUTCH_SOURCE_SYSTEM) == 0 &&
		   p->net_mode == HUTCH_NET_NONE,
	   "  but not in the system policy (its allowlist is a ceiling)");
	hutch_policy_free(p);
	p = hutch_policy_new();
	ok(load(p, "{\"network\": {\"allow\": []}}", HUTCH_SOURCE_FILE) == 0 &&
		   p->net_mode == HUTCH_NET_NONE,
	   "  nor with an empty allow list");
	hutch_policy_free(p);
	bad("{\"network\": {\"mode\": \"none\", \"allow\": [\"example.com\"]}}",
	    "t.json:1:22: network.mode is \"none\" but network.allow lists destinations: nothing "
	    "would reach them");
	bad("{\"network\": {\"mode\": \"proxy\", \"allow\": [\"example.com:99999\"]}}",
	    "t.json:1:41: network.allow \"example.com:99999\": invalid port");

	if (!mkdtemp(tmp))
		abort();
	snprintf(file, sizeof(file), "%s/p.json", tmp);
	/* 4090 hidden paths: alone under the limit, over it on the default profile's */
	f = fopen(file, "w");
	fprintf(f, "{\"filesystem\": {\"hidden\": [");
	for (int i = 0; i < 4090; i++)
		fprintf(f, "%s\"/nonexistent/h%d\"", i ? "," : "", i);
	fprintf(f, "]}}\n");
	fclose(f);
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_validate_file(file, NULL, &err) < 0,
	   "4090 hidden paths: refused by validate");
	like(err.msg, "too many entries (at most 4096)", "  message: %s", err.msg);
	f = fopen(file, "w");
	fprintf(f, "{\"filesystem\": {\"writable\": [\"/\"]}}\n");
	fclose(f);
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_validate_file(file, NULL, &err) < 0,
	   "a writable \"/\": refused by validate");
	like(err.msg, "writable path / is the root directory", "  message: %s", err.msg);
	f = fopen(file, "w");
	fprintf(f, "{\"network\": {\"mode\": \"host\", \"deny\": [\"127.0.0.1\"]}}\n");
	fclose(f);
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_validate_file(file, NULL, &err) < 0, "host mode with a denylist: refused");
	like(err.msg, "cannot filter destinations", "  message: %s", err.msg);
	f = fopen(file, "w");
	fprintf(f, "{\"network\": {\"mode\": \"host\"}}\n");
	fclose(f);
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_validate_file(file, NULL, &err) == 0, "host mode alone validates: %s",
	   err.msg);
	ok(hutch_policy_validate_file(file, "claude-code", &err) < 0,
	   "  but not on a profile with an allowlist");
	unlink(file);
	rmdir(tmp);
}

/* audit.file takes what --audit takes: a path, "-" (stderr) or "syslog". */
static void test_audit_sinks(void)
{
	static const char *const sinks[] = {"-", "syslog"};

	for (size_t i = 0; i < 2; i++) {
		hutch_policy *p = hutch_policy_new();
		char text[64];

		snprintf(text, sizeof(text), "{\"audit\": {\"file\": \"%s\"}}", sinks[i]);
		is_int(load(p, text, HUTCH_SOURCE_FILE), 0, "audit.file \"%s\" is taken", sinks[i]);
		is_str(p->audit_file, sinks[i], "  as it is");
		hutch_policy_free(p);
	}
}

int main(void)
{
	find_datadir();
	test_audit_sinks();
	test_validate_like_run();
	test_mutations();
	test_locator();
	test_good();
	test_bad();
	test_system();
	test_trust();
	return done_testing();
}
