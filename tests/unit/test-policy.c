/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The policy model: rules, parsers, validation, profiles, system locks, finalize, JSON. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sha256.h"
#include "policy/policy.h"
#include "policy/profiles.h"
#include "tap.h"

static hutch_error err;

static void test_sha256(void)
{
	char hex[65];
	struct hutch_sha256 s;
	uint8_t md[32];
	char *million;

	hutch_sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "sha256 of empty string");
	hutch_sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "sha256 of abc");
	hutch_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	       "sha256 of the 56-byte vector (padding spills into a second block)");
	million = malloc(1000000);
	memset(million, 'a', 1000000);
	/* Feed in odd-sized pieces to exercise the buffering. */
	hutch_sha256_init(&s);
	for (size_t off = 0; off < 1000000;) {
		size_t n = 1000000 - off < 997 ? 1000000 - off : 997;

		hutch_sha256_update(&s, million + off, n);
		off += n;
	}
	hutch_sha256_final(&s, md);
	hutch_sha256_hex(million, 1000000, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "sha256 of a million a");
	ok(md[0] == 0xcd && md[31] == 0xd0, "incremental update gives the same digest");
	free(million);
}

static void test_rules(void)
{
	struct hutch_rules r = {0};
	char buf[32];
	int ret = 0;

	is_int(hutch_rules_add(&r, "a", "o1", false), 0, "add a");
	is_int(hutch_rules_add(&r, "a", "o2", false), 0, "add a again");
	is_int(r.n, 1, "duplicates are merged");
	is_str(r.v[0].origin, "o1", "first origin kept");
	hutch_rules_add(&r, "a", "sys", true);
	ok(r.v[0].locked, "a locked duplicate locks the entry");
	is_str(r.v[0].origin, "sys", "and its origin is the locking one");
	is_int(hutch_rules_remove(&r, "a"), -EPERM, "a locked rule cannot be removed");
	hutch_rules_add(&r, "b", NULL, false);
	ok(hutch_rules_contains(&r, "b") && !hutch_rules_contains(&r, "c"), "contains");
	is_int(hutch_rules_remove(&r, "b"), 0, "remove b");
	is_int(hutch_rules_remove(&r, "b"), -ENOENT, "remove b again: ENOENT");
	hutch_rules_clear(&r);
	is_int(r.n, 0, "clear");
	for (int i = 0; i < HUTCH_MAX_RULES && ret == 0; i++) {
		snprintf(buf, sizeof(buf), "v%d", i);
		ret = hutch_rules_add(&r, buf, NULL, false);
	}
	is_int(ret, 0, "HUTCH_MAX_RULES entries fit");
	is_int(hutch_rules_add(&r, "one-more", NULL, false), -E2BIG, "one more is E2BIG");
	is_int(hutch_rules_add(&r, "v7", NULL, false), 0, "a duplicate still merges when full");
	/* taking: what is not kept is freed (the sanitizer build finds a leak or a double free) */
	is_int(hutch_rules_add_take(&r, strdup("one-more"), strdup("o"), false), -E2BIG,
	       "taking one more is E2BIG too");
	hutch_rules_clear(&r);
	is_int(hutch_rules_add_take(&r, strdup("t"), strdup("o1"), false), 0, "take t");
	is_int(hutch_rules_add_take(&r, strdup("t"), strdup("o2"), true), 0,
	       "take t again, locked");
	ok(r.n == 1 && r.v[0].locked && !strcmp(r.v[0].origin, "o2"),
	   "a taken duplicate merges as an added one");
	is_int(hutch_rules_add_take(&r, strdup("u"), NULL, false), 0, "take u without an origin");
	ok(hutch_rules_contains(&r, "u") && !r.v[1].origin, "u is there, no origin");
	hutch_rules_clear(&r);
}

/* The hash index of a list: order of addition, every entry found, removals, hand-built lists. */
static void test_rules_index(void)
{
	struct hutch_rules r = {0};
	struct hutch_rule hand[2] = {{.value = (char *)"x"}, {.value = (char *)"y"}};
	struct hutch_rules h = {.v = hand, .n = 2, .cap = 2};
	char buf[32];
	bool all = true;

	for (int i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "/p/%d", i % 700); /* 300 duplicates */
		all = all && hutch_rules_add(&r, buf, NULL, false) == 0;
	}
	ok(all, "1000 adds");
	is_int(r.n, 700, "duplicates merged through the index");
	for (int i = 0; i < 700 && all; i++) {
		const struct hutch_rule *f;
		snprintf(buf, sizeof(buf), "/p/%d", i);
		f = hutch_rules_find(&r, buf);
		all = f == &r.v[i] && strcmp(r.v[i].value, buf) == 0;
	}
	ok(all, "each entry found at its place, in the order added");
	ok(!hutch_rules_find(&r, "/p/700") && !hutch_rules_find(&r, "/p/"),
	   "absent ones not found");
	is_int(hutch_rules_remove(&r, "/p/3"), 0, "remove one in the middle");
	ok(!hutch_rules_find(&r, "/p/3"), "  gone from the index");
	ok(hutch_rules_find(&r, "/p/4") == &r.v[3] && hutch_rules_find(&r, "/p/699") == &r.v[698],
	   "  the ones after it found at their new places");
	is_int(hutch_rules_add(&r, "/p/3", NULL, false), 0, "added again");
	ok(hutch_rules_find(&r, "/p/3") == &r.v[699], "  found, at the end");
	hutch_rules_clear(&r);
	ok(!hutch_rules_find(&r, "/p/4") && r.idx == NULL, "clear empties the index");
	ok(hutch_rules_find(&h, "y") == &hand[1] && !hutch_rules_find(&h, "z"),
	   "a list built by hand (no index) is searched one by one");
	{
		struct hutch_rules hb = {
			.v = calloc(4, sizeof(struct hutch_rule)), .n = 2, .cap = 4};

		hb.v[0].value = strdup("p");
		hb.v[1].value = strdup("q");
		ok(hutch_rules_add(&hb, "q", NULL, false) == 0 && hb.n == 2,
		   "  adding to it finds the duplicate");
		ok(hutch_rules_add(&hb, "r", NULL, false) == 0 && hb.n == 3 &&
			   hutch_rules_find(&hb, "p") == &hb.v[0] &&
			   hutch_rules_find(&hb, "q") == &hb.v[1] &&
			   hutch_rules_find(&hb, "r") == &hb.v[2],
		   "  and indexes every entry, the hand-made ones too");
		hutch_rules_clear(&hb);
	}
}

static void test_parsers(void)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t want;
	} sizes[] = {
		{"123", 0, 123},
		{"512K", 0, 512 * 1024},
		{"512k", 0, 512 * 1024},
		{"100M", 0, 100ull << 20},
		{"4G", 0, 4ull << 30},
		{"2T", 0, 2ull << 40},
		{"0", 0, 0},
		{"", -EINVAL, 0},
		{"G", -EINVAL, 0},
		{"4GB", -EINVAL, 0},
		{"4 G", -EINVAL, 0},
		{" 4G", -EINVAL, 0},
		{"-1", -EINVAL, 0},
		{"+1", -EINVAL, 0},
		{"1.5G", -EINVAL, 0},
		{"4X", -EINVAL, 0},
		{"0x10", -EINVAL, 0},
		{"18446744073709551615", 0, UINT64_MAX},
		{"18446744073709551616", -ERANGE, 0},
		{"99999999999999999999999", -ERANGE, 0},
		{"17179869184G", -ERANGE, 0},
	};
	static const struct {
		const char *in;
		int ret;
		uint64_t want;
	} durations[] = {
		{"30s", 0, 30000},
		{"10m", 0, 600000},
		{"2h", 0, 7200000},
		{"1500ms", 0, 1500},
		{"1d", 0, 86400000},
		{"1h30m", 0, 5400000},
		{"0s", 0, 0},
		{"30", -EINVAL, 0},
		{"", -EINVAL, 0},
		{"s", -EINVAL, 0},
		{"10 s", -EINVAL, 0},
		{"1.5h", -EINVAL, 0},
		{"-5s", -EINVAL, 0},
		{"5x", -EINVAL, 0},
		{"5sec", -EINVAL, 0},
		{"1h30", -EINVAL, 0},
		{"999999999999999999d", -ERANGE, 0},
	};
	static const struct {
		const char *in;
		int ret;
		uint64_t want;
	} cpus[] = {
		{"2", 0, 2000},	     {"0.5", 0, 500},	      {"1.25", 0, 1250},
		{"0.001", 0, 1},     {"3.0", 0, 3000},	      {"", -EINVAL, 0},
		{".5", -EINVAL, 0},  {"1.", -EINVAL, 0},      {"0.0001", -EINVAL, 0},
		{"1,5", -EINVAL, 0}, {"-1", -EINVAL, 0},      {"2 ", -EINVAL, 0},
		{"1e3", -EINVAL, 0}, {"2000000", -ERANGE, 0},
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		v = 0;
		int r = hutch_parse_size(sizes[i].in, &v);

		ok(r == sizes[i].ret && (r < 0 || v == sizes[i].want), "size \"%s\" -> %d %llu",
		   sizes[i].in, sizes[i].ret, (unsigned long long)sizes[i].want);
	}
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		v = 0;
		int r = hutch_parse_duration(durations[i].in, &v);

		ok(r == durations[i].ret && (r < 0 || v == durations[i].want),
		   "duration \"%s\" -> %d %llu", durations[i].in, durations[i].ret,
		   (unsigned long long)durations[i].want);
	}
	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		v = 0;
		int r = hutch_parse_cpus(cpus[i].in, &v);

		ok(r == cpus[i].ret && (r < 0 || v == cpus[i].want), "cpus \"%s\" -> %d %llu",
		   cpus[i].in, cpus[i].ret, (unsigned long long)cpus[i].want);
	}
	is_int(hutch_parse_uint("65535", 65535, &v), 0, "uint at max");
	is_int(hutch_parse_uint("65536", 65535, &v), -ERANGE, "uint above max");
	is_int(hutch_parse_uint("", 10, &v), -EINVAL, "uint empty");
	is_int(hutch_parse_uint("1a", 10, &v), -EINVAL, "uint trailing junk");
}

#define ADD_FAILS(p, list, value, needle)                                                          \
	do {                                                                                       \
		memset(&err, 0, sizeof(err));                                                      \
		ok(hutch_policy_add(p, list, value, "--x", &err) < 0 && err.status == 125,         \
		   "add %s refused", #value);                                                      \
		like(err.msg, needle, "  message: %s", err.msg);                                   \
	} while (0)

#define SET_FAILS(p, key, value, needle)                                                           \
	do {                                                                                       \
		memset(&err, 0, sizeof(err));                                                      \
		ok(hutch_policy_set(p, key, value, "--x", &err) < 0 && err.status == 125,          \
		   "set %s %s refused", #key, #value);                                             \
		like(err.msg, needle, "  message: %s", err.msg);                                   \
	} while (0)

static void test_add_set(void)
{
	hutch_policy *p = hutch_policy_new();

	ok(hutch_policy_add(p, HUTCH_LIST_HIDDEN, "~/.ssh", "--hide", &err) == 0, "hide ~/.ssh");
	ok(hutch_policy_add(p, HUTCH_LIST_HIDDEN, "~/.ssh", "--hide", &err) == 0, "twice");
	is_int(p->fs_hidden.n, 1, "deduped");
	ADD_FAILS(p, HUTCH_LIST_WRITABLE, "", "--x: empty path");
	ADD_FAILS(p, HUTCH_LIST_READONLY, "/a\nb", "control character");
	ADD_FAILS(p, HUTCH_LIST_PROTECTED, "../x", "must not contain \"..\"");
	ADD_FAILS(p, HUTCH_LIST_PROTECTED, "./", "names the workspace itself");
	ok(hutch_policy_add(p, HUTCH_LIST_PROTECTED, "/abs/..", "t", &err) == 0,
	   "an absolute protected path may contain .. (normalised at finalize)");
	ADD_FAILS(p, HUTCH_LIST_NET_ALLOW, "", "empty host pattern");
	ADD_FAILS(p, HUTCH_LIST_NET_ALLOW, "a b.com", "contains a space");
	ADD_FAILS(p, HUTCH_LIST_NET_DENY, "a\tb.com", "contains a space");
	ADD_FAILS(p, HUTCH_LIST_NET_ALLOW, "caf\xc3\xa9.com", "non-ASCII");
	ADD_FAILS(p, HUTCH_LIST_ENV_SET, "NOVALUE", "is not NAME=VALUE");
	ADD_FAILS(p, HUTCH_LIST_ENV_SET, "1X=y", "invalid variable name \"1X\"");
	ADD_FAILS(p, HUTCH_LIST_ENV_SET, "=y", "invalid variable name");
	ADD_FAILS(p, HUTCH_LIST_ENV_SET, "A-B=y", "invalid variable name \"A-B\"");
	ADD_FAILS(p, HUTCH_LIST_ENV_SET, "A\nB=y", "invalid variable name \"A\\nB\"");
	ADD_FAILS(p, HUTCH_LIST_ENV_PASS, "A=B", "invalid variable pattern");
	ADD_FAILS(p, HUTCH_LIST_ENV_DROP, "", "empty variable pattern");
	ADD_FAILS(p, HUTCH_LIST_CMD_DENY, "", "empty command pattern");
	ADD_FAILS(p, HUTCH_LIST_REQUIRE, "apparmor",
		  "unknown layer \"apparmor\" (expected one of: userns, landlock, seccomp)");

	ok(hutch_policy_add(p, HUTCH_LIST_ENV_SET, "FOO=1", "a", &err) == 0, "set FOO=1");
	ok(hutch_policy_add(p, HUTCH_LIST_ENV_SET, "FOO=2=3", "b", &err) == 0, "set FOO=2=3");
	ok(hutch_policy_add(p, HUTCH_LIST_ENV_SET, "FOOBAR=x", "c", &err) == 0, "set FOOBAR");
	is_int(p->env_set.n, 2, "a later FOO replaces the earlier one");
	ok(hutch_rules_contains(&p->env_set, "FOO=2=3") &&
		   !hutch_rules_contains(&p->env_set, "FOO=1"),
	   "FOO=2=3 kept, FOO=1 gone");
	ok(hutch_policy_add(p, HUTCH_LIST_REQUIRE, "landlock", "r", &err) == 0 &&
		   p->require == HUTCH_LAYER_LANDLOCK,
	   "require landlock sets its bit");

	ok(hutch_policy_set(p, HUTCH_KEY_MEMORY, "4G", "--memory", &err) == 0 &&
		   p->limits.memory == 4ull << 30,
	   "memory 4G");
	ok(hutch_policy_set(p, HUTCH_KEY_CPUS, "0.5", "--cpus", &err) == 0 &&
		   p->limits.cpus_milli == 500,
	   "cpus 0.5");
	ok(hutch_policy_set(p, HUTCH_KEY_TIMEOUT, "10m", "--timeout", &err) == 0 &&
		   p->limits.timeout_ms == 600000,
	   "timeout 10m");
	ok(hutch_policy_set(p, HUTCH_KEY_PIDS, "64", "--pids", &err) == 0 && p->limits.pids == 64,
	   "pids 64");
	is_str(p->key_origin[HUTCH_KEY_PIDS], "--pids", "origin of pids recorded");
	SET_FAILS(p, HUTCH_KEY_MEMORY, "4GB", "--x: invalid memory \"4GB\" (expected a size");
	SET_FAILS(p, HUTCH_KEY_MEMORY, "0", "memory must be greater than zero");
	SET_FAILS(p, HUTCH_KEY_TIMEOUT, "30", "invalid timeout \"30\" (expected a duration");
	SET_FAILS(p, HUTCH_KEY_CPUS, "two", "invalid cpus");
	SET_FAILS(p, HUTCH_KEY_PIDS, "1e3", "invalid pids");
	SET_FAILS(p, HUTCH_KEY_PIDS, "99999999999", "pids \"99999999999\" is too large");
	SET_FAILS(p, HUTCH_KEY_NET_MODE, "bridge",
		  "invalid network mode \"bridge\" (expected one of: none, proxy, host)");
	SET_FAILS(p, HUTCH_KEY_ALLOW_PRIVATE, "yes", "expected true or false");
	SET_FAILS(p, HUTCH_KEY_HTTP_PORT, "0", "expected a port 1-65535");
	SET_FAILS(p, HUTCH_KEY_SOCKS_PORT, "65536", "expected a port 1-65535");
	ADD_FAILS(p, HUTCH_LIST_NET_ALLOW, "example.com:99999",
		  "network.allow \"example.com:99999\": invalid port");
	ADD_FAILS(p, HUTCH_LIST_NET_DENY, "[::1", "network.deny \"[::1\": unbalanced brackets");
	SET_FAILS(p, HUTCH_KEY_WORKSPACE, "", "empty path");
	ok(hutch_policy_set(p, HUTCH_KEY_HTTP_PORT, "3128", "x", &err) == 0 && p->http_port == 3128,
	   "httpPort 3128");
	ok(hutch_policy_set(p, HUTCH_KEY_NET_MODE, "host", "x", &err) == 0 &&
		   p->net_mode == HUTCH_NET_HOST,
	   "net host without a system ceiling");
	hutch_policy_free(p);
}

static void test_profiles(void)
{
	hutch_policy *p = hutch_policy_new();
	const char *const *names = hutch_profile_names();

	is_str(names[0], "default", "first profile: default");
	is_str(names[1], "strict", "second profile: strict");
	ok(hutch_policy_apply_profile(p, "default", &err) == 0, "apply default");
	is_int(p->require, HUTCH_LAYER_USERNS | HUTCH_LAYER_LANDLOCK | HUTCH_LAYER_SECCOMP,
	       "default requires all three layers");
	is_int(p->net_mode, HUTCH_NET_NONE, "default: net none");
	ok(hutch_rules_contains(&p->fs_hidden, "~/.ssh") &&
		   hutch_rules_contains(&p->fs_hidden, "~/.claude/.credentials.json") &&
		   hutch_rules_contains(&p->fs_hidden, "/etc/shadow"),
	   "default hides ~/.ssh, the agent credentials and /etc/shadow");
	ok(hutch_rules_contains(&p->fs_protected, ".git/hooks") &&
		   hutch_rules_contains(&p->fs_protected, ".hutch.json"),
	   "default protects .git/hooks and .hutch.json");
	ok(hutch_rules_contains(&p->env_drop, "*_TOKEN") &&
		   hutch_rules_contains(&p->env_drop, "SSH_AUTH_SOCK"),
	   "default drops *_TOKEN and SSH_AUTH_SOCK");
	ok(hutch_rules_contains(&p->env_pass, "*"), "default passes *");
	is_str(hutch_rules_find(&p->fs_hidden, "~/.ssh")->origin, "profile default",
	       "origin is \"profile default\"");
	ok(!hutch_rules_find(&p->fs_hidden, "~/.ssh")->locked, "profile entries are not locked");
	ok(!hutch_rules_contains(&p->fs_hidden, "~"), "default does not hide all of ~");
	is_str(p->profile, "default", "profile recorded");
	ok(hutch_policy_apply_profile(p, "strict", &err) == 0, "apply strict on top");
	ok(hutch_rules_contains(&p->fs_hidden, "~"), "strict hides ~");
	is_str(hutch_rules_find(&p->fs_hidden, "~/.ssh")->origin, "profile default",
	       "strict's base adds nothing new");
	is_str(p->profile, "strict", "profile recorded: strict");
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_apply_profile(p, "lenient", &err) < 0, "unknown profile refused");
	is_str(err.msg,
	       "unknown profile \"lenient\" (expected one of: default, strict, claude-code, codex, "
	       "gemini, aider)",
	       "  with the list of names");
	for (size_t i = 0; hutch_default_hidden[i]; i++)
		if (strncmp(hutch_default_hidden[i], "~/", 2) != 0 &&
		    hutch_default_hidden[i][0] != '/')
			ok(0, "hidden entry %s is neither ~/ nor absolute",
			   hutch_default_hidden[i]);
	hutch_policy_free(p);
}

#define SYS(call) ok((call) == 0, "system: %s", #call)

static void test_system_locks(void)
{
	hutch_policy *p = hutch_policy_new();

	hutch_policy_apply_profile(p, "default", &err);
	SYS(hutch_policy_set_ex(p, HUTCH_KEY_NET_MODE, "proxy", "/etc/p.json:2:3", true, &err));
	SYS(hutch_policy_set_ex(p, HUTCH_KEY_MEMORY, "1G", "/etc/p.json:3:3", true, &err));
	SYS(hutch_policy_set_ex(p, HUTCH_KEY_TIMEOUT, "1h", "/etc/p.json:3:9", true, &err));
	SYS(hutch_policy_set_ex(p, HUTCH_KEY_ALLOW_PRIVATE, "false", "/etc/p.json:4:3", true,
				&err));
	SYS(hutch_policy_set_ex(p, HUTCH_KEY_AUDIT_FILE, "/var/log/h.jsonl", "/etc/p.json:5:3",
				true, &err));
	SYS(hutch_policy_add_ex(p, HUTCH_LIST_HIDDEN, "/srv/secrets", "/etc/p.json:6:3", true,
				&err));
	SYS(hutch_policy_add_ex(p, HUTCH_LIST_HIDDEN, "~/.ssh", "/etc/p.json:6:9", true, &err));
	SYS(hutch_policy_add_ex(p, HUTCH_LIST_ENV_DROP, "CORP_*", "/etc/p.json:7:3", true, &err));
	SYS(hutch_policy_add_ex(p, HUTCH_LIST_NET_DENY, "evil.com", "/etc/p.json:8:3", true, &err));
	SYS(hutch_policy_add_ex(p, HUTCH_LIST_NET_ALLOW, "github.com", "/etc/p.json:8:9", true,
				&err));
	SYS(hutch_policy_set_require(p, HUTCH_LAYER_SECCOMP | HUTCH_LAYER_LANDLOCK,
				     "/etc/p.json:9:3", true, &err));

	ok(hutch_rules_find(&p->fs_hidden, "/srv/secrets")->locked, "system hidden entry locked");
	ok(hutch_rules_find(&p->fs_hidden, "~/.ssh")->locked,
	   "a profile entry repeated by the system becomes locked");
	is_str(hutch_rules_find(&p->fs_hidden, "~/.ssh")->origin, "/etc/p.json:6:9",
	       "  with the system origin");
	ok(hutch_rules_find(&p->env_drop, "CORP_*")->locked, "system drop locked");
	ok(hutch_rules_find(&p->net_deny, "evil.com")->locked, "system deny locked");
	is_int(p->require_locked, HUTCH_LAYER_SECCOMP | HUTCH_LAYER_LANDLOCK, "require locked");
	is_int(hutch_rules_remove(&p->fs_hidden, "/srv/secrets"), -EPERM,
	       "a locked hidden entry cannot be removed");

	SET_FAILS(p, HUTCH_KEY_NET_MODE, "host",
		  "--x: network mode \"host\" is not allowed: the system policy (/etc/p.json:2:3) "
		  "allows at most \"proxy\"");
	ok(hutch_policy_set(p, HUTCH_KEY_NET_MODE, "none", "--net", &err) == 0,
	   "net none is below the ceiling");
	ok(hutch_policy_set(p, HUTCH_KEY_NET_MODE, "proxy", "--net", &err) == 0,
	   "net proxy is at the ceiling");
	SET_FAILS(p, HUTCH_KEY_MEMORY, "2G",
		  "--x: memory \"2G\" exceeds the ceiling set by the system policy "
		  "(/etc/p.json:3:3)");
	ok(hutch_policy_set(p, HUTCH_KEY_MEMORY, "512M", "--memory", &err) == 0 &&
		   p->limits.memory == 512ull << 20,
	   "a smaller memory limit tightens");
	ok(hutch_policy_set(p, HUTCH_KEY_MEMORY, "1G", "--memory", &err) == 0,
	   "back up to the ceiling is fine");
	SET_FAILS(p, HUTCH_KEY_TIMEOUT, "2h", "timeout \"2h\" exceeds the ceiling");
	ok(hutch_policy_set(p, HUTCH_KEY_PIDS, "100000", "--pids", &err) == 0,
	   "a limit the system did not set is free");
	SET_FAILS(p, HUTCH_KEY_ALLOW_PRIVATE, "true",
		  "cannot allow private addresses: the system policy (/etc/p.json:4:3) forbids "
		  "them");
	ok(hutch_policy_set(p, HUTCH_KEY_ALLOW_PRIVATE, "false", "x", &err) == 0,
	   "allowPrivate false again is fine");
	ok(p->net_transparent, "network.transparent is true by default");
	ok(!p->net_transparent_asked, "  by default, not asked for (unavailable: variables only)");
	ok(hutch_policy_set(p, HUTCH_KEY_NET_TRANSPARENT, "true", "x", &err) == 0 &&
		   p->net_transparent_asked,
	   "network.transparent true set by a policy: asked for (unavailable: refuse to run)");
	ok(hutch_policy_set(p, HUTCH_KEY_NET_TRANSPARENT, "false", "x", &err) == 0 &&
		   !p->net_transparent_asked && !p->net_transparent,
	   "  set back to false: neither on nor asked for");
	SYS(hutch_policy_set_ex(p, HUTCH_KEY_NET_TRANSPARENT, "false", "/etc/p.json:9:3", true,
				&err));
	ok(!p->net_transparent, "the system policy turns transparent egress off");
	SET_FAILS(p, HUTCH_KEY_NET_TRANSPARENT, "true",
		  "cannot turn transparent egress on: the system policy (/etc/p.json:9:3) turns "
		  "it off");
	SET_FAILS(p, HUTCH_KEY_NET_TRANSPARENT, "yes", "expected true or false");
	SET_FAILS(p, HUTCH_KEY_AUDIT_FILE, "/dev/null", "cannot change the audit file");
	ok(hutch_policy_set(p, HUTCH_KEY_AUDIT_FILE, "/var/log/h.jsonl", "x", &err) == 0,
	   "the same audit file again is fine");
	SET_FAILS(p, HUTCH_KEY_ALLOW_DEGRADED, "true",
		  "--x: cannot run degraded: the system policy (/etc/p.json:9:3) requires "
		  "landlock, seccomp");
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_set_require(p, HUTCH_LAYER_SECCOMP, "/u.json:1:2", false, &err) < 0,
	   "\"require\" without a locked layer refused");
	is_str(err.msg,
	       "/u.json:1:2: cannot drop the required layers landlock: the system policy "
	       "(/etc/p.json:9:3) requires them",
	       "  message names the layer and the system policy");
	ok(hutch_policy_set_require(p, HUTCH_LAYER_SECCOMP | HUTCH_LAYER_LANDLOCK, "/u.json:1:2",
				    false, &err) == 0 &&
		   p->require == (HUTCH_LAYER_SECCOMP | HUTCH_LAYER_LANDLOCK),
	   "\"require\" dropping only userns (not locked) is fine");
	ADD_FAILS(p, HUTCH_LIST_NET_ALLOW, "pastebin.com",
		  "--x: cannot allow \"pastebin.com\": the system policy (/etc/p.json:8:9) fixes "
		  "the network allowlist");
	ok(hutch_policy_add(p, HUTCH_LIST_NET_ALLOW, "github.com", "-a", &err) == 0,
	   "repeating a system allow entry is fine");
	ok(hutch_policy_add(p, HUTCH_LIST_NET_DENY, "x.com", "--deny", &err) == 0,
	   "adding a deny is always fine");
	hutch_policy_free(p);

	/* A system policy's "extends" makes the profile's entries locked. */
	p = hutch_policy_new();
	ok(hutch_profile_apply_ex(p, "default", "/etc/p.json:1:14", true, &err) == 0,
	   "system extends default");
	ok(hutch_rules_find(&p->fs_hidden, "~/.aws")->locked, "its hidden entries are locked");
	is_int(p->net_mode_max, HUTCH_NET_NONE, "its network mode is the ceiling");
	is_int(p->require_locked, HUTCH_LAYER_USERNS | HUTCH_LAYER_LANDLOCK | HUTCH_LAYER_SECCOMP,
	       "its layers are locked");
	SET_FAILS(p, HUTCH_KEY_NET_MODE, "proxy", "allows at most \"none\"");
	hutch_policy_free(p);
}

/* A scratch tree: $T/home (HOME), $T/home/proj (workspace), $T/file. */
static char tmp[256], home[300], ws[400];

static void make_tree(void)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "/tmp/hutch-test-policy-XXXXXX");
	if (!mkdtemp(tmp))
		abort();
	snprintf(home, sizeof(home), "%s/home", tmp);
	snprintf(ws, sizeof(ws), "%s/home/proj", tmp);
	mkdir(home, 0700);
	mkdir(ws, 0700);
	snprintf(path, sizeof(path), "%s/file", tmp);
	f = fopen(path, "w");
	fclose(f);
	snprintf(path, sizeof(path), "%s/real-ssh", tmp);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.ssh", home);
	if (symlink("../real-ssh", path) < 0)
		abort();
}

static void remove_tree(void)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/.ssh", home);
	unlink(path);
	snprintf(path, sizeof(path), "%s/real-ssh", tmp);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/file", tmp);
	unlink(path);
	rmdir(ws);
	rmdir(home);
	rmdir(tmp);
}

static hutch_policy *with_ws(const char *workspace)
{
	hutch_policy *p = hutch_policy_new();

	hutch_policy_set(p, HUTCH_KEY_WORKSPACE, workspace, "-C", &err);
	return p;
}

#define FINALIZE_FAILS(policy, needle)                                                             \
	do {                                                                                       \
		hutch_policy *_p = (policy);                                                       \
		memset(&err, 0, sizeof(err));                                                      \
		ok(hutch_policy_finalize(_p, home, &err) < 0 && err.status == 125,                 \
		   "finalize refused (%s)", needle);                                               \
		like(err.msg, needle, "  message: %s", err.msg);                                   \
		hutch_policy_free(_p);                                                             \
	} while (0)

/* Dangerous workspaces and writable paths: $HOME, above it, system directories. */
static void test_dangerous(void)
{
	char want[PATH_MAX * 2], buf[PATH_MAX * 2], link[PATH_MAX];
	hutch_policy *p;

	FINALIZE_FAILS(with_ws("/etc"), "workspace /etc is a system directory");
	FINALIZE_FAILS(with_ws("/etc/"), "workspace /etc is a system directory");
	FINALIZE_FAILS(with_ws("/usr"), "workspace /usr is a system directory");
	FINALIZE_FAILS(with_ws("/usr/share"), "workspace /usr/share lies in the system directory "
					      "/usr");
	FINALIZE_FAILS(with_ws("/var"), "workspace /var is a system directory");
	FINALIZE_FAILS(with_ws("/var/lib"), "workspace /var/lib is a system directory");
	FINALIZE_FAILS(with_ws("/proc"), "workspace /proc is a system directory");
	snprintf(buf, sizeof(buf), "%s/..", ws);
	snprintf(want, sizeof(want), "workspace %s is the home directory", home);
	FINALIZE_FAILS(with_ws(buf), want);
	FINALIZE_FAILS(with_ws("~"), want);
	snprintf(buf, sizeof(buf), "%s/", home);
	FINALIZE_FAILS(with_ws(buf), want);
	/* through a symbolic link */
	snprintf(link, sizeof(link), "%s/to-etc", ws);
	if (symlink("/etc", link) == 0) {
		FINALIZE_FAILS(with_ws(link), "workspace /etc is a system directory");
		p = with_ws(ws);
		hutch_policy_add(p, HUTCH_LIST_WRITABLE, "to-etc", "--rw", &err);
		FINALIZE_FAILS(p, "--rw: writable path /etc is a system directory: refusing");
		unlink(link);
	}
	/* a directory beneath /var or /tmp that is not a system one is fine */
	snprintf(buf, sizeof(buf), "%s/real-ssh", tmp);
	p = with_ws(ws);
	hutch_policy_add(p, HUTCH_LIST_WRITABLE, buf, "--rw", &err);
	ok(hutch_policy_finalize(p, home, &err) == 0, "--rw %s (beneath /tmp) is fine: %s", buf,
	   err.msg);
	hutch_policy_free(p);

	/* writable entries */
	p = with_ws(ws);
	hutch_policy_add(p, HUTCH_LIST_WRITABLE, "/", "--rw", &err);
	FINALIZE_FAILS(p, "--rw: writable path / is the root directory");
	p = with_ws(ws);
	hutch_policy_add(p, HUTCH_LIST_WRITABLE, "~", "/p.json:3:4", &err);
	snprintf(want, sizeof(want), "/p.json:3:4: writable path %s is the home directory", home);
	FINALIZE_FAILS(p, want);
	p = with_ws(ws);
	hutch_policy_add(p, HUTCH_LIST_WRITABLE, tmp, "--rw", &err);
	hutch_policy_add(p, HUTCH_LIST_WRITABLE, "~/..", "--rw", &err);
	snprintf(want, sizeof(want), "--rw: writable path %s contains the home directory %s", tmp,
		 home);
	FINALIZE_FAILS(p, want);
	p = with_ws(ws);
	hutch_policy_add(p, HUTCH_LIST_WRITABLE, "/usr/local/bin", "--rw", &err);
	FINALIZE_FAILS(p, "lies in the system directory /usr");
	p = with_ws("/etc");
	hutch_policy_add(p, HUTCH_LIST_WRITABLE, "/", "--rw", &err);
	hutch_policy_set(p, HUTCH_KEY_ALLOW_DANGEROUS_WORKSPACE, "true", "--x", &err);
	ok(hutch_policy_finalize(p, home, &err) == 0, "--allow-dangerous-workspace overrides: %s",
	   err.msg);
	hutch_policy_free(p);
}

/* Network settings that would do nothing are refused, not ignored. */
static void test_network_noops(void)
{
	hutch_policy *p;

	p = with_ws(ws);
	hutch_policy_set(p, HUTCH_KEY_NET_MODE, "host", "--net", &err);
	hutch_policy_add(p, HUTCH_LIST_NET_DENY, "127.0.0.1", "--deny", &err);
	FINALIZE_FAILS(p, "--net: network mode \"host\" cannot filter destinations, but --deny "
			  "denies \"127.0.0.1\"");
	like(err.hint, "--net proxy", "  the hint says --net proxy");
	p = with_ws(ws);
	hutch_policy_apply_profile(p, "claude-code", &err);
	hutch_policy_set(p, HUTCH_KEY_NET_MODE, "host", "--net", &err);
	FINALIZE_FAILS(p, "but profile claude-code allows");
	p = with_ws(ws);
	hutch_policy_set(p, HUTCH_KEY_NET_MODE, "host", "--net", &err);
	ok(hutch_policy_finalize(p, home, &err) == 0, "--net host without a list is fine");
	hutch_policy_free(p);
	p = with_ws(ws);
	hutch_policy_apply_profile(p, "claude-code", &err);
	hutch_policy_set(p, HUTCH_KEY_NET_MODE, "none", "--net", &err);
	ok(hutch_policy_finalize(p, home, &err) == 0,
	   "--net none under a profile with an allowlist is fine (less, not nothing)");
	hutch_policy_free(p);
}

static void test_finalize(void)
{
	char want[PATH_MAX * 2], buf[PATH_MAX * 2], d1[65], d2[65];
	hutch_policy *p;
	char *json;

	make_tree();
	unsetenv("XDG_CONFIG_HOME");
	setenv("HUTCH_T_DATA", "/data", 1);
	unsetenv("HUTCH_T_NOPE");

	p = with_ws(ws);
	hutch_policy_apply_profile(p, "default", &err);
	hutch_policy_add(p, HUTCH_LIST_WRITABLE, "build/", "--rw", &err);
	hutch_policy_add(p, HUTCH_LIST_WRITABLE, "./build", "--rw", &err);
	hutch_policy_add(p, HUTCH_LIST_READONLY, "$HUTCH_T_DATA/../data/set", "--ro", &err);
	hutch_policy_add(p, HUTCH_LIST_HIDDEN, "${HOME}/.aws", "--hide", &err);
	hutch_policy_add(p, HUTCH_LIST_PROTECTED, "./sub/.git/hooks/", "-p", &err);
	hutch_policy_add(p, HUTCH_LIST_PROTECTED, "~/.bashrc", "-p", &err);
	hutch_policy_set(p, HUTCH_KEY_AUDIT_FILE, "audit.jsonl", "--audit", &err);
	snprintf(buf, sizeof(buf), "%s/.netrc", home);
	fclose(fopen(buf, "w"));
	snprintf(buf, sizeof(buf), "%s/.config", home);
	mkdir(buf, 0700);
	snprintf(buf, sizeof(buf), "%s/.config/gh", home);
	mkdir(buf, 0700);
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_finalize(p, home, &err) == 0, "finalize (%s)", err.msg);
	rmdir(buf);
	snprintf(buf, sizeof(buf), "%s/.config", home);
	rmdir(buf);
	snprintf(buf, sizeof(buf), "%s/.netrc", home);
	unlink(buf);
	ok(p->finalized, "finalized");
	is_str(p->workspace, ws, "workspace is the realpath");
	snprintf(want, sizeof(want), "%s/build", ws);
	ok(p->fs_writable.n == 1 && strcmp(p->fs_writable.v[0].value, want) == 0,
	   "relative writable entries resolved against the workspace and deduped");
	is_str(p->fs_readonly.v[0].value, "/data/set", "$VAR expanded and normalised");
	snprintf(want, sizeof(want), "%s/.aws", home);
	ok(hutch_rules_contains(&p->fs_hidden, want), "${HOME}/.aws expanded");
	is_int(hutch_rules_find(&p->fs_hidden, want) == hutch_rules_find(&p->fs_hidden, want), 1,
	       "  ~/.aws and ${HOME}/.aws merged");
	{
		size_t n = 0;

		for (size_t i = 0; i < p->fs_hidden.n; i++)
			n += strcmp(p->fs_hidden.v[i].value, want) == 0;
		is_int(n, 1, "  exactly once");
	}
	snprintf(want, sizeof(want), "%s/real-ssh", tmp);
	ok(hutch_rules_contains(&p->fs_hidden, want),
	   "the target of the ~/.ssh symlink is hidden too");
	/*
	 * Which hidden paths are there (the mount plan skips the others): $HOME
	 * and ~/.config are listed once, not looked up name by name.
	 */
	{
		static const struct {
			const char *rel;
			bool absent;
		} cases[] = {
			{".ssh", false},
			{".netrc", false},
			{".config/gh", false},
			{".aws", true},
			{".config/gcloud", true},
			{".gemini/.env", true},
			{".cargo/credentials", true},
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct hutch_rule *ru;
			snprintf(want, sizeof(want), "%s/%s", home, cases[i].rel);
			ru = hutch_rules_find(&p->fs_hidden, want);
			ok(ru && ru->absent == cases[i].absent, "~/%s is %s", cases[i].rel,
			   cases[i].absent ? "marked absent" : "there");
		}
	}
	ok(hutch_rules_contains(&p->fs_protected, ".git/hooks"),
	   "relative protected stays relative");
	ok(hutch_rules_contains(&p->fs_protected, "sub/.git/hooks"), "  and is normalised");
	snprintf(want, sizeof(want), "%s/.bashrc", home);
	ok(hutch_rules_contains(&p->fs_protected, want), "~ in protected is expanded");
	{
		char *cwd = getcwd(NULL, 0);

		snprintf(want, sizeof(want), "%s/audit.jsonl", cwd);
		is_str(p->audit_file, want, "relative audit file is in the current directory");
		free(cwd);
	}
	ok(hutch_rules_contains(&p->fs_protected, "/etc/hutch") &&
		   hutch_rules_find(&p->fs_protected, "/etc/hutch")->locked,
	   "/etc/hutch is always protected");
	snprintf(want, sizeof(want), "%s/.config/hutch", home);
	ok(hutch_rules_contains(&p->fs_protected, want), "~/.config/hutch is always protected");
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_add(p, HUTCH_LIST_HIDDEN, "/x", "--hide", &err) == -EBUSY,
	   "no change after finalize");
	ok(hutch_policy_set(p, HUTCH_KEY_MEMORY, "1G", "--memory", &err) == -EBUSY,
	   "no setting after finalize");
	ok(hutch_policy_finalize(p, home, &err) < 0, "finalize twice refused");

	json = hutch_policy_to_json(p);
	like(json, "\"readOnly\": [\n      \"/data/set\"\n    ]", "to_json: readOnly list");
	like(json, "\"mode\": \"none\"", "to_json: network mode");
	like(json, "\"require\": [\n    \"userns\",\n    \"landlock\",\n    \"seccomp\"\n  ]",
	     "to_json: require");
	like(json, "\"extends\": \"default\"", "to_json: profile");
	snprintf(buf, sizeof(buf), "\"workspace\": \"%s\"", ws);
	like(json, buf, "to_json: workspace");
	ok(strstr(json, "\"filesystem\"") < strstr(json, "\"network\"") &&
		   strstr(json, "\"network\"") < strstr(json, "\"env\"") &&
		   strstr(json, "\"readOnly\"") < strstr(json, "\"writable\"") &&
		   strstr(json, "\"writable\"") < strstr(json, "\"hidden\""),
	   "to_json: stable key order");
	free(json);
	hutch_policy_digest(p, d1);
	hutch_policy_digest(p, d2);
	is_int(strlen(d1), 64, "digest: 64 hex characters");
	is_str(d1, d2, "digest is stable");
	hutch_policy_free(p);

	/* Limits and env set in JSON; a different policy has a different digest. */
	p = with_ws(ws);
	hutch_policy_set(p, HUTCH_KEY_MEMORY, "1536M", "x", &err);
	hutch_policy_set(p, HUTCH_KEY_CPUS, "1.25", "x", &err);
	hutch_policy_set(p, HUTCH_KEY_TIMEOUT, "90s", "x", &err);
	hutch_policy_set(p, HUTCH_KEY_FILE_SIZE, "1000", "x", &err);
	hutch_policy_set(p, HUTCH_KEY_PIDS, "64", "x", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "LANG=C.UTF-8", "x", &err);
	ok(hutch_policy_finalize(p, home, &err) == 0, "finalize with limits");
	json = hutch_policy_to_json(p);
	like(json, "\"memory\": \"1536M\"", "memory shown with a unit");
	like(json, "\"cpus\": 1.25", "cpus shown as a number");
	like(json, "\"timeout\": \"90s\"", "timeout shown as a duration");
	like(json, "\"fileSize\": \"1000\"", "odd sizes shown in bytes");
	like(json, "\"pids\": 64", "pids shown as a number");
	like(json, "\"set\": {\n      \"LANG\": \"C.UTF-8\"\n    }", "env set shown as an object");
	free(json);
	hutch_policy_digest(p, d2);
	ok(strcmp(d1, d2) != 0, "a different policy has a different digest");
	hutch_policy_free(p);

	/* Workspace default: the current directory. */
	{
		char *old = getcwd(NULL, 0);

		if (chdir(ws) == 0) {
			p = hutch_policy_new();
			ok(hutch_policy_finalize(p, home, &err) == 0 &&
				   strcmp(p->workspace, ws) == 0,
			   "workspace defaults to the current directory");
			hutch_policy_free(p);
			snprintf(want, sizeof(want), "workspace %s is the home directory", home);
			FINALIZE_FAILS(with_ws(".."), want);
			like(err.hint, "--allow-dangerous-workspace",
			     "  the hint names the override");
			p = with_ws("..");
			hutch_policy_set(p, HUTCH_KEY_ALLOW_DANGEROUS_WORKSPACE, "true", "--x",
					 &err);
			ok(hutch_policy_finalize(p, home, &err) == 0 &&
				   strcmp(p->workspace, home) == 0,
			   "a relative workspace is resolved against the current directory; "
			   "$HOME itself only with --allow-dangerous-workspace");
			hutch_policy_free(p);
		}
		if (old && chdir(old) != 0)
			abort();
		free(old);
	}

	FINALIZE_FAILS(with_ws("/"), "workspace / is the root directory: refusing to make it "
				     "writable");
	test_dangerous();
	test_network_noops();
	snprintf(buf, sizeof(buf), "%s/nope", tmp);
	FINALIZE_FAILS(with_ws(buf), "/nope: No such file or directory");
	snprintf(buf, sizeof(buf), "%s/file", tmp);
	FINALIZE_FAILS(with_ws(buf), "/file: not a directory");
	snprintf(want, sizeof(want), "workspace %s contains the home directory %s", tmp, home);
	FINALIZE_FAILS(with_ws(tmp), want);
	FINALIZE_FAILS(with_ws("$HUTCH_T_NOPE/x"), "-C: path \"$HUTCH_T_NOPE/x\": undefined "
						   "variable $HUTCH_T_NOPE");

	p = with_ws(ws);
	hutch_policy_add(p, HUTCH_LIST_READONLY, "${HUTCH_T_NOPE}", "/p.json:4:7", &err);
	FINALIZE_FAILS(p, "/p.json:4:7: path \"${HUTCH_T_NOPE}\": undefined variable "
			  "$HUTCH_T_NOPE");

	p = with_ws(ws);
	hutch_policy_add(p, HUTCH_LIST_HIDDEN, "~/.aws", "profile default", &err);
	hutch_policy_add(p, HUTCH_LIST_WRITABLE, "$HOME/.aws", "--rw", &err);
	snprintf(want, sizeof(want), "--rw: %s/.aws is both writable and hidden (profile default)",
		 home);
	FINALIZE_FAILS(p, want);

	p = with_ws(ws);
	hutch_policy_add_ex(p, HUTCH_LIST_HIDDEN, "/srv", "/etc/p.json:2:2", true, &err);
	hutch_policy_add(p, HUTCH_LIST_READONLY, "/srv/app/data", "--ro", &err);
	FINALIZE_FAILS(p, "--ro: read-only path /srv/app/data lies inside /srv, which the system "
			  "policy (/etc/p.json:2:2) hides");

	/* Strict: hidden ~ with the workspace and a writable root inside. */
	p = with_ws(ws);
	hutch_policy_apply_profile(p, "strict", &err);
	hutch_policy_add(p, HUTCH_LIST_WRITABLE, "~/.cache/pip", "--rw", &err);
	ok(hutch_policy_finalize(p, home, &err) == 0,
	   "strict: workspace and writable roots inside hidden ~ are fine");
	ok(hutch_rules_contains(&p->fs_hidden, home), "  hidden contains $HOME itself");
	hutch_policy_free(p);

	/* System strict: the workspace in $HOME is still fine; a path inside a system secret is
	 * not. */
	p = with_ws(ws);
	hutch_profile_apply_ex(p, "strict", "/etc/p.json:1:1", true, &err);
	ok(hutch_policy_finalize(p, home, &err) == 0,
	   "system strict: a workspace under locked hidden $HOME is allowed");
	hutch_policy_free(p);
	p = with_ws(ws);
	snprintf(buf, sizeof(buf), "%s/home", tmp);
	hutch_policy_add_ex(p, HUTCH_LIST_HIDDEN, ws, "/etc/p.json:3:3", true, &err);
	snprintf(want, sizeof(want), "workspace %s is hidden by the policy (/etc/p.json:3:3)", ws);
	FINALIZE_FAILS(p, want);

	p = with_ws(ws);
	hutch_policy_set_require(p, HUTCH_LAYER_USERNS, "/etc/p.json:1:1", true, &err);
	p->allow_degraded = true; /* as if set before the system source, bypassing the check */
	FINALIZE_FAILS(p, "cannot run degraded: the system policy (/etc/p.json:1:1) requires "
			  "userns");

	remove_tree();
}

/* filesystem.private: expanded (parent by its real path), checked against the other lists. */
static void test_private(void)
{
	char want[PATH_MAX * 2];
	hutch_policy *p;
	char *json;

	make_tree();
	p = with_ws(ws);
	ok(hutch_policy_add(p, HUTCH_LIST_PRIVATE, "~/.ssh/snapshots", "--private", &err) == 0,
	   "add a private path");
	ok(hutch_policy_add(p, HUTCH_LIST_PRIVATE, "~/.ssh", "/p.json:2:3", &err) == 0,
	   "  a private symbolic link (refused by the mount plan, not here)");
	ok(hutch_policy_add(p, HUTCH_LIST_PRIVATE, "scratch/", "--private", &err) == 0,
	   "  a relative one");
	ok(hutch_policy_add(p, HUTCH_LIST_PRIVATE, "~/.ssh/snapshots", "--private", &err) == 0 &&
		   p->fs_private.n == 3,
	   "  deduped");
	memset(&err, 0, sizeof(err));
	ok(hutch_policy_finalize(p, home, &err) == 0, "finalize (%s)", err.msg);
	snprintf(want, sizeof(want), "%s/real-ssh/snapshots", tmp);
	ok(hutch_rules_contains(&p->fs_private, want),
	   "the parent by its real path (the link ~/.ssh followed)");
	snprintf(want, sizeof(want), "%s/.ssh", home);
	ok(hutch_rules_contains(&p->fs_private, want), "the last component as written");
	snprintf(want, sizeof(want), "%s/scratch", ws);
	ok(hutch_rules_contains(&p->fs_private, want), "a relative one beneath the workspace");
	json = hutch_policy_to_json(p);
	snprintf(want, sizeof(want), "\"private\": [\n      \"%s/real-ssh/snapshots\"", tmp);
	like(json, want, "policy show lists filesystem.private");
	free(json);
	hutch_policy_free(p);

	p = hutch_policy_new();
	ok(hutch_policy_add(p, HUTCH_LIST_PRIVATE, "", "--private", &err) == -EINVAL,
	   "an empty private path is refused");
	like(err.msg, "--private: empty path", "  %s", err.msg);
	ok(hutch_policy_add_ex(p, HUTCH_LIST_PRIVATE, "/srv/x", "/etc/p.json:2:2", true, &err) ==
			   0 &&
		   hutch_rules_find(&p->fs_private, "/srv/x")->locked,
	   "the system policy's private entries are locked");
	is_int(hutch_rules_remove(&p->fs_private, "/srv/x"), -EPERM, "  cannot be removed");
	hutch_policy_free(p);

	p = with_ws(ws);
	hutch_policy_add(p, HUTCH_LIST_PRIVATE, "~/.aws", "/p.json:3:4", &err);
	hutch_policy_add(p, HUTCH_LIST_WRITABLE, "$HOME/.aws", "--rw", &err);
	snprintf(want, sizeof(want), "/p.json:3:4: %s/.aws is both private and writable (--rw)",
		 home);
	FINALIZE_FAILS(p, want);
	p = with_ws(ws);
	hutch_policy_add(p, HUTCH_LIST_PRIVATE, "~/.aws", "--private", &err);
	hutch_policy_add(p, HUTCH_LIST_HIDDEN, "~/.aws", "profile default", &err);
	snprintf(want, sizeof(want), "--private: %s/.aws is both private and hidden", home);
	FINALIZE_FAILS(p, want);
	p = with_ws(ws);
	hutch_policy_add(p, HUTCH_LIST_PRIVATE, ".", "--private", &err);
	snprintf(want, sizeof(want), "--private: private path %s is or contains the workspace", ws);
	FINALIZE_FAILS(p, want);
	p = with_ws(ws);
	hutch_policy_add(p, HUTCH_LIST_PRIVATE, "~", "--private", &err);
	snprintf(want, sizeof(want), "--private: private path %s is or contains the workspace",
		 home);
	FINALIZE_FAILS(p, want);
	p = with_ws(ws);
	hutch_policy_add(p, HUTCH_LIST_PRIVATE, "/", "/p.json:1:2", &err);
	FINALIZE_FAILS(p, "/p.json:1:2: private path /: not a directory hutch can mount over");
	remove_tree();
}

int main(void)
{
	test_sha256();
	test_rules();
	test_rules_index();
	test_parsers();
	test_add_set();
	test_profiles();
	test_system_locks();
	test_private();
	test_finalize();
	return done_testing();
}
