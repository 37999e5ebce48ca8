/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * HTTP request heads, the upstream rewrite and the chunked scanner.
 * Invariants: a complete head has a target host; the rewrite of an
 * absolute-form request parses again (as origin-form it is refused, but it
 * must stay within its buffer and never contain Proxy- headers); the
 * chunked scanner never claims more bytes than it was given.
 */
#include <stdlib.h>
#include <string.h>

#include "net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hutch_http_request req;
static uint8_t out[HUTCH_HTTP_HEAD_MAX + 64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;
	int r = hutch_http_parse_request(data, size, &req, &why);
	struct hutch_chunked c = {0};
	bool done;
	ssize_t n;

	if (r > 0) {
		if ((size_t)r > size || !req.host.name[0] || !req.port)
			abort();
		if (req.form == HUTCH_HTTP_ABSOLUTE) {
			n = hutch_http_rewrite(data, &req, out, sizeof(out));
			if (n > (ssize_t)sizeof(out))
				abort();
			if (n > 0 && (memmem(out, (size_t)n, "\r\nProxy-", 8) ||
				      memmem(out, (size_t)n, "\r\nproxy-", 8)))
				abort();
		}
	} else if (r < 0 && (req.status < 400 || req.status > 505)) {
		abort();
	}
	n = hutch_chunked_scan(&c, data, size, &done);
	if (n > (ssize_t)size)
		abort();
	return 0;
}
