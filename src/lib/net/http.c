/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTTP/1.x proxy request heads, chunked framing and error responses: see http.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "net/http.h"

#define FAIL(st, msg)                                                                              \
	({                                                                                         \
		req->status = (st);                                                                \
		if (why)                                                                           \
			*why = (msg);                                                              \
		-EINVAL;                                                                           \
	})

/* RFC 9110 tchar */
static bool is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static uint8_t lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool span_ieq(const uint8_t *buf, struct hutch_http_span s, const char *lit)
{
	size_t n = strlen(lit);

	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lc(buf[s.off + i]) != (uint8_t)lit[i])
			return false;
	return true;
}

static bool span_ieq_span(const uint8_t *buf, struct hutch_http_span a, struct hutch_http_span b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (lc(buf[a.off + i]) != lc(buf[b.off + i]))
			return false;
	return true;
}

static bool span_has_iprefix(const uint8_t *buf, struct hutch_http_span s, const char *lit)
{
	size_t n = strlen(lit);

	if (s.len < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lc(buf[s.off + i]) != (uint8_t)lit[i])
			return false;
	return true;
}

/*
 * Find the end of the head: returns the offset just past CRLFCRLF, 0 if not
 * there yet, -1 on a bare LF or bare CR.
 */
static ssize_t head_end(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] != '\n')
			return -1;
		if (buf[i] != '\n')
			continue;
		if (i == 0 || buf[i - 1] != '\r')
			return -1;
		if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return (ssize_t)(i + 1);
	}
	return 0;
}

static int parse_content_length(const uint8_t *v, size_t n, int64_t *out)
{
	int64_t x = 0;

	if (n == 0 || n > 18)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return 0;
}

/* Split a comma-separated token list into @tokens. */
static int parse_tokens(const uint8_t *buf, struct hutch_http_span v,
			struct hutch_http_span *tokens, size_t max, size_t *n)
{
	size_t i = v.off, end = v.off + v.len;

	while (i < end) {
		size_t start;

		while (i < end && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == ','))
			i++;
		start = i;
		while (i < end && is_tchar(buf[i]))
			i++;
		if (i == start) {
			if (i < end)
				return -EINVAL;
			break;
		}
		if (*n >= max)
			return -E2BIG;
		tokens[(*n)++] = (struct hutch_http_span){(uint32_t)start, (uint32_t)(i - start)};
		while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		if (i < end && buf[i] != ',')
			return -EINVAL;
	}
	return 0;
}

static int parse_target(const uint8_t *buf, struct hutch_http_request *req, const char **why)
{
	const uint8_t *t = buf + req->target.off;
	size_t n = req->target.len;
	const char *w = NULL;

	if (req->form == HUTCH_HTTP_CONNECT) {
		if (hutch_authority_parse(t, n, 0, &req->host, &req->port, &w) < 0)
			return FAIL(400, w ? w : "invalid CONNECT target");
		return 0;
	}
	if (memchr(t, '#', n))
		return FAIL(400, "fragment in request target");
	if (span_has_iprefix(buf, req->target, "http://")) {
		size_t a = 7, e = 7;

		while (e < n && t[e] != '/' && t[e] != '?')
			e++;
		if (hutch_authority_parse(t + a, e - a, 80, &req->host, &req->port, &w) < 0)
			return FAIL(400, w ? w : "invalid host in request target");
		req->path =
			(struct hutch_http_span){req->target.off + (uint32_t)e, (uint32_t)(n - e)};
		req->path_needs_slash = e < n && t[e] == '?';
		return 0;
	}
	if (span_has_iprefix(buf, req->target, "https://"))
		return FAIL(400, "https:// requests must use CONNECT");
	if (n && t[0] == '/')
		return FAIL(400, "origin-form request sent to a proxy (expected http://host/...)");
	return FAIL(400, "unsupported request target (only CONNECT and http:// are proxied)");
}

int hutch_http_parse_request(const uint8_t *buf, size_t len, struct hutch_http_request *req,
			     const char **why)
{
	ssize_t end;
	size_t i, line_end;
	int host_headers = 0, te_headers = 0;
	struct hutch_http_span host_value = {0, 0};
	bool keep_alive = false, have_cl = false;

	memset(req, 0, sizeof(*req));
	req->content_length = -1;
	if (len > HUTCH_HTTP_HEAD_MAX)
		len = HUTCH_HTTP_HEAD_MAX;
	end = head_end(buf, len);
	if (end < 0)
		return FAIL(400, "bare CR or LF in request head (CRLF required)");
	if (end == 0) {
		/* reject obviously broken starts early instead of waiting for the timeout */
		for (i = 0; i < len && buf[i] != ' '; i++)
			if (!is_tchar(buf[i]))
				return FAIL(400, "invalid method");
		if (len >= HUTCH_HTTP_HEAD_MAX) {
			req->status = 431;
			if (why)
				*why = "request head too large";
			return -E2BIG;
		}
		return 0;
	}

	/* request line: method SP target SP HTTP/1.x CRLF */
	line_end = (size_t)((const uint8_t *)memchr(buf, '\r', (size_t)end) - buf);
	for (i = 0; i < line_end && buf[i] != ' '; i++)
		if (!is_tchar(buf[i]))
			return FAIL(400, "invalid method");
	if (i == 0 || i > HUTCH_HTTP_METHOD_MAX || i == line_end)
		return FAIL(400, "invalid request line");
	req->method = (struct hutch_http_span){0, (uint32_t)i};
	req->target.off = (uint32_t)++i;
	for (; i < line_end && buf[i] != ' '; i++)
		if (buf[i] <= 0x20 || buf[i] >= 0x7f)
			return FAIL(400, "invalid byte in request target");
	if (i == req->target.off || i == line_end)
		return FAIL(400, "invalid request line");
	req->target.len = (uint32_t)(i - req->target.off);
	i++;
	if (line_end - i != 8 || memcmp(buf + i, "HTTP/1.", 7) != 0)
		return FAIL(line_end - i == 8 && memcmp(buf + i, "HTTP/", 5) == 0 ? 505 : 400,
			    "invalid HTTP version");
	if (buf[i + 7] == '0')
		req->minor = 0;
	else if (buf[i + 7] == '1')
		req->minor = 1;
	else
		return FAIL(505, "unsupported HTTP version");
	req->form = (req->method.len == 7 && memcmp(buf, "CONNECT", 7) == 0) ? HUTCH_HTTP_CONNECT
									     : HUTCH_HTTP_ABSOLUTE;
	if (parse_target(buf, req, why) < 0)
		return -EINVAL;

	/* header fields */
	i = line_end + 2;
	while (i < (size_t)end - 2) {
		struct hutch_http_header *h;
		size_t ns = i, ve;

		line_end = (size_t)((const uint8_t *)memchr(buf + i, '\r', (size_t)end - i) - buf);
		if (buf[i] == ' ' || buf[i] == '\t')
			return FAIL(400, "obsolete line folding in header");
		while (i < line_end && is_tchar(buf[i]))
			i++;
		if (i == ns)
			return FAIL(400, "invalid header name");
		if (i == line_end || buf[i] != ':')
			return FAIL(400, buf[i] == ' ' || buf[i] == '\t'
						 ? "whitespace before ':' in header"
						 : "invalid header name");
		if (req->n_headers >= HUTCH_HTTP_HEADERS_MAX) {
			req->status = 431;
			if (why)
				*why = "too many header fields";
			return -E2BIG;
		}
		h = &req->headers[req->n_headers++];
		h->name = (struct hutch_http_span){(uint32_t)ns, (uint32_t)(i - ns)};
		i++;
		while (i < line_end && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		ve = line_end;
		while (ve > i && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
			ve--;
		for (size_t k = i; k < ve; k++)
			if ((buf[k] < 0x20 && buf[k] != '\t') || buf[k] == 0x7f)
				return FAIL(400, "control character in header value");
		h->value = (struct hutch_http_span){(uint32_t)i, (uint32_t)(ve - i)};

		if (span_ieq(buf, h->name, "host")) {
			host_headers++;
			host_value = h->value;
		} else if (span_ieq(buf, h->name, "content-length")) {
			int64_t cl;

			if (parse_content_length(buf + i, ve - i, &cl) < 0)
				return FAIL(400, "invalid Content-Length");
			if (have_cl && cl != req->content_length)
				return FAIL(400, "conflicting Content-Length headers");
			have_cl = true;
			req->content_length = cl;
		} else if (span_ieq(buf, h->name, "transfer-encoding")) {
			te_headers++;
			if (!span_ieq(buf, h->value, "chunked"))
				return FAIL(501, "unsupported Transfer-Encoding (only chunked)");
			req->chunked = true;
		} else if (span_ieq(buf, h->name, "connection") ||
			   span_ieq(buf, h->name, "proxy-connection")) {
			size_t before = req->n_conn_tokens;

			if (parse_tokens(buf, h->value, req->conn_tokens,
					 HUTCH_HTTP_CONN_TOKENS_MAX, &req->n_conn_tokens) < 0)
				return FAIL(400, "invalid Connection header");
			for (size_t k = before; k < req->n_conn_tokens; k++) {
				if (span_ieq(buf, req->conn_tokens[k], "close"))
					req->close = true;
				else if (span_ieq(buf, req->conn_tokens[k], "keep-alive"))
					keep_alive = true;
			}
		}
		i = line_end + 2;
	}

	if (te_headers > 1)
		return FAIL(400, "several Transfer-Encoding headers");
	if (req->chunked && have_cl)
		return FAIL(400, "both Content-Length and Transfer-Encoding");
	if (req->chunked && req->minor == 0)
		return FAIL(400, "Transfer-Encoding in an HTTP/1.0 request");
	if (req->form == HUTCH_HTTP_CONNECT && (req->chunked || req->content_length > 0))
		return FAIL(400, "CONNECT with a body");
	if (host_headers > 1)
		return FAIL(400, "several Host headers");
	if (host_headers == 0 && req->minor == 1 && req->form == HUTCH_HTTP_ABSOLUTE)
		return FAIL(400, "missing Host header");
	if (host_headers == 1) {
		struct hutch_host hh;
		uint16_t hport;
		const char *w = NULL;

		if (hutch_authority_parse(buf + host_value.off, host_value.len,
					  req->form == HUTCH_HTTP_CONNECT ? req->port : 80, &hh,
					  &hport, &w) < 0)
			return FAIL(400, "invalid Host header");
		if (hh.kind != req->host.kind || strcmp(hh.name, req->host.name) != 0 ||
		    hport != req->port)
			return FAIL(400, "Host header does not match the request target");
	}
	if (req->minor == 0 && !keep_alive)
		req->close = true;
	return (int)end;
}

static bool hop_by_hop(const uint8_t *buf, const struct hutch_http_request *req,
		       struct hutch_http_span name)
{
	static const char *const names[] = {
		"connection", "proxy-connection", "keep-alive", "te", "upgrade",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (span_ieq(buf, name, names[i]))
			return true;
	if (span_has_iprefix(buf, name, "proxy-"))
		return true;
	for (size_t i = 0; i < req->n_conn_tokens; i++) {
		/* never let Connection: strip the framing headers */
		if (span_ieq(buf, name, "content-length") ||
		    span_ieq(buf, name, "transfer-encoding") || span_ieq(buf, name, "host"))
			return false;
		if (span_ieq_span(buf, name, req->conn_tokens[i]))
			return true;
	}
	return false;
}

ssize_t hutch_http_rewrite(const uint8_t *buf, const struct hutch_http_request *req, uint8_t *out,
			   size_t cap)
{
	size_t w = 0;

#define PUT(p, n)                                                                                  \
	do {                                                                                       \
		if (w + (n) > cap)                                                                 \
			return -ENOSPC;                                                            \
		memcpy(out + w, (p), (n));                                                         \
		w += (n);                                                                          \
	} while (0)
#define PUTS(s) PUT(s, strlen(s))

	if (req->form != HUTCH_HTTP_ABSOLUTE)
		return -EINVAL;
	PUT(buf + req->method.off, req->method.len);
	PUTS(" ");
	if (req->path.len == 0 || req->path_needs_slash)
		PUTS("/");
	PUT(buf + req->path.off, req->path.len);
	PUTS(req->minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct hutch_http_header *h = &req->headers[i];

		if (hop_by_hop(buf, req, h->name))
			continue;
		PUT(buf + h->name.off, h->name.len);
		PUTS(": ");
		PUT(buf + h->value.off, h->value.len);
		PUTS("\r\n");
	}
	if (req->close)
		PUTS("Connection: close\r\n");
	PUTS("\r\n");
	return (ssize_t)w;
#undef PUT
#undef PUTS
}

/* ---- chunked bodies ------------------------------------------------------------- */

enum {
	CH_SIZE = 0, /* hex digits */
	CH_EXT,	     /* ;extension until CR */
	CH_SIZE_LF,  /* LF after the size line */
	CH_DATA,     /* remaining bytes of data */
	CH_DATA_CR,  /* CR after data */
	CH_DATA_LF,  /* LF after data */
	CH_TRAILER,  /* start of a trailer line or the final CRLF */
	CH_TRAILER_LINE,
	CH_TRAILER_LF,
	CH_LAST_LF,
	CH_DONE,
};

static int hexdigit(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lc(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

ssize_t hutch_chunked_scan(struct hutch_chunked *c, const uint8_t *buf, size_t len, bool *done)
{
	size_t i = 0;

	*done = false;
	while (i < len) {
		uint8_t b = buf[i];

		switch (c->state) {
		case CH_SIZE:
			if (hexdigit(b) >= 0) {
				if (++c->count > 15)
					return -EINVAL;
				c->remaining = c->remaining * 16 + (uint64_t)hexdigit(b);
			} else if (c->count == 0) {
				return -EINVAL;
			} else if (b == ';') {
				c->state = CH_EXT;
			} else if (b == '\r') {
				c->state = CH_SIZE_LF;
			} else {
				return -EINVAL;
			}
			i++;
			break;
		case CH_EXT:
			if (++c->count > HUTCH_CHUNK_LINE_MAX)
				return -EINVAL;
			if (b == '\r')
				c->state = CH_SIZE_LF;
			else if ((b < 0x20 && b != '\t') || b == 0x7f)
				return -EINVAL;
			i++;
			break;
		case CH_SIZE_LF:
			if (b != '\n')
				return -EINVAL;
			i++;
			c->count = 0;
			c->state = c->remaining ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA: {
			size_t n = len - i;

			if (n > c->remaining)
				n = (size_t)c->remaining;
			c->remaining -= n;
			i += n;
			if (!c->remaining)
				c->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (b != '\r')
				return -EINVAL;
			c->state = CH_DATA_LF;
			i++;
			break;
		case CH_DATA_LF:
			if (b != '\n')
				return -EINVAL;
			c->state = CH_SIZE;
			c->count = 0;
			i++;
			break;
		case CH_TRAILER:
			if (b == '\r') {
				c->state = CH_LAST_LF;
			} else {
				if (++c->trailers > HUTCH_CHUNK_TRAILERS_MAX || b == '\n' ||
				    b == ' ' || b == '\t')
					return -EINVAL;
				c->count = 1;
				c->state = CH_TRAILER_LINE;
			}
			i++;
			break;
		case CH_TRAILER_LINE:
			if (++c->count > HUTCH_CHUNK_LINE_MAX)
				return -EINVAL;
			if (b == '\r')
				c->state = CH_TRAILER_LF;
			else if (b == '\n' || b == 0)
				return -EINVAL;
			i++;
			break;
		case CH_TRAILER_LF:
			if (b != '\n')
				return -EINVAL;
			c->state = CH_TRAILER;
			i++;
			break;
		case CH_LAST_LF:
			if (b != '\n')
				return -EINVAL;
			c->state = CH_DONE;
			i++;
			*done = true;
			return (ssize_t)i;
		default:
			*done = true;
			return (ssize_t)i;
		}
	}
	if (c->state == CH_DONE)
		*done = true;
	return (ssize_t)i;
}

/* ---- responses ------------------------------------------------------------------ */

const char *hutch_http_reason(int status)
{
	static const struct {
		int status;
		const char *text;
	} t[] = {
		{200, "Connection established"},
		{400, "Bad Request"},
		{403, "Forbidden"},
		{405, "Method Not Allowed"},
		{408, "Request Timeout"},
		{431, "Request Header Fields Too Large"},
		{501, "Not Implemented"},
		{502, "Bad Gateway"},
		{503, "Service Unavailable"},
		{504, "Gateway Timeout"},
		{505, "HTTP Version Not Supported"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (t[i].status == status)
			return t[i].text;
	return "Error";
}

/* Copy @s into @out replacing anything but printable ASCII with '?'. */
static void sanitize(char *out, size_t cap, const char *s)
{
	size_t i = 0;

	for (; s && *s && i + 1 < cap; s++, i++)
		out[i] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	out[i] = '\0';
}

size_t hutch_http_error(char *out, size_t cap, int status, const char *deny, const char *what)
{
	char d[512], w[512], body[600], hdr[600] = "";
	int n;

	sanitize(d, sizeof(d), deny);
	sanitize(w, sizeof(w), what);
	/* a refusal names the rule; a failure (no deny) names its cause */
	if (deny)
		snprintf(hdr, sizeof(hdr), "X-Hutch-Deny: %s\r\n", d);
	else if (status >= 500)
		snprintf(hdr, sizeof(hdr), "X-Hutch-Error: %s\r\n", w);
	snprintf(body, sizeof(body), "hutch: %d %s: %s\n", status, hutch_http_reason(status), w);
	/*
	 * The cause in the reason phrase too: several clients show the status line
	 * and nothing else (Python's "Tunnel connection failed: 502 ...").
	 */
	n = snprintf(out, cap,
		     "HTTP/1.1 %d %s (hutch: %.200s)\r\n"
		     "Content-Type: text/plain; charset=utf-8\r\n"
		     "Content-Length: %zu\r\n"
		     "Connection: close\r\n"
		     "%s"
		     "\r\n"
		     "%s",
		     status, hutch_http_reason(status), w, strlen(body), hdr, body);
	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}
