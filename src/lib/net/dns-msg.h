/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DNS messages for the sandbox's resolver (net/resolver.c, docs/network.md
 * "Transparent egress"): the parser of a query and the builder of its answer
 * (RFC 1035 4.1). Pure functions over (const uint8_t *, size_t), no
 * allocation, hard bounds. Only what a stub resolver sends is accepted: one
 * question, opcode QUERY, no compression in the question's name; the answer
 * section and an EDNS OPT record after the question are ignored.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/filter.h"

#define HUTCH_DNS_HDR_LEN 12
#define HUTCH_DNS_MSG_MAX 512	    /* queries and answers (plain UDP size, RFC 1035 2.3.4) */
#define HUTCH_DNS_WIRE_NAME_MAX 255 /* bytes of a name in wire form */

enum {
	HUTCH_DNS_TYPE_A = 1,
	HUTCH_DNS_TYPE_AAAA = 28,
	HUTCH_DNS_CLASS_IN = 1,
	HUTCH_DNS_CLASS_ANY = 255,
};

enum hutch_dns_rcode {
	HUTCH_DNS_NOERROR = 0,
	HUTCH_DNS_FORMERR = 1,
	HUTCH_DNS_SERVFAIL = 2,
	HUTCH_DNS_NXDOMAIN = 3,
	HUTCH_DNS_NOTIMP = 4,
	HUTCH_DNS_REFUSED = 5,
};

struct hutch_dns_question {
	uint16_t id;
	bool rd; /* recursion desired: echoed */
	uint16_t qtype, qclass;
	const uint8_t *wire; /* the question as sent (name, type, class): echoed as is */
	size_t wire_len;
	/* the name as text, not yet validated: labels joined with dots, no trailing dot */
	char name[HUTCH_DNS_WIRE_NAME_MAX + 1];
	size_t name_len;
	const char *why; /* on error: static text */
};

/*
 * Parse a query. Returns 0 with @q filled, or a negative errno with q->why
 * set: -EINVAL when not even the header is there, or a response (QR set):
 * send nothing; -EBADMSG malformed (answer FORMERR if q->id is known, i.e.
 * the header was there), -EOPNOTSUPP an opcode other than QUERY (NOTIMP).
 */
int hutch_dns_parse_query(const uint8_t *buf, size_t len, struct hutch_dns_question *q);

/*
 * Build the answer to @q: @rcode, and when @a4 is not NULL one A record
 * (@a4, 4 bytes, network order) with @ttl. When the question could not be
 * parsed (q->wire NULL) the answer has no question section. Returns the
 * length written, or 0 if @cap is too small.
 */
size_t hutch_dns_build_answer(uint8_t *out, size_t cap, const struct hutch_dns_question *q,
			      enum hutch_dns_rcode rcode, const uint8_t *a4, uint32_t ttl);
