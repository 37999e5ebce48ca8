/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Lexically normalise an absolute path: collapse "//", "/./", "/../"; no trailing "/". */
char *hutch_path_normalize(const char *path);

/*
 * Expand "~", "~/x", "$VAR", "${VAR}" (against @home and the environment) and
 * make a relative path absolute against @base. Returns a malloc'd normalised path
 * or NULL with errno set (EINVAL for an undefined variable or empty path).
 */
char *hutch_path_expand(const char *in, const char *home, const char *base);

/* True if @path equals @prefix or lies beneath it (both normalised). */
bool hutch_path_has_prefix(const char *path, const char *prefix);

/* Join two path pieces with one "/". */
char *hutch_path_join(const char *a, const char *b);
