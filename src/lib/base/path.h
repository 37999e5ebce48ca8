/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Longest path we accept anywhere in a policy (bytes, without the NUL). */
#define HUTCH_PATH_MAX 4095

/*
 * Lexically normalise a path: collapse "//" and "/./", resolve "/../" against
 * the previous component, drop a trailing "/". An absolute path stays absolute
 * ("/.." is "/"); a relative one stays relative and keeps leading ".." ("a/../.."
 * is ".."; "./" alone is "."). Symlinks are not looked at. Returns a malloc'd
 * string, or NULL with errno EINVAL (empty) / ENAMETOOLONG / ENOMEM.
 */
char *hutch_path_normalize(const char *path);

/*
 * Expand "~", "~/x", "$VAR", "${VAR}" (against @home and the environment) and
 * make a relative path absolute against @base. Returns a malloc'd normalised path
 * or NULL with errno set (EINVAL for an undefined variable or empty path).
 * "$HOME" expands to @home when @home is given. "~user" is not supported (EINVAL).
 * A "$" not followed by a letter, "_" or "{" is literal.
 */
char *hutch_path_expand(const char *in, const char *home, const char *base);

/*
 * Like hutch_path_expand but only expands (no base, no normalisation) and, on an
 * undefined or malformed variable, copies its name into @badvar (may be NULL).
 * The result may be relative.
 */
char *hutch_path_expand_vars(const char *in, const char *home, char *badvar, size_t badvar_size);

/* True if @path equals @prefix or lies beneath it (both normalised). */
bool hutch_path_has_prefix(const char *path, const char *prefix);

/* True if any component of @path is "..". */
bool hutch_path_has_dotdot(const char *path);

/* Join two path pieces with one "/". */
char *hutch_path_join(const char *a, const char *b);

/*
 * The path the kernel gives open file @fd (/proc/self/fd/N) in @out: its length, or -errno
 * (-ENAMETOOLONG when it does not fit), with @out "" on failure.
 */
int hutch_fd_path(int fd, char *out, size_t size);
