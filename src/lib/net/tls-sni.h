/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TLS ClientHello inspection for the SNI check (docs/network.md): the record
 * layer is walked record by record (a ClientHello split across several
 * handshake records is reassembled on the fly, without copying), the
 * server_name is extracted and validated like any host, and Encrypted
 * ClientHello (0xfe0d, and the older ESNI 0xffce) is reported.
 * Pure functions over (const uint8_t *, size_t), no allocation.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/filter.h"

#define HUTCH_TLS_HELLO_MAX 32768  /* stream bytes examined at most */
#define HUTCH_TLS_RECORD_MAX 16384 /* plaintext record payload (RFC 8446 5.1) */
#define HUTCH_TLS_EXTENSIONS_MAX 128

#define HUTCH_TLS_EXT_SERVER_NAME 0x0000
#define HUTCH_TLS_EXT_ECH 0xfe0d
#define HUTCH_TLS_EXT_ESNI 0xffce

struct hutch_tls_hello {
	bool has_sni;
	struct hutch_host sni; /* canonical server name (an address if a client sent one) */
	bool ech;	       /* encrypted_client_hello (or ESNI) present */
	const char *why;       /* on error: static text */
};

/*
 * 1 if @buf starts like a TLS handshake record (0x16 0x03 0x0?), 0 if it
 * cannot be one, -EAGAIN if fewer than 3 bytes are there to tell.
 */
int hutch_tls_looks_like_handshake(const uint8_t *buf, size_t len);

/*
 * Parse the ClientHello at the start of a stream. Returns the number of
 * stream bytes up to the end of the ClientHello (> 0), 0 when more bytes
 * are needed, -EINVAL (malformed, out->why set) or -E2BIG (longer than
 * HUTCH_TLS_HELLO_MAX).
 */
int hutch_tls_parse_client_hello(const uint8_t *buf, size_t len, struct hutch_tls_hello *out);
