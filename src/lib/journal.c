/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Placeholder journal. A protected path that does not exist yet needs a
 * mount point on the host: an empty directory (git ignores empty directories,
 * and creating a file or directory of that name fails inside). Each run lists
 * its placeholders in STATE/placeholders/<pid>-<starttime> *before* creating
 * them and removes them at the end; a run killed with SIGKILL leaves a journal
 * that the next run cleans up. Placeholders are only ever removed with
 * rmdir(), so nothing a user put there is lost. All changes happen under an
 * flock so concurrent runs sharing a workspace keep a shared placeholder until
 * the last of them ends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/path.h"
#include "protect.h"

#define JOURNAL_MAX_BYTES (256 * 1024)

struct hutch_placeholders {
	char *dir;     /* STATE/placeholders */
	char *journal; /* our journal file */
	char **paths;  /* placeholders this run uses (created or shared) */
	size_t n;
};

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, len + 1);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A placeholder named "commondir" is a file holding ".", git's own value (see protect.c). */
#define FILE_PLACEHOLDER_CONTENT ".\n"

static bool is_file_placeholder(const char *path)
{
	const char *base = strrchr(path, '/');

	return base && !strcmp(base + 1, "commondir");
}

static int make_placeholder(const char *path)
{
	int fd;

	if (!is_file_placeholder(path))
		return mkdir(path, 0555) < 0 && errno != EEXIST ? -errno : 0;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	if (write(fd, FILE_PLACEHOLDER_CONTENT, 2) != 2) {
		int r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	close(fd);
	return 0;
}

/* Only ever an empty directory, or a file that still holds exactly what we wrote. */
static void remove_placeholder(const char *path)
{
	char buf[8];
	ssize_t n;
	int fd;

	if (!is_file_placeholder(path)) {
		rmdir(path);
		return;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == 2 && !memcmp(buf, FILE_PLACEHOLDER_CONTENT, 2))
		unlink(path);
}

static unsigned long long start_time(pid_t pid)
{
	char path[64], buf[1024];
	_cleanup_close_ int fd = -1;
	unsigned long long t = 0;
	ssize_t n;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* field 22 (starttime) is the 20th after the closing parenthesis */
	for (int field = 0; field < 20 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		t = strtoull(p + 1, NULL, 10);
	return t;
}

static bool journal_is_live(const char *name)
{
	int pid;
	unsigned long long st;

	if (sscanf(name, "%d-%llu", &pid, &st) != 2 || pid <= 0)
		return false;
	return start_time(pid) == st;
}

/* Read a journal's lines into a malloc'd buffer (paths separated by '\n'). */
static char *read_journal(int dirfd, const char *name)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *buf;
	ssize_t n;

	if (fd < 0)
		return NULL;
	buf = malloc(JOURNAL_MAX_BYTES + 1);
	if (!buf)
		return NULL;
	n = read(fd, buf, JOURNAL_MAX_BYTES);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static bool listed_in(const char *content, const char *path)
{
	size_t len = strlen(path);

	for (const char *s = content; s && *s;) {
		const char *nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);
		if (l == len && !memcmp(s, path, len))
			return true;
		s = nl ? nl + 1 : NULL;
	}
	return false;
}

/* Is @path listed in a live journal other than @self? */
static bool used_by_other(int dirfd, const char *self, const char *path)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = dup(dirfd);

	if (fd < 0)
		return true; /* when in doubt, keep it */
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return true;
	}
	rewinddir(d); /* a dup shares the offset: an earlier pass left it at the end */
	while ((de = readdir(d))) {
		_cleanup_free_ char *content = NULL;
		if (de->d_name[0] == '.' || (self && !strcmp(de->d_name, self)))
			continue;
		if (!journal_is_live(de->d_name))
			continue;
		content = read_journal(dirfd, de->d_name);
		if (content && listed_in(content, path))
			return true;
	}
	return false;
}

static void remove_listed(int dirfd, const char *self, const char *content)
{
	for (const char *s = content; s && *s;) {
		const char *nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);
		char path[PATH_MAX];

		if (l > 0 && l < sizeof(path) && s[0] == '/') {
			memcpy(path, s, l);
			path[l] = '\0';
			if (!used_by_other(dirfd, self, path))
				remove_placeholder(path);
		}
		s = nl ? nl + 1 : NULL;
	}
}

static int open_locked(const char *dir, int *lockfd)
{
	_cleanup_close_ int dfd = -1, lfd = -1;
	int r = mkdir_p(dir, 0700);

	if (r < 0)
		return r;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	lfd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0)
		return -errno;
	if (flock(lfd, LOCK_EX) < 0)
		return -errno;
	*lockfd = TAKE_FD(lfd);
	return TAKE_FD(dfd);
}

static void cleanup_stale_locked(int dirfd)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = dup(dirfd);

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	rewinddir(d); /* a dup shares the offset: an earlier pass left it at the end */
	while ((de = readdir(d))) {
		_cleanup_free_ char *content = NULL;
		if (de->d_name[0] == '.' || journal_is_live(de->d_name))
			continue;
		content = read_journal(dirfd, de->d_name);
		if (content)
			remove_listed(dirfd, de->d_name, content);
		unlinkat(dirfd, de->d_name, 0);
	}
}

static char *placeholder_dir(const char *state_dir)
{
	return hutch_path_join(state_dir, "placeholders");
}

int hutch_placeholders_cleanup_stale(const char *state_dir)
{
	_cleanup_free_ char *dir = placeholder_dir(state_dir);
	_cleanup_close_ int dfd = -1, lfd = -1;
	struct stat st;

	if (!dir)
		return -ENOMEM;
	if (stat(dir, &st) < 0)
		return 0; /* never used: nothing to clean */
	dfd = open_locked(dir, &lfd);
	if (dfd < 0)
		return dfd;
	cleanup_stale_locked(dfd);
	return 0;
}

static void free_ph(struct hutch_placeholders *ph)
{
	if (!ph)
		return;
	for (size_t i = 0; i < ph->n; i++)
		free(ph->paths[i]);
	free(ph->paths);
	free(ph->dir);
	free(ph->journal);
	free(ph);
}

static int write_journal(int dirfd, const char *name, char **paths, size_t n)
{
	_cleanup_close_ int fd = -1;
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += strlen(paths[i]) + 1;
	if (total > JOURNAL_MAX_BYTES)
		return -E2BIG;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		struct iovec iov[2] = { { paths[i], strlen(paths[i]) }, { (void *)"\n", 1 } };
		if (writev(fd, iov, 2) < 0)
			return -errno;
	}
	return 0;
}

int hutch_placeholders_create(const char *state_dir, char **missing, size_t n_missing,
			      char *const *existing, size_t n_existing,
			      struct hutch_placeholders **out, hutch_error *err)
{
	_cleanup_free_ char **paths = NULL;
	size_t n = 0;
	struct hutch_placeholders *ph;
	_cleanup_close_ int dfd = -1, lfd = -1;
	char name[64];
	int r;

	*out = NULL;
	if (n_missing == 0 && n_existing == 0)
		return 0;
	ph = calloc(1, sizeof(*ph));
	if (!ph)
		return -ENOMEM;
	ph->dir = placeholder_dir(state_dir);
	ph->paths = calloc(n_missing + n_existing + 1, sizeof(char *));
	if (!ph->dir || !ph->paths) {
		free_ph(ph);
		return -ENOMEM;
	}
	dfd = open_locked(ph->dir, &lfd);
	if (dfd < 0) {
		r = hutch_err(err, dfd, 0, "protect: opening the placeholder journal in %s",
			      ph->dir);
		hutch_err_hint(err, "hutch needs a writable state directory ($XDG_STATE_HOME)");
		free_ph(ph);
		return r;
	}
	cleanup_stale_locked(dfd);
	/*
	 * Ours: the missing paths, and existing ones that are another live run's
	 * placeholders (we use them too: the last run to end removes them).
	 */
	paths = calloc(n_missing + n_existing + 1, sizeof(char *));
	if (!paths) {
		free_ph(ph);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_missing; i++)
		paths[n++] = missing[i];
	for (size_t i = 0; i < n_existing; i++)
		if (used_by_other(dfd, NULL, existing[i]))
			paths[n++] = existing[i];
	if (n == 0) {
		free_ph(ph);
		return 0;
	}
	snprintf(name, sizeof(name), "%d-%llu", (int)getpid(), start_time(getpid()));
	ph->journal = strdup(name);
	if (!ph->journal) {
		free_ph(ph);
		return -ENOMEM;
	}
	/* Journal first, then create: a crash in between leaves only rmdir work. */
	r = write_journal(dfd, name, paths, n);
	if (r < 0) {
		free_ph(ph);
		return hutch_err(err, r, 0, "protect: writing the placeholder journal");
	}
	for (size_t i = 0; i < n; i++) {
		r = make_placeholder(paths[i]);
		if (r < 0) {
			r = hutch_err(err, r, 0, "protect: cannot create a placeholder for %s",
				      paths[i]);
			ph->n = i;
			break;
		}
		ph->paths[i] = strdup(paths[i]);
		ph->n = i + 1;
		if (!ph->paths[i]) {
			r = -ENOMEM;
			break;
		}
	}
	close(TAKE_FD(lfd));
	if (r < 0) {
		hutch_placeholders_remove(ph);
		return r;
	}
	*out = ph;
	return 0;
}

void hutch_placeholders_remove(struct hutch_placeholders *ph)
{
	_cleanup_close_ int dfd = -1, lfd = -1;

	if (!ph)
		return;
	dfd = open_locked(ph->dir, &lfd);
	if (dfd >= 0) {
		unlinkat(dfd, ph->journal, 0);
		for (size_t i = 0; i < ph->n; i++)
			if (ph->paths[i] && !used_by_other(dfd, NULL, ph->paths[i]))
				remove_placeholder(ph->paths[i]);
	}
	free_ph(ph);
}
