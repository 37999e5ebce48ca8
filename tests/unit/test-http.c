/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTTP proxy request heads: good requests, hostile requests, rewriting, chunked bodies. */
#include <errno.h>
#include <string.h>

#include "net/http.h"
#include "tap.h"

static struct hutch_http_request req;

static int parse(const char *s, const char **why)
{
	*why = NULL;
	return hutch_http_parse_request((const uint8_t *)s, strlen(s), &req, why);
}

/* expect an error with @status and a reason containing @needle */
static void bad(const char *label, const char *s, int status, const char *needle)
{
	const char *why;
	int r = parse(s, &why);

	ok(r < 0 && req.status == status && why && strstr(why, needle), "%s -> %d (%s)", label,
	   status, why ? why : "no reason");
	if (r >= 0 || req.status != status)
		diag("got r=%d status=%d", r, req.status);
}

static void test_good(void)
{
	const char *why;
	const char *s;
	int r;

	s = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nUser-Agent: t\r\n\r\n";
	r = parse(s, &why);
	is_int(r, (int)strlen(s), "CONNECT head length");
	ok(req.form == HUTCH_HTTP_CONNECT && !strcmp(req.host.name, "example.com") &&
		   req.port == 443 && req.host.kind == HUTCH_HOST_NAME,
	   "CONNECT target");
	is_int(req.n_headers, 2, "two headers");
	ok(!req.close, "HTTP/1.1 keeps alive");

	s = "CONNECT [::1]:22 HTTP/1.1\r\n\r\n";
	ok(parse(s, &why) > 0 && req.host.kind == HUTCH_HOST_ADDR && req.port == 22,
	   "CONNECT to bracketed IPv6 without Host");
	s = "CONNECT example.com:443 HTTP/1.1\r\nHost: EXAMPLE.com\r\n\r\n";
	ok(parse(s, &why) > 0, "CONNECT Host without port agrees (canonicalised)");

	s = "GET http://Example.com/a/b?c=d HTTP/1.1\r\nHost: example.com\r\n"
	    "Content-Length: 5\r\nProxy-Connection: keep-alive\r\n\r\nhello";
	r = parse(s, &why);
	is_int(r, (int)strlen(s) - 5, "absolute-form head length excludes body");
	ok(req.form == HUTCH_HTTP_ABSOLUTE && req.port == 80 &&
		   !strcmp(req.host.name, "example.com"),
	   "absolute-form target");
	ok(req.path.len == 8 && !memcmp(s + req.path.off, "/a/b?c=d", 8), "path extracted");
	is_int(req.content_length, 5, "Content-Length parsed");

	s = "POST http://example.com:8080 HTTP/1.1\r\nHost: example.com:8080\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	ok(parse(s, &why) > 0 && req.chunked && req.port == 8080 && req.path.len == 0,
	   "chunked POST, empty path");

	s = "GET http://example.com/ HTTP/1.0\r\n\r\n";
	ok(parse(s, &why) > 0 && req.close, "HTTP/1.0 without Host, closes");
	s = "GET http://example.com/ HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
	ok(parse(s, &why) > 0 && !req.close, "HTTP/1.0 keep-alive");
	s = "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n";
	ok(parse(s, &why) > 0 && req.close, "Connection: close");
	s = "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n"
	    "Content-Length: 3\r\nContent-Length: 3\r\n\r\n";
	ok(parse(s, &why) > 0 && req.content_length == 3, "identical duplicate Content-Length ok");
	s = "GET http://2130706433/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	ok(parse(s, &why) > 0 && req.host.kind == HUTCH_HOST_ADDR &&
		   !strcmp(req.host.name, "127.0.0.1"),
	   "decimal literal target is an address, Host agrees");
	s = "GET http://example.com/\tx HTTP/1.1\r\nHost: example.com\r\n\r\n";
	ok(parse(s, &why) < 0, "tab in target refused");
	s = "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nX: a\tb \r\n\r\n";
	ok(parse(s, &why) > 0 && req.headers[1].value.len == 3,
	   "value OWS trimmed, inner tab kept");
}

static void test_incomplete(void)
{
	const char *why;
	char big[HUTCH_HTTP_HEAD_MAX + 10];

	is_int(parse("CONNECT example.com:443 HTTP/1.1\r\nHost: x", &why), 0, "need more");
	is_int(parse("CONN", &why), 0, "need more (partial method)");
	is_int(parse("", &why), 0, "need more (empty)");
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET http://example.com/", 23);
	big[3] = ' ';
	big[sizeof(big) - 1] = '\0';
	ok(parse(big, &why) == -E2BIG && req.status == 431, "head too large -> 431");
	bad("early garbage", "\x16\x03\x01\x02", 400, "invalid method");
}

static void test_hostile(void)
{
	char many[HUTCH_HTTP_HEAD_MAX];
	size_t w = 0;

	bad("bare LF", "GET http://example.com/ HTTP/1.1\nHost: example.com\n\n", 400, "bare");
	bad("bare LF in header", "GET http://e.com/ HTTP/1.1\r\nHost: e.com\nX: y\r\n\r\n", 400,
	    "bare");
	bad("bare CR", "GET http://e.com/ HTTP/1.1\r\nHost: e.com\r\nX: a\rb\r\n\r\n", 400, "bare");
	bad("obs-fold", "GET http://e.com/ HTTP/1.1\r\nHost: e.com\r\nX: a\r\n b\r\n\r\n", 400,
	    "folding");
	bad("space before colon", "GET http://e.com/ HTTP/1.1\r\nHost : e.com\r\n\r\n", 400,
	    "before ':'");
	bad("CL+TE",
	    "POST http://e.com/ HTTP/1.1\r\nHost: e.com\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n",
	    400, "both");
	bad("TE+CL",
	    "POST http://e.com/ HTTP/1.1\r\nHost: e.com\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\n",
	    400, "both");
	bad("differing CL",
	    "POST http://e.com/ HTTP/1.1\r\nHost: e.com\r\nContent-Length: 3\r\n"
	    "Content-Length: 4\r\n\r\n",
	    400, "conflicting");
	bad("CL list", "POST http://e.com/ HTTP/1.1\r\nHost: e.com\r\nContent-Length: 3, 3\r\n\r\n",
	    400, "Content-Length");
	bad("CL sign", "POST http://e.com/ HTTP/1.1\r\nHost: e.com\r\nContent-Length: +3\r\n\r\n",
	    400, "Content-Length");
	bad("CL huge",
	    "POST http://e.com/ HTTP/1.1\r\nHost: e.com\r\n"
	    "Content-Length: 99999999999999999999\r\n\r\n",
	    400, "Content-Length");
	bad("TE gzip",
	    "POST http://e.com/ HTTP/1.1\r\nHost: e.com\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n",
	    501, "Transfer-Encoding");
	bad("TE twice",
	    "POST http://e.com/ HTTP/1.1\r\nHost: e.com\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n",
	    400, "several");
	bad("TE in 1.0", "POST http://e.com/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	    "HTTP/1.0");
	bad("Host mismatch", "GET http://allowed.com/ HTTP/1.1\r\nHost: evil.com\r\n\r\n", 400,
	    "does not match");
	bad("Host port mismatch", "GET http://e.com/ HTTP/1.1\r\nHost: e.com:8080\r\n\r\n", 400,
	    "does not match");
	bad("CONNECT Host mismatch",
	    "CONNECT allowed.com:443 HTTP/1.1\r\nHost: evil.com:443\r\n\r\n", 400,
	    "does not match");
	bad("two Host", "GET http://e.com/ HTTP/1.1\r\nHost: e.com\r\nHost: e.com\r\n\r\n", 400,
	    "several Host");
	bad("missing Host", "GET http://e.com/ HTTP/1.1\r\n\r\n", 400, "missing Host");
	bad("userinfo", "GET http://user@e.com/ HTTP/1.1\r\nHost: e.com\r\n\r\n", 400, "'@'");
	bad("control byte in host", "CONNECT e.com\x01.x.com:443 HTTP/1.1\r\n\r\n", 400,
	    "invalid byte");
	{
		static const char nul[] = "CONNECT allowed.com\0.evil.com:443 HTTP/1.1\r\n\r\n";
		const char *why = NULL;
		int r = hutch_http_parse_request((const uint8_t *)nul, sizeof(nul) - 1, &req, &why);

		ok(r < 0 && req.status == 400 && why && strstr(why, "invalid byte"),
		   "NUL in CONNECT target -> 400");
		static const char nulh[] = "GET http://e.com/ HTTP/1.1\r\nHost: e.com\0x\r\n\r\n";

		r = hutch_http_parse_request((const uint8_t *)nulh, sizeof(nulh) - 1, &req, &why);
		ok(r < 0 && req.status == 400, "NUL in Host header -> 400");
	}
	bad("percent in host", "CONNECT e.com%00.x.com:443 HTTP/1.1\r\n\r\n", 400, "'%'");
	bad("fragment", "GET http://e.com/#x HTTP/1.1\r\nHost: e.com\r\n\r\n", 400, "fragment");
	bad("https absolute", "GET https://e.com/ HTTP/1.1\r\nHost: e.com\r\n\r\n", 400, "CONNECT");
	bad("origin-form", "GET / HTTP/1.1\r\nHost: e.com\r\n\r\n", 400, "origin-form");
	bad("ftp", "GET ftp://e.com/ HTTP/1.1\r\nHost: e.com\r\n\r\n", 400, "unsupported");
	bad("CONNECT no port", "CONNECT e.com HTTP/1.1\r\n\r\n", 400, "port required");
	bad("CONNECT bare v6", "CONNECT ::1:443 HTTP/1.1\r\n\r\n", 400, "brackets");
	bad("CONNECT body", "CONNECT e.com:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 400, "body");
	bad("HTTP/2", "GET http://e.com/ HTTP/2.0\r\nHost: e.com\r\n\r\n", 505, "version");
	bad("HTTP/1.2", "GET http://e.com/ HTTP/1.2\r\nHost: e.com\r\n\r\n", 505, "version");
	bad("lowercase version", "GET http://e.com/ http/1.1\r\nHost: e.com\r\n\r\n", 400,
	    "version");
	bad("two spaces", "GET  http://e.com/ HTTP/1.1\r\nHost: e.com\r\n\r\n", 400,
	    "request line");
	bad("NUL in value", "GET http://e.com/ HTTP/1.1\r\nHost: e.com\r\nX: a\x01\r\n\r\n", 400,
	    "control");
	bad("empty header name", "GET http://e.com/ HTTP/1.1\r\nHost: e.com\r\n: x\r\n\r\n", 400,
	    "header name");
	bad("leading CRLF", "\r\nGET http://e.com/ HTTP/1.1\r\nHost: e.com\r\n\r\n", 400,
	    "request line");
	bad("decimal IP in Host vs name", "GET http://e.com/ HTTP/1.1\r\nHost: 2130706433\r\n\r\n",
	    400, "does not match");

	w = (size_t)snprintf(many, sizeof(many), "GET http://e.com/ HTTP/1.1\r\nHost: e.com\r\n");
	for (int i = 0; i < HUTCH_HTTP_HEADERS_MAX + 1; i++)
		w += (size_t)snprintf(many + w, sizeof(many) - w, "X-%d: y\r\n", i);
	snprintf(many + w, sizeof(many) - w, "\r\n");
	{
		const char *why;
		ok(parse(many, &why) == -E2BIG && req.status == 431, "too many headers -> 431");
	}
}

static void test_rewrite(void)
{
	const char *why;
	uint8_t out[HUTCH_HTTP_HEAD_MAX + 64];
	ssize_t n;
	const char *s =
		"GET http://example.com:8080?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
		"Proxy-Authorization: Basic eDp5\r\nProxy-Connection: keep-alive\r\n"
		"Connection: X-Secret, close\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n"
		"Upgrade: websocket\r\nAccept: */*\r\nContent-Length: 0\r\n\r\n";
	const char *want = "GET /?q=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\n"
			   "Content-Length: 0\r\nConnection: close\r\n\r\n";

	ok(parse(s, &why) > 0, "rewrite input parsed");
	n = hutch_http_rewrite((const uint8_t *)s, &req, out, sizeof(out));
	ok(n == (ssize_t)strlen(want) && !memcmp(out, want, (size_t)n),
	   "origin-form, Proxy-* and hop-by-hop stripped, close kept");
	if (n > 0)
		diag("%.*s", (int)n, out);
	is_int(hutch_http_rewrite((const uint8_t *)s, &req, out, 10), -ENOSPC, "small buffer");

	s = "GET http://e.com/x HTTP/1.1\r\nHost: e.com\r\nConnection: Content-Length\r\n"
	    "Content-Length: 2\r\n\r\n";
	ok(parse(s, &why) > 0, "parsed");
	n = hutch_http_rewrite((const uint8_t *)s, &req, out, sizeof(out));
	ok(n > 0 && memmem(out, (size_t)n, "Content-Length: 2", 17),
	   "Connection: cannot strip framing headers");
}

static ssize_t scan(struct hutch_chunked *c, const char *s, bool *done)
{
	return hutch_chunked_scan(c, (const uint8_t *)s, strlen(s), done);
}

static void test_chunked(void)
{
	struct hutch_chunked c = {0};
	bool done;
	const char *body =
		"5\r\nhello\r\n1A;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\n"
		"NEXT";
	size_t blen = strlen(body) - 4;

	is_int(scan(&c, body, &done), (long long)blen, "chunked body ends before next request");
	ok(done, "done");
	memset(&c, 0, sizeof(c));
	done = false;
	{
		size_t total = 0;
		for (size_t i = 0; i < blen && !done; i++) {
			ssize_t r = hutch_chunked_scan(&c, (const uint8_t *)body + i, 1, &done);
			if (r != 1)
				break;
			total++;
		}
		ok(done && total == blen, "byte-by-byte feeding reaches the same end");
	}
	memset(&c, 0, sizeof(c));
	is_int(scan(&c, "0\r\n\r\n", &done), 5, "empty chunked body");
	ok(done, "empty body done");
	memset(&c, 0, sizeof(c));
	is_int(scan(&c, "5\nhello\r\n", &done), -EINVAL, "bare LF in size line");
	memset(&c, 0, sizeof(c));
	is_int(scan(&c, "5\r\nhelloX\r\n", &done), -EINVAL, "missing CRLF after data");
	memset(&c, 0, sizeof(c));
	is_int(scan(&c, "fffffffffffffffff\r\n", &done), -EINVAL, "chunk size overflow");
	memset(&c, 0, sizeof(c));
	is_int(scan(&c, "-1\r\n", &done), -EINVAL, "negative size");
	memset(&c, 0, sizeof(c));
	is_int(scan(&c, " 5\r\n", &done), -EINVAL, "leading space");
	memset(&c, 0, sizeof(c));
	is_int(scan(&c, "5 ;x\r\n", &done), -EINVAL, "space before extension");
	memset(&c, 0, sizeof(c));
	is_int(scan(&c, "0\r\n folded\r\n\r\n", &done), -EINVAL, "folded trailer");
	memset(&c, 0, sizeof(c));
	ok(scan(&c, "3\r\nabc", &done) == 6 && !done, "partial body not done");
}

static void test_error(void)
{
	char buf[2048];
	size_t n = hutch_http_error(buf, sizeof(buf), 403, "evil.com (rule\r\nX-Injected: 1)",
				    "connection to evil.com:443 denied");

	ok(n > 0 &&
		   !strncmp(buf,
			    "HTTP/1.1 403 Forbidden (hutch: connection to evil.com:443 denied)\r\n",
			    67),
	   "403 status line, with the cause in the reason phrase");
	like(buf, "X-Hutch-Deny: evil.com (rule??X-Injected: 1)\r\n", "deny header sanitised");
	ok(!strstr(buf, "\r\nX-Injected"), "no header injection");
	like(buf, "Connection: close\r\n", "closes");
	like(buf, "\r\n\r\nhutch: 403 Forbidden: connection to evil.com:443 denied\n", "body");
	n = hutch_http_error(buf, sizeof(buf), 502, NULL, "x");
	ok(n > 0 && !strstr(buf, "X-Hutch-Deny"), "no deny header on 502");
	n = hutch_http_error(buf, sizeof(buf), 502, NULL,
			     "cannot resolve github.com:\r\nX-Evil: 1");
	ok(!strncmp(buf,
		    "HTTP/1.1 502 Bad Gateway (hutch: cannot resolve github.com:??X-Evil: 1)\r\n",
		    73),
	   "502: the cause in the status line, sanitised");
	like(buf, "\r\nX-Hutch-Error: cannot resolve github.com:??X-Evil: 1\r\n",
	     "502: X-Hutch-Error names the cause");
	ok(!strstr(buf, "\r\nX-Evil"), "no header injection through the cause");
	n = hutch_http_error(buf, sizeof(buf), 403, "rule", "x");
	ok(!strstr(buf, "X-Hutch-Error"), "a refusal has X-Hutch-Deny, not X-Hutch-Error");
	n = hutch_http_error(buf, 20, 502, NULL, "x");
	ok(n == 19 && buf[19] == '\0', "truncates safely");
}

int main(void)
{
	test_good();
	test_incomplete();
	test_hostile();
	test_rewrite();
	test_chunked();
	test_error();
	return done_testing();
}
