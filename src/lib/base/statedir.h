/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hutch's state directories ($XDG_STATE_HOME/hutch/...) and the names of what lives in
 * them: the ephemeral sessions (session/session.c) and the named ones (session/named.c)
 * are found and named the same way.
 */
#pragma once

#include <stddef.h>

#include "hutch.h"

/*
 * $XDG_STATE_HOME/hutch/@what, else $HOME/.local/state/hutch/@what (malloc'd). NULL
 * when neither is an absolute path, or out of memory.
 */
char *hutch_state_dir(const char *what);

/*
 * A session's name, a directory of a state directory: 1 to @max letters, digits, '.',
 * '_' or '-', not starting with '.' or '-'. 0, or -EINVAL with the message in @err.
 */
int hutch_state_check_name(const char *name, size_t max, hutch_error *err);

/*
 * @dir/<hash of @key>: the file of a cache kept per path (a writable root's walk or
 * repository search), named by the first 128 bits of the path's SHA-256 in hex
 * (malloc'd; NULL when out of memory).
 */
char *hutch_state_keyed_path(const char *dir, const char *key);

/*
 * The whole of hutch_state_keyed_path(@dir, @key), NUL-terminated at *@len (it may
 * hold NULs of its own): a regular file, not a symbolic link, of this user, writable
 * by nobody else, of 1 to @max bytes. NULL for anything else (no cache).
 */
char *hutch_state_read_keyed(const char *dir, const char *key, size_t max, size_t *len);
