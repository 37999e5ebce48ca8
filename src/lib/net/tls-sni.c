/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TLS ClientHello: server_name and ECH detection; see tls-sni.h. */
#include <errno.h>
#include <string.h>

#include "net/tls-sni.h"

enum { REC_HANDSHAKE = 22, HS_CLIENT_HELLO = 1 };

/* A cursor over the handshake bytes carried by consecutive handshake records. */
struct cur {
	const uint8_t *buf;
	size_t len;	/* bytes available */
	size_t pos;	/* stream position */
	size_t rec_end; /* stream position where the current record's payload ends */
	int err;	/* 0, -EAGAIN (need more), -EINVAL, -E2BIG */
	const char *why;
};

static bool cur_fail(struct cur *c, int err, const char *why)
{
	if (!c->err) {
		c->err = err;
		c->why = why;
	}
	return false;
}

static bool next_byte(struct cur *c, uint8_t *out)
{
	if (c->err)
		return false;
	if (c->pos == c->rec_end) {
		size_t rlen;

		if (c->pos + 5 > c->len)
			return cur_fail(c, c->pos + 5 > HUTCH_TLS_HELLO_MAX ? -E2BIG : -EAGAIN,
					"ClientHello too large");
		if (c->buf[c->pos] != REC_HANDSHAKE)
			return cur_fail(c, -EINVAL, "non-handshake record inside the ClientHello");
		if (c->buf[c->pos + 1] != 3)
			return cur_fail(c, -EINVAL, "bad TLS record version");
		rlen = (size_t)c->buf[c->pos + 3] << 8 | c->buf[c->pos + 4];
		if (rlen == 0 || rlen > HUTCH_TLS_RECORD_MAX)
			return cur_fail(c, -EINVAL, "bad TLS record length");
		c->pos += 5;
		c->rec_end = c->pos + rlen;
	}
	if (c->pos >= c->len)
		return cur_fail(c, c->pos >= HUTCH_TLS_HELLO_MAX ? -E2BIG : -EAGAIN,
				"ClientHello too large");
	*out = c->buf[c->pos++];
	return true;
}

static bool get(struct cur *c, size_t n, uint32_t *v)
{
	uint8_t b;

	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!next_byte(c, &b))
			return false;
		*v = *v << 8 | b;
	}
	return true;
}

static bool skip(struct cur *c, size_t n)
{
	uint8_t b;

	/* record-aware: a skipped field may straddle records */
	while (n) {
		size_t chunk;

		if (!next_byte(c, &b))
			return false;
		n--;
		chunk = c->rec_end - c->pos;
		if (chunk > n)
			chunk = n;
		if (c->pos + chunk > c->len)
			chunk = c->len > c->pos ? c->len - c->pos : 0;
		c->pos += chunk;
		n -= chunk;
	}
	return true;
}

int hutch_tls_looks_like_handshake(const uint8_t *buf, size_t len)
{
	if (len >= 1 && buf[0] != REC_HANDSHAKE)
		return 0;
	if (len >= 2 && buf[1] != 3)
		return 0;
	if (len >= 3 && buf[2] > 4)
		return 0;
	return len >= 3 ? 1 : -EAGAIN;
}

static int parse_sni(struct cur *c, size_t ext_len, struct hutch_tls_hello *out)
{
	uint32_t list_len, type, name_len;
	uint8_t name[256];
	size_t used = 0;
	const char *why = NULL;

	if (out->has_sni)
		return cur_fail(c, -EINVAL, "several server_name extensions"), -1;
	if (ext_len < 2 || !get(c, 2, &list_len))
		return cur_fail(c, -EINVAL, "truncated server_name"), -1;
	if (list_len + 2 != ext_len || list_len < 3)
		return cur_fail(c, -EINVAL, "bad server_name list length"), -1;
	while (used < list_len) {
		if (list_len - used < 3 || !get(c, 1, &type) || !get(c, 2, &name_len))
			return cur_fail(c, -EINVAL, "truncated server_name entry"), -1;
		used += 3;
		if (name_len > list_len - used)
			return cur_fail(c, -EINVAL, "server_name longer than its list"), -1;
		if (type != 0) {
			/* unknown name types cannot be interpreted: refuse rather than guess */
			return cur_fail(c, -EINVAL, "unknown server_name type"), -1;
		}
		if (out->has_sni)
			return cur_fail(c, -EINVAL, "several host names in server_name"), -1;
		if (name_len == 0 || name_len > 255)
			return cur_fail(c, -EINVAL, "bad server_name length"), -1;
		for (size_t i = 0; i < name_len; i++) {
			uint32_t b;

			if (!get(c, 1, &b))
				return -1;
			name[i] = (uint8_t)b;
		}
		used += name_len;
		if (hutch_host_parse(name, name_len, &out->sni, &why) < 0)
			return cur_fail(c, -EINVAL, why ? why : "invalid server_name"), -1;
		out->has_sni = true;
	}
	return 0;
}

int hutch_tls_parse_client_hello(const uint8_t *buf, size_t len, struct hutch_tls_hello *out)
{
	struct cur c = {.buf = buf, .len = len};
	uint32_t type, hs_len, v, n;
	size_t body_start, body_end;
	uint16_t seen[HUTCH_TLS_EXTENSIONS_MAX];
	size_t n_seen = 0;

	memset(out, 0, sizeof(*out));
	if (len > HUTCH_TLS_HELLO_MAX)
		c.len = HUTCH_TLS_HELLO_MAX;
	if (len >= 1 && buf[0] != REC_HANDSHAKE) {
		out->why = "not a TLS handshake record";
		return -EINVAL;
	}
	if (!get(&c, 1, &type) || !get(&c, 3, &hs_len))
		goto out;
	if (type != HS_CLIENT_HELLO) {
		cur_fail(&c, -EINVAL, "first handshake message is not a ClientHello");
		goto out;
	}
	if (hs_len < 2 + 32 + 1 + 2 + 1 || hs_len > HUTCH_TLS_HELLO_MAX) {
		cur_fail(&c, hs_len > HUTCH_TLS_HELLO_MAX ? -E2BIG : -EINVAL,
			 "bad ClientHello length");
		goto out;
	}
	/* body positions are counted in handshake bytes, not stream bytes */
	body_start = 0;
	body_end = hs_len;
#define BODY_LEFT() (body_end - body_start)
#define TAKE(nb)                                                                                   \
	do {                                                                                       \
		if ((nb) > BODY_LEFT()) {                                                          \
			cur_fail(&c, -EINVAL, "field longer than the ClientHello");                \
			goto out;                                                                  \
		}                                                                                  \
		body_start += (nb);                                                                \
	} while (0)

	TAKE(2);
	if (!get(&c, 2, &v))
		goto out;
	if ((v >> 8) != 3) {
		cur_fail(&c, -EINVAL, "bad ClientHello version");
		goto out;
	}
	TAKE(32);
	if (!skip(&c, 32))
		goto out;
	TAKE(1);
	if (!get(&c, 1, &n))
		goto out;
	if (n > 32) {
		cur_fail(&c, -EINVAL, "session id longer than 32 bytes");
		goto out;
	}
	TAKE(n);
	if (!skip(&c, n))
		goto out;
	TAKE(2);
	if (!get(&c, 2, &n))
		goto out;
	if (n < 2 || n % 2) {
		cur_fail(&c, -EINVAL, "bad cipher suites length");
		goto out;
	}
	TAKE(n);
	if (!skip(&c, n))
		goto out;
	TAKE(1);
	if (!get(&c, 1, &n))
		goto out;
	if (n < 1) {
		cur_fail(&c, -EINVAL, "no compression methods");
		goto out;
	}
	TAKE(n);
	if (!skip(&c, n))
		goto out;
	if (BODY_LEFT() == 0)
		return (int)c.pos; /* no extensions at all: no SNI */
	TAKE(2);
	if (!get(&c, 2, &n))
		goto out;
	if (n != BODY_LEFT()) {
		cur_fail(&c, -EINVAL, "bad extensions length");
		goto out;
	}
	while (BODY_LEFT()) {
		uint32_t et, el;

		TAKE(4);
		if (!get(&c, 2, &et) || !get(&c, 2, &el))
			goto out;
		TAKE(el);
		for (size_t i = 0; i < n_seen; i++)
			if (seen[i] == et) {
				cur_fail(&c, -EINVAL, "duplicate TLS extension");
				goto out;
			}
		if (n_seen == HUTCH_TLS_EXTENSIONS_MAX) {
			cur_fail(&c, -EINVAL, "too many TLS extensions");
			goto out;
		}
		seen[n_seen++] = (uint16_t)et;
		if (et == HUTCH_TLS_EXT_SERVER_NAME) {
			if (parse_sni(&c, el, out) < 0)
				goto out;
			continue;
		}
		if (et == HUTCH_TLS_EXT_ECH || et == HUTCH_TLS_EXT_ESNI)
			out->ech = true;
		if (!skip(&c, el))
			goto out;
	}
#undef TAKE
#undef BODY_LEFT
	return (int)c.pos;
out:
	if (c.err == -EAGAIN) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	out->has_sni = false;
	out->why = c.why ? c.why : "malformed ClientHello";
	return c.err ? c.err : -EINVAL;
}
