/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Netlink requests, built in a caller's buffer and sent on a socket of their
 * own: the two hutch sends (the default route of src/lib/sandbox/netns.c and
 * the nftables batch of src/lib/sandbox/nft.c) are a handful of fixed
 * messages, so this is the few lines of libmnl they need, which lets hutch be
 * linked statically (Debian ships no static libmnl).
 *
 * A buffer holds one or more messages back to back (an nfnetlink batch); each
 * attribute goes into the last message started, a nest into the innermost
 * open one. Running out of room sets @oom and writes nothing more: check it
 * once at the end.
 */
#pragma once

#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

#include "hutch.h"

struct hutch_nl {
	char *buf;
	size_t size;
	size_t len; /* bytes used: every message so far, aligned */
	size_t msg; /* offset of the last message's header */
	int oom;
};

void hutch_nl_init(struct hutch_nl *b, void *buf, size_t size);

/* Start a message (header zeroed but for these) with @extra zeroed bytes of family header. */
void *hutch_nl_msg(struct hutch_nl *b, uint16_t type, uint16_t flags, uint32_t seq, size_t extra);

void hutch_nl_put(struct hutch_nl *b, uint16_t type, const void *data, size_t len);
void hutch_nl_put_u32(struct hutch_nl *b, uint16_t type, uint32_t v); /* host order */
void hutch_nl_put_be32(struct hutch_nl *b, uint16_t type, uint32_t v);
void hutch_nl_put_str(struct hutch_nl *b, uint16_t type, const char *s); /* with its NUL */

/* A nested attribute (NLA_F_NESTED): what is put until its end goes inside. */
size_t hutch_nl_nest(struct hutch_nl *b, uint16_t type);
void hutch_nl_nest_end(struct hutch_nl *b, size_t nest);

/*
 * Send @len bytes of messages on a new NETLINK_@proto socket and wait for @acks
 * acknowledgements (the messages that asked for one): 0, or the first error
 * the kernel answered, or a socket's, as a negative errno.
 */
int hutch_nl_transact(int proto, const void *buf, size_t len, unsigned acks);
