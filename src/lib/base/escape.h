/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Text from the sandbox or from a file (file names, keys, values) made safe
 * to show on a terminal or in a one-line message.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	HUTCH_ESC_QUOTE = 1 << 0, /* also '"' and '\\' as \" and \\ (a quoted value) */
};

/*
 * Copy @n bytes of @in (NULs included) into @buf (@size bytes, always
 * NUL-terminated when @size > 0), escaped for display: printable ASCII and
 * valid UTF-8 are kept; C0 controls, DEL, C1 controls (the code points
 * U+0080..U+009F and raw bytes 0x80..0x9f), the line and paragraph
 * separators, the bidirectional overrides and isolates, bytes that are not
 * valid UTF-8 are written as \n, \t, \r or \xNN per byte. What does
 * not fit is cut at a character boundary and "..." appended. Returns @buf.
 */
const char *hutch_escape(const char *in, size_t n, char *buf, size_t size, unsigned flags);

/* hutch_escape() of a NUL-terminated string. */
const char *hutch_escape_str(const char *in, char *buf, size_t size, unsigned flags);

/* Whether @n bytes of @in would not be shown unchanged by hutch_escape() (flags 0). */
bool hutch_escape_needed(const char *in, size_t n);

/* ---- JSON ---- */

enum {
	HUTCH_JSON_ESC_C1 = 1 << 0,
};

/*
 * Escape up to @n bytes of @s as the inside of a JSON string (no quotes) into
 * @out (at most @cap bytes written, no NUL). Quotes, backslashes, control
 * characters, DEL and U+2028/U+2029 are escaped; valid UTF-8 is copied; each
 * byte that is not part of valid UTF-8 (overlongs, surrogates, > U+10FFFF,
 * truncated sequences) becomes \ufffd and sets *invalid. Stops at a character
 * boundary when @out is full. Returns the bytes written; *consumed is how many
 * bytes of @s were encoded. HUTCH_JSON_ESC_C1: the C1 controls (U+0080..U+009F)
 * as \u00XX too (for text a terminal may show).
 */
size_t hutch_json_escape(const uint8_t *s, size_t n, char *out, size_t cap, size_t *consumed,
			 bool *invalid, unsigned flags);

/* Standard base64 with padding into @out (NUL-terminated); returns the length, 0 if no room. */
size_t hutch_base64(const uint8_t *s, size_t n, char *out, size_t cap);
