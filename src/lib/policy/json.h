/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Walking JSON documents with positions: shared by config.c and srt.c (json.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* One step of a path into a JSON document: an object key, or (key NULL) an array index. */
struct hutch_jpath {
	const char *key;
	size_t index;
};

/*
 * Find, in the raw JSON text @buf (already known to be valid JSON), the byte
 * offset of the value at @path, or of its key token when @at_key and the last
 * step is a key. Keys are compared after decoding escapes. Pure and bounded;
 * returns 0, -ENOENT when the path is not there, -EINVAL on malformed input.
 */
int hutch_json_locate(const uint8_t *buf, size_t len, const struct hutch_jpath *path, size_t depth,
		      bool at_key, size_t *offset);
/* @i at a string's opening quote: leaves @i after its closing quote. 0 or -EINVAL. */
int hutch_json_skip_string(const uint8_t *b, size_t len, size_t *i);
/* 1-based line and column (in characters, like jansson) of byte @offset. */
void hutch_json_linecol(const uint8_t *buf, size_t len, size_t offset, unsigned *line,
			unsigned *col);

/* "@name:line:col" of @path's key (@at_key) or value in @data (its start if not found). */
const char *hutch_json_where(const char *name, const uint8_t *data, size_t len,
			     const struct hutch_jpath *path, size_t depth, bool at_key, char *buf,
			     size_t size);
/* "filesystem.hidden[2]" for @path, keys escaped for display, into @buf. */
const char *hutch_json_dotted(const struct hutch_jpath *path, size_t depth, char *buf, size_t size);
/* "an object", "a string", "a number", ... for a message. */
const char *hutch_json_type_name(const json_t *v);
