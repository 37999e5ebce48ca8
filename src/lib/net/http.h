/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * HTTP/1.x proxy request heads: CONNECT authority-form and absolute-form
 * http:// requests. Pure functions over (const uint8_t *, size_t).
 *
 * Strictness decisions (documented in docs/network.md):
 * - every line ends in CRLF; a bare LF is an error (400), never tolerated,
 *   so hutch and the origin server cannot disagree on where a head ends;
 * - obs-fold (a header line starting with SP/HTAB), whitespace before the
 *   colon, NUL and control bytes are errors;
 * - both Content-Length and Transfer-Encoding, differing or malformed
 *   Content-Length, several Transfer-Encoding headers or any coding other than
 *   a lone "chunked" are errors (request smuggling defences);
 * - the Host header (required with HTTP/1.1 absolute-form, optional with
 *   CONNECT) must name the same host and port as the request target.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/filter.h"

#define HUTCH_HTTP_HEAD_MAX 16384  /* request line + headers + final CRLF */
#define HUTCH_HTTP_HEADERS_MAX 100 /* header lines */
#define HUTCH_HTTP_METHOD_MAX 32
#define HUTCH_HTTP_CONN_TOKENS_MAX 16 /* tokens in Connection: we strip */

enum hutch_http_form {
	HUTCH_HTTP_CONNECT = 1,	 /* CONNECT host:port */
	HUTCH_HTTP_ABSOLUTE = 2, /* GET http://host[:port]/path */
};

struct hutch_http_span {
	uint32_t off, len; /* into the parsed buffer */
};

struct hutch_http_header {
	struct hutch_http_span name, value;
};

struct hutch_http_request {
	enum hutch_http_form form;
	struct hutch_http_span method, target;
	struct hutch_http_span path; /* origin-form path+query; empty means "/" */
	bool path_needs_slash;	     /* target was http://host?query */
	int minor;		     /* HTTP/1.minor, 0 or 1 */
	struct hutch_host host;
	uint16_t port;
	size_t n_headers;
	struct hutch_http_header headers[HUTCH_HTTP_HEADERS_MAX];
	int64_t content_length; /* -1: none */
	bool chunked;
	bool close; /* the client wants the connection closed after this exchange */
	size_t n_conn_tokens;
	struct hutch_http_span conn_tokens[HUTCH_HTTP_CONN_TOKENS_MAX];
	int status; /* on error: the HTTP status to answer with */
};

/*
 * Parse a request head at the start of @buf. Returns the head length (> 0)
 * when complete, 0 when more bytes are needed (and fit), or a negative errno
 * with req->status (400, 405, 431, 501, 505) and *why set.
 */
int hutch_http_parse_request(const uint8_t *buf, size_t len, struct hutch_http_request *req,
			     const char **why);

/*
 * The head to send upstream for an absolute-form request: origin-form
 * request line, hop-by-hop headers (Connection and what it names,
 * Keep-Alive, Proxy-*, TE, Upgrade) removed, "Connection: close" added when
 * the client asked for it. Returns the length or -ENOSPC.
 */
ssize_t hutch_http_rewrite(const uint8_t *buf, const struct hutch_http_request *req, uint8_t *out,
			   size_t cap);

/* Incremental chunked-body scanner: finds where a chunked body ends. */
struct hutch_chunked {
	int state;
	uint64_t remaining;
	unsigned count; /* bytes in the current size/extension/trailer line */
	unsigned trailers;
};

#define HUTCH_CHUNK_LINE_MAX 4096 /* chunk-size line with extensions, one trailer line */
#define HUTCH_CHUNK_TRAILERS_MAX 64

/*
 * Feed @len body bytes. Returns how many belong to the body (< len only when
 * the body ended inside @buf), sets *done at the end of the body, or -EINVAL
 * on a malformed body.
 */
ssize_t hutch_chunked_scan(struct hutch_chunked *c, const uint8_t *buf, size_t len, bool *done);

/* The reason phrase for a status code. */
const char *hutch_http_reason(int status);

/*
 * A complete error response with "Connection: close", a text body naming
 * @what (also in the status line's reason phrase: "502 Bad Gateway (hutch:
 * @what)"), "X-Hutch-Deny: @deny" when @deny is not NULL, else for a 5xx
 * "X-Hutch-Error: @what" (bytes other than printable ASCII are replaced).
 * Returns the length, truncating safely.
 */
size_t hutch_http_error(char *out, size_t cap, int status, const char *deny, const char *what);
