/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Escaping text for display (see escape.h). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "escape.h"

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), 0 if not valid. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Code points a terminal or a reader must never get raw. */
static bool cp_unsafe(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e ||
	       c == 0x200f || c == 0x061c;
}

/* The escape of one unsafe byte, into @o (5 bytes of room); its length. */
static size_t esc_byte(unsigned char c, char *o)
{
	static const char hex[] = "0123456789abcdef";

	o[0] = '\\';
	switch (c) {
	case '\n':
		o[1] = 'n';
		return 2;
	case '\t':
		o[1] = 't';
		return 2;
	case '\r':
		o[1] = 'r';
		return 2;
	case '\\':
	case '"':
		o[1] = (char)c;
		return 2;
	default:
		o[1] = 'x';
		o[2] = hex[c >> 4];
		o[3] = hex[c & 15];
		return 4;
	}
}

const char *hutch_escape(const char *in, size_t n, char *buf, size_t size, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0;

	if (size == 0)
		return buf;
	while (i < n) {
		char tmp[16];
		size_t tl = 0, step;
		uint32_t cp = 0;

		step = utf8_len(s + i, n - i, &cp);
		if (step && !cp_unsafe(cp) &&
		    !((cp == '"' || cp == '\\') && (flags & HUTCH_ESC_QUOTE))) {
			memcpy(tmp, s + i, step);
			tl = step;
		} else {
			if (step == 0)
				step = 1;
			for (size_t k = 0; k < step; k++)
				tl += esc_byte(s[i + k], tmp + tl);
		}
		/* room for this and, should anything follow, for "..." */
		if (o + tl + (i + step < n ? 4 : 1) > size) {
			if (o + 4 <= size) {
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(buf + o, tmp, tl);
		o += tl;
		i += step;
	}
	buf[o] = '\0';
	return buf;
}

const char *hutch_escape_str(const char *in, char *buf, size_t size, unsigned flags)
{
	return hutch_escape(in, strlen(in), buf, size, flags);
}

bool hutch_escape_needed(const char *in, size_t n)
{
	const unsigned char *s = (const unsigned char *)in;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t step = utf8_len(s + i, n - i, &cp);

		if (!step || cp_unsafe(cp))
			return true;
		i += step;
	}
	return false;
}

/* ---- JSON ---------------------------------------------------------------- */

size_t hutch_json_escape(const uint8_t *s, size_t n, char *out, size_t cap, size_t *consumed,
			 bool *invalid, unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, o = 0;

	while (i < n) {
		char tmp[8];
		const char *src = tmp;
		size_t tl = 0, adv = 1;
		uint8_t c = s[i];

		switch (c) {
		case '"':
			src = "\\\"";
			tl = 2;
			break;
		case '\\':
			src = "\\\\";
			tl = 2;
			break;
		case '\n':
			src = "\\n";
			tl = 2;
			break;
		case '\r':
			src = "\\r";
			tl = 2;
			break;
		case '\t':
			src = "\\t";
			tl = 2;
			break;
		case '\b':
			src = "\\b";
			tl = 2;
			break;
		case '\f':
			src = "\\f";
			tl = 2;
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				memcpy(tmp, "\\u00", 4);
				tmp[4] = hex[c >> 4];
				tmp[5] = hex[c & 15];
				tl = 6;
			} else if (c < 0x80) {
				tmp[0] = (char)c;
				tl = 1;
			} else {
				uint32_t cp;

				adv = utf8_len(s + i, n - i, &cp);
				if (adv == 0) {
					src = "\\ufffd";
					tl = 6;
					adv = 1;
					*invalid = true;
				} else if (adv == 2 && c == 0xC2 && s[i + 1] <= 0x9F &&
					   (flags & HUTCH_JSON_ESC_C1)) {
					memcpy(tmp, "\\u00", 4);
					tmp[4] = hex[s[i + 1] >> 4];
					tmp[5] = hex[s[i + 1] & 15];
					tl = 6;
				} else if (adv == 3 && c == 0xE2 && s[i + 1] == 0x80 &&
					   (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
					/* U+2028/9: valid JSON, not in JavaScript */
					src = s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
					tl = 6;
				} else {
					src = (const char *)s + i;
					tl = adv;
				}
			}
		}
		if (o + tl > cap)
			break;
		memcpy(out + o, src, tl);
		o += tl;
		i += adv;
	}
	*consumed = i;
	return o;
}

size_t hutch_base64(const uint8_t *s, size_t n, char *out, size_t cap)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t need = (n + 2) / 3 * 4, o = 0;

	if (need + 1 > cap)
		return 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}
