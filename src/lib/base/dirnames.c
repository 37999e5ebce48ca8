/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/dirnames.h"

static int append(struct hutch_dirnames *d, size_t *cap, const char *name)
{
	size_t l = strlen(name) + 1;

	if (d->len + l > *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		char *nb;

		while (ncap < d->len + l)
			ncap *= 2;
		nb = realloc(d->buf, ncap);
		if (!nb)
			return -ENOMEM;
		d->buf = nb;
		*cap = ncap;
	}
	memcpy(d->buf + d->len, name, l);
	d->len += l;
	d->n++;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_fd(int fd, struct hutch_dirnames *d)
{
	_Alignas(struct dirent64) char buf[4096];
	size_t cap = 0, i = 0;
	ssize_t n;

	while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *de = (const struct dirent64 *)(void *)(buf + off);

			off += de->d_reclen;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (append(d, &cap, de->d_name) < 0)
				return -ENOMEM;
		}
	}
	if (n < 0)
		return -errno;
	d->v = calloc(d->n + 1, sizeof(char *));
	if (!d->v)
		return -ENOMEM;
	for (char *s = d->buf; s && s < d->buf + d->len; s += strlen(s) + 1)
		d->v[i++] = s;
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(char *), cmp_name);
	return 0;
}

int hutch_dirnames_read(int dirfd, const char *path, struct hutch_dirnames *out)
{
	_cleanup_close_ int fd = -1;
	int r;

	memset(out, 0, sizeof(*out));
	if (path) {
		fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	r = read_fd(path ? fd : dirfd, out);
	if (r < 0)
		hutch_dirnames_free(out);
	return r;
}

bool hutch_dirnames_has(const struct hutch_dirnames *d, const char *name)
{
	return d->n && bsearch(&name, d->v, d->n, sizeof(char *), cmp_name) != NULL;
}

void hutch_dirnames_free(struct hutch_dirnames *d)
{
	free(d->v);
	free(d->buf);
	memset(d, 0, sizeof(*d));
}
