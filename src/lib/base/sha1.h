/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-1, for git object ids only (the "index" line of a binary patch), never for security. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct hutch_sha1 {
	uint32_t h[5];
	uint64_t len;
	uint8_t buf[64];
	size_t nbuf;
};

void hutch_sha1_init(struct hutch_sha1 *s);
void hutch_sha1_update(struct hutch_sha1 *s, const void *data, size_t len);
void hutch_sha1_final(struct hutch_sha1 *s, uint8_t out[20]);
