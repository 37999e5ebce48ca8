/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SOCKS5 (RFC 1928) server side: greeting, request, reply. Pure functions
 * over (const uint8_t *, size_t). Only "no authentication" and CONNECT are
 * served; BIND and UDP ASSOCIATE are refused with reply 0x07.
 *
 * A domain name (ATYP 3) goes through the same canonicalisation as every
 * other host: a NUL or any other invalid byte refuses the request with reply
 * 0x02 (not allowed by ruleset) -- the bypass that fooled sandbox-runtime
 * was a NUL byte truncating the name after the allowlist check.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "policy/filter.h"

enum {
	HUTCH_SOCKS5_VERSION = 5,
	HUTCH_SOCKS5_AUTH_NONE = 0x00,
	HUTCH_SOCKS5_AUTH_REFUSED = 0xff,
	HUTCH_SOCKS5_CMD_CONNECT = 1,
	HUTCH_SOCKS5_CMD_BIND = 2,
	HUTCH_SOCKS5_CMD_UDP = 3,
	HUTCH_SOCKS5_ATYP_IPV4 = 1,
	HUTCH_SOCKS5_ATYP_DOMAIN = 3,
	HUTCH_SOCKS5_ATYP_IPV6 = 4,
};

/* Reply codes (RFC 1928 section 6). */
enum hutch_socks5_rep {
	HUTCH_SOCKS5_OK = 0x00,
	HUTCH_SOCKS5_FAILURE = 0x01,
	HUTCH_SOCKS5_NOT_ALLOWED = 0x02,
	HUTCH_SOCKS5_NET_UNREACHABLE = 0x03,
	HUTCH_SOCKS5_HOST_UNREACHABLE = 0x04,
	HUTCH_SOCKS5_REFUSED = 0x05,
	HUTCH_SOCKS5_TTL_EXPIRED = 0x06, /* used for timeouts */
	HUTCH_SOCKS5_CMD_UNSUPPORTED = 0x07,
	HUTCH_SOCKS5_ATYP_UNSUPPORTED = 0x08,
};

#define HUTCH_SOCKS5_REQUEST_MAX (4 + 1 + 255 + 2)
#define HUTCH_SOCKS5_REPLY_MAX (4 + 16 + 2)

/*
 * The client greeting: VER NMETHODS METHODS. Returns its length (> 0) and
 * sets *method to the method to answer with (0x00 or 0xff), 0 when more
 * bytes are needed, -EPROTO when it is not SOCKS5.
 */
int hutch_socks5_parse_greeting(const uint8_t *buf, size_t len, uint8_t *method);

struct hutch_socks5_request {
	uint8_t cmd;
	uint8_t atyp;
	struct hutch_host host;
	uint16_t port;
	enum hutch_socks5_rep rep; /* on error: the reply code to send before closing */
	const char *why;	   /* on error: why, static text */
};

/*
 * The request: VER CMD RSV ATYP DST.ADDR DST.PORT. Returns its length (> 0)
 * for a CONNECT with a valid destination, 0 when more bytes are needed, or a
 * negative errno with req->rep and req->why set (the caller sends the reply
 * and closes): -EPROTO malformed, -EOPNOTSUPP command or address type not
 * supported, -EINVAL invalid destination.
 */
int hutch_socks5_parse_request(const uint8_t *buf, size_t len, struct hutch_socks5_request *req);

/* Encode a reply; @bound may be NULL (0.0.0.0:0). Returns its length. */
size_t hutch_socks5_reply(uint8_t out[HUTCH_SOCKS5_REPLY_MAX], enum hutch_socks5_rep rep,
			  const struct hutch_addr *bound, uint16_t port);
