/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Walking a JSON document with positions, for the policy loader (config.c) and the
 * sandbox-runtime importer (srt.c): a small pure locator over the raw bytes finds
 * the key or element a message is about, and says it as file:line:column.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "base/escape.h"
#include "policy/json.h"

static void skip_ws(const uint8_t *b, size_t len, size_t *i)
{
	while (*i < len && (b[*i] == ' ' || b[*i] == '\t' || b[*i] == '\n' || b[*i] == '\r'))
		(*i)++;
}

/* @i at the opening quote; leaves @i after the closing quote. */
int hutch_json_skip_string(const uint8_t *b, size_t len, size_t *i)
{
	if (*i >= len || b[*i] != '"')
		return -EINVAL;
	for ((*i)++; *i < len; (*i)++) {
		if (b[*i] == '\\') {
			(*i)++;
			continue;
		}
		if (b[*i] == '"') {
			(*i)++;
			return 0;
		}
	}
	return -EINVAL;
}

/* Skip any value; containers are skipped by counting brackets outside strings. */
static int skip_value(const uint8_t *b, size_t len, size_t *i)
{
	size_t depth = 0;

	if (*i >= len)
		return -EINVAL;
	if (b[*i] != '{' && b[*i] != '[' && b[*i] != '"') {
		while (*i < len && !strchr(",]} \t\r\n", b[*i]))
			(*i)++;
		return 0;
	}
	do {
		if (*i >= len)
			return -EINVAL;
		if (b[*i] == '"') {
			if (hutch_json_skip_string(b, len, i) < 0)
				return -EINVAL;
			continue;
		}
		if (b[*i] == '{' || b[*i] == '[')
			depth++;
		else if (b[*i] == '}' || b[*i] == ']')
			depth--;
		(*i)++;
	} while (depth > 0);
	return 0;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the JSON string token b[start..end) (quotes included) and compare with @key. */
static bool key_equals(const uint8_t *b, size_t start, size_t end, const char *key)
{
	size_t k = 0, klen = strlen(key);

	for (size_t i = start + 1; i + 1 < end;) {
		uint8_t out[4];
		size_t n = 1;

		if (b[i] != '\\') {
			out[0] = b[i++];
		} else if (i + 1 < end - 1 && b[i + 1] != 'u') {
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			const char *f = strchr(from, b[i + 1]);

			if (!f || !*f)
				return false;
			out[0] = (uint8_t)to[f - from];
			i += 2;
		} else {
			uint32_t cp = 0;

			for (int j = 0; j < 4; j++) {
				int h = i + 2 + (size_t)j < end ? hexval(b[i + 2 + j]) : -1;

				if (h < 0)
					return false;
				cp = cp << 4 | (uint32_t)h;
			}
			i += 6;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < end && b[i] == '\\' &&
			    b[i + 1] == 'u') {
				uint32_t lo = 0;

				for (int j = 0; j < 4; j++) {
					int h = hexval(b[i + 2 + j]);

					if (h < 0)
						return false;
					lo = lo << 4 | (uint32_t)h;
				}
				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
			}
			if (cp < 0x80) {
				out[0] = (uint8_t)cp;
			} else if (cp < 0x800) {
				out[0] = (uint8_t)(0xc0 | cp >> 6);
				out[1] = (uint8_t)(0x80 | (cp & 0x3f));
				n = 2;
			} else if (cp < 0x10000) {
				out[0] = (uint8_t)(0xe0 | cp >> 12);
				out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
				out[2] = (uint8_t)(0x80 | (cp & 0x3f));
				n = 3;
			} else {
				out[0] = (uint8_t)(0xf0 | cp >> 18);
				out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
				out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
				out[3] = (uint8_t)(0x80 | (cp & 0x3f));
				n = 4;
			}
		}
		if (k + n > klen || memcmp(key + k, out, n) != 0)
			return false;
		k += n;
	}
	return k == klen;
}

int hutch_json_locate(const uint8_t *b, size_t len, const struct hutch_jpath *path, size_t depth,
		      bool at_key, size_t *offset)
{
	size_t i = 0;

	if (!b || !offset)
		return -EINVAL;
	skip_ws(b, len, &i);
	for (size_t d = 0; d < depth; d++) {
		bool last = d + 1 == depth;

		if (path[d].key) {
			if (i >= len || b[i] != '{')
				return -ENOENT;
			i++;
			for (;;) {
				size_t ks, ke;

				skip_ws(b, len, &i);
				if (i >= len || b[i] != '"')
					return -ENOENT;
				ks = i;
				if (hutch_json_skip_string(b, len, &i) < 0)
					return -EINVAL;
				ke = i;
				skip_ws(b, len, &i);
				if (i >= len || b[i] != ':')
					return -EINVAL;
				i++;
				skip_ws(b, len, &i);
				if (key_equals(b, ks, ke, path[d].key)) {
					if (last && at_key) {
						*offset = ks;
						return 0;
					}
					break;
				}
				if (skip_value(b, len, &i) < 0)
					return -EINVAL;
				skip_ws(b, len, &i);
				if (i >= len || b[i] != ',')
					return -ENOENT;
				i++;
			}
		} else {
			if (i >= len || b[i] != '[')
				return -ENOENT;
			i++;
			for (size_t n = 0;; n++) {
				skip_ws(b, len, &i);
				if (i >= len || b[i] == ']')
					return -ENOENT;
				if (n == path[d].index)
					break;
				if (skip_value(b, len, &i) < 0)
					return -EINVAL;
				skip_ws(b, len, &i);
				if (i >= len || b[i] != ',')
					return -ENOENT;
				i++;
			}
		}
	}
	*offset = i;
	return 0;
}

void hutch_json_linecol(const uint8_t *b, size_t len, size_t offset, unsigned *line, unsigned *col)
{
	unsigned l = 1, c = 1;

	for (size_t i = 0; i < offset && i < len; i++) {
		if (b[i] == '\n') {
			l++;
			c = 1;
		} else if ((b[i] & 0xc0) != 0x80) {
			c++; /* count characters, not UTF-8 continuation bytes (like jansson) */
		}
	}
	*line = l;
	*col = c;
}

const char *hutch_json_where(const char *name, const uint8_t *data, size_t len,
			     const struct hutch_jpath *path, size_t depth, bool at_key, char *buf,
			     size_t size)
{
	unsigned line = 1, col = 1;
	size_t off = 0;

	if (depth == 0 || hutch_json_locate(data, len, path, depth, at_key, &off) == 0)
		hutch_json_linecol(data, len, off, &line, &col);
	snprintf(buf, size, "%s:%u:%u", name, line, col);
	return buf;
}

const char *hutch_json_dotted(const struct hutch_jpath *path, size_t depth, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t d = 0; d < depth && o < size; d++) {
		int n;

		char k[256];

		if (path[d].key) /* a key may hold any character: shown escaped */
			n = snprintf(buf + o, size - o, "%s%s", d ? "." : "",
				     hutch_escape_str(path[d].key, k, sizeof(k), 0));
		else
			n = snprintf(buf + o, size - o, "[%zu]", path[d].index);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	return buf;
}

const char *hutch_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}
