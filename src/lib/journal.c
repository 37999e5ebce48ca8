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
 *
 * Placeholder directories are recycled: an empty one is renamed into
 * STATE/placeholders/.stash at the end of a run and renamed back to where the
 * next run needs one. On ext4 a mkdir()/rmdir() pair per protected name and
 * run costs far more than two renames (directory inode and block allocation,
 * which skips recently freed inodes), and a busy agent starts many runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/dirnames.h"
#include "base/error.h"
#include "base/path.h"
#include "protect.h"

#define JOURNAL_MAX_BYTES (256 * 1024)
#define STASH ".stash"
#define STASH_MAX 64
#define LIVE_MAX 256
#define STASH_NAME_MAX 48

struct hutch_placeholders {
	char *dir;     /* STATE/placeholders */
	char *journal; /* our journal file */
	char **paths;  /* placeholders this run uses (created or shared) */
	size_t n;
};

/* The stash of empty directories, read once per operation under the journal's lock. */
struct stash {
	int fd;	   /* -1: none */
	bool root; /* running as root: stashed directories keep mode 0555 */
	size_t n;
	size_t next; /* next entry to take */
	char names[STASH_MAX][STASH_NAME_MAX];
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

/*
 * Names that applications read as files get a read-only file holding what
 * they accept as "nothing set" (a directory there breaks them: EISDIR);
 * every other placeholder is an empty read-only directory.
 */
static const struct {
	const char *name;
	const char *content;
} file_placeholders[] = {
	{"commondir", ".\n"}, /* git's own value (see protect.c) */
	/* agents' own settings and instructions (profiles.c, protected when missing too) */
	{"settings.json", "{}\n"},
	{"settings.local.json", "{}\n"},
	{"config.toml", ""},
	{"CLAUDE.md", ""},
	{"GEMINI.md", ""},
	{"AGENTS.md", ""},
	{"AGENTS.override.md", ""},
	{".env", ""},
};

/* The content of the file placeholder for @path, or NULL for a directory. */
static const char *file_placeholder(const char *path)
{
	const char *base = strrchr(path, '/');

	for (size_t i = 0; base && i < ARRAY_SIZE(file_placeholders); i++)
		if (!strcmp(base + 1, file_placeholders[i].name))
			return file_placeholders[i].content;
	return NULL;
}

static void stash_open(int dirfd, struct stash *st)
{
	struct hutch_dirnames names;

	st->fd = -1;
	st->n = st->next = 0;
	st->root = geteuid() == 0;
	if (mkdirat(dirfd, STASH, 0700) < 0 && errno != EEXIST)
		return;
	st->fd = openat(dirfd, STASH, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (st->fd < 0)
		return;
	/* fresh: its offset is only ever used here, every other use is an *at() call */
	if (hutch_dirnames_read(st->fd, NULL, &names) < 0)
		return;
	for (size_t i = 0; i < names.n && st->n < STASH_MAX; i++) {
		const char *nm = names.v[i];
		if (nm[0] == '.' || strlen(nm) >= STASH_NAME_MAX)
			continue;
		memcpy(st->names[st->n++], nm, strlen(nm) + 1);
	}
	hutch_dirnames_free(&names);
}

static void stash_close(struct stash *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

static bool dir_is_empty(int dirfd, const char *path)
{
	_cleanup_close_ int fd =
		openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* "." and ".." come first in one getdents64 call; a third entry means not empty */
	_Alignas(struct dirent64) char buf[2 * sizeof(struct dirent64)];
	ssize_t n;
	size_t off = 0;

	if (fd < 0)
		return false;
	n = getdents64(fd, buf, sizeof(buf));
	while (n > 0 && off + offsetof(struct dirent64, d_name) < (size_t)n) {
		unsigned short reclen;
		const char *name = buf + off + offsetof(struct dirent64, d_name);

		memcpy(&reclen, buf + off + offsetof(struct dirent64, d_reclen), sizeof(reclen));
		if (strcmp(name, ".") && strcmp(name, ".."))
			return false;
		if (reclen == 0)
			return false;
		off += reclen;
	}
	return n >= 0;
}

/* An empty directory from the stash renamed to @path (never over anything there). */
static int stash_take(struct stash *st, const char *path)
{
	while (st->fd >= 0 && st->next < st->n) {
		const char *name = st->names[st->next++];
		if (renameat2(st->fd, name, AT_FDCWD, path, RENAME_NOREPLACE) == 0) {
			if (!st->root) /* root's own stay 0555 in the stash */
				(void)chmod(path, 0555);
			return 0;
		}
		if (errno == EEXIST)
			return 0; /* someone's directory, or a live run's placeholder */
		if (errno == EXDEV) {
			st->next = st->n; /* the stash is on another filesystem */
			break;
		}
	}
	return -ENOENT;
}

/* Move the empty directory @path into the stash; false when it stays where it is. */
static bool stash_put(struct stash *st, const char *path)
{
	static unsigned counter;
	/* moving a directory to another parent needs write permission on it (root: not) */
	bool open_up = !st->root;
	char name[STASH_NAME_MAX];

	if (st->fd < 0 || st->n >= STASH_MAX)
		return false;
	if (open_up && chmod(path, 0755) < 0)
		return false;
	for (int tries = 0; tries < 8; tries++) {
		snprintf(name, sizeof(name), "%d-%u", (int)getpid(), counter++);
		if (renameat2(AT_FDCWD, path, st->fd, name, RENAME_NOREPLACE) == 0) {
			st->n++;
			/*
			 * Not an empty directory (the user put something there, or put
			 * something else in its place): give it back at once, never lose
			 * a file; if its name was taken meanwhile, keep it aside (dot
			 * names are never used).
			 */
			if (!dir_is_empty(st->fd, name) &&
			    renameat2(st->fd, name, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
				char kept[STASH_NAME_MAX + 8];
				snprintf(kept, sizeof(kept), ".kept-%s", name);
				(void)renameat(st->fd, name, st->fd, kept);
			}
			return true;
		}
		if (errno == EACCES && !open_up && chmod(path, 0755) == 0) {
			open_up = true; /* root without the capability (a user namespace) */
			continue;
		}
		if (errno != EEXIST)
			break;
	}
	if (open_up)
		(void)chmod(path, 0555);
	return false;
}

static int make_placeholder(struct stash *st, const char *path)
{
	const char *content = file_placeholder(path);
	size_t len = content ? strlen(content) : 0;
	int fd;

	if (!content) {
		if (stash_take(st, path) == 0)
			return 0;
		return mkdir(path, 0555) < 0 && errno != EEXIST ? -errno : 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	if (len && write(fd, content, len) != (ssize_t)len) {
		int r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	close(fd);
	return 0;
}

/* Only ever an empty directory, or a file that still holds exactly what we wrote. */
static void remove_placeholder(struct stash *st, const char *path)
{
	const char *content = file_placeholder(path);
	char buf[8];
	struct stat sb;
	ssize_t n;
	int fd;

	if (!content) {
		if (!stash_put(st, path))
			rmdir(path);
		return;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	n = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? read(fd, buf, sizeof(buf)) : -1;
	close(fd);
	if (n == (ssize_t)strlen(content) && !memcmp(buf, content, (size_t)n))
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

/*
 * Our own start time, read once per process. Read it early (start-up calls
 * hutch_placeholders_cleanup_stale() before clone()): read while the new
 * sandbox builds its mount tree, /proc/self/stat took 0.1-1 ms here.
 */
static unsigned long long own_start_time(void)
{
	static pid_t pid;
	static unsigned long long t;

	if (pid != getpid()) {
		pid = getpid();
		t = start_time(pid);
	}
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
	{
		char *small = realloc(buf, (size_t)n + 1);
		return small ? small : buf;
	}
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

/* The live journals' contents, read once per operation under the lock. */
struct live {
	char *content[LIVE_MAX];
	size_t n;
	bool overflow; /* more live runs than we keep: assume every path is in use */
};

/* @names: the directory's listing (NULL: unreadable), read once per operation. */
static void live_load(int dirfd, const struct hutch_dirnames *names, struct live *lv)
{
	lv->n = 0;
	lv->overflow = false;
	if (!names) {
		lv->overflow = true; /* when in doubt, keep */
		return;
	}
	for (size_t i = 0; i < names->n; i++) {
		const char *nm = names->v[i];
		char *content;
		if (nm[0] == '.' || !journal_is_live(nm))
			continue;
		content = read_journal(dirfd, nm);
		if (!content || lv->n == LIVE_MAX) {
			free(content);
			lv->overflow = true;
			continue;
		}
		lv->content[lv->n++] = content;
	}
}

static void live_free(struct live *lv)
{
	for (size_t i = 0; i < lv->n; i++)
		free(lv->content[i]);
	lv->n = 0;
}

/* Is @path listed in a live journal (other than ours, gone or not written yet)? */
static bool used_by_other(const struct live *lv, const char *path)
{
	if (lv->overflow)
		return true;
	for (size_t i = 0; i < lv->n; i++)
		if (listed_in(lv->content[i], path))
			return true;
	return false;
}

static void remove_listed(const struct live *lv, struct stash *st, const char *content)
{
	for (const char *s = content; s && *s;) {
		const char *nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);
		char path[PATH_MAX];

		if (l > 0 && l < sizeof(path) && s[0] == '/') {
			memcpy(path, s, l);
			path[l] = '\0';
			if (!used_by_other(lv, path))
				remove_placeholder(st, path);
		}
		s = nl ? nl + 1 : NULL;
	}
}

static int open_locked(const char *dir, int *lockfd)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), lfd = -1;

	if (dfd < 0 && errno == ENOENT) {
		/* the first run: make it */
		int r = mkdir_p(dir, 0700);
		if (r < 0)
			return r;
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
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

static void cleanup_stale_locked(int dirfd, const struct hutch_dirnames *names,
				 const struct live *lv, struct stash *st)
{
	for (size_t i = 0; names && i < names->n; i++) {
		const char *nm = names->v[i];
		_cleanup_free_ char *content = NULL;
		if (nm[0] == '.' || journal_is_live(nm))
			continue;
		content = read_journal(dirfd, nm);
		if (content)
			remove_listed(lv, st, content);
		unlinkat(dirfd, nm, 0);
	}
}

static char *placeholder_dir(const char *state_dir)
{
	return hutch_path_join(state_dir, "placeholders");
}

/*
 * Under the lock: the live journals' contents into @lv and, with @st, dead
 * runs' placeholders and journals removed; the directory is listed once.
 */
static void take_stock(int dirfd, struct live *lv, struct stash *st)
{
	struct hutch_dirnames names;
	bool listed = hutch_dirnames_read(dirfd, ".", &names) == 0;

	live_load(dirfd, listed ? &names : NULL, lv);
	if (st)
		cleanup_stale_locked(dirfd, listed ? &names : NULL, lv, st);
	hutch_dirnames_free(&names);
}

/* Whether STATE/placeholders holds a journal (anything but the lock and the stash). */
static bool has_journals(const char *dir)
{
	struct hutch_dirnames names;
	bool any = false;

	if (hutch_dirnames_read(AT_FDCWD, dir, &names) < 0)
		return true; /* let the full path say what is wrong */
	for (size_t i = 0; i < names.n && !any; i++)
		any = strcmp(names.v[i], ".lock") && strcmp(names.v[i], STASH);
	hutch_dirnames_free(&names);
	return any;
}

int hutch_placeholders_cleanup_stale(const char *state_dir)
{
	_cleanup_free_ char *dir = placeholder_dir(state_dir);
	_cleanup_close_ int dfd = -1, lfd = -1;
	struct stash stash;
	struct live live;
	struct stat st;

	if (!dir)
		return -ENOMEM;
	(void)own_start_time(); /* for our journal, if we need one */
	if (stat(dir, &st) < 0)
		return 0; /* never used: nothing to clean */
	if (!has_journals(dir))
		return 0; /* the usual case: no run is live, none died */
	dfd = open_locked(dir, &lfd);
	if (dfd < 0)
		return dfd;
	stash_open(dfd, &stash);
	take_stock(dfd, &live, &stash);
	live_free(&live);
	stash_close(&stash);
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
	_cleanup_free_ char *buf = NULL;
	size_t total = 0, off = 0;

	for (size_t i = 0; i < n; i++)
		total += strlen(paths[i]) + 1;
	if (total > JOURNAL_MAX_BYTES)
		return -E2BIG;
	buf = malloc(total + 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(paths[i]);
		memcpy(buf + off, paths[i], l);
		buf[off + l] = '\n';
		off += l + 1;
	}
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	/* the whole list in one write */
	if (write(fd, buf, total) != (ssize_t)total)
		return errno ? -errno : -EIO;
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
	struct stash stash;
	_cleanup_(live_free) struct live live = {.n = 0};
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
	stash_open(dfd, &stash);
	take_stock(dfd, &live, &stash);
	/*
	 * Ours: the missing paths, and existing ones that are another live run's
	 * placeholders (we use them too: the last run to end removes them).
	 */
	paths = calloc(n_missing + n_existing + 1, sizeof(char *));
	if (!paths) {
		stash_close(&stash);
		free_ph(ph);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_missing; i++)
		paths[n++] = missing[i];
	for (size_t i = 0; i < n_existing; i++)
		if (used_by_other(&live, existing[i]))
			paths[n++] = existing[i];
	if (n == 0) {
		stash_close(&stash);
		free_ph(ph);
		return 0;
	}
	snprintf(name, sizeof(name), "%d-%llu", (int)getpid(), own_start_time());
	ph->journal = strdup(name);
	if (!ph->journal) {
		stash_close(&stash);
		free_ph(ph);
		return -ENOMEM;
	}
	/* Journal first, then create: a crash in between leaves only rmdir work. */
	r = write_journal(dfd, name, paths, n);
	if (r < 0) {
		stash_close(&stash);
		free_ph(ph);
		return hutch_err(err, r, 0, "protect: writing the placeholder journal");
	}
	for (size_t i = 0; i < n; i++) {
		r = make_placeholder(&stash, paths[i]);
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
	stash_close(&stash);
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
	struct stash stash;
	struct live live;

	if (!ph)
		return;
	dfd = open_locked(ph->dir, &lfd);
	if (dfd >= 0) {
		stash_open(dfd, &stash);
		unlinkat(dfd, ph->journal, 0);
		take_stock(dfd, &live, NULL);
		for (size_t i = 0; i < ph->n; i++)
			if (ph->paths[i] && !used_by_other(&live, ph->paths[i]))
				remove_placeholder(&stash, ph->paths[i]);
		live_free(&live);
		stash_close(&stash);
	}
	free_ph(ph);
}
