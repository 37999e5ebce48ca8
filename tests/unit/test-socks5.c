/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SOCKS5 greeting, request and reply, including the NUL-in-name bypass. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "net/socks5.h"
#include "tap.h"

#define U(s) ((const uint8_t *)(s))

static void test_greeting(void)
{
	uint8_t m = 0x42;

	is_int(hutch_socks5_parse_greeting(U("\x05\x01\x00"), 3, &m), 3, "no-auth greeting");
	is_int(m, HUTCH_SOCKS5_AUTH_NONE, "answers no-auth");
	is_int(hutch_socks5_parse_greeting(U("\x05\x02\x02\x00"), 4, &m), 4, "two methods");
	is_int(m, HUTCH_SOCKS5_AUTH_NONE, "picks no-auth among several");
	is_int(hutch_socks5_parse_greeting(U("\x05\x01\x02"), 3, &m), 3, "user/pass only");
	is_int(m, HUTCH_SOCKS5_AUTH_REFUSED, "refuses user/pass (0xff)");
	is_int(hutch_socks5_parse_greeting(U("\x05\x02\x00"), 3, &m), 0, "need more methods");
	is_int(hutch_socks5_parse_greeting(U("\x05"), 1, &m), 0, "need more");
	is_int(hutch_socks5_parse_greeting(U(""), 0, &m), 0, "need more (empty)");
	is_int(hutch_socks5_parse_greeting(U("\x04\x01\x00"), 3, &m), -EPROTO, "SOCKS4 refused");
	is_int(hutch_socks5_parse_greeting(U("GET "), 4, &m), -EPROTO, "HTTP on SOCKS port");
	is_int(hutch_socks5_parse_greeting(U("\x05\x00"), 2, &m), -EPROTO, "zero methods");
}

static struct hutch_socks5_request req;

static int pr(const void *b, size_t n)
{
	return hutch_socks5_parse_request(b, n, &req);
}

static void test_request(void)
{
	static const uint8_t v4[] = {5, 1, 0, 1, 93, 184, 216, 34, 0x01, 0xbb};
	static const uint8_t v6[] = {5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,
				     0, 0, 0, 0, 0,    0,    0,	   0,	 1, 0, 80};
	static const uint8_t mapped[] = {5, 1, 0, 4,	0,    0,   0,	0,   0,	  0, 0,
					 0, 0, 0, 0xff, 0xff, 169, 254, 169, 254, 0, 80};
	static const uint8_t dom[] = "\x05\x01\x00\x03\x0b"
				     "Example.COM"
				     "\x01\xbb";
	static const uint8_t nul[] = "\x05\x01\x00\x03\x19"
				     "allowed.com\0.evil.com.xyz"
				     "\x01\xbb";
	static const uint8_t dec[] = "\x05\x01\x00\x03\x0a"
				     "2130706433"
				     "\x00\x50";
	static const uint8_t ctl[] = "\x05\x01\x00\x03\x05"
				     "a\nb.c"
				     "\x00\x50";
	static const uint8_t hi[] = "\x05\x01\x00\x03\x05"
				    "a\xc3\xa9.c"
				    "\x00\x50";
	static const uint8_t sp[] = "\x05\x01\x00\x03\x05"
				    "a b.c"
				    "\x00\x50";
	static const uint8_t empty[] = "\x05\x01\x00\x03\x00\x00\x50";
	static const uint8_t bind[] = {5, 2, 0, 1, 0, 0, 0, 0, 0, 0};
	static const uint8_t udp[] = {5, 3, 0, 1, 0, 0, 0, 0, 0, 0};
	static const uint8_t cmd9[] = {5, 9, 0, 1, 0, 0, 0, 0, 0, 0};
	static const uint8_t atyp[] = {5, 1, 0, 2, 0, 0, 0, 0, 0, 0};
	static const uint8_t rsv[] = {5, 1, 1, 1, 1, 2, 3, 4, 0, 80};
	static const uint8_t port0[] = {5, 1, 0, 1, 1, 2, 3, 4, 0, 0};

	is_int(pr(v4, sizeof(v4)), 10, "IPv4 CONNECT");
	ok(req.host.kind == HUTCH_HOST_ADDR && !strcmp(req.host.name, "93.184.216.34") &&
		   req.port == 443,
	   "IPv4 destination");
	is_int(pr(v6, sizeof(v6)), 22, "IPv6 CONNECT");
	ok(req.host.kind == HUTCH_HOST_ADDR && !strcmp(req.host.name, "2001:db8::1") &&
		   req.port == 80,
	   "IPv6 destination");
	is_int(pr(mapped, sizeof(mapped)), 22, "IPv4-mapped CONNECT");
	ok(req.host.addr.family == AF_INET && !strcmp(req.host.name, "169.254.169.254"),
	   "IPv4-mapped normalised to IPv4");
	is_int(pr(dom, sizeof(dom) - 1), (int)sizeof(dom) - 1, "domain CONNECT");
	ok(req.host.kind == HUTCH_HOST_NAME && !strcmp(req.host.name, "example.com") &&
		   req.port == 443,
	   "domain canonicalised");
	is_int(pr(nul, sizeof(nul) - 1), -EINVAL, "NUL in domain refused");
	is_int(req.rep, HUTCH_SOCKS5_NOT_ALLOWED, "NUL in domain -> reply 0x02");
	like(req.why, "NUL", "reason names the NUL");
	is_int(pr(dec, sizeof(dec) - 1), (int)sizeof(dec) - 1, "decimal literal as domain");
	ok(req.host.kind == HUTCH_HOST_ADDR && !strcmp(req.host.name, "127.0.0.1"),
	   "decimal literal in a domain is an address");
	is_int(pr(ctl, sizeof(ctl) - 1), -EINVAL, "control char refused");
	is_int(req.rep, HUTCH_SOCKS5_NOT_ALLOWED, "-> 0x02");
	is_int(pr(hi, sizeof(hi) - 1), -EINVAL, "non-ASCII refused");
	is_int(pr(sp, sizeof(sp) - 1), -EINVAL, "space refused");
	is_int(pr(empty, sizeof(empty) - 1), -EINVAL, "empty name refused");
	is_int(pr(bind, sizeof(bind)), -EOPNOTSUPP, "BIND refused");
	is_int(req.rep, HUTCH_SOCKS5_CMD_UNSUPPORTED, "BIND -> 0x07");
	is_int(pr(udp, 2), -EOPNOTSUPP, "UDP ASSOCIATE refused as soon as the command is known");
	is_int(req.rep, HUTCH_SOCKS5_CMD_UNSUPPORTED, "UDP -> 0x07");
	is_int(pr(cmd9, sizeof(cmd9)), -EOPNOTSUPP, "unknown command");
	is_int(req.rep, HUTCH_SOCKS5_CMD_UNSUPPORTED, "unknown command -> 0x07");
	is_int(pr(atyp, sizeof(atyp)), -EOPNOTSUPP, "unknown address type");
	is_int(req.rep, HUTCH_SOCKS5_ATYP_UNSUPPORTED, "-> 0x08");
	is_int(pr(rsv, sizeof(rsv)), -EPROTO, "reserved byte set");
	is_int(pr(port0, sizeof(port0)), -EINVAL, "port 0 refused");
	for (size_t n = 0; n < sizeof(dom) - 1; n++)
		if (pr(dom, n) != 0) {
			ok(0, "prefix of %zu bytes should need more", n);
			return;
		}
	ok(1, "every prefix of a request needs more");
	{
		uint8_t two[sizeof(v4) * 2];
		memcpy(two, v4, sizeof(v4));
		memcpy(two + sizeof(v4), v4, sizeof(v4));
		is_int(pr(two, sizeof(two)), 10, "length of the first request only");
	}
}

static void test_reply(void)
{
	uint8_t out[HUTCH_SOCKS5_REPLY_MAX];
	struct hutch_addr a = {.family = AF_INET6, .b = {[15] = 1}};
	size_t n = hutch_socks5_reply(out, HUTCH_SOCKS5_OK, NULL, 0);

	ok(n == 10 && !memcmp(out, "\x05\x00\x00\x01\0\0\0\0\0\0", 10), "success reply 0.0.0.0:0");
	n = hutch_socks5_reply(out, HUTCH_SOCKS5_NOT_ALLOWED, NULL, 0);
	ok(n == 10 && out[1] == 0x02, "not-allowed reply");
	n = hutch_socks5_reply(out, HUTCH_SOCKS5_OK, &a, 1080);
	ok(n == 22 && out[3] == 4 && out[19] == 1 && out[20] == 0x04 && out[21] == 0x38,
	   "IPv6 bound address reply");
}

int main(void)
{
	test_greeting();
	test_request();
	test_reply();
	return done_testing();
}
