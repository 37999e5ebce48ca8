/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch's state directories and the names in them. See statedir.h. */
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "file.h"
#include "path.h"
#include "sha256.h"
#include "statedir.h"

char *hutch_state_dir(const char *what)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	_cleanup_free_ char *sub = NULL;

	if (xdg && xdg[0] == '/') {
		sub = hutch_path_join("hutch", what);
		return sub ? hutch_path_join(xdg, sub) : NULL;
	}
	if (!home || home[0] != '/')
		return NULL;
	sub = hutch_path_join(".local/state/hutch", what);
	return sub ? hutch_path_join(home, sub) : NULL;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

int hutch_state_check_name(const char *name, size_t max, hutch_error *err)
{
	size_t len = strlen(name);
	bool ok = len > 0 && len <= max && name[0] != '.' && name[0] != '-';

	for (size_t i = 0; ok && i < len; i++)
		ok = name_char(name[i]);
	if (ok)
		return 0;
	return hutch_errx(err, EINVAL,
			  "invalid session name '%s': use 1-%zu letters, digits, '.', '_' or '-', "
			  "not starting with '.' or '-'",
			  name, max);
}

char *hutch_state_keyed_path(const char *dir, const char *key)
{
	char hex[65], *path = NULL;

	hutch_sha256_hex(key, strlen(key), hex);
	hex[32] = '\0';
	if (asprintf(&path, "%s/%s", dir, hex) < 0)
		return NULL;
	return path;
}

char *hutch_state_read_keyed(const char *dir, const char *key, size_t max, size_t *len)
{
	_cleanup_free_ char *path = dir ? hutch_state_keyed_path(dir, key) : NULL;
	_cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size > max || st.st_uid != geteuid() || (st.st_mode & 0022))
		return NULL;
	if (hutch_read_fd(fd, max, &buf, len) < 0)
		return NULL;
	return TAKE_PTR(buf);
}
