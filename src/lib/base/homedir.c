/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Is a directory somebody's home (homedir.h)? */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/file.h"
#include "base/homedir.h"

#define PASSWD_MAX_BYTES (4 * 1024 * 1024)

void hutch_homes_load(struct hutch_homes *h, const char *passwd_path, const char *home,
		      const char *zdotdir)
{
	const char *env[2] = {home, zdotdir};
	_cleanup_close_ int fd = -1;
	size_t len = 0;

	*h = (struct hutch_homes){.loaded = true};
	for (int i = 0; i < 2; i++)
		h->has_env[i] = env[i] && env[i][0] == '/' && stat(env[i], &h->env[i]) == 0;
	fd = open(passwd_path ? passwd_path : "/etc/passwd", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || hutch_read_regular_fd(fd, PASSWD_MAX_BYTES, &h->passwd, &len) < 0 ||
	    memchr(h->passwd, '\0', len)) {
		free(h->passwd);
		h->passwd = NULL;
		h->all = true;
	}
}

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Field @k (0-based) of the passwd line [@s, @e): its start and length, or false. */
static bool field(const char *s, const char *e, int k, const char **f, size_t *len)
{
	for (; k > 0; k--) {
		const char *c = memchr(s, ':', (size_t)(e - s));
		if (!c)
			return false;
		s = c + 1;
	}
	{
		const char *c = memchr(s, ':', (size_t)(e - s));
		*f = s;
		*len = c ? (size_t)(c - s) : (size_t)(e - s);
	}
	return true;
}

static bool uid_is(const char *f, size_t len, uid_t uid)
{
	unsigned long long v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (f[i] < '0' || f[i] > '9')
			return false;
		v = v * 10 + (unsigned)(f[i] - '0');
	}
	return v == (unsigned long long)uid;
}

/* Whether the home @f (@len bytes) is @dir: by name, or for its owner's entry by inode. */
static bool home_is(const char *f, size_t len, const char *dir, const struct stat *st, bool owners)
{
	char path[4096];
	struct stat hs;

	while (len > 1 && f[len - 1] == '/')
		len--; /* "/home/me/" names /home/me */
	if (len == strlen(dir) && !memcmp(f, dir, len))
		return true;
	if (!owners || len == 0 || len >= sizeof(path) || f[0] != '/')
		return false;
	memcpy(path, f, len);
	path[len] = '\0';
	return stat(path, &hs) == 0 && same_inode(&hs, st);
}

bool hutch_homes_is_home(struct hutch_homes *h, const char *dir, const struct stat *st)
{
	bool owner_listed = false;

	if (!h->loaded)
		hutch_homes_load(h, NULL, getenv("HOME"), getenv("ZDOTDIR"));
	if (h->all)
		return true;
	for (int i = 0; i < 2; i++)
		if (h->has_env[i] && same_inode(&h->env[i], st))
			return true;
	for (const char *s = h->passwd; s && *s;) {
		const char *e = strchr(s, '\n'), *uid, *home;
		size_t ul, hl;

		if (!e)
			e = s + strlen(s);
		if (*s != '#' && field(s, e, 2, &uid, &ul) && field(s, e, 5, &home, &hl)) {
			bool owners = uid_is(uid, ul, st->st_uid);

			owner_listed |= owners;
			if (home_is(home, hl, dir, st, owners))
				return true;
		}
		s = *e ? e + 1 : e;
	}
	return !owner_listed; /* a user hutch cannot look up: on the safe side */
}

void hutch_homes_free(struct hutch_homes *h)
{
	free(h->passwd);
	*h = (struct hutch_homes){0};
}
