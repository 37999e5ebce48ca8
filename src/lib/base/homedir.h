/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Is a directory somebody's home? A shell reads its rc files (.bashrc,
 * .profile, .zshrc...) from $HOME (zsh: $ZDOTDIR), which login, su, sudo -i,
 * ssh and cron take from the user database: such a file matters only in a
 * directory that is, or may become, a home. Answered without NSS (its modules
 * cost ~40 us to load at start-up) and on the safe side:
 *
 *   - the caller's $HOME or $ZDOTDIR (compared by device and inode);
 *   - a directory /etc/passwd names as a home (that of its owner by device
 *     and inode, anyone's by name);
 *   - a directory whose owner /etc/passwd does not list (a user of LDAP or
 *     another database, whose home hutch cannot look up): assumed a home;
 *   - an unreadable /etc/passwd: every directory is assumed a home.
 */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

struct hutch_homes {
	bool loaded;
	bool all;	    /* the user database could not be read: every directory is a home */
	char *passwd;	    /* its text, or NULL */
	struct stat env[2]; /* $HOME, $ZDOTDIR */
	bool has_env[2];
};

/* @passwd_path: NULL for /etc/passwd (another for the tests); @home, @zdotdir may be NULL. */
void hutch_homes_load(struct hutch_homes *h, const char *passwd_path, const char *home,
		      const char *zdotdir);
/* @dir (absolute, canonical) with its stat @st; loads with the defaults when not loaded. */
bool hutch_homes_is_home(struct hutch_homes *h, const char *dir, const struct stat *st);
void hutch_homes_free(struct hutch_homes *h);
