/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The file helpers of src/lib/base/file.c (mkdir -p, bounded reads, small files, atomic
 * writes) and
 * the steps of an atomic replacement, src/lib/base/atomic.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic.h"
#include "base/file.h"
#include "tap.h"

static char root[] = "/tmp/hutch-test-file.XXXXXX";

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

static void test_mkdir(void)
{
	char p[256], f[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/a/b/c", root);
	is_int(hutch_mkdir_p(p, 0700), 0, "mkdir -p of three new levels");
	ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
	   "  made, mode 0700");
	is_int(hutch_mkdir_p(p, 0700), 0, "an existing directory is fine");
	snprintf(f, sizeof(f), "%s/a/file", root);
	put(f, "x");
	is_int(hutch_mkdir_p(f, 0700), -ENOTDIR, "an existing file: -ENOTDIR");
	is_int(hutch_mkdir_p("", 0700), -EINVAL, "an empty path: -EINVAL");
	snprintf(p, sizeof(p), "%s/d/e/log.json", root);
	is_int(hutch_mkdir_parents(p, 0700), 0, "mkdir_parents: the directories above a file");
	snprintf(p, sizeof(p), "%s/d/e", root);
	ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode), "  made");
	snprintf(p, sizeof(p), "%s/d/e/log.json", root);
	ok(stat(p, &st) < 0 && errno == ENOENT, "  and not the file itself");
	is_int(hutch_mkdir_parents("bare-name", 0700), 0, "a bare name: nothing to make");
}

static void test_read(void)
{
	char p[256], *buf = NULL;
	size_t len = 0;
	int fd;

	snprintf(p, sizeof(p), "%s/r", root);
	put(p, "hello");
	fd = open(p, O_RDONLY | O_CLOEXEC);
	is_int(hutch_read_fd(fd, 5, &buf, &len), 0, "a file of exactly the bound");
	ok(buf && len == 5 && !strcmp(buf, "hello"), "  its bytes, NUL-terminated");
	free(buf);
	buf = NULL;
	close(fd);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	is_int(hutch_read_fd(fd, 4, &buf, &len), -EFBIG, "one byte over the bound: -EFBIG");
	ok(buf == NULL, "  nothing returned");
	close(fd);
	{
		/* larger than the first buffer, with NULs of its own */
		size_t n = 100000;
		char *big = calloc(1, n);
		int w = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);

		big[n - 1] = 'z';
		ok(w >= 0 && hutch_write_all(w, big, n) == 0, "hutch_write_all of 100000 bytes");
		close(w);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		is_int(hutch_read_fd(fd, 1 << 20, &buf, &len), 0, "read back");
		ok(buf && len == n && buf[n - 1] == 'z' && buf[0] == '\0' && buf[n] == '\0',
		   "  all of it, NULs included");
		free(buf);
		buf = NULL;
		free(big);
		close(fd);
	}
	is_int(hutch_read_fd(-1, 10, &buf, &len), -EBADF, "a bad descriptor: -EBADF");
}

static void test_write_atomic(void)
{
	char dir[256], p[256], *buf = NULL;
	struct stat st;
	size_t len;
	int fd;

	snprintf(dir, sizeof(dir), "%s/w", root);
	mkdir(dir, 0700);
	snprintf(p, sizeof(p), "%s/policy.json", dir);
	put(p, "old");
	is_int(hutch_write_file_atomic(p, "new\n", 4, 0640), 0, "replace a file");
	fd = open(p, O_RDONLY | O_CLOEXEC);
	ok(hutch_read_fd(fd, 100, &buf, &len) == 0 && !strcmp(buf, "new\n"), "  new contents");
	close(fd);
	free(buf);
	ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0640, "  the mode asked for");
	is_int(count_entries(dir), 1, "  no temporary file left");
	snprintf(p, sizeof(p), "%s/nodir/x", dir);
	ok(hutch_write_file_atomic(p, "x", 1, 0600) == -ENOENT, "a missing directory: -ENOENT");
	is_int(count_entries(dir), 1, "  nothing left behind");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	is_int(hutch_write_file_atomic_at(fd, "meta.json", "{}", 2, 0600), 0,
	       "the _at form, relative to a directory");
	close(fd);
	snprintf(p, sizeof(p), "%s/meta.json", dir);
	ok(stat(p, &st) == 0 && st.st_size == 2 && (st.st_mode & 0777) == 0600, "  written");
	is_int(count_entries(dir), 2, "  no temporary file left");
}

/* The bounded reads of a whole small file: a regular one, a kernel's, into a buffer. */
static void test_read_small(void)
{
	char dir[256], p[256], small[8], *buf = NULL;
	size_t len = 0;
	int dfd;

	snprintf(dir, sizeof(dir), "%s/small", root);
	mkdir(dir, 0700);
	snprintf(p, sizeof(p), "%s/f", dir);
	put(p, "0123456789");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(hutch_read_file_at(dfd, "f", 10, &buf, &len) == 0 && len == 10 &&
		   !strcmp(buf, "0123456789"),
	   "hutch_read_file_at: the whole file");
	free(buf);
	buf = NULL;
	is_int(hutch_read_file_at(dfd, "f", 9, &buf, NULL), -EFBIG,
	       "  larger than the bound: -EFBIG");
	is_int(hutch_read_file_at(dfd, ".", 100, &buf, NULL), -EINVAL, "  a directory: -EINVAL");
	ok(symlinkat("f", dfd, "l") == 0, "a symlink to it");
	is_int(hutch_read_file_at(dfd, "l", 100, &buf, NULL), -ELOOP, "  is not followed");
	is_int((int)hutch_read_small_at(dfd, "l", small, sizeof(small)), -ELOOP,
	       "  nor by hutch_read_small_at");
	ok(buf == NULL, "  nothing returned on errors");
	ok(hutch_read_file_at(AT_FDCWD, "/proc/self/mountinfo", (size_t)64 << 20, &buf, &len) ==
			   0 &&
		   len > 0 && strlen(buf) == len,
	   "a file of the kernel's (no size in stat): read to its end");
	free(buf);
	is_int((int)hutch_read_small_at(dfd, "f", small, sizeof(small)), 7,
	       "hutch_read_small_at: at most size - 1 bytes");
	is_str(small, "0123456", "  NUL-terminated");
	is_int((int)hutch_read_small_at(dfd, "missing", small, sizeof(small)), -ENOENT,
	       "  a missing file: -ENOENT");
	close(dfd);
}

/* The steps: a named temporary, a stream, an abort, a symlink where the temporary goes. */
static void test_atomic_steps(void)
{
	char dir[256], p[256], *buf = NULL;
	size_t len;
	int dfd, fd, r;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/steps", root);
	mkdir(dir, 0700);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	{
		struct hutch_atomic a = HUTCH_ATOMIC_INIT;
		snprintf(p, sizeof(p), "%s/.j.new", dir);
		put(p, "left by an interrupted writer");
		is_int(hutch_atomic_begin(&a, dfd, "j", ".j.new", 0600), 0,
		       "a named temporary: one left behind is replaced");
		f = hutch_atomic_stream(&a);
		ok(f && a.fd == -1, "  a stream owns the descriptor");
		ok(f && fputs("streamed", f) >= 0 && fclose(f) == 0, "  written through it");
		is_int(hutch_atomic_commit(&a, HUTCH_ATOMIC_FSYNC), 0, "  committed");
		snprintf(p, sizeof(p), "%s/j", dir);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		ok(hutch_read_fd(fd, 100, &buf, &len) == 0 && !strcmp(buf, "streamed"),
		   "  the file has the new contents");
		close(fd);
		free(buf);
		is_int(count_entries(dir), 1, "  no temporary left");
		hutch_atomic_abort(&a);
		is_int(count_entries(dir), 1, "  an abort after the commit removes nothing");
	}
	{
		struct hutch_atomic a = HUTCH_ATOMIC_INIT;
		is_int(hutch_atomic_begin(&a, dfd, "j", NULL, 0600), 0, "a random temporary");
		is_int(count_entries(dir), 2, "  beside the file");
		ok(a.tmp[0] == '.' && !strncmp(a.tmp, ".j.", 3), "  hidden, named after the file");
		hutch_atomic_abort(&a);
		is_int(count_entries(dir), 1, "  an abort removes it");
		is_int(hutch_atomic_commit(&a, 0), -EINVAL, "  and nothing is left to commit");
	}
	{
		struct hutch_atomic a = HUTCH_ATOMIC_INIT;
		ok(symlinkat("/nonexistent-target", dfd, ".k.new") == 0, "a symlink as temporary");
		r = hutch_atomic_begin(&a, dfd, "k", ".k.new", 0600);
		ok(r == 0 && faccessat(dfd, "/nonexistent-target", F_OK, 0) < 0,
		   "  is replaced, never followed");
		hutch_atomic_abort(&a);
		is_int(count_entries(dir), 1, "  and removed by the abort");
	}
	close(dfd);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	test_mkdir();
	test_read();
	test_read_small();
	test_write_atomic();
	test_atomic_steps();
	is_int(hutch_remove_tree(AT_FDCWD, root), 0, "hutch_remove_tree of what the test made");
	ok(access(root, F_OK) < 0 && errno == ENOENT, "  gone");
	return done_testing();
}
