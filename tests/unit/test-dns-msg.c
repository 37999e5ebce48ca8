/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox's resolver: the DNS query parser and answer builder (net/dns-msg.c) with good
 * and hostile messages, and the resolver's decisions and pool (net/resolver.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/dns-msg.h"
#include "net/resolver.h"
#include "policy/filter.h"
#include "tap.h"

/* A query for @name (dotted) of @qtype into @out; returns its length. */
static size_t query(uint8_t *out, const char *name, uint16_t qtype, uint16_t id)
{
	size_t n = 12;
	const char *p = name;

	memset(out, 0, 12);
	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	out[2] = 0x01; /* RD */
	out[5] = 1;    /* one question */
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		out[n++] = (uint8_t)l;
		memcpy(out + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	out[n++] = 0;
	out[n++] = (uint8_t)(qtype >> 8);
	out[n++] = (uint8_t)qtype;
	out[n++] = 0;
	out[n++] = 1; /* IN */
	return n;
}

static void test_parse(void)
{
	struct hutch_dns_question q;
	uint8_t m[600];
	size_t n = query(m, "Api.Example.COM", HUTCH_DNS_TYPE_A, 0xbeef);

	is_int(hutch_dns_parse_query(m, n, &q), 0, "a plain A query parses");
	is_int(q.id, 0xbeef, "  its id");
	ok(q.rd, "  recursion desired is kept");
	is_str(q.name, "Api.Example.COM", "  the name as sent (canonicalised later)");
	is_int(q.qtype, HUTCH_DNS_TYPE_A, "  type A");
	is_int((int)q.wire_len, (int)(n - 12), "  the question's wire bytes");

	/* an EDNS OPT record after the question is ignored */
	m[11] = 1;
	memcpy(m + n, "\0\0\x29\x10\0\0\0\0\0\0\0", 11);
	is_int(hutch_dns_parse_query(m, n + 11, &q), 0,
	       "EDNS OPT in the additional section: accepted");
	m[11] = 0;

	is_int(hutch_dns_parse_query(m, 11, &q), -EINVAL,
	       "shorter than a header: nothing to answer");
	m[2] |= 0x80;
	is_int(hutch_dns_parse_query(m, n, &q), -EINVAL, "a response (QR): nothing to answer");
	m[2] &= 0x7f;
	m[2] |= 0x10; /* opcode 2 (STATUS) */
	is_int(hutch_dns_parse_query(m, n, &q), -EOPNOTSUPP, "opcode other than QUERY: NOTIMP");
	m[2] &= (uint8_t)~0x78;
	m[5] = 2;
	is_int(hutch_dns_parse_query(m, n, &q), -EBADMSG, "two questions: FORMERR");
	m[5] = 0;
	is_int(hutch_dns_parse_query(m, n, &q), -EBADMSG, "no question: FORMERR");
	m[5] = 1;
	is_int(hutch_dns_parse_query(m, n - 2, &q), -EBADMSG, "class missing: FORMERR");
	is_int(hutch_dns_parse_query(m, 16, &q), -EBADMSG, "name cut short: FORMERR");

	/* compression pointer in the question */
	n = 12;
	memcpy(m + n, "\xc0\x0c\0\x01\0\x01", 6);
	is_int(hutch_dns_parse_query(m, n + 6, &q), -EBADMSG,
	       "a compression pointer in the question: refused");
	/* the root name */
	memcpy(m + n, "\0\0\x01\0\x01", 5);
	is_int(hutch_dns_parse_query(m, n + 5, &q), -EBADMSG, "the root name: refused");
	/* a label holding a dot or a NUL */
	memcpy(m + n,
	       "\x05"
	       "a.com\0\0\x01\0\x01",
	       11);
	is_int(hutch_dns_parse_query(m, n + 11, &q), -EBADMSG, "a label holding a dot: refused");
	memcpy(m + n,
	       "\x05"
	       "a\0com\0\0\x01\0\x01",
	       11);
	is_int(hutch_dns_parse_query(m, n + 11, &q), -EBADMSG, "a label holding a NUL: refused");
	/* a name over 255 bytes: 5 labels of 63 */
	n = 12;
	for (int i = 0; i < 5; i++) {
		m[n++] = 63;
		memset(m + n, 'a', 63);
		n += 63;
	}
	m[n++] = 0;
	memcpy(m + n, "\0\x01\0\x01", 4);
	is_int(hutch_dns_parse_query(m, n + 4, &q), -EBADMSG, "a name over 255 bytes: refused");
	/* longer than 512 bytes */
	n = query(m, "a.example", 1, 1);
	is_int(hutch_dns_parse_query(m, 513, &q), -EBADMSG, "a message over 512 bytes: FORMERR");
}

static void test_build(void)
{
	struct hutch_dns_question q;
	uint8_t m[600], a[600];
	static const uint8_t addr[4] = {198, 18, 0, 7};
	size_t n = query(m, "x.example", HUTCH_DNS_TYPE_A, 0x1234), k;

	is_int(hutch_dns_parse_query(m, n, &q), 0, "query for the answers");
	k = hutch_dns_build_answer(a, sizeof(a), &q, HUTCH_DNS_NOERROR, addr, 300);
	is_int((int)k, (int)(n + 16), "an A answer: header, question, one record");
	is_int(a[0] << 8 | a[1], 0x1234, "  the id echoed");
	ok((a[2] & 0x80) && (a[2] & 0x01), "  QR and RD set");
	is_int(a[3] & 0x0f, 0, "  NOERROR");
	is_int(a[7], 1, "  one answer");
	ok(memcmp(a + 12, m + 12, n - 12) == 0, "  the question echoed as sent");
	ok(memcmp(a + n, "\xc0\x0c\0\x01\0\x01\0\0\x01\x2c\0\x04", 12) == 0,
	   "  name pointer, A, IN, TTL 300, 4 bytes");
	ok(memcmp(a + n + 12, addr, 4) == 0, "  the address");
	k = hutch_dns_build_answer(a, sizeof(a), &q, HUTCH_DNS_NXDOMAIN, NULL, 0);
	is_int((int)k, (int)n, "NXDOMAIN: no record");
	is_int(a[3] & 0x0f, 3, "  rcode 3");
	is_int(a[7], 0, "  no answer");
	is_int((int)hutch_dns_build_answer(a, n + 15, &q, HUTCH_DNS_NOERROR, addr, 1), 0,
	       "too small a buffer: nothing written");
	q.wire = NULL;
	k = hutch_dns_build_answer(a, sizeof(a), &q, HUTCH_DNS_FORMERR, addr, 1);
	is_int((int)k, 12, "FORMERR without a question: the header alone");
	is_int(a[5], 0, "  no question");
}

/* The answer of @r to a query for @name/@qtype: rcode, and the address in @out ("" if none). */
static int ask(struct hutch_resolver *r, const char *name, uint16_t qtype, char out[16])
{
	uint8_t m[600], a[600];
	size_t n = query(m, name, qtype, 7), k = hutch_resolver_answer(r, m, n, a, sizeof(a));

	out[0] = '\0';
	if (!k)
		return -1;
	if (a[7] == 1)
		inet_ntop(AF_INET, a + k - 4, out, 16);
	return a[3] & 0x0f;
}

static void test_resolver(void)
{
	static const char *const allow[] = {"example.com", "*.svc.example", "api.example:443",
					    "1.2.3.4"};
	static const char *const deny[] = {"bad.svc.example", "api.example:80"};
	struct hutch_filter_spec spec = {allow, 4, deny, 2, false};
	struct hutch_filter *f = NULL;
	struct hutch_resolver *r = NULL;
	struct hutch_addr a = {.family = AF_INET};
	struct hutch_resolver_stats st;
	const char *name = NULL;
	char ip[16], ip2[16];

	is_int(hutch_filter_new_spec(&spec, &f, NULL), 0, "filter");
	is_int(hutch_resolver_new_filter(f, &r, NULL), 0, "resolver");
	is_int(ask(r, "Example.COM.", HUTCH_DNS_TYPE_A, ip), 0,
	       "an allowed name (any case): NOERROR");
	is_str(ip, "198.18.0.1", "  the first pool address");
	is_int(ask(r, "example.com", HUTCH_DNS_TYPE_A, ip2), 0, "again");
	is_str(ip2, ip, "  the same address");
	is_int(ask(r, "a.svc.example", HUTCH_DNS_TYPE_A, ip), 0,
	       "a subdomain allowed by *.svc.example");
	is_str(ip, "198.18.0.2", "  the next address");
	is_int(ask(r, "api.example", HUTCH_DNS_TYPE_A, ip), 0, "a name allowed on one port only");
	is_int(ask(r, "example.com", HUTCH_DNS_TYPE_AAAA, ip), 0,
	       "AAAA of an allowed name: NOERROR");
	is_str(ip, "", "  with no record");
	is_int(ask(r, "svc.example", HUTCH_DNS_TYPE_A, ip), 3,
	       "the parent of *.svc.example: NXDOMAIN");
	is_int(ask(r, "bad.svc.example", HUTCH_DNS_TYPE_A, ip), 3,
	       "a name denied by rule: NXDOMAIN");
	is_int(ask(r, "evil.com", HUTCH_DNS_TYPE_A, ip), 3, "a name not allowed: NXDOMAIN");
	is_int(ask(r, "example.com.evil.com", HUTCH_DNS_TYPE_A, ip), 3, "a suffix trick: NXDOMAIN");
	is_int(ask(r, "1.2.3.4", HUTCH_DNS_TYPE_A, ip), 3, "an IP literal as a name: NXDOMAIN");
	is_int(ask(r, "bad_name!.example.com", HUTCH_DNS_TYPE_A, ip), 3,
	       "an invalid name: NXDOMAIN");

	a.b[0] = 198, a.b[1] = 18, a.b[2] = 0, a.b[3] = 1;
	is_int(hutch_resolver_name_of(r, &a, &name), 1, "198.18.0.1 maps back");
	is_str(name, "example.com", "  to example.com");
	a.b[3] = 200;
	is_int(hutch_resolver_name_of(r, &a, &name), 0,
	       "198.18.0.200: in the pool, never handed out");
	a.b[1] = 19, a.b[2] = 255, a.b[3] = 255;
	is_int(hutch_resolver_name_of(r, &a, &name), 0,
	       "198.19.255.255: in the pool, never handed out");
	a.b[1] = 20;
	is_int(hutch_resolver_name_of(r, &a, &name), -1, "198.20.255.255: outside the pool");
	a.b[1] = 18, a.b[2] = 0, a.b[3] = 0;
	is_int(hutch_resolver_name_of(r, &a, &name), 0, "198.18.0.0: never handed out");
	is_int(hutch_resolver_name_of(NULL, &a, &name), 0, "no resolver: nothing handed out");
	hutch_resolver_get_stats(r, &st);
	is_int((int)st.names, 3, "three names mapped");

	/* --ask: a name outside the allowlist gets an address (the question comes with the port) */
	hutch_resolver_set_ask(r, true);
	is_int(ask(r, "evil.com", HUTCH_DNS_TYPE_A, ip), 0, "--ask: a name not allowed: NOERROR");
	is_str(ip, "198.18.0.4", "  with the next pool address");
	a.b[0] = 198, a.b[1] = 18, a.b[2] = 0, a.b[3] = 4;
	is_int(hutch_resolver_name_of(r, &a, &name), 1, "  which maps back");
	is_str(name, "evil.com", "  to the name (the proxy checks and asks about it)");
	is_int(ask(r, "evil.com", HUTCH_DNS_TYPE_AAAA, ip), 0, "--ask: its AAAA: NOERROR");
	is_str(ip, "", "  with no record");
	is_int(ask(r, "bad.svc.example", HUTCH_DNS_TYPE_A, ip), 3,
	       "--ask: a name a deny rule matches: still NXDOMAIN");
	is_int(ask(r, "1.2.3.5", HUTCH_DNS_TYPE_A, ip), 3, "--ask: an IP literal: still NXDOMAIN");
	is_int(ask(r, "bad_name!.example.com", HUTCH_DNS_TYPE_A, ip), 3,
	       "--ask: an invalid name: still NXDOMAIN");
	hutch_resolver_get_stats(r, &st);
	is_int((int)st.ask, 1, "  one address handed out for a question to come");
	hutch_resolver_set_ask(r, false);
	is_int(ask(r, "other.evil.com", HUTCH_DNS_TYPE_A, ip), 3, "without --ask: NXDOMAIN again");
	hutch_resolver_free(r);

	/* an empty allowlist under --ask: every valid name is askable */
	{
		struct hutch_filter_spec s0 = {NULL, 0, NULL, 0, false};

		is_int(hutch_filter_new_spec(&s0, &f, NULL), 0, "empty filter");
		is_int(hutch_resolver_new_filter(f, &r, NULL), 0, "resolver with no allowlist");
		is_int(ask(r, "example.com", HUTCH_DNS_TYPE_A, ip), 3, "empty allowlist: NXDOMAIN");
		hutch_resolver_set_ask(r, true);
		is_int(ask(r, "example.com", HUTCH_DNS_TYPE_A, ip), 0,
		       "empty allowlist, --ask: an address");
		hutch_resolver_free(r);
	}

	/* the bound: a resolver allowing *.many.example runs out of addresses, then refuses */
	{
		static const char *const many[] = {"*.many.example"};
		struct hutch_filter_spec s2 = {many, 1, NULL, 0, false};
		char nm[64];
		int rc = 0;

		is_int(hutch_filter_new_spec(&s2, &f, NULL), 0, "filter for the bound");
		is_int(hutch_resolver_new_filter(f, &r, NULL), 0, "resolver for the bound");
		for (int i = 0; i < HUTCH_RESOLVER_MAX_NAMES && rc == 0; i++) {
			snprintf(nm, sizeof(nm), "n%d.many.example", i);
			rc = ask(r, nm, HUTCH_DNS_TYPE_A, ip);
		}
		is_int(rc, 0, "HUTCH_RESOLVER_MAX_NAMES names get addresses");
		is_str(ip, "198.18.16.0", "  the last one 198.18.16.0 (4096)");
		is_int(ask(r, "one-more.many.example", HUTCH_DNS_TYPE_A, ip), 5,
		       "one more: REFUSED (the pool's bound), never a reused address");
		is_int(ask(r, "n0.many.example", HUTCH_DNS_TYPE_A, ip), 0,
		       "a name mapped before still answers");
		is_str(ip, "198.18.0.1", "  with its address");
		hutch_resolver_get_stats(r, &st);
		is_int((int)st.full, 1, "  the refusal is counted");
		hutch_resolver_free(r);
	}
}

int main(void)
{
	test_parse();
	test_build();
	test_resolver();
	return done_testing();
}
