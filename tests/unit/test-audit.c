/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit log: JSON escaping, truncation, invalid UTF-8 kept exactly under
 * "raw", timestamps, the syslog header, file and syslog sinks (a datagram
 * socket this test binds), concurrent appenders, a session's events
 * (start, exec, deny, package, net, file, limit, end) and the summary.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/filescan.h"
#include "audit/package.h"
#include "policy/policy.h"
#include "net/proxy.h"
#include "tap.h"

static char buf[HUTCH_AUDIT_MAX_EVENT];
static char tmpdir[256];

static size_t b64dec(const char *s, uint8_t *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	uint32_t v = 0;
	int bits = 0;

	for (; *s && *s != '='; s++) {
		const char *p = strchr(tab, *s);
		if (!p)
			return (size_t)-1;
		v = (v << 6) | (uint32_t)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(v >> bits);
		}
	}
	return o;
}

static const char *esc(const char *s, size_t n)
{
	static char out[1024];
	size_t c = 0;
	bool inv = false;
	size_t w = hutch_json_escape((const uint8_t *)s, n, out, sizeof(out) - 1, &c, &inv, 0);

	out[w] = '\0';
	return out;
}

static struct timespec ts0 = {1795730400, 123456789}; /* 2026-11-26T22:00:00.123456Z */

/* Parse one line (must end in exactly one '\n') strictly: valid UTF-8 JSON object. */
static json_t *parse_line(const char *line, size_t len)
{
	json_error_t je;
	json_t *j;

	if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
		return NULL;
	j = json_loadb(line, len, JSON_ALLOW_NUL, &je);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	if (!j)
		diag("json: %s at %d: %.200s", je.text, je.position, line);
	return j;
}

/* The exact bytes of string field @key (element @idx if >= 0), using "raw" when present. */
static size_t exact(json_t *ev, const char *key, long idx, uint8_t *out)
{
	json_t *raw = json_object_get(json_object_get(ev, "raw"), key);
	json_t *v = json_object_get(ev, key);

	if (idx >= 0) {
		raw = raw ? json_array_get(raw, (size_t)idx) : NULL;
		v = json_array_get(v, (size_t)idx);
	}
	if (raw && json_is_string(raw))
		return b64dec(json_string_value(raw), out);
	if (!v || !json_is_string(v))
		return (size_t)-1;
	memcpy(out, json_string_value(v), json_string_length(v));
	return json_string_length(v);
}

static void test_escape(void)
{
	size_t c;
	bool inv;
	char out[64];

	is_str(esc("a\"b\\c", 5), "a\\\"b\\\\c", "quotes and backslashes escaped");
	is_str(esc("\n\r\t\b\f", 5), "\\n\\r\\t\\b\\f", "short escapes");
	is_str(esc("\x01\x1f\x7f", 3), "\\u0001\\u001f\\u007f", "other control bytes and DEL");
	is_str(esc("a\0b", 3), "a\\u0000b", "NUL escaped, not the end");
	is_str(esc("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80", 14),
	       "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80", "valid UTF-8 copied");
	is_str(esc("\xe2\x80\xa8\xe2\x80\xa9", 6), "\\u2028\\u2029", "U+2028/2029 escaped");
	is_str(esc("\xff", 1), "\\ufffd", "0xff -> U+FFFD");
	is_str(esc("\x80", 1), "\\ufffd", "lone continuation -> U+FFFD");
	is_str(esc("\xc0\xaf", 2), "\\ufffd\\ufffd", "overlong: each byte -> U+FFFD");
	is_str(esc("\xed\xa0\x80", 3), "\\ufffd\\ufffd\\ufffd", "encoded surrogate rejected");
	is_str(esc("\xf4\x90\x80\x80", 4), "\\ufffd\\ufffd\\ufffd\\ufffd", "> U+10FFFF rejected");
	is_str(esc("\xe2\x82", 2), "\\ufffd\\ufffd", "truncated sequence");
	is_str(esc("\xf5", 1), "\\ufffd", "F5 never valid");
	inv = false;
	hutch_json_escape((const uint8_t *)"ok", 2, out, sizeof(out), &c, &inv, 0);
	ok(!inv, "valid input: not flagged invalid");
	inv = false;
	hutch_json_escape((const uint8_t *)"\xfe", 1, out, sizeof(out), &c, &inv, 0);
	ok(inv, "invalid input flagged");
	c = 0;
	is_int(hutch_json_escape((const uint8_t *)"ab\xe6\x97\xa5", 5, out, 4, &c, &inv, 0), 2,
	       "no room: stops at a character boundary");
	is_int(c, 2, "  consumed up to the boundary");
	{
		char b[16];
		hutch_base64((const uint8_t *)"foob", 4, b, sizeof(b));
		is_str(b, "Zm9vYg==", "base64 with padding");
		is_int(hutch_base64((const uint8_t *)"foob", 4, b, 8), 0, "base64: no room -> 0");
	}
}

static void test_timestamp(void)
{
	char t[32];
	regex_t re;

	hutch_audit_timestamp(&ts0, t);
	is_str(t, "2026-11-26T22:00:00.123456Z", "timestamp: UTC, microseconds, Z");
	regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
		REG_EXTENDED | REG_NOSUB);
	{
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		hutch_audit_timestamp(&now, t);
		ok(regexec(&re, t, 0, NULL, 0) == 0, "current timestamp has the format (%s)", t);
	}
	regfree(&re);
}

static void test_event_argv(void)
{
	const char *argv[] = {
		"printf",      "a b",  "q\"uo'te", "new\nline",	 "\xe6\x97\xa5\xe6\x9c\xac",
		"bad\xff\xfe", "\x80", "",	   "tab\tand\\", "\x1b[31mred"};
	size_t n = sizeof(argv) / sizeof(argv[0]);
	struct hutch_event e;
	size_t len, i;
	json_t *j;
	bool all = true;

	hutch_event_begin(&e, buf, sizeof(buf), "exec", "0123456789abcdef", &ts0);
	hutch_event_i64(&e, "process.pid", 42);
	hutch_event_str(&e, "process.executable.path", "/usr/bin/\xffprintf");
	hutch_event_strv(&e, "process.command_args", argv, NULL, n);
	len = hutch_event_end(&e);
	j = parse_line(buf, len);
	ok(j != NULL, "event with hostile argv parses as one line of valid UTF-8 JSON");
	if (!j)
		return;
	is_int(json_integer_value(json_object_get(j, "v")), 1, "v is 1");
	is_str(json_string_value(json_object_get(j, "ts")), "2026-11-26T22:00:00.123456Z", "ts");
	is_str(json_string_value(json_object_get(j, "sandbox")), "0123456789abcdef", "sandbox");
	is_str(json_string_value(json_object_get(j, "event")), "exec", "event");
	is_int(json_array_size(json_object_get(j, "process.command_args")), n, "argv count");
	for (i = 0; i < n; i++) {
		uint8_t out[256];
		size_t l = exact(j, "process.command_args", (long)i, out);
		if (l != strlen(argv[i]) || memcmp(out, argv[i], l) != 0) {
			all = false;
			diag("argv[%zu] differs", i);
		}
	}
	ok(all, "every argv element round-trips exactly (raw for the invalid ones)");
	{
		uint8_t out[256];
		size_t l = exact(j, "process.executable.path", -1, out);
		ok(l == 16 && memcmp(out, "/usr/bin/\xffprintf", 16) == 0,
		   "a scalar with invalid UTF-8 round-trips through raw");
	}
	is_str(json_string_value(json_array_get(json_object_get(j, "process.command_args"), 5)),
	       "bad\xef\xbf\xbd\xef\xbf\xbd", "the readable value has U+FFFD for bad bytes");
	ok(json_is_null(json_array_get(
		   json_object_get(json_object_get(j, "raw"), "process.command_args"), 0)),
	   "raw: valid elements are null");
	ok(!json_object_get(j, "truncated"), "nothing truncated");
	json_decref(j);
}

static void test_truncation(void)
{
	static char big[3 * HUTCH_AUDIT_MAX_VALUE];
	static const char *many[3000];
	struct hutch_event e;
	size_t len;
	json_t *j;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	hutch_event_begin(&e, buf, sizeof(buf), "exec", "s", &ts0);
	hutch_event_str(&e, "file.path", big);
	len = hutch_event_end(&e);
	j = parse_line(buf, len);
	ok(j && json_string_length(json_object_get(j, "file.path")) == HUTCH_AUDIT_MAX_VALUE,
	   "a long value is cut at HUTCH_AUDIT_MAX_VALUE");
	ok(j && json_is_true(json_object_get(j, "truncated")), "  and flagged truncated");
	json_decref(j);

	/* cut inside a multi-byte character: backs off to the boundary, no U+FFFD */
	memset(big, 'x', HUTCH_AUDIT_MAX_VALUE - 1);
	memcpy(big + HUTCH_AUDIT_MAX_VALUE - 1, "\xe6\x97\xa5\xe6\x97\xa5", 6);
	big[HUTCH_AUDIT_MAX_VALUE + 5] = '\0';
	hutch_event_begin(&e, buf, sizeof(buf), "exec", "s", &ts0);
	hutch_event_str(&e, "file.path", big);
	len = hutch_event_end(&e);
	j = parse_line(buf, len);
	ok(j && !json_object_get(j, "raw") &&
		   json_string_length(json_object_get(j, "file.path")) == HUTCH_AUDIT_MAX_VALUE - 1,
	   "cut at a character boundary (no replacement character, no raw)");
	json_decref(j);

	for (size_t i = 0; i < 3000; i++)
		many[i] = i % 2 ? "\xff" : "arg";
	hutch_event_begin(&e, buf, sizeof(buf), "exec", "s", &ts0);
	hutch_event_u64(&e, "process.args_count", 3000);
	hutch_event_strv(&e, "process.command_args", many, NULL, 3000);
	hutch_event_str(&e, "after", "still here");
	len = hutch_event_end(&e);
	j = parse_line(buf, len);
	ok(j != NULL, "3000 arguments: still one valid line");
	ok(j && json_array_size(json_object_get(j, "process.command_args")) == HUTCH_AUDIT_MAX_ARGS,
	   "  at most HUTCH_AUDIT_MAX_ARGS elements");
	ok(j && json_is_true(json_object_get(j, "truncated")), "  flagged truncated");
	ok(j && json_object_get(j, "after"), "  later fields still written");
	json_decref(j);

	/* a small buffer: nothing overflows, the line stays valid */
	{
		char small[300];
		for (size_t cap = 256; cap <= sizeof(small); cap += 11) {
			bool good;
			hutch_event_begin(&e, small, cap, "exec", "0123456789abcdef", &ts0);
			hutch_event_str(&e, "a", big);
			hutch_event_strv(&e, "b", many, NULL, 50);
			hutch_event_object_begin(&e, "counts");
			hutch_event_u64(&e, "x", 1);
			hutch_event_object_end(&e);
			hutch_event_str(&e, "c", "\xff\xff\xff");
			len = hutch_event_end(&e);
			j = parse_line(small, len);
			good = j && len <= cap && json_is_true(json_object_get(j, "truncated"));
			json_decref(j);
			if (!good) {
				ok(0, "small buffer of %zu bytes: valid and flagged", cap);
				return;
			}
		}
		ok(1, "buffers of 256..300 bytes: every event valid, within bounds, flagged");
	}
}

/* Random bytes as values: every line parses, raw gives the exact bytes back. */
static void test_random(void)
{
	unsigned seed = 12345;
	int bad = 0;

	for (int it = 0; it < 3000 && bad < 3; it++) {
		char v[4][64];
		const char *pv[4];
		size_t lens[4];
		struct hutch_event e;
		size_t len;
		json_t *j;

		for (int k = 0; k < 4; k++) {
			lens[k] = (size_t)(rand_r(&seed) % 60);
			for (size_t i = 0; i < lens[k]; i++) {
				int r = rand_r(&seed) % 4;
				v[k][i] = (char)(r == 0	  ? rand_r(&seed) % 256
						 : r == 1 ? 0x80 + rand_r(&seed) % 64
						 : r == 2 ? 0xc0 + rand_r(&seed) % 64
							  : 0x20 + rand_r(&seed) % 96);
			}
			pv[k] = v[k];
		}
		hutch_event_begin(&e, buf, sizeof(buf), "exec", "s", &ts0);
		hutch_event_strn(&e, "process.executable.path", v[0], lens[0]);
		hutch_event_strv(&e, "process.command_args", pv + 1, lens + 1, 3);
		len = hutch_event_end(&e);
		j = parse_line(buf, len);
		if (!j) {
			bad++;
			continue;
		}
		for (int k = 0; k < 4; k++) {
			uint8_t out[128];
			size_t l = k == 0 ? exact(j, "process.executable.path", -1, out)
					  : exact(j, "process.command_args", k - 1, out);
			if (l != lens[k] || memcmp(out, v[k], l) != 0) {
				bad++;
				diag("iteration %d value %d does not round-trip", it, k);
				break;
			}
		}
		json_decref(j);
	}
	ok(bad == 0, "3000 events of random bytes: valid JSON, exact round trip");
}

static void test_syslog_header(void)
{
	char h[512];

	hutch_syslog_header(h, sizeof(h), 14, "2026-11-26T22:00:00.123456Z", "my host\x01", "hutch",
			    42, "exec");
	is_str(h, "<14>1 2026-11-26T22:00:00.123456Z myhost hutch 42 exec - ",
	       "RFC 5424 header, fields reduced to PRINTUSASCII");
	hutch_syslog_header(h, sizeof(h), 12, "2026-11-26T22:00:00.123456Z", "", "hutch", 1,
			    "deny");
	is_str(h, "<12>1 2026-11-26T22:00:00.123456Z - hutch 1 deny - ", "empty host -> '-'");
	is_int(hutch_syslog_header(h, 10, 14, "t", "h", "a", 1, "m"), 0, "no room -> 0");
}

static int count_lines(const char *path, int *bad)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lines = 0;

	*bad = 0;
	if (!f)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *j = parse_line(line, (size_t)n);
		lines++;
		if (!j || !json_object_get(j, "v") || !json_object_get(j, "ts") ||
		    !json_object_get(j, "sandbox") || !json_object_get(j, "event"))
			(*bad)++;
		json_decref(j);
	}
	free(line);
	fclose(f);
	return lines;
}

static void test_file_sink(void)
{
	struct hutch_audit_sink *s = NULL;
	hutch_error err = {0};
	char path[512], link[512];
	int bad, r;

	snprintf(path, sizeof(path), "%s/deep/er/audit.jsonl", tmpdir);
	r = hutch_audit_sink_open(path, &s, &err);
	ok(r == 0, "file sink: parent directories created (%s)", err.msg);
	if (r == 0) {
		struct stat st;
		stat(path, &st);
		is_int(st.st_mode & 0777, 0600, "  the log is created 0600");
		ok(fcntl(STDERR_FILENO, F_GETFD) >= 0, "  stderr untouched");
		hutch_audit_sink_free(s);
	}
	snprintf(link, sizeof(link), "%s/link.jsonl", tmpdir);
	(void)!symlink(path, link);
	memset(&err, 0, sizeof(err));
	r = hutch_audit_sink_open(link, &s, &err);
	ok(r == -ELOOP, "a symlink as the audit file is refused");
	like(err.msg, "symbolic link", "  and says why");
	is_int(err.status, HUTCH_EXIT_ERROR, "  exit status 125");
	r = hutch_audit_sink_open(tmpdir, &s, &err);
	ok(r < 0, "a directory as the audit file is refused");
	r = hutch_audit_sink_open("/proc/version/audit.jsonl", &s, &err);
	ok(r < 0 && err.status == HUTCH_EXIT_ERROR, "an impossible path fails with status 125");
	like(err.msg, "audit log /proc/version/audit.jsonl", "  naming the path");

	/* concurrent appenders of large events: no torn or interleaved lines */
	snprintf(path, sizeof(path), "%s/concurrent.jsonl", tmpdir);
	for (int c = 0; c < 8; c++) {
		pid_t pid = fork();
		if (pid == 0) {
			static char val[HUTCH_AUDIT_MAX_VALUE];
			const char *vv[12];
			if (hutch_audit_sink_open(path, &s, NULL) < 0)
				_exit(1);
			memset(val, 'a' + c, sizeof(val) - 1);
			for (int k = 0; k < 12; k++)
				vv[k] = val;
			for (int i = 0; i < 200; i++) {
				struct hutch_event e;
				size_t len;
				hutch_event_begin(&e, buf, sizeof(buf), "exec", "c", &ts0);
				hutch_event_i64(&e, "i", i);
				hutch_event_strv(&e, "process.command_args", vv, NULL,
						 (size_t)(i % 12) + 1);
				len = hutch_event_end(&e);
				if (hutch_audit_sink_write(s, "exec", false, &ts0, buf, len) < 0)
					_exit(2);
			}
			hutch_audit_sink_free(s);
			_exit(0);
		}
	}
	{
		int st, fails = 0;
		while (wait(&st) > 0)
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				fails++;
		is_int(fails, 0, "8 concurrent writers finished");
		is_int(count_lines(path, &bad), 1600, "1600 lines of up to ~50 KB each");
		is_int(bad, 0, "  every line parses and carries v, ts, sandbox, event");
	}
}

static void test_syslog_sink(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct hutch_audit_sink *s = NULL;
	hutch_error err = {0};
	char msg[HUTCH_AUDIT_MAX_EVENT + 1024];
	struct hutch_event e;
	size_t len;
	ssize_t n;
	int fd, r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/log.sock", tmpdir);
	r = hutch_audit_sink_open_syslog(sa.sun_path, &s, &err);
	ok(r < 0 && err.status == HUTCH_EXIT_ERROR, "syslog: no socket -> error, status 125");
	like(err.msg, "cannot connect", "  saying it cannot connect");
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ok(0, "bind a datagram socket: %s", strerror(errno));
		return;
	}
	r = hutch_audit_sink_open_syslog(sa.sun_path, &s, &err);
	ok(r == 0, "syslog sink connects to a datagram socket (%s)", err.msg);
	if (r < 0)
		return;
	hutch_event_begin(&e, buf, sizeof(buf), "deny", "abc", &ts0);
	hutch_event_str(&e, "reason", "say \"hi\"\n");
	len = hutch_event_end(&e);
	r = hutch_audit_sink_write(s, "deny", true, &ts0, buf, len);
	ok(r == 0, "syslog write");
	n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
	ok(n > 0, "one datagram received");
	if (n > 0) {
		char *json;
		json_t *j;
		msg[n] = '\0';
		like(msg, "<12>1 2026-11-26T22:00:00.123456Z ",
		     "  RFC 5424: PRI (user.warning), "
		     "version, timestamp");
		like(msg, " hutch ", "  APP-NAME hutch");
		like(msg, " deny - {", "  MSGID = event type, no structured data, JSON message");
		json = strchr(msg, '{');
		j = json ? json_loads(json, 0, NULL) : NULL;
		ok(j && !strcmp(json_string_value(json_object_get(j, "reason")), "say \"hi\"\n"),
		   "  the message is the event's JSON (no trailing newline)");
		ok(msg[n - 1] == '}', "  which ends the datagram");
		json_decref(j);
	}
	hutch_audit_sink_free(s);
	close(fd);
}

static const char *tail_file(const char *path, char *all, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, all, cap - 1) : -1;

	all[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	return all;
}

/* The line of event @type (@nth one), parsed. */
static json_t *find_event(const char *all, const char *type, int nth)
{
	const char *p = all;

	while (*p) {
		const char *nl = strchr(p, '\n');
		json_t *j;
		if (!nl)
			break;
		j = parse_line(p, (size_t)(nl - p + 1));
		if (j && !strcmp(json_string_value(json_object_get(j, "event")), type) &&
		    nth-- == 0)
			return j;
		json_decref(j);
		p = nl + 1;
	}
	return NULL;
}

static void file_write(const char *dir, const char *name, const char *s)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (f) {
		fputs(s, f);
		fclose(f);
	}
}

static void test_session(void)
{
	hutch_policy *p = hutch_policy_new();
	struct hutch_audit_sink *s = NULL;
	struct hutch_audit *a = NULL;
	struct hutch_run_summary sum;
	hutch_error err = {0};
	char ws[512], log[512], sub[600], f[600];
	static char all[1 << 20];
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)"echo hi", NULL};
	int r;
	json_t *j;

	snprintf(ws, sizeof(ws), "%s/ws", tmpdir);
	snprintf(log, sizeof(log), "%s/session.jsonl", tmpdir);
	mkdir(ws, 0755);
	file_write(ws, "keep", "1");
	file_write(ws, "change", "1");
	file_write(ws, "remove", "1");
	snprintf(sub, sizeof(sub), "%s/olddir", ws);
	mkdir(sub, 0755);
	file_write(sub, "inner", "x");
	r = hutch_policy_set(p, HUTCH_KEY_WORKSPACE, ws, "test", &err);
	if (r >= 0)
		r = hutch_policy_add(p, HUTCH_LIST_CMD_DENY, "sudo *", "test:1", &err);
	if (r >= 0)
		r = hutch_policy_finalize(p, tmpdir, &err);
	ok(r == 0, "policy for a session (%s)", err.msg);
	if (r < 0)
		return;
	r = hutch_audit_sink_open(log, &s, &err);
	if (r == 0)
		r = hutch_audit_new_with_sink(p, "feedfacefeedface", s, &a);
	ok(r == 0, "session with a file sink");
	if (r < 0)
		return;
	ok(hutch_audit_enabled(a) && hutch_audit_wants_exec(a), "enabled, wants exec events");
	hutch_audit_started(a, HUTCH_LAYER_USERNS | HUTCH_LAYER_SECCOMP, 0, false, argv, NULL);

	/* what the workload does */
	file_write(ws, "new", "new file");
	file_write(ws, "change", "changed!");
	snprintf(f, sizeof(f), "%s/remove", ws);
	unlink(f);
	snprintf(f, sizeof(f), "%s/inner", sub);
	unlink(f);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/newdir", ws);
	mkdir(sub, 0755);

	{
		const char *av[] = {"pip", "install", "requests"};
		size_t al[] = {3, 7, 8};
		struct hutch_exec_info x = {.pid = 100,
					    .ppid = 99,
					    .path = "/usr/bin/pip",
					    .name = "pip",
					    .cwd = ws,
					    .argv = av,
					    .arglen = al,
					    .argc = 3,
					    .args_count = 3};
		struct hutch_package pk;
		hutch_audit_exec(a, &x, true, NULL, NULL);
		ok(hutch_package_detect("pip", av, 3, &pk), "pip install detected");
		hutch_audit_package(a, &x, &pk, 1);
	}
	{
		const char *av[] = {"sudo", "rm", "x"};
		struct hutch_exec_info x = {.pid = 101,
					    .ppid = 99,
					    .path = "/usr/bin/sudo",
					    .name = "sudo",
					    .cwd = ws,
					    .argv = av,
					    .arglen = (size_t[]){4, 2, 1},
					    .argc = 3,
					    .args_count = 3};
		hutch_audit_exec(a, &x, false, &p->cmd_deny.v[0], "matches a commands.deny rule");
	}
	{
		struct hutch_proxy_record rec = {.via = HUTCH_PROXY_VIA_CONNECT,
						 .host = "pypi.org",
						 .port = 443,
						 .address = "151.101.0.223",
						 .allowed = true,
						 .rule = "pypi.org",
						 .origin = "profile",
						 .reason = "closed",
						 .bytes_up = 10,
						 .bytes_down = 2000,
						 .duration_ms = 31};
		rec.phase = HUTCH_PROXY_OPEN;
		hutch_audit_proxy_record(&rec, a); /* when it was made: not counted twice */
		rec.phase = HUTCH_PROXY_END;
		hutch_audit_proxy_record(&rec, a);
		rec.host = "github.com";
		rec.outcome = HUTCH_PROXY_FAILED;
		rec.reason = "cannot resolve github.com: Domain name not found";
		hutch_audit_proxy_record(&rec, a);
		rec.outcome = HUTCH_PROXY_REFUSED;
		rec.host = "evil.example";
		rec.allowed = false;
		rec.rule = NULL;
		rec.reason = "not in the allowlist";
		rec.address = "";
		hutch_audit_proxy_record(&rec, a);
		hutch_audit_proxy_record(&rec, a);
		rec.host = "169.254.169.254";
		rec.port = 80;
		hutch_audit_proxy_record(&rec, a);
	}
	hutch_audit_limit(a, "timeout", 5000, "the command ran longer than 5000 ms");
	hutch_audit_finish(a, 0, 0, false, NULL, &sum);
	hutch_audit_free(a);

	tail_file(log, all, sizeof(all));
	{
		int bad, n = count_lines(log, &bad);
		ok(n >= 10 && bad == 0, "%d lines, all valid with the common fields", n);
	}
	j = find_event(all, "start", 0);
	ok(j != NULL, "start event");
	if (j) {
		like(json_string_value(json_object_get(j, "policy.digest")),
		     "sha256:", "  policy digest");
		is_str(json_string_value(json_object_get(j, "hutch.version")), HUTCH_VERSION,
		       "  hutch version");
		is_int(json_array_size(json_object_get(j, "layers")), 2, "  layers listed");
		is_str(json_string_value(json_object_get(j, "workspace")), ws, "  workspace");
		json_decref(j);
	}
	j = find_event(all, "exec", 0);
	ok(j && json_integer_value(json_object_get(j, "process.pid")) == 100 &&
		   json_integer_value(json_object_get(j, "process.parent_pid")) == 99 &&
		   !strcmp(json_string_value(json_object_get(j, "process.executable.path")),
			   "/usr/bin/pip") &&
		   !strcmp(json_string_value(json_object_get(j, "process.working_directory")),
			   ws) &&
		   json_array_size(json_object_get(j, "process.command_args")) == 3 &&
		   !strcmp(json_string_value(json_object_get(j, "decision")), "allow") &&
		   json_is_null(json_object_get(j, "rule")),
	   "exec event with the OpenTelemetry process fields, decision and rule");
	json_decref(j);
	j = find_event(all, "package", 0);
	ok(j && !strcmp(json_string_value(json_object_get(j, "package.manager")), "pip") &&
		   !strcmp(json_string_value(
				   json_array_get(json_object_get(j, "package.names"), 0)),
			   "requests"),
	   "package event: pip, requests");
	json_decref(j);
	j = find_event(all, "deny", 0);
	ok(j && !strcmp(json_string_value(json_object_get(j, "layer")), "commands") &&
		   !strcmp(json_string_value(json_object_get(j, "rule")), "sudo *") &&
		   !strcmp(json_string_value(json_object_get(j, "rule_origin")), "test:1") &&
		   !strcmp(json_string_value(json_object_get(j, "decision")), "deny"),
	   "deny event for the command: layer, rule, origin, decision");
	json_decref(j);
	j = find_event(all, "net", 1); /* the close event (the open one comes first) */
	ok(j && !strcmp(json_string_value(json_object_get(j, "server.address")), "pypi.org") &&
		   json_integer_value(json_object_get(j, "server.port")) == 443 &&
		   json_integer_value(json_object_get(j, "bytes_down")) == 2000 &&
		   !strcmp(json_string_value(json_object_get(j, "rule")), "pypi.org"),
	   "net event from a proxy record");
	json_decref(j);
	j = find_event(all, "net", 0);
	ok(j && !strcmp(json_string_value(json_object_get(j, "phase")), "open") &&
		   !strcmp(json_string_value(json_object_get(j, "outcome")), "connected") &&
		   !json_object_get(j, "bytes_up"),
	   "net event when the connection is made: phase open, no bytes yet");
	json_decref(j);
	j = find_event(all, "net", 2);
	ok(j && !strcmp(json_string_value(json_object_get(j, "outcome")), "failed") &&
		   !strcmp(json_string_value(json_object_get(j, "decision")), "allow") &&
		   strstr(json_string_value(json_object_get(j, "reason")), "cannot resolve"),
	   "a failed connection: outcome failed with the reason, not a plain allow");
	json_decref(j);
	j = find_event(all, "deny", 1);
	ok(j && !strcmp(json_string_value(json_object_get(j, "layer")), "network") &&
		   !strcmp(json_string_value(json_object_get(j, "server.address")),
			   "evil.example") &&
		   json_is_null(json_object_get(j, "rule")),
	   "deny event for a refused connection");
	json_decref(j);
	j = find_event(all, "limit", 0);
	ok(j && !strcmp(json_string_value(json_object_get(j, "limit")), "timeout"), "limit event");
	json_decref(j);
	{
		int created = 0, modified = 0, deleted = 0;
		for (int i = 0; (j = find_event(all, "file", i)); i++) {
			const char *c = json_string_value(json_object_get(j, "change"));
			const char *path = json_string_value(json_object_get(j, "file.path"));
			if (!strcmp(c, "created") &&
			    (strstr(path, "/new") || strstr(path, "/newdir")))
				created++;
			if (!strcmp(c, "modified") && strstr(path, "/change"))
				modified++;
			if (!strcmp(c, "deleted") &&
			    (strstr(path, "/remove") || strstr(path, "/olddir")))
				deleted++;
			if (strstr(path, "/keep"))
				diag("unchanged file reported: %s %s", c, path);
			json_decref(j);
		}
		is_int(created, 2, "file events: new file and new directory created");
		is_int(modified, 1, "  the changed file modified");
		is_int(deleted, 3, "  the removed file, directory and its content deleted");
	}
	j = find_event(all, "end", 0);
	ok(j && json_integer_value(json_object_get(j, "process.exit.code")) == 0 &&
		   json_integer_value(json_object_get(json_object_get(j, "counts"), "exec")) == 1 &&
		   json_integer_value(
			   json_object_get(json_object_get(j, "counts"), "net_denied")) == 3 &&
		   json_is_true(json_object_get(json_object_get(j, "files"), "complete")),
	   "end event: exit code, counts, files complete");
	json_decref(j);
	ok(sum.valid && sum.audited && sum.commands == 1 && sum.commands_denied == 1 &&
		   sum.packages == 1 && sum.net_allowed == 1 && sum.net_denied == 3 &&
		   sum.net_failed == 1 && sum.files_created == 2 && sum.files_modified == 1 &&
		   sum.files_deleted == 3,
	   "summary counts");
	is_str(sum.denied_hosts, "evil.example:443, 169.254.169.254:80",
	       "summary: denied hosts, distinct, in order");
	is_str(sum.denied_commands, "sudo rm x", "summary: refused commands");
	is_str(sum.failed_hosts, "github.com:443: cannot resolve github.com: Domain name not found",
	       "summary: failed connections with their cause");
	is_str(sum.sandbox, "feedfacefeedface", "summary: sandbox id");
	hutch_policy_free(p);
}

struct fctx {
	int created, modified, deleted;
};

static void fcb(const struct hutch_fchange_info *c, void *data)
{
	struct fctx *x = data;

	if (c->change == HUTCH_FILE_CREATED)
		x->created++;
	else if (c->change == HUTCH_FILE_MODIFIED)
		x->modified++;
	else
		x->deleted++;
}

static void test_filescan_budget(void)
{
	char root[512], d[600];
	struct hutch_fsnap *b = NULL, *a = NULL;
	struct hutch_fscan_limits lim = {.max_entries = 10};
	const char *roots[1];
	struct fctx c = {0};

	snprintf(root, sizeof(root), "%s/scan", tmpdir);
	mkdir(root, 0755);
	for (int i = 0; i < 30; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%02d", i);
		file_write(root, name, "x");
	}
	roots[0] = root;
	ok(hutch_fsnap_take(roots, 1, NULL, 0, &lim, &b) == 0,
	   "snapshot with a budget of 10 entries");
	is_str(hutch_fsnap_cut_reason(b), "entries", "  cut short: entries");
	is_int(hutch_fsnap_count(b), 10, "  10 entries kept (f00..f09)");
	sleep(0); /* mtimes differ by content size anyway */
	file_write(root, "f00", "changed");
	file_write(root, "a0", "new, sorts before the cut");
	file_write(root, "g0", "new, sorts after the cut");
	snprintf(d, sizeof(d), "%s/f05", root);
	unlink(d);
	lim.max_entries = 0;
	ok(hutch_fsnap_take(roots, 1, NULL, 0, &lim, &a) == 0 && !hutch_fsnap_cut_reason(a),
	   "full snapshot after");
	ok(!hutch_fsnap_diff(b, a, fcb, &c), "diff with a cut 'before': incomplete");
	is_int(c.created, 1, "  only the creation before the cut point is reported");
	is_int(c.modified, 1, "  the modification before the cut point");
	is_int(c.deleted, 1, "  the deletion before the cut point");
	hutch_fsnap_free(b);
	b = a;
	a = NULL;
	/* reverse: the 'after' walk is cut; deletions beyond its end are unknown, not reported */
	snprintf(d, sizeof(d), "%s/f20", root);
	unlink(d);
	snprintf(d, sizeof(d), "%s/a0", root);
	unlink(d);
	lim.max_entries = 5;
	memset(&c, 0, sizeof(c));
	ok(hutch_fsnap_take(roots, 1, NULL, 0, &lim, &a) == 0, "cut snapshot after");
	ok(!hutch_fsnap_diff(b, a, fcb, &c), "diff with a cut 'after': incomplete");
	is_int(c.deleted, 1, "  a0 deleted (before the cut), f20 not claimed");
	hutch_fsnap_free(a);
	hutch_fsnap_free(b);

	/* excluded path and time budget */
	snprintf(d, sizeof(d), "%s/f01", root);
	lim.max_entries = 0;
	ok(hutch_fsnap_take(roots, 1, (const char *[]){d}, 1, &lim, &b) == 0,
	   "snapshot excluding a path");
	{
		size_t before = hutch_fsnap_count(b);
		hutch_fsnap_free(b);
		ok(hutch_fsnap_take(roots, 1, NULL, 0, &lim, &b) == 0 &&
			   hutch_fsnap_count(b) == before + 1,
		   "  the excluded path is left out");
		hutch_fsnap_free(b);
	}
	for (int i = 0; i < 4000; i++) {
		char name[16];
		snprintf(name, sizeof(name), "t%04d", i);
		file_write(root, name, "");
	}
	lim.max_ms = 1;
	{
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ok(hutch_fsnap_take(roots, 1, NULL, 0, &lim, &b) == 0,
		   "snapshot with a 1 ms budget");
		clock_gettime(CLOCK_MONOTONIC, &t1);
		is_str(hutch_fsnap_cut_reason(b), "time", "  cut short: time");
		ok((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 200,
		   "  and it returned promptly");
		hutch_fsnap_free(b);
	}
}

/* The periodic comparison: a cut interim scan keeps the old baseline past its cut. */
static void test_filescan_merge(void)
{
	char root[512], d[600];
	struct hutch_fsnap *base = NULL, *now = NULL, *end = NULL;
	struct hutch_fscan_limits lim = {0};
	const char *roots[1];
	struct fctx c = {0};

	snprintf(root, sizeof(root), "%s/merge", tmpdir);
	mkdir(root, 0755);
	for (int i = 0; i < 20; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%02d", i);
		file_write(root, name, "x");
	}
	roots[0] = root;
	ok(hutch_fsnap_take(roots, 1, NULL, 0, &lim, &base) == 0 && !hutch_fsnap_cut_reason(base),
	   "merge: full baseline");
	file_write(root, "f01", "changed early");
	file_write(root, "f15", "changed late");
	lim.max_entries = 5;
	ok(hutch_fsnap_take(roots, 1, NULL, 0, &lim, &now) == 0 &&
		   hutch_fsnap_cut_reason(now) != NULL,
	   "merge: interim scan cut after 5 entries");
	hutch_fsnap_diff(base, now, fcb, &c);
	is_int(c.modified, 1, "  the interim scan reports the change before its cut");
	ok(hutch_fsnap_merge_tail(now, base) == 0, "  merged with the baseline's tail");
	ok(hutch_fsnap_cut_reason(now) == NULL, "  the merged baseline is complete");
	is_int(hutch_fsnap_count(now), 20, "  and holds every entry once");
	snprintf(d, sizeof(d), "%s/f18", root);
	unlink(d);
	lim.max_entries = 0;
	memset(&c, 0, sizeof(c));
	ok(hutch_fsnap_take(roots, 1, NULL, 0, &lim, &end) == 0, "merge: final scan");
	ok(hutch_fsnap_diff(now, end, fcb, &c), "  complete comparison");
	is_int(c.modified, 1, "  the change past the interim cut is reported at the end");
	is_int(c.deleted, 1, "  and the deletion");
	is_int(c.created, 0, "  the early change is not reported again, nothing created");
	hutch_fsnap_free(base);
	hutch_fsnap_free(now);
	hutch_fsnap_free(end);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-audit.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		diag("mkdtemp: %s", strerror(errno));
		return 1;
	}
	test_escape();
	test_timestamp();
	test_event_argv();
	test_truncation();
	test_random();
	test_syslog_header();
	test_file_sink();
	test_syslog_sink();
	test_session();
	test_filescan_budget();
	test_filescan_merge();
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
