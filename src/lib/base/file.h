/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File helpers: the one place for mkdir -p, opening beneath a directory, reading a
 * whole file with a bound and replacing one atomically (the steps of that: atomic.h). Lexical path
 * helpers are in path.h, escaping for display and for JSON in escape.h.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/*
 * mkdir -p: create @path and its missing parents, each with @mode. An existing
 * directory is fine; an existing non-directory is -ENOTDIR. 0 or -errno.
 */
int hutch_mkdir_p(const char *path, mode_t mode);

/* hutch_mkdir_p() of the directory @path lies in (nothing for a bare name). */
int hutch_mkdir_parents(const char *path, mode_t mode);

/* openat2(@root, @rel, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): never leaves @root. */
int hutch_open_beneath(int root, const char *rel, int flags, mode_t mode);

/*
 * Read @fd to its end: at most @max bytes (-EFBIG beyond), into a malloc'd
 * buffer NUL-terminated at *@len (the data may hold NULs of its own). Retries
 * on EINTR. 0 or -errno.
 */
int hutch_read_fd(int fd, size_t max, char **out, size_t *len);

/*
 * hutch_read_fd() of the regular file @fd, refused before reading when it is not one
 * (-EINVAL) or larger than @max (-EFBIG). @len may be NULL.
 */
int hutch_read_regular_fd(int fd, size_t max, char **out, size_t *len);

/* hutch_read_regular_fd() of @name relative to @dirfd, its last component not a symlink. */
int hutch_read_file_at(int dirfd, const char *name, size_t max, char **out, size_t *len);

/*
 * Read a small file of the kernel's (/proc, /sys, cgroupfs) into @buf: at most
 * @size - 1 bytes, NUL-terminated; @name relative to @dirfd, its last component not
 * a symlink. Retries on EINTR. The length read, or -errno.
 */
ssize_t hutch_read_small_at(int dirfd, const char *name, char *buf, size_t size);

/* write(2) until all of @len bytes went, retrying on EINTR. 0 or -errno. */
int hutch_write_all(int fd, const void *data, size_t len);

/*
 * Replace @path with @len bytes of @data, atomically: a temporary file beside it
 * (".NAME.<random>", O_EXCL, O_CLOEXEC, no symlink followed), @mode, fsync, rename
 * over @path. On error the temporary file is removed and @path is as it was.
 * 0 or -errno. The _at form: @name relative to @dirfd.
 */
int hutch_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
int hutch_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len,
			       mode_t mode);

/* Remove a tree we own (chmod u+rwx where the kernel left a mode-0 work dir). 0 or -errno. */
int hutch_remove_tree(int dirfd, const char *name);

/*
 * Copy the rest of @in to @out: a reflink where the filesystem can, else
 * copy_file_range, else read/write. 0 or -errno.
 */
int hutch_copy_data(int in, int out);
