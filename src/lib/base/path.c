/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lexical path helpers: normalise, expand "~" and variables, prefix tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "path.h"

char *hutch_path_normalize(const char *path)
{
	_cleanup_free_ char *out = NULL;
	size_t len, o = 0, i = 0;
	bool abs;

	if (!path || !*path) {
		errno = EINVAL;
		return NULL;
	}
	len = strlen(path);
	if (len > HUTCH_PATH_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	out = malloc(len + 2);
	if (!out)
		return NULL;
	abs = path[0] == '/';
	if (abs)
		out[o++] = '/';

	while (i < len) {
		size_t start, n;

		while (i < len && path[i] == '/')
			i++;
		start = i;
		while (i < len && path[i] != '/')
			i++;
		n = i - start;
		if (n == 0 || (n == 1 && path[start] == '.'))
			continue;
		if (n == 2 && path[start] == '.' && path[start + 1] == '.') {
			/* Relative paths keep ".." they cannot resolve ("..", "../.."). */
			size_t base = abs ? 1 : 0;
			bool last_is_dotdot = o >= base + 2 && out[o - 1] == '.' &&
					      out[o - 2] == '.' &&
					      (o - 2 == base || out[o - 3] == '/');

			if (o > base && !last_is_dotdot) {
				while (o > base && out[o - 1] != '/')
					o--;
				if (o > base)
					o--; /* the separator */
				continue;
			}
			if (abs)
				continue; /* "/.." is "/" */
		}
		if (o > (abs ? 1u : 0u))
			out[o++] = '/';
		memcpy(out + o, path + start, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return TAKE_PTR(out);
}

static bool is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static void set_bad(char *badvar, size_t size, const char *name, size_t n)
{
	if (!badvar || size == 0)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(badvar, name, n);
	badvar[n] = '\0';
}

/* Append @n bytes of @s to the buffer @buf of length *@len (capacity HUTCH_PATH_MAX + 1). */
static int append(char *buf, size_t *len, const char *s, size_t n)
{
	if (*len + n > HUTCH_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
	return 0;
}

/*
 * Built on the stack and copied once at its length: a policy expands some 180 paths
 * before the sandbox starts, and a 4 KiB heap buffer each was half of that work.
 */
char *hutch_path_expand_vars(const char *in, const char *home, char *badvar, size_t badvar_size)
{
	char buf[HUTCH_PATH_MAX + 1];
	size_t len = 0;
	const char *p;
	int r;

	if (badvar && badvar_size)
		badvar[0] = '\0';
	if (!in || !*in) {
		errno = EINVAL;
		return NULL;
	}
	buf[0] = '\0';
	p = in;

	if (p[0] == '~') {
		if (p[1] != '\0' && p[1] != '/') {
			/* ~user: not supported, it would depend on the password database. */
			set_bad(badvar, badvar_size, p, strcspn(p, "/"));
			errno = EINVAL;
			return NULL;
		}
		if (!home || !*home) {
			set_bad(badvar, badvar_size, "HOME", 4);
			errno = EINVAL;
			return NULL;
		}
		r = append(buf, &len, home, strlen(home));
		if (r < 0) {
			errno = -r;
			return NULL;
		}
		p++;
	}

	while (*p) {
		const char *name, *val;
		size_t n;

		if (p[0] != '$' || !(is_name_start(p[1]) || p[1] == '{')) {
			/* literal text up to the next '$' (a '$' that starts no name: itself) */
			n = p[0] == '$' ? 1 : strcspn(p, "$");
			r = append(buf, &len, p, n);
			if (r < 0) {
				errno = -r;
				return NULL;
			}
			p += n;
			continue;
		}
		if (p[1] == '{') {
			name = p + 2;
			n = 0;
			while (is_name_char(name[n]))
				n++;
			if (n == 0 || !is_name_start(name[0]) || name[n] != '}') {
				size_t m = strcspn(p, "}");

				set_bad(badvar, badvar_size, p, m + (p[m] == '}'));
				errno = EINVAL;
				return NULL;
			}
			p = name + n + 1;
		} else {
			name = p + 1;
			n = 0;
			while (is_name_char(name[n]))
				n++;
			p = name + n;
		}
		if (home && n == 4 && memcmp(name, "HOME", 4) == 0) {
			val = home;
		} else {
			char var[256];

			if (n >= sizeof(var)) {
				set_bad(badvar, badvar_size, name, n);
				errno = EINVAL;
				return NULL;
			}
			memcpy(var, name, n);
			var[n] = '\0';
			val = getenv(var);
		}
		if (!val) {
			set_bad(badvar, badvar_size, name, n);
			errno = EINVAL;
			return NULL;
		}
		r = append(buf, &len, val, strlen(val));
		if (r < 0) {
			errno = -r;
			return NULL;
		}
	}
	if (len == 0) {
		errno = EINVAL; /* "$EMPTY" */
		return NULL;
	}
	return strndup(buf, len);
}

char *hutch_path_expand(const char *in, const char *home, const char *base)
{
	_cleanup_free_ char *x = NULL, *joined = NULL;

	x = hutch_path_expand_vars(in, home, NULL, 0);
	if (!x)
		return NULL;
	if (x[0] != '/') {
		if (!base || base[0] != '/') {
			errno = EINVAL;
			return NULL;
		}
		joined = hutch_path_join(base, x);
		if (!joined)
			return NULL;
		return hutch_path_normalize(joined);
	}
	return hutch_path_normalize(x);
}

bool hutch_path_has_prefix(const char *path, const char *prefix)
{
	size_t n;

	if (!path || !prefix || !*prefix)
		return false;
	if (strcmp(prefix, "/") == 0)
		return path[0] == '/';
	n = strlen(prefix);
	if (strncmp(path, prefix, n) != 0)
		return false;
	return path[n] == '\0' || path[n] == '/';
}

bool hutch_path_has_dotdot(const char *path)
{
	const char *p = path;

	while (p && *p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += n;
		while (*p == '/')
			p++;
	}
	return false;
}

char *hutch_path_join(const char *a, const char *b)
{
	size_t la, lb;
	char *out;

	if (!a || !b) {
		errno = EINVAL;
		return NULL;
	}
	la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	lb = strlen(b);
	out = malloc(la + lb + 2);
	if (!out)
		return NULL;
	memcpy(out, a, la);
	/* "/" + "x" = "/x", "" + "x" = "x", "a" + "" = "a" */
	if (lb && la && !(la == 1 && a[0] == '/'))
		out[la++] = '/';
	memcpy(out + la, b, lb);
	out[la + lb] = '\0';
	return out;
}

int hutch_fd_path(int fd, char *out, size_t size)
{
	char link[64];
	ssize_t n;

	if (size < 2)
		return -EINVAL;
	out[0] = '\0';
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1) {
		out[0] = '\0';
		return -ENAMETOOLONG;
	}
	out[n] = '\0';
	return (int)n;
}
