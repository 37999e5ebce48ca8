/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct hutch_sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t nbuf;
};

void hutch_sha256_init(struct hutch_sha256 *s);
void hutch_sha256_update(struct hutch_sha256 *s, const void *data, size_t len);
void hutch_sha256_final(struct hutch_sha256 *s, uint8_t out[32]);
/* One-shot, hex output (64 chars + NUL). */
void hutch_sha256_hex(const void *data, size_t len, char out[65]);
