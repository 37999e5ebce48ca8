/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SOCKS5 messages: see socks5.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "net/socks5.h"

int hutch_socks5_parse_greeting(const uint8_t *buf, size_t len, uint8_t *method)
{
	size_t n;

	if (len < 1)
		return 0;
	if (buf[0] != HUTCH_SOCKS5_VERSION)
		return -EPROTO;
	if (len < 2)
		return 0;
	n = buf[1];
	if (n == 0)
		return -EPROTO;
	if (len < 2 + n)
		return 0;
	*method = HUTCH_SOCKS5_AUTH_REFUSED;
	for (size_t i = 0; i < n; i++)
		if (buf[2 + i] == HUTCH_SOCKS5_AUTH_NONE)
			*method = HUTCH_SOCKS5_AUTH_NONE;
	return (int)(2 + n);
}

static int fail(struct hutch_socks5_request *req, int r, enum hutch_socks5_rep rep, const char *why)
{
	req->rep = rep;
	req->why = why;
	return r;
}

int hutch_socks5_parse_request(const uint8_t *buf, size_t len, struct hutch_socks5_request *req)
{
	size_t need, alen;
	struct hutch_addr a;

	memset(req, 0, sizeof(*req));
	if (len < 1)
		return 0;
	if (buf[0] != HUTCH_SOCKS5_VERSION)
		return fail(req, -EPROTO, HUTCH_SOCKS5_FAILURE, "not a SOCKS5 request");
	if (len < 2)
		return 0;
	req->cmd = buf[1];
	if (req->cmd == HUTCH_SOCKS5_CMD_BIND)
		return fail(req, -EOPNOTSUPP, HUTCH_SOCKS5_CMD_UNSUPPORTED, "SOCKS5 BIND refused");
	if (req->cmd == HUTCH_SOCKS5_CMD_UDP)
		return fail(req, -EOPNOTSUPP, HUTCH_SOCKS5_CMD_UNSUPPORTED,
			    "SOCKS5 UDP ASSOCIATE refused");
	if (req->cmd != HUTCH_SOCKS5_CMD_CONNECT)
		return fail(req, -EOPNOTSUPP, HUTCH_SOCKS5_CMD_UNSUPPORTED,
			    "unknown SOCKS5 command");
	if (len < 4)
		return 0;
	if (buf[2] != 0)
		return fail(req, -EPROTO, HUTCH_SOCKS5_FAILURE, "non-zero reserved byte");
	req->atyp = buf[3];
	switch (req->atyp) {
	case HUTCH_SOCKS5_ATYP_IPV4:
		alen = 4;
		need = 4 + 4 + 2;
		break;
	case HUTCH_SOCKS5_ATYP_IPV6:
		alen = 16;
		need = 4 + 16 + 2;
		break;
	case HUTCH_SOCKS5_ATYP_DOMAIN:
		if (len < 5)
			return 0;
		alen = buf[4];
		if (alen == 0)
			return fail(req, -EINVAL, HUTCH_SOCKS5_NOT_ALLOWED, "empty host name");
		need = 5 + alen + 2;
		break;
	default:
		return fail(req, -EOPNOTSUPP, HUTCH_SOCKS5_ATYP_UNSUPPORTED,
			    "unknown SOCKS5 address type");
	}
	if (len < need)
		return 0;
	req->port = (uint16_t)(buf[need - 2] << 8 | buf[need - 1]);
	if (req->port == 0)
		return fail(req, -EINVAL, HUTCH_SOCKS5_NOT_ALLOWED, "port 0");
	if (req->atyp == HUTCH_SOCKS5_ATYP_DOMAIN) {
		const char *why = NULL;

		/* the whole length-prefixed name is checked: a NUL inside it refuses it */
		if (hutch_host_parse(buf + 5, alen, &req->host, &why) < 0)
			return fail(req, -EINVAL, HUTCH_SOCKS5_NOT_ALLOWED,
				    why ? why : "invalid host name");
		return (int)need;
	}
	memset(&a, 0, sizeof(a));
	a.family = alen == 4 ? AF_INET : AF_INET6;
	memcpy(a.b, buf + 4, alen);
	hutch_addr_normalize(&a);
	memset(&req->host, 0, sizeof(req->host));
	req->host.kind = HUTCH_HOST_ADDR;
	req->host.addr = a;
	hutch_addr_format(&a, req->host.name);
	return (int)need;
}

size_t hutch_socks5_reply(uint8_t out[HUTCH_SOCKS5_REPLY_MAX], enum hutch_socks5_rep rep,
			  const struct hutch_addr *bound, uint16_t port)
{
	size_t n = 4;

	out[0] = HUTCH_SOCKS5_VERSION;
	out[1] = (uint8_t)rep;
	out[2] = 0;
	if (bound && bound->family == AF_INET6) {
		out[3] = HUTCH_SOCKS5_ATYP_IPV6;
		memcpy(out + n, bound->b, 16);
		n += 16;
	} else {
		out[3] = HUTCH_SOCKS5_ATYP_IPV4;
		if (bound)
			memcpy(out + n, bound->b, 4);
		else
			memset(out + n, 0, 4);
		n += 4;
	}
	out[n++] = (uint8_t)(port >> 8);
	out[n++] = (uint8_t)port;
	return n;
}
