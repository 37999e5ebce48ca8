/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host canonicalisation, IP literals, patterns, classification and decisions. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "base/cleanup.h"
#include "policy/filter.h"
#include "tap.h"

static int hp(const char *s, struct hutch_host *h, const char **why)
{
	return hutch_host_parse((const uint8_t *)s, strlen(s), h, why);
}

/* parse @in, expect a name with canonical text @want */
static void name_ok(const char *in, const char *want)
{
	struct hutch_host h;
	const char *why = NULL;
	int r = hp(in, &h, &why);

	ok(r == 0 && h.kind == HUTCH_HOST_NAME && strcmp(h.name, want) == 0,
	   "name '%s' -> '%s' (got r=%d kind=%d '%s' %s)", in, want, r, h.kind, h.name,
	   why ? why : "");
}

/* parse @in, expect an address with canonical text @want */
static void addr_ok(const char *in, const char *want)
{
	struct hutch_host h;
	const char *why = NULL;
	int r = hp(in, &h, &why);

	ok(r == 0 && h.kind == HUTCH_HOST_ADDR && strcmp(h.name, want) == 0,
	   "literal '%s' -> address %s (got r=%d kind=%d '%s' %s)", in, want, r, h.kind, h.name,
	   why ? why : "");
}

/* parse @in (length @len), expect -EINVAL and a reason containing @needle */
static void host_bad_n(const char *in, size_t len, const char *needle, const char *label)
{
	struct hutch_host h;
	const char *why = NULL;
	int r = hutch_host_parse((const uint8_t *)in, len, &h, &why);

	ok(r == -EINVAL && why && strstr(why, needle), "host %s rejected: %s", label,
	   why ? why : "(no reason)");
}

static void host_bad(const char *in, const char *needle)
{
	host_bad_n(in, strlen(in), needle, in);
}

static void test_hosts(void)
{
	char big[300];

	name_ok("Example.COM", "example.com");
	name_ok("example.com.", "example.com");
	name_ok("xn--bcher-kva.example", "xn--bcher-kva.example");
	name_ok("a_b.example.org", "a_b.example.org");
	name_ok("localhost", "localhost");
	name_ok("1e100.net", "1e100.net");
	name_ok("123.example", "123.example");
	host_bad("example.com..", "empty label");
	host_bad(".example.com", "empty label");
	host_bad("a..b", "empty label");
	host_bad_n("evil.com\0.allowed.com", 21, "NUL", "with NUL");
	host_bad("exa\tmple.com", "control");
	host_bad("exa\x7fmple.com", "control");
	host_bad("exa mple.com", "space");
	host_bad("user@example.com", "'@'");
	host_bad("example.com%2f", "'%'");
	host_bad("example.com/x", "'/'");
	host_bad("example.com\\x", "'\\'");
	host_bad("b\xc3\xbc"
		 "cher.example",
		 "non-ASCII");
	host_bad("exa!mple.com", "invalid character");
	host_bad("-a.example.com", "'-'");
	host_bad("a-.example.com", "'-'");
	host_bad("", "empty");
	memset(big, 'a', 64);
	memcpy(big + 64, ".com", 5);
	host_bad(big, "label longer than 63");
	for (int i = 0; i < 254; i += 2) {
		big[i] = 'a';
		big[i + 1] = '.';
	}
	big[253] = 'a';
	big[254] = '\0';
	host_bad(big, "longer than 253");
	big[252] = '\0'; /* 252 bytes: a.a.a...a. minus one -> ends with '.', 251 + dot */
	{
		struct hutch_host h;
		ok(hp(big, &h, NULL) == 0 && strlen(h.name) == 251,
		   "251-byte name with trailing dot ok");
	}
	/* every IPv4 notation is an address, never a name */
	addr_ok("127.0.0.1", "127.0.0.1");
	addr_ok("2130706433", "127.0.0.1");
	addr_ok("0177.0.0.1", "127.0.0.1");
	addr_ok("0x7f.1", "127.0.0.1");
	addr_ok("0x7F000001", "127.0.0.1");
	addr_ok("127.1", "127.0.0.1");
	addr_ok("127.0.1", "127.0.0.1");
	addr_ok("0", "0.0.0.0");
	addr_ok("169.254.169.254", "169.254.169.254");
	addr_ok("0xa9fea9fe", "169.254.169.254");
	addr_ok("169.254.43518", "169.254.169.254");
	addr_ok("127.0.0.1.", "127.0.0.1");
	addr_ok("[::1]", "::1");
	addr_ok("::1", "::1");
	addr_ok("[::ffff:127.0.0.1]", "127.0.0.1");
	addr_ok("::ffff:7f00:1", "127.0.0.1");
	addr_ok("[::FFFF:169.254.169.254]", "169.254.169.254");
	addr_ok("[2001:DB8::1]", "2001:db8::1");
	host_bad("256.0.0.1", "invalid IPv4");
	host_bad("1.2.3.4.5", "invalid IPv4");
	host_bad("4294967296", "invalid IPv4");
	host_bad("08.0.0.1", "invalid IPv4");
	host_bad("example.0x", "invalid IPv4");
	host_bad("evil.com.127", "invalid IPv4");
	host_bad("127.0.0.1..", "empty label");
	host_bad("[fe80::1%eth0]", "'%'");
	host_bad("fe80::1%25eth0", "'%'");
	host_bad("[::1", "unbalanced");
	host_bad("[example.com]", "invalid IPv6");
	host_bad("[127.0.0.1]", "invalid IPv6");
	host_bad("1:2", "invalid IPv6");
}

static void test_authority(void)
{
	struct hutch_host h;
	uint16_t port = 0;
	const char *why = NULL;

#define AUTH(s, dp) hutch_authority_parse((const uint8_t *)(s), strlen(s), dp, &h, &port, &why)
	ok(AUTH("example.com:443", 0) == 0 && port == 443 && !strcmp(h.name, "example.com"),
	   "authority host:port");
	ok(AUTH("[::1]:8080", 0) == 0 && port == 8080 && h.kind == HUTCH_HOST_ADDR,
	   "authority [v6]:port");
	ok(AUTH("example.com", 80) == 0 && port == 80, "default port");
	ok(AUTH("example.com", 0) == -EINVAL && strstr(why, "port required"), "port required");
	ok(AUTH("example.com:0", 0) == -EINVAL && strstr(why, "invalid port"), "port 0");
	ok(AUTH("example.com:65536", 0) == -EINVAL, "port 65536");
	ok(AUTH("example.com:+80", 0) == -EINVAL, "port +80");
	ok(AUTH("example.com:80:80", 0) == -EINVAL, "two ports");
	ok(AUTH("::1:443", 0) == -EINVAL && strstr(why, "brackets"), "bare IPv6 refused");
	ok(AUTH("[::1]x", 0) == -EINVAL && strstr(why, "garbage"), "garbage after ]");
	ok(AUTH("user@example.com:443", 0) == -EINVAL && strstr(why, "'@'"), "userinfo refused");
	ok(AUTH("2130706433:80", 0) == 0 && h.kind == HUTCH_HOST_ADDR &&
		   !strcmp(h.name, "127.0.0.1"),
	   "decimal literal in authority");
#undef AUTH
}

static int pp(const char *s, struct hutch_pattern *p, const char **why)
{
	return hutch_pattern_parse((const uint8_t *)s, strlen(s), p, why);
}

static void pat_bad(const char *s, const char *needle)
{
	struct hutch_pattern p;
	const char *why = NULL;
	int r = pp(s, &p, &why);

	ok(r == -EINVAL && why && strstr(why, needle), "pattern '%s' rejected: %s", s,
	   why ? why : "(none)");
}

static void test_patterns(void)
{
	struct hutch_pattern p;
	const char *why = NULL;

	ok(pp("Example.com", &p, NULL) == 0 && p.kind == HUTCH_PAT_NAME &&
		   !strcmp(p.name, "example.com") && p.port == 0,
	   "name pattern");
	ok(pp("registry.npmjs.org:443", &p, NULL) == 0 && p.kind == HUTCH_PAT_NAME && p.port == 443,
	   "name:port pattern");
	ok(pp("*.githubusercontent.com", &p, NULL) == 0 && p.kind == HUTCH_PAT_SUBDOMAINS &&
		   !strcmp(p.name, "githubusercontent.com"),
	   "subdomain pattern");
	ok(pp("*.example.com:8443", &p, NULL) == 0 && p.kind == HUTCH_PAT_SUBDOMAINS &&
		   p.port == 8443,
	   "subdomain pattern with port");
	ok(pp("10.0.0.0/8", &p, NULL) == 0 && p.kind == HUTCH_PAT_ADDR && p.prefix == 8,
	   "CIDR pattern");
	ok(pp("fc00::/7", &p, NULL) == 0 && p.kind == HUTCH_PAT_ADDR && p.prefix == 7 &&
		   p.addr.family == AF_INET6,
	   "IPv6 CIDR pattern");
	ok(pp("127.0.0.1:8080", &p, NULL) == 0 && p.kind == HUTCH_PAT_ADDR && p.prefix == 32 &&
		   p.port == 8080,
	   "address:port pattern");
	ok(pp("[::1]:22", &p, NULL) == 0 && p.kind == HUTCH_PAT_ADDR && p.prefix == 128 &&
		   p.port == 22,
	   "[v6]:port pattern");
	ok(pp("::1", &p, NULL) == 0 && p.kind == HUTCH_PAT_ADDR && p.port == 0, "bare v6 pattern");
	ok(pp("[::1]", &p, NULL) == 0 && p.kind == HUTCH_PAT_ADDR && p.port == 0, "[v6] pattern");
	ok(pp("0x7f.1", &p, NULL) == 0 && p.kind == HUTCH_PAT_ADDR,
	   "hex literal pattern is an address");
	ok(hutch_host_pattern_validate("*.example.com", &why) == 0, "validate ok");
	pat_bad("*", "wildcard");
	pat_bad("*.com", "top-level");
	pat_bad("*.co.uk", "public suffix");
	pat_bad("*.COM.AU.", "public suffix");
	pat_bad("a*.example.com", "leading");
	pat_bad("*example.com", "leading");
	pat_bad("foo.*.example.com", "leading");
	pat_bad("*.*.example.com", "one wildcard");
	pat_bad("*.10.0.0.1", "address");
	pat_bad("*.[::1]", "address");
	pat_bad("10.0.0.1/8", "host bits");
	pat_bad("10.0.0.0/33", "too large");
	pat_bad("10.0.0.0/8:80", "no port");
	pat_bad("example.com/8", "invalid address in CIDR");
	pat_bad("", "empty");
	pat_bad("exa mple.com", "space");
	pat_bad("example.com:http", "invalid port");
	pat_bad("[example.com]", "IPv6");
	ok(hutch_host_pattern_validate(NULL, &why) == -EINVAL, "NULL pattern rejected");
}

static bool m(const char *pat, const char *host, uint16_t port)
{
	struct hutch_pattern p;
	struct hutch_host h;

	if (pp(pat, &p, NULL) < 0 || hp(host, &h, NULL) < 0)
		return false;
	return hutch_pattern_match_host(&p, &h, port);
}

static void test_matching(void)
{
	ok(m("example.com", "example.com", 443), "exact match");
	ok(m("example.com", "EXAMPLE.com.", 443), "canonical match");
	ok(!m("example.com", "www.example.com", 443), "exact does not match subdomain");
	ok(!m("example.com", "evilexample.com", 443), "prefix trick");
	ok(!m("example.com", "example.com.evil.com", 443), "suffix trick");
	ok(m("*.example.com", "a.example.com", 443), "wildcard matches subdomain");
	ok(m("*.example.com", "a.b.example.com", 443), "wildcard matches deeper subdomain");
	ok(!m("*.example.com", "example.com", 443), "wildcard does not match apex");
	ok(!m("*.example.com", "evilexample.com", 443), "wildcard: whole labels only");
	ok(!m("*.example.com", "example.com.evil.com", 443), "wildcard: suffix trick");
	ok(!m("*.example.com", "a.example.com.evil.com", 443), "wildcard: inner suffix trick");
	ok(m("example.com:443", "example.com", 443), "port matches");
	ok(!m("example.com:443", "example.com", 80), "port mismatch");
	ok(m("127.0.0.1", "0177.0.0.1", 80), "address pattern matches octal literal");
	ok(m("10.0.0.0/8", "10.1.2.3", 80), "CIDR matches");
	ok(!m("10.0.0.0/8", "11.1.2.3", 80), "CIDR does not match outside");
	ok(m("10.0.0.0/8", "::ffff:10.9.9.9", 80), "CIDR matches IPv4-mapped");
	ok(!m("127.0.0.1", "localhost", 80), "address pattern never matches a name");
	ok(!m("localhost", "127.0.0.1", 80), "name pattern never matches an address");
}

static void cls(const char *in, enum hutch_addr_class want)
{
	struct hutch_addr a;
	enum hutch_addr_class c = HUTCH_ADDR_PUBLIC;
	int r = hutch_addr_parse((const uint8_t *)in, strlen(in), &a);

	if (r == 0)
		c = hutch_addr_classify(&a, NULL, 0, NULL);
	ok(r == 0 && c == want, "%s is %s (got %s)", in, hutch_addr_class_name(want),
	   hutch_addr_class_name(c));
}

static void test_classify(void)
{
	struct hutch_addr own, a;
	unsigned pfx = 0;

	cls("8.8.8.8", HUTCH_ADDR_PUBLIC);
	cls("2606:4700::1111", HUTCH_ADDR_PUBLIC);
	cls("127.0.0.1", HUTCH_ADDR_LOOPBACK);
	cls("127.255.1.2", HUTCH_ADDR_LOOPBACK);
	cls("::1", HUTCH_ADDR_LOOPBACK);
	cls("10.1.2.3", HUTCH_ADDR_PRIVATE);
	cls("172.16.0.1", HUTCH_ADDR_PRIVATE);
	cls("172.31.255.255", HUTCH_ADDR_PRIVATE);
	cls("172.32.0.1", HUTCH_ADDR_PUBLIC);
	cls("192.168.1.1", HUTCH_ADDR_PRIVATE);
	cls("169.254.169.254", HUTCH_ADDR_LINK_LOCAL);
	cls("fe80::1", HUTCH_ADDR_LINK_LOCAL);
	cls("100.64.0.1", HUTCH_ADDR_CGNAT);
	cls("100.127.255.255", HUTCH_ADDR_CGNAT);
	cls("100.128.0.1", HUTCH_ADDR_PUBLIC);
	cls("fc00::1", HUTCH_ADDR_ULA);
	cls("fd12:3456::1", HUTCH_ADDR_ULA);
	cls("224.0.0.1", HUTCH_ADDR_MULTICAST);
	cls("ff02::1", HUTCH_ADDR_MULTICAST);
	cls("0.0.0.0", HUTCH_ADDR_UNSPECIFIED);
	cls("::", HUTCH_ADDR_UNSPECIFIED);
	cls("0.1.2.3", HUTCH_ADDR_THIS_NETWORK);
	cls("198.18.0.1", HUTCH_ADDR_BENCHMARK);
	cls("198.19.255.1", HUTCH_ADDR_BENCHMARK);
	cls("255.255.255.255", HUTCH_ADDR_BROADCAST);
	cls("240.0.0.1", HUTCH_ADDR_RESERVED);
	cls("192.0.2.1", HUTCH_ADDR_RESERVED);
	cls("::ffff:127.0.0.1", HUTCH_ADDR_LOOPBACK);
	cls("::ffff:169.254.169.254", HUTCH_ADDR_LINK_LOCAL);
	cls("::ffff:10.0.0.1", HUTCH_ADDR_PRIVATE);
	cls("64:ff9b::a9fe:a9fe", HUTCH_ADDR_LINK_LOCAL);
	cls("64:ff9b::7f00:1", HUTCH_ADDR_LOOPBACK);
	cls("64:ff9b::808:808", HUTCH_ADDR_PUBLIC);
	cls("2002:7f00:1::", HUTCH_ADDR_LOOPBACK);
	cls("2002:c0a8:101::1", HUTCH_ADDR_PRIVATE);
	cls("::ffff:0:7f00:1", HUTCH_ADDR_LOOPBACK);
	cls("::127.0.0.1", HUTCH_ADDR_RESERVED);
	cls("2001:db8::1", HUTCH_ADDR_RESERVED);

	hutch_addr_parse((const uint8_t *)"203.0.114.7", 11, &own);
	hutch_addr_parse((const uint8_t *)"203.0.114.7", 11, &a);
	is_int(hutch_addr_classify(&a, &own, 1, &pfx), HUTCH_ADDR_HOST_OWN, "own address detected");
	is_int(pfx, 32, "own address range is /32");
	hutch_addr_parse((const uint8_t *)"::ffff:203.0.114.7", 18, &a);
	is_int(hutch_addr_classify(&a, &own, 1, NULL), HUTCH_ADDR_HOST_OWN,
	       "own address detected through IPv4-mapped form");
}

static struct hutch_filter *mkfilter(const char *const *allow, size_t na, const char *const *deny,
				     size_t nd, bool priv)
{
	struct hutch_filter_spec spec = {allow, na, deny, nd, priv};
	struct hutch_filter *f = NULL;
	hutch_error err;

	if (hutch_filter_new_spec(&spec, &f, &err) < 0) {
		diag("filter: %s", err.msg);
		return NULL;
	}
	return f;
}

static void check(const struct hutch_filter *f, const char *host, uint16_t port,
		  struct hutch_decision *d)
{
	struct hutch_host h;

	memset(d, 0, sizeof(*d));
	if (hp(host, &h, NULL) < 0) {
		d->allow = false;
		d->reason = "unparsable";
		return;
	}
	hutch_filter_check_host(f, &h, port, d);
}

static void test_decisions(void)
{
	static const char *const allow[] = {
		"github.com", "*.githubusercontent.com", "registry.npmjs.org:443", "127.0.0.1:8080",
		"10.0.0.0/8", "93.184.216.34",		 "gist.github.com",	   "0.0.0.0/0"};
	static const char *const deny[] = {"gist.github.com", "*.evil.githubusercontent.com",
					   "10.9.0.0/16"};
	struct hutch_filter *f = mkfilter(allow, ARRAY_SIZE(allow), deny, ARRAY_SIZE(deny), false);
	struct hutch_filter *empty = mkfilter(NULL, 0, NULL, 0, false);
	struct hutch_filter *priv = mkfilter(allow, 1, NULL, 0, true);
	struct hutch_decision d, d2;
	struct hutch_addr a;
	hutch_error err;

	if (!f || !empty || !priv) {
		ok(0, "filters built");
		return;
	}
	check(f, "github.com", 443, &d);
	ok(d.allow && !strcmp(d.rule, "github.com") && !strcmp(d.origin, "test"),
	   "allowed name returns its rule and origin");
	check(f, "gist.github.com", 443, &d);
	ok(!d.allow && d.rule && !strcmp(d.rule, "gist.github.com") &&
		   strstr(d.reason, "denied by rule"),
	   "deny beats allow");
	check(f, "raw.githubusercontent.com", 443, &d);
	ok(d.allow && !strcmp(d.rule, "*.githubusercontent.com"), "wildcard allow");
	check(f, "x.evil.githubusercontent.com", 443, &d);
	ok(!d.allow && !strcmp(d.rule, "*.evil.githubusercontent.com"), "wildcard deny beats");
	check(f, "githubusercontent.com", 443, &d);
	ok(!d.allow && d.rule == NULL && !strcmp(d.reason, "not in allowlist"),
	   "apex not matched by wildcard");
	check(f, "github.com.evil.com", 443, &d);
	ok(!d.allow, "suffix trick denied");
	check(f, "evilgithub.com", 443, &d);
	ok(!d.allow, "prefix trick denied");
	check(f, "registry.npmjs.org", 80, &d);
	ok(!d.allow, "port-restricted rule denies other ports");
	check(f, "registry.npmjs.org", 443, &d);
	ok(d.allow, "port-restricted rule allows its port");
	check(empty, "github.com", 443, &d);
	ok(!d.allow && !strcmp(d.reason, "allowlist is empty"), "empty allowlist allows nothing");
	check(empty, "1.1.1.1", 443, &d);
	ok(!d.allow, "empty allowlist allows no address");

	/* literals */
	check(f, "93.184.216.34", 443, &d);
	ok(d.allow && !strcmp(d.rule, "93.184.216.34"), "allowed IP literal");
	check(f, "1572395042", 443, &d);
	ok(d.allow && !strcmp(d.rule, "93.184.216.34"), "same IP in decimal matches its rule");
	check(f, "127.0.0.1", 8080, &d);
	ok(d.allow && !strcmp(d.rule, "127.0.0.1:8080"), "exact loopback address:port allowed");
	check(f, "0x7f.1", 8080, &d);
	ok(d.allow, "hex form of an allowed address is the same destination");
	check(f, "127.0.0.1", 8081, &d);
	ok(!d.allow && strstr(d.reason, "loopback"),
	   "0.0.0.0/0 does not count as allowing loopback: %s", d.reason);
	check(f, "2130706433", 22, &d);
	ok(!d.allow && strstr(d.reason, "loopback"), "decimal loopback denied");
	check(f, "0177.0.0.1", 22, &d);
	ok(!d.allow && strstr(d.reason, "loopback"), "octal loopback denied");
	check(f, "[::ffff:127.0.0.1]", 22, &d);
	ok(!d.allow && strstr(d.reason, "loopback"), "IPv4-mapped loopback denied");
	check(f, "169.254.169.254", 80, &d);
	ok(!d.allow && d.cls == HUTCH_ADDR_LINK_LOCAL, "metadata address denied: %s", d.reason);
	check(f, "10.1.2.3", 80, &d);
	ok(d.allow && !strcmp(d.rule, "10.0.0.0/8"), "private CIDR explicitly allowed");
	check(f, "10.9.1.1", 80, &d);
	ok(!d.allow && !strcmp(d.rule, "10.9.0.0/16"), "deny CIDR beats allow CIDR");
	check(f, "8.8.8.8", 53, &d);
	ok(d.allow && !strcmp(d.rule, "0.0.0.0/0"), "public address allowed by broad CIDR");
	check(empty, "8.8.8.8", 53, &d);
	ok(!d.allow, "public address denied when not allowed");
	check(priv, "192.168.1.1", 80, &d);
	ok(!d.allow && !strcmp(d.reason, "IP address not in allowlist"),
	   "allowPrivate does not allow unlisted literals");

	/* resolved addresses */
	check(f, "github.com", 443, &d);
	hutch_addr_parse((const uint8_t *)"140.82.112.3", 12, &a);
	hutch_filter_check_addr(f, &a, 443, &d, &d2);
	ok(d2.allow && !strcmp(d2.rule, "github.com"), "public resolved address keeps name rule");
	hutch_addr_parse((const uint8_t *)"127.0.0.1", 9, &a);
	hutch_filter_check_addr(f, &a, 443, &d, &d2);
	ok(!d2.allow && d2.cls == HUTCH_ADDR_LOOPBACK, "name resolving to loopback denied");
	hutch_addr_parse((const uint8_t *)"169.254.169.254", 15, &a);
	hutch_filter_check_addr(f, &a, 443, &d, &d2);
	ok(!d2.allow && d2.cls == HUTCH_ADDR_LINK_LOCAL, "name resolving to metadata denied");
	hutch_addr_parse((const uint8_t *)"10.9.0.1", 8, &a);
	hutch_filter_check_addr(f, &a, 443, &d, &d2);
	ok(!d2.allow && !strcmp(d2.rule, "10.9.0.0/16"), "deny CIDR applies to resolved address");
	hutch_addr_parse((const uint8_t *)"10.1.0.1", 8, &a);
	hutch_filter_check_addr(f, &a, 443, &d, &d2);
	ok(d2.allow && !strcmp(d2.rule, "10.0.0.0/8"), "private resolved address allowed by CIDR");
	hutch_addr_parse((const uint8_t *)"::ffff:192.168.0.1", 18, &a);
	check(priv, "github.com", 443, &d);
	hutch_filter_check_addr(priv, &a, 443, &d, &d2);
	ok(d2.allow, "allowPrivate allows private resolved addresses");
	{
		struct hutch_addr own;

		hutch_addr_parse((const uint8_t *)"140.82.112.3", 12, &own);
		hutch_filter_set_local(f, &own, 1);
		check(f, "github.com", 443, &d);
		hutch_addr_parse((const uint8_t *)"140.82.112.3", 12, &a);
		hutch_filter_check_addr(f, &a, 443, &d, &d2);
		ok(!d2.allow && d2.cls == HUTCH_ADDR_HOST_OWN, "host's own address denied");
	}
	ok(hutch_filter_refresh_local(f) == 0, "getifaddrs refresh works");

	{
		static const char *const bad[] = {"*.com"};
		struct hutch_filter_spec spec = {bad, 1, NULL, 0, false};
		struct hutch_filter *x = NULL;

		ok(hutch_filter_new_spec(&spec, &x, &err) == -EINVAL && strstr(err.msg, "*.com") &&
			   strstr(err.msg, "network.allow"),
		   "bad rule refused with its text: %s", err.msg);
	}
	hutch_filter_free(f);
	hutch_filter_free(empty);
	hutch_filter_free(priv);
}

int main(void)
{
	test_hosts();
	test_authority();
	test_patterns();
	test_matching();
	test_classify();
	test_decisions();
	return done_testing();
}
