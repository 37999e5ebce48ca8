/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* File helpers: mkdir -p, opening beneath a directory, reading and writing whole files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "atomic.h"
#include "cleanup.h"
#include "file.h"

int hutch_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;

	if (!path || !path[0])
		return -EINVAL;
	buf = strdup(path);
	if (!buf)
		return -ENOMEM;
	for (char *s = strchr(buf + 1, '/');; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		if (!s)
			break;
		*s = '/';
	}
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int openat2_beneath(int root, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, root, rel && *rel ? rel : ".", &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

int hutch_open_beneath(int root, const char *rel, int flags, mode_t mode)
{
	_cleanup_close_ int dir = -1;
	char chunk[PATH_MAX];
	size_t len = rel ? strlen(rel) : 0;

	if (len < sizeof(chunk))
		return openat2_beneath(root, rel, flags, mode);
	/* longer than PATH_MAX: directory by directory, a chunk at a time, each beneath the last */
	while (len >= sizeof(chunk)) {
		const char *cut = rel + sizeof(chunk) - 1;
		size_t n;
		int fd;

		while (cut > rel && *cut != '/')
			cut--;
		if (cut == rel)
			return -ENAMETOOLONG; /* one name longer than PATH_MAX */
		n = (size_t)(cut - rel);
		memcpy(chunk, rel, n);
		chunk[n] = '\0';
		fd = openat2_beneath(dir >= 0 ? dir : root, chunk, O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0)
			return fd;
		if (dir >= 0)
			close(dir);
		dir = fd;
		rel = cut + 1;
		len -= n + 1;
	}
	return openat2_beneath(dir, rel, flags, mode);
}

int hutch_mkdir_parents(const char *path, mode_t mode)
{
	_cleanup_free_ char *dir = NULL;
	char *slash;

	if (!path || !path[0])
		return -EINVAL;
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0; /* in the current directory, or in / */
	*slash = '\0';
	return hutch_mkdir_p(dir, mode);
}

/* read(2) into @buf until @size bytes came or the end of the file, retrying on EINTR. */
static ssize_t read_full(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len < size) {
		ssize_t n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

int hutch_read_fd(int fd, size_t max, char **out, size_t *len)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = max < 4096 ? max + 1 : 4096, got = 0;

	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (got == cap) {
			size_t ncap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
			char *nb;

			if (ncap <= cap)
				return -EFBIG;
			nb = realloc(buf, ncap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap = ncap;
		}
		n = read_full(fd, buf + got, cap - got);
		if (n < 0)
			return (int)n;
		got += (size_t)n;
		if (got > max)
			return -EFBIG;
		if (got < cap)
			break; /* the end of the file */
	}
	buf[got] = '\0';
	*out = TAKE_PTR(buf);
	if (len)
		*len = got;
	return 0;
}

int hutch_read_regular_fd(int fd, size_t max, char **out, size_t *len)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	return hutch_read_fd(fd, max, out, len);
}

int hutch_read_file_at(int dirfd, const char *name, size_t max, char **out, size_t *len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	return hutch_read_regular_fd(fd, max, out, len);
}

ssize_t hutch_read_small_at(int dirfd, const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (size == 0)
		return -EINVAL;
	n = read_full(fd, buf, size - 1);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

int hutch_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int hutch_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len,
			       mode_t mode)
{
	_cleanup_atomic_ struct hutch_atomic a = HUTCH_ATOMIC_INIT;
	int r = hutch_atomic_begin(&a, dirfd, name, NULL, mode);

	if (r >= 0)
		r = hutch_write_all(a.fd, data, len);
	if (r >= 0 && fchmod(a.fd, mode) < 0)
		r = -errno;
	if (r >= 0)
		r = hutch_atomic_commit(&a, HUTCH_ATOMIC_FSYNC);
	return r;
}

int hutch_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	return hutch_write_file_atomic_at(AT_FDCWD, path, data, len, mode);
}

/* Deeper than any tree hutch makes (twice a session layer's bound, HUTCH_SESSION_MAX_DEPTH). */
#define REMOVE_MAX_DEPTH 512

static int remove_children(int dfd, int depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd, r = 0;

	if (depth > REMOVE_MAX_DEPTH)
		return -ELOOP;
	fd = dup(dfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int cfd = -1;
			/* the kernel leaves overlay work dirs at mode 0 */
			(void)!fchmodat(dfd, de->d_name, 0700, 0);
			cfd = openat(dfd, de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0) {
				int rr = remove_children(cfd, depth + 1);
				if (rr < 0 && r == 0)
					r = rr;
			}
			if (unlinkat(dfd, de->d_name, AT_REMOVEDIR) < 0 && r == 0)
				r = -errno;
		} else if (unlinkat(dfd, de->d_name, 0) < 0 && r == 0) {
			r = -errno;
		}
	}
	return r;
}

int hutch_remove_tree(int dirfd, const char *name)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
	(void)!fchmodat(dirfd, name, 0700, 0);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = remove_children(fd, 0);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && r == 0)
		r = -errno;
	return r;
}

int hutch_copy_data(int in, int out)
{
	if (ioctl(out, FICLONE, in) == 0)
		return 0;
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		break;
	}
	for (;;) {
		char buf[65536];
		ssize_t n = read(in, buf, sizeof(buf));
		int r;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		r = hutch_write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
	}
}
