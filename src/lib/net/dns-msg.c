/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DNS query parser and answer builder: see dns-msg.h. */
#include <errno.h>
#include <string.h>

#include "net/dns-msg.h"

#define FLAG_QR 0x8000
#define FLAG_AA 0x0400
#define FLAG_RD 0x0100
#define FLAG_RA 0x0080
#define OPCODE(f) (((f) >> 11) & 0xf)

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int bad(struct hutch_dns_question *q, int e, const char *why)
{
	q->why = why;
	return e;
}

/*
 * The question's name: length-prefixed labels up to the root label. A
 * compression pointer, an extended label type, an empty name (the root), a
 * label holding a '.' or a NUL, and a name over 255 bytes are refused. On
 * success *off is past the root label.
 */
static int parse_name(const uint8_t *buf, size_t len, size_t *off, struct hutch_dns_question *q)
{
	size_t o = *off, wire = 0;

	q->name_len = 0;
	q->name[0] = '\0';
	for (;;) {
		uint8_t l;

		if (o >= len)
			return bad(q, -EBADMSG, "name runs past the end of the message");
		l = buf[o++];
		wire++;
		if (l == 0)
			break;
		if (l & 0xc0)
			return bad(q, -EBADMSG, "compressed or extended label in the question");
		if (l > len - o)
			return bad(q, -EBADMSG, "label runs past the end of the message");
		wire += l;
		if (wire > HUTCH_DNS_WIRE_NAME_MAX)
			return bad(q, -EBADMSG, "name longer than 255 bytes");
		if (memchr(buf + o, '.', l) || memchr(buf + o, '\0', l))
			return bad(q, -EBADMSG, "label holds a dot or a NUL byte");
		if (q->name_len)
			q->name[q->name_len++] = '.';
		memcpy(q->name + q->name_len, buf + o, l);
		q->name_len += l;
		q->name[q->name_len] = '\0';
		o += l;
	}
	if (!q->name_len)
		return bad(q, -EBADMSG, "empty name (the root)");
	*off = o;
	return 0;
}

int hutch_dns_parse_query(const uint8_t *buf, size_t len, struct hutch_dns_question *q)
{
	uint16_t flags, qd;
	size_t off = HUTCH_DNS_HDR_LEN;
	int r;

	memset(q, 0, sizeof(*q));
	if (len < HUTCH_DNS_HDR_LEN)
		return bad(q, -EINVAL, "shorter than a DNS header");
	flags = get16(buf + 2);
	if (flags & FLAG_QR)
		return bad(q, -EINVAL, "a response, not a query");
	q->id = get16(buf);
	q->rd = flags & FLAG_RD;
	if (len > HUTCH_DNS_MSG_MAX)
		return bad(q, -EBADMSG, "longer than 512 bytes");
	if (OPCODE(flags) != 0)
		return bad(q, -EOPNOTSUPP, "opcode is not QUERY");
	qd = get16(buf + 4);
	if (qd != 1)
		return bad(q, -EBADMSG, "not exactly one question");
	r = parse_name(buf, len, &off, q);
	if (r < 0)
		return r;
	if (len - off < 4)
		return bad(q, -EBADMSG, "question type and class missing");
	q->qtype = get16(buf + off);
	q->qclass = get16(buf + off + 2);
	q->wire = buf + HUTCH_DNS_HDR_LEN;
	q->wire_len = off + 4 - HUTCH_DNS_HDR_LEN;
	return 0;
}

size_t hutch_dns_build_answer(uint8_t *out, size_t cap, const struct hutch_dns_question *q,
			      enum hutch_dns_rcode rcode, const uint8_t *a4, uint32_t ttl)
{
	size_t n = HUTCH_DNS_HDR_LEN, qlen = q->wire ? q->wire_len : 0;
	bool answer = a4 && q->wire;
	uint16_t flags = FLAG_QR | FLAG_AA | FLAG_RA | (q->rd ? FLAG_RD : 0) | (rcode & 0xf);

	if (qlen > HUTCH_DNS_MSG_MAX || cap < n + qlen + (answer ? 16 : 0))
		return 0;
	put16(out, q->id);
	put16(out + 2, flags);
	put16(out + 4, qlen ? 1 : 0);
	put16(out + 6, answer ? 1 : 0);
	put16(out + 8, 0);
	put16(out + 10, 0);
	if (qlen)
		memcpy(out + n, q->wire, qlen);
	n += qlen;
	if (answer) {
		put16(out + n, 0xc000 | HUTCH_DNS_HDR_LEN); /* the question's name */
		put16(out + n + 2, HUTCH_DNS_TYPE_A);
		put16(out + n + 4, HUTCH_DNS_CLASS_IN);
		put16(out + n + 6, (uint16_t)(ttl >> 16));
		put16(out + n + 8, (uint16_t)ttl);
		put16(out + n + 10, 4);
		memcpy(out + n + 12, a4, 4);
		n += 16;
	}
	return n;
}
