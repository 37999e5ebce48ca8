/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TLS ClientHello parsing: SNI extraction, ECH detection, records, hostile input. */
#include <errno.h>
#include <string.h>

#include "net/tls-sni.h"
#include "tap.h"

/* A real ClientHello sent by curl 7.88 / OpenSSL 3.0 for https://example.com (SNI example.com). */
static const unsigned char hello_curl[] = {
	0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x99, 0xce, 0xde, 0x69,
	0x9a, 0x59, 0xd1, 0xb9, 0xef, 0xc0, 0xd9, 0x87, 0xd8, 0x09, 0xc3, 0xcd, 0xc7, 0x5c, 0xfe,
	0x47, 0x80, 0xb7, 0x88, 0x24, 0xae, 0x3c, 0x0f, 0x2e, 0x8c, 0x54, 0xdb, 0xf5, 0x20, 0xc4,
	0xca, 0xd1, 0xec, 0xfe, 0x01, 0x9e, 0xe0, 0x34, 0x63, 0xbc, 0xd3, 0x88, 0xd6, 0x4e, 0x4c,
	0x8e, 0x54, 0xdd, 0xc1, 0xaa, 0x5d, 0x46, 0xcc, 0x7b, 0x0d, 0x56, 0x9f, 0x5f, 0x56, 0xd5,
	0x81, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f,
	0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa, 0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0,
	0x28, 0x00, 0x6b, 0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c, 0x00,
	0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x01, 0x75, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0e,
	0x00, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x00,
	0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d,
	0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01,
	0x03, 0x01, 0x04, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74,
	0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00,
	0x31, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03,
	0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08,
	0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02,
	0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02,
	0x03, 0x01, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00,
	0x1d, 0x00, 0x20, 0x5e, 0xaa, 0x1b, 0x16, 0x23, 0xe2, 0xcc, 0x3b, 0xd3, 0xbc, 0x0a, 0xab,
	0x4f, 0x44, 0xb8, 0x01, 0x0f, 0x9a, 0xe2, 0x9e, 0x09, 0x07, 0x25, 0xd1, 0x1f, 0x38, 0x74,
	0xb2, 0x93, 0xb7, 0x5e, 0x18, 0x00, 0x15, 0x00, 0xb2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

static struct hutch_tls_hello h;

/* Build a ClientHello handshake message with @ext (raw extension bytes) in @out. */
static size_t build_hs(uint8_t *out, const uint8_t *ext, size_t ext_len, bool with_ext_block)
{
	size_t n = 4;

	out[n++] = 3;
	out[n++] = 3;
	memset(out + n, 0xaa, 32);
	n += 32;
	out[n++] = 0; /* session id */
	out[n++] = 0;
	out[n++] = 2;
	out[n++] = 0x13;
	out[n++] = 0x01;
	out[n++] = 1;
	out[n++] = 0;
	if (with_ext_block) {
		out[n++] = (uint8_t)(ext_len >> 8);
		out[n++] = (uint8_t)ext_len;
		memcpy(out + n, ext, ext_len);
		n += ext_len;
	}
	out[0] = 1;
	out[1] = (uint8_t)((n - 4) >> 16);
	out[2] = (uint8_t)((n - 4) >> 8);
	out[3] = (uint8_t)(n - 4);
	return n;
}

/* Wrap @hs in handshake records of at most @frag bytes each. */
static size_t records(uint8_t *out, const uint8_t *hs, size_t n, size_t frag)
{
	size_t w = 0;

	for (size_t off = 0; off < n; off += frag) {
		size_t l = n - off < frag ? n - off : frag;

		out[w++] = 22;
		out[w++] = 3;
		out[w++] = 1;
		out[w++] = (uint8_t)(l >> 8);
		out[w++] = (uint8_t)l;
		memcpy(out + w, hs + off, l);
		w += l;
	}
	return w;
}

/* server_name extension for @name (length @nl) */
static size_t sni_ext(uint8_t *out, const char *name, size_t nl)
{
	size_t n = 0;

	out[n++] = 0;
	out[n++] = 0;
	out[n++] = (uint8_t)((nl + 5) >> 8);
	out[n++] = (uint8_t)(nl + 5);
	out[n++] = (uint8_t)((nl + 3) >> 8);
	out[n++] = (uint8_t)(nl + 3);
	out[n++] = 0;
	out[n++] = (uint8_t)(nl >> 8);
	out[n++] = (uint8_t)nl;
	memcpy(out + n, name, nl);
	return n + nl;
}

static int parse(const uint8_t *b, size_t n)
{
	return hutch_tls_parse_client_hello(b, n, &h);
}

static void test_real(void)
{
	int r = parse(hello_curl, sizeof(hello_curl));

	is_int(r, (int)sizeof(hello_curl), "curl ClientHello parsed to its end");
	ok(h.has_sni && !strcmp(h.sni.name, "example.com") && h.sni.kind == HUTCH_HOST_NAME,
	   "curl SNI is example.com");
	ok(!h.ech, "no ECH");
	for (size_t n = 0; n < sizeof(hello_curl); n++)
		if (parse(hello_curl, n) != 0) {
			ok(0, "prefix of %zu bytes should need more (got %s)", n, h.why);
			return;
		}
	ok(1, "every prefix of the curl ClientHello needs more");
	is_int(hutch_tls_looks_like_handshake(hello_curl, 3), 1, "looks like TLS");
	is_int(hutch_tls_looks_like_handshake((const uint8_t *)"SSH-2.0", 7), 0, "SSH is not TLS");
	is_int(hutch_tls_looks_like_handshake((const uint8_t *)"GET", 3), 0, "HTTP is not TLS");
	is_int(hutch_tls_looks_like_handshake(hello_curl, 1), -EAGAIN, "one byte: cannot tell");
}

static void test_synthetic(void)
{
	uint8_t ext[600], hs[1200], rec[2400];
	size_t el, hl, rl;

	el = sni_ext(ext, "Allowed.Example.", 16);
	hl = build_hs(hs, ext, el, true);
	rl = records(rec, hs, hl, 16384);
	is_int(parse(rec, rl), (int)rl, "synthetic ClientHello");
	ok(h.has_sni && !strcmp(h.sni.name, "allowed.example"), "SNI canonicalised");

	rl = records(rec, hs, hl, 7);
	is_int(parse(rec, rl), (int)rl, "ClientHello split into 7-byte records");
	ok(h.has_sni && !strcmp(h.sni.name, "allowed.example"), "SNI found across records");
	is_int(parse(rec, rl - 1), 0, "split ClientHello: need more");

	/* ECH alongside an outer SNI */
	el = sni_ext(ext, "public.example", 14);
	memcpy(ext + el, "\xfe\x0d\x00\x04\x00\x01\x02\x03", 8);
	el += 8;
	hl = build_hs(hs, ext, el, true);
	rl = records(rec, hs, hl, 16384);
	ok(parse(rec, rl) > 0 && h.ech && h.has_sni, "ECH detected");
	memcpy(ext, "\xff\xce\x00\x00", 4);
	hl = build_hs(hs, ext, 4, true);
	rl = records(rec, hs, hl, 16384);
	ok(parse(rec, rl) > 0 && h.ech && !h.has_sni, "ESNI detected");

	/* no SNI */
	hl = build_hs(hs, NULL, 0, false);
	rl = records(rec, hs, hl, 16384);
	ok(parse(rec, rl) == (int)rl && !h.has_sni && !h.ech, "no extensions: no SNI");
	memcpy(ext, "\x00\x0b\x00\x02\x01\x00", 6);
	hl = build_hs(hs, ext, 6, true);
	rl = records(rec, hs, hl, 16384);
	ok(parse(rec, rl) == (int)rl && !h.has_sni, "other extension only: no SNI");

	/* IP literal in SNI is an address, which never matches a name */
	el = sni_ext(ext, "127.0.0.1", 9);
	hl = build_hs(hs, ext, el, true);
	rl = records(rec, hs, hl, 16384);
	ok(parse(rec, rl) > 0 && h.sni.kind == HUTCH_HOST_ADDR, "IP literal SNI is an address");
}

static void bad(const char *label, const uint8_t *b, size_t n, int want, const char *needle)
{
	int r = parse(b, n);

	ok(r == want && !h.has_sni && h.why && strstr(h.why, needle), "%s -> %d (%s)", label, want,
	   h.why ? h.why : "no reason");
	if (r != want)
		diag("got %d", r);
}

static void test_hostile(void)
{
	uint8_t ext[700], hs[1400], rec[2800], tmp[2800];
	size_t el, hl, rl;

	el = sni_ext(ext, "allowed.com\0.evil.com", 21);
	hl = build_hs(hs, ext, el, true);
	rl = records(rec, hs, hl, 16384);
	bad("NUL in SNI", rec, rl, -EINVAL, "NUL");

	el = sni_ext(ext, "a.com", 5);
	el += sni_ext(ext + el, "b.com", 5);
	hl = build_hs(hs, ext, el, true);
	rl = records(rec, hs, hl, 16384);
	bad("two server_name extensions", rec, rl, -EINVAL, "duplicate");

	{
		/* one extension listing two host names */
		static const uint8_t two[] = {0,   0,	0,   0x10, 0, 0x0e, 0, 0,   5,	 'a',
					      '.', 'c', 'o', 'm',  0, 0,    3, 'b', '.', 'c'};
		memcpy(ext, two, sizeof(two));
		ext[3] = 16;
		ext[5] = 14;
		hl = build_hs(hs, ext, sizeof(two), true);
		rl = records(rec, hs, hl, 16384);
		bad("two names in server_name", rec, rl, -EINVAL, "several host names");
	}
	el = sni_ext(ext, "a.com", 5);
	ext[6] = 1; /* unknown name type */
	hl = build_hs(hs, ext, el, true);
	rl = records(rec, hs, hl, 16384);
	bad("unknown name type", rec, rl, -EINVAL, "unknown server_name type");

	el = sni_ext(ext, "a.com", 5);
	ext[3] += 1; /* extension longer than its content */
	hl = build_hs(hs, ext, el, true);
	rl = records(rec, hs, hl, 16384);
	bad("extension longer than the ClientHello", rec, rl, -EINVAL, "longer");

	el = sni_ext(ext, "a.com", 5);
	ext[5] += 1; /* list length disagrees with the extension length */
	hl = build_hs(hs, ext, el, true);
	rl = records(rec, hs, hl, 16384);
	bad("server_name list length mismatch", rec, rl, -EINVAL, "list length");

	el = sni_ext(ext, "", 0);
	hl = build_hs(hs, ext, el, true);
	rl = records(rec, hs, hl, 16384);
	bad("empty server_name", rec, rl, -EINVAL, "length");

	el = sni_ext(ext, "a.com", 5);
	hl = build_hs(hs, ext, el, true);
	rl = records(rec, hs, hl, 16384);
	memcpy(tmp, rec, rl);
	tmp[5] = 2; /* ServerHello */
	bad("not a ClientHello", tmp, rl, -EINVAL, "not a ClientHello");
	memcpy(tmp, rec, rl);
	tmp[0] = 23;
	bad("application data record", tmp, rl, -EINVAL, "not a TLS handshake");
	memcpy(tmp, rec, rl);
	tmp[3] = 0;
	tmp[4] = 0;
	bad("zero-length record", tmp, rl, -EINVAL, "record length");
	memcpy(tmp, rec, rl);
	tmp[3] = 0x40;
	tmp[4] = 0x01;
	bad("oversized record", tmp, rl, -EINVAL, "record length");
	memcpy(tmp, rec, rl);
	tmp[5 + 4 + 2 + 32] = 33;
	bad("session id > 32", tmp, rl, -EINVAL, "session id");

	/* the second record is not a handshake record */
	rl = records(rec, hs, hl, 20);
	rec[25] = 21;
	bad("alert record inside ClientHello", rec, rl, -EINVAL, "non-handshake");

	/* handshake length larger than what the extensions say */
	hl = build_hs(hs, ext, el, true);
	hs[3] += 4;
	memset(hs + hl, 0, 4);
	rl = records(rec, hs, hl + 4, 16384);
	bad("trailing bytes after extensions", rec, rl, -EINVAL, "extensions length");

	{
		static uint8_t big_ext[7000], big_hs[7200], big_rec[7200 * 6 + 64];
		static const uint8_t claim[] = "\x16\x03\x01\x00\x04\x01\x01\x00\x00";

		bad("ClientHello claiming 64 KiB", claim, sizeof(claim) - 1, -E2BIG, "length");
		/* a padding extension of 6000 bytes in 1-byte records runs into the stream cap */
		el = sni_ext(big_ext, "a.com", 5);
		big_ext[el++] = 0x00;
		big_ext[el++] = 0x15;
		big_ext[el++] = 6000 >> 8;
		big_ext[el++] = 6000 & 0xff;
		memset(big_ext + el, 0, 6000);
		el += 6000;
		hl = build_hs(big_hs, big_ext, el, true);
		rl = records(big_rec, big_hs, hl, 16384);
		ok(parse(big_rec, rl) == (int)rl && h.has_sni, "6 KB ClientHello in one record ok");
		rl = records(big_rec, big_hs, hl, 1);
		bad("6 KB ClientHello in 1-byte records", big_rec, rl, -E2BIG, "too large");
	}
	is_int(parse((const uint8_t *)"", 0), 0, "empty input needs more");
}

int main(void)
{
	test_real();
	test_synthetic();
	test_hostile();
	return done_testing();
}
