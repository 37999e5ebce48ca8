/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit log's JSON writer, command-rule globs and package recognition on
 * arbitrary bytes. The input is split at 0x00 bytes into values: the first is
 * a command pattern, the rest an argv. Checks: an event never exceeds its
 * buffer, is one line of strict JSON (valid UTF-8), and "raw" gives back the
 * exact bytes of every argument that was not cut.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/cmdrules.h"
#include "audit/package.h"

#define MAXV 64

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
			abort();
		v = (v << 6) | (uint32_t)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(v >> bits);
		}
	}
	return o;
}

static void check_event(const char *buf, size_t len, size_t cap, const char *const *v,
			const size_t *lens, size_t n)
{
	json_t *j, *args, *raw;

	if (len > cap || len < 2 || buf[len - 1] != '\n' || memchr(buf, '\n', len - 1))
		abort();
	j = json_loadb(buf, len, JSON_ALLOW_NUL, NULL);
	if (!j || !json_is_object(j))
		abort();
	args = json_object_get(j, "a");
	raw = json_object_get(json_object_get(j, "raw"), "a");
	if (!json_is_true(json_object_get(j, "truncated"))) {
		/* nothing cut: every element is there and exact */
		if (json_array_size(args) != n)
			abort();
		for (size_t i = 0; i < n; i++) {
			json_t *r = raw ? json_array_get(raw, i) : NULL;
			uint8_t out[8192];
			size_t l;
			if (r && json_is_string(r)) {
				l = b64dec(json_string_value(r), out);
			} else {
				json_t *s = json_array_get(args, i);
				l = json_string_length(s);
				memcpy(out, json_string_value(s), l);
			}
			if (l != lens[i] || memcmp(out, v[i], l) != 0)
				abort();
		}
	}
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char big[HUTCH_AUDIT_MAX_EVENT], small[300];
	static const struct timespec ts = {1, 2};
	const char *v[MAXV];
	size_t lens[MAXV], n = 0, start = 0;
	char *copy = malloc(size + 1);
	struct hutch_event e;
	size_t len;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t i = 0; i <= size && n < MAXV; i++) {
		if (i == size || copy[i] == '\0') {
			v[n] = copy + start;
			lens[n] = i - start;
			n++;
			start = i + 1;
		}
	}

	hutch_event_begin(&e, big, sizeof(big), "exec", "fuzz", &ts);
	hutch_event_strn(&e, "p", v[0], lens[0]);
	hutch_event_strv(&e, "a", v + 1, lens + 1, n - 1);
	len = hutch_event_end(&e);
	check_event(big, len, sizeof(big), v + 1, lens + 1, n - 1);

	hutch_event_begin(&e, small, sizeof(small), "exec", "fuzz", &ts);
	hutch_event_object_begin(&e, "o");
	hutch_event_strv(&e, "a", v + 1, lens + 1, n - 1);
	hutch_event_strn(&e, "p", v[0], lens[0]);
	len = hutch_event_end(&e);
	{
		json_t *j =
			len <= sizeof(small) ? json_loadb(small, len, JSON_ALLOW_NUL, NULL) : NULL;
		if (!j)
			abort();
		json_decref(j);
	}

	/* rules and packages: C strings (argv cannot hold NUL): must not crash or hang */
	{
		struct hutch_cmd c = {.path = n > 1 ? v[1] : NULL, .argv = v + 1, .argc = n - 1};
		static char joined[HUTCH_CMD_MAX_ARGS_JOINED];
		struct hutch_package pk;
		c.args = joined;
		c.args_len = hutch_cmd_join_args(v + 1, NULL, n - 1, joined, sizeof(joined));
		(void)hutch_cmd_pattern_match(v[0], &c, true);
		(void)hutch_cmd_pattern_match(v[0], &c, false);
		(void)hutch_glob(v[0], lens[0], joined, c.args_len);
		if (n > 1)
			(void)hutch_package_detect(v[1], v + 1, n - 1, &pk);
	}
	free(copy);
	return 0;
}
