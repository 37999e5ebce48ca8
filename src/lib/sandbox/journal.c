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
 * Journal files are recycled too: a finished run renames its journal to
 * ".free-*" and the next one writes over it in place. Creating, replacing and
 * unlinking a small file each run costs ext4 block allocation, a flush on
 * rename-over and a discard on unlink; writing into blocks already allocated
 * costs none of that. A journal is still never seen half written: it is
 * written under a ".new" name and exchanged with the old one (RENAME_EXCHANGE).
 *
 * Placeholders are recycled: an empty directory, or a file that still holds
 * exactly what hutch wrote, is renamed into STATE/placeholders/.stash at the
 * end of a run and renamed back to where the next run needs one. On ext4 a
 * mkdir()/rmdir() or create/unlink pair per protected name and run costs far
 * more than two renames (inode and block allocation, which skips recently
 * freed inodes; a discard when a file with a block is unlinked), and a busy
 * agent starts many runs. A stashed file's name says what it holds
 * ("f<k>-...": file_contents[k]); it is checked again (regular, one link,
 * 0444, that content) before it is used.
 *
 * The sandbox can write the directories placeholders are in: it may have
 * moved one away and left a symbolic link to elsewhere (the user's home) in
 * its place, or put something else under a placeholder's name, by the end
 * of its run or while a concurrent run is live. So every operation on a
 * placeholder (making it, taking it from or putting it into the stash, its
 * mode, removing it, replaying a dead run's journal) is made relative to its
 * directory opened with openat2(RESOLVE_NO_SYMLINKS), with *at() calls that
 * never follow the last component, and mode changes on a descriptor
 * (fchmod) whose fstat() matches what hutch placed: the journal records the
 * device and inode of each placeholder once made. Whatever does not match
 * is left where it is and noted in STATE/placeholders/.refused.
 * docs/THREAT_MODEL.md lists these operations and the tests attacking them.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/file.h"
#include "base/dirnames.h"
#include "base/error.h"
#include "base/escape.h"
#include "base/path.h"
#include "sandbox/protect.h"

#define JOURNAL_MAX_BYTES (256 * 1024)
#define STASH ".stash"
#define REFUSED ".refused"
#define REFUSED_MAX_BYTES (64 * 1024)
#define NEW_SUFFIX ".new"
#define FREE_PREFIX ".free-" /* a finished run's journal, kept to be written over */
#define FREE_MAX 4
#define STASH_MAX 128 /* four concurrent runs in fresh workspaces: 28 placeholders each */
#define LIVE_MAX 256
#define STASH_NAME_MAX 48

/* What hutch placed at a path: its inode. {0, 0}: not known (see the journal format above). */
struct placed {
	dev_t dev;
	ino_t ino;
};

struct hutch_placeholders {
	char *dir;		      /* STATE/placeholders */
	char *journal;		      /* our journal file */
	char **paths;		      /* placeholders this run uses (created or shared) */
	struct placed *ids;	      /* what is at each of them */
	char (*from)[STASH_NAME_MAX]; /* the stash name each came from ("": none) */
	size_t n;
};

/* The stash of placeholders, read once per operation under the journal's lock. */
struct stash {
	int fd;	   /* -1: none */
	bool root; /* running as root: stashed directories keep mode 0555 */
	size_t n;
	char names[STASH_MAX][STASH_NAME_MAX];
	signed char kind[STASH_MAX]; /* STASH_DIR, or a file holding file_contents[kind] */
	bool used[STASH_MAX];	     /* taken (or found unusable) in this operation */
	/*
	 * The name to put the next placeholder back under: the one it was taken
	 * from, vacated by this run (its dentry is cached, negative: no lookup in
	 * the directory, no new dentry). NULL or taken meanwhile: a new name.
	 */
	const char *want;
};

#define STASH_DIR (-1)

/* The directory the last placeholder was in, opened without following symlinks. */
struct parent {
	char dir[PATH_MAX];
	int fd;	 /* -1: none */
	int err; /* -errno when it could not be opened */
};

/* One operation on the placeholders, under the journal's lock. */
struct op {
	int jfd; /* STATE/placeholders */
	struct stash st;
	struct parent pc;
	int refused; /* placeholders left because they were not what hutch placed */
};

static int sys_openat2(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned)flags, .resolve = resolve};

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
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
	{"commondir", ".\n"},	 /* git's own value (see protect.c) */
	{"config.worktree", ""}, /* git reads it as a config file (extensions.worktreeConfig) */
	/* agents' own settings and instructions (profiles.c, protected when missing too) */
	{"settings.json", "{}\n"},
	{"settings.local.json", "{}\n"},
	{"config.toml", ""},
	{"CLAUDE.md", ""},
	{"GEMINI.md", ""},
	{"AGENTS.md", ""},
	{"AGENTS.override.md", ""},
	{".env", ""},
	{"hooks.json", "{}\n"},
	{"trustedFolders.json", "{}\n"},
	{"system.md", ""},
	{"oauth-keys.env", ""},
	/* agents' and editors' files in the workspace (the default protected list) */
	{"CLAUDE.local.md", ""},
	{".cursorrules", ""},
	{".windsurfrules", ""},
	{".aider.conf.yml", ""},
	{".aider.model.settings.yml", "[]\n"},
	{".aider.model.metadata.json", "{}\n"},
};

/* What file placeholders hold: a stashed file's kind ("f<k>-..." in the stash). */
static const char *const file_contents[] = {"", ".\n", "{}\n", "[]\n"};

/* The kind of a file placeholder holding @content, or -1 (not recycled). */
static int content_kind(const char *content)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_contents); i++)
		if (!strcmp(content, file_contents[i]))
			return (int)i;
	return -1;
}

/* The kind of the stash entry @name: STASH_DIR, a file kind, or -2 (not to be used). */
static int stash_kind(const char *name)
{
	if (name[0] == 'f' && name[1] >= '0' && name[1] < '0' + (int)ARRAY_SIZE(file_contents) &&
	    name[2] == '-')
		return name[1] - '0';
	return name[0] >= '0' && name[0] <= '9' ? STASH_DIR : -2;
}

/* The content of the file placeholder for @path, or NULL for a directory. */
static const char *file_placeholder(const char *path)
{
	const char *base = strrchr(path, '/');

	for (size_t i = 0; base && i < ARRAY_SIZE(file_placeholders); i++)
		if (!strcmp(base + 1, file_placeholders[i].name))
			return file_placeholders[i].content;
	return NULL;
}

static bool known(const struct placed *id)
{
	return id->dev != 0 || id->ino != 0;
}

static bool same(const struct placed *id, const struct stat *sb)
{
	return id->dev == sb->st_dev && id->ino == sb->st_ino;
}

static bool same_id(const struct placed *a, const struct placed *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/* Absolute and normalised: no empty, "." or ".." component; not "/". */
static bool path_ok(const char *path)
{
	if (path[0] != '/' || !path[1])
		return false;
	for (const char *c = path + 1; c;) {
		const char *e = strchr(c, '/');
		size_t l = e ? (size_t)(e - c) : strlen(c);

		if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c = e ? e + 1 : NULL;
	}
	return true;
}

static void parent_close(struct parent *pc)
{
	if (pc->fd >= 0)
		close(pc->fd);
	pc->fd = -1;
	pc->err = 0;
	pc->dir[0] = '\0';
}

/*
 * The directory holding @path, opened without following a symbolic link
 * anywhere in its path: the sandbox may have replaced one of its directories
 * by a link to elsewhere. Every operation on the placeholder is then made
 * relative to it (*@name: the last component). Returns a descriptor owned
 * by @pc (kept for the next path in the same directory) or -errno.
 */
static int parent_at(struct parent *pc, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t dl;

	if (!path_ok(path) || strlen(slash + 1) > NAME_MAX || strlen(path) >= PATH_MAX)
		return -EINVAL;
	dl = slash == path ? 1 : (size_t)(slash - path);
	*name = slash + 1;
	if ((pc->fd >= 0 || pc->err) && strlen(pc->dir) == dl && !memcmp(pc->dir, path, dl))
		return pc->fd >= 0 ? pc->fd : pc->err;
	parent_close(pc);
	memcpy(pc->dir, path, dl);
	pc->dir[dl] = '\0';
	pc->fd = sys_openat2(AT_FDCWD, pc->dir, O_PATH | O_DIRECTORY | O_CLOEXEC,
			     RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	pc->err = pc->fd < 0 ? -errno : 0;
	return pc->fd >= 0 ? pc->fd : pc->err;
}

/*
 * @name in @dfd opened without following it, and only if it is still @id
 * (any inode when @id is not known) of the type in @flags. -1 otherwise.
 */
static int open_placed(int dfd, const char *name, const struct placed *id, int flags,
		       struct stat *sb)
{
	_cleanup_close_ int fd =
		openat(dfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 || fstat(fd, sb) < 0)
		return -1;
	if (known(id) && !same(id, sb))
		return -1;
	if ((flags & O_DIRECTORY) ? !S_ISDIR(sb->st_mode) : !S_ISREG(sb->st_mode))
		return -1;
	return TAKE_FD(fd);
}

/* Note a placeholder left in place, in STATE/placeholders/.refused (bounded). */
static void refuse(struct op *op, const char *path, const char *why)
{
	char esc[PATH_MAX], line[PATH_MAX + 128];
	_cleanup_close_ int fd = -1;
	struct stat sb;
	int n;

	op->refused++;
	fd = openat(op->jfd, REFUSED, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size > REFUSED_MAX_BYTES)
		return;
	n = snprintf(line, sizeof(line), "%s: %s\n", hutch_escape_str(path, esc, sizeof(esc), 0),
		     why);
	if (n > 0)
		(void)!write(fd, line, strlen(line));
}

static void stash_open(int dirfd, struct stash *st)
{
	struct hutch_dirnames names;

	st->fd = -1;
	st->n = 0;
	st->want = NULL;
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
		int kind = stash_kind(nm);

		/* dot names (kept aside) and anything else never used */
		if (kind < STASH_DIR || strlen(nm) >= STASH_NAME_MAX)
			continue;
		st->kind[st->n] = (signed char)kind;
		st->used[st->n] = false;
		memcpy(st->names[st->n++], nm, strlen(nm) + 1);
	}
	hutch_dirnames_free(&names);
}

static void op_open(struct op *op, int jfd)
{
	op->jfd = jfd;
	op->refused = 0;
	op->pc.fd = -1;
	parent_close(&op->pc);
	stash_open(jfd, &op->st);
}

static void op_close(struct op *op)
{
	if (op->st.fd >= 0)
		close(op->st.fd);
	op->st.fd = -1;
	parent_close(&op->pc);
}

/* Whether directory @fd (freshly opened: its offset at the start) holds nothing. */
static bool fd_dir_is_empty(int fd)
{
	/* "." and ".." come first in one getdents64 call; a third entry means not empty */
	_Alignas(struct dirent64) char buf[2 * sizeof(struct dirent64)];
	ssize_t n = getdents64(fd, buf, sizeof(buf));
	size_t off = 0;

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

/* @name in @dfd (just placed, @id) made mode @mode, through a descriptor. */
static void set_mode(int dfd, const char *name, const struct placed *id, mode_t mode)
{
	struct stat sb;
	_cleanup_close_ int fd = open_placed(dfd, name, id, O_RDONLY | O_DIRECTORY, &sb);

	if (fd >= 0)
		(void)fchmod(fd, mode);
}

/*
 * An empty directory from the stash renamed to @name in @dfd (never over
 * anything there): 0 and its inode in @id, -EEXIST when something is there.
 */
static void stash_close(struct stash *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

/* The next stash entry of @kind not used yet in this operation, or NULL. */
static const char *stash_next(struct stash *st, int kind)
{
	for (size_t i = 0; st->fd >= 0 && i < st->n; i++) {
		if (st->used[i] || st->kind[i] != kind)
			continue;
		st->used[i] = true;
		return st->names[i];
	}
	return NULL;
}

static int stash_take(struct stash *st, int dfd, const char *name, struct placed *id)
{
	const char *sname;

	while ((sname = stash_next(st, STASH_DIR))) {
		struct stat sb;

		if (fstatat(st->fd, sname, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode))
			continue;
		if (renameat2(st->fd, sname, dfd, name, RENAME_NOREPLACE) == 0) {
			*id = (struct placed){sb.st_dev, sb.st_ino};
			if (!st->root) /* root's own stay 0555 in the stash */
				set_mode(dfd, name, id, 0555);
			return 0;
		}
		if (errno == EEXIST)
			return -EEXIST; /* someone's directory, or a live run's placeholder */
		if (errno == EXDEV) {
			stash_close(st); /* the stash is on another filesystem */
			break;
		}
	}
	return -ENOENT;
}

/* Whether @fd is a file placeholder as hutch leaves it: regular, one link, 0444, @content. */
static bool file_is_placeholder(int fd, const struct stat *sb, const char *content)
{
	size_t len = strlen(content);
	char buf[8];

	if (!S_ISREG(sb->st_mode) || sb->st_nlink != 1 || (sb->st_mode & 07777) != 0444 ||
	    sb->st_size != (off_t)len || len >= sizeof(buf))
		return false;
	return pread(fd, buf, sizeof(buf), 0) == (ssize_t)len && !memcmp(buf, content, len);
}

/*
 * A file placeholder holding @content from the stash, checked, renamed to
 * @name in @dfd (never over anything there): 0 and its inode in @id, -EEXIST
 * when something is there, -ENOENT when the stash has none.
 */
static int stash_take_file(struct stash *st, int dfd, const char *name, const char *content,
			   struct placed *id)
{
	int kind = content_kind(content);
	const char *sname;

	while (kind >= 0 && (sname = stash_next(st, kind))) {
		_cleanup_close_ int fd =
			openat(st->fd, sname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		struct stat sb;

		if (fd < 0 || fstat(fd, &sb) < 0 || !file_is_placeholder(fd, &sb, content))
			continue;
		if (renameat2(st->fd, sname, dfd, name, RENAME_NOREPLACE) == 0) {
			*id = (struct placed){sb.st_dev, sb.st_ino};
			return 0;
		}
		if (errno == EEXIST)
			return -EEXIST;
		if (errno == EXDEV) {
			stash_close(st);
			break;
		}
	}
	return -ENOENT;
}

/*
 * Move our file placeholder @name in @dfd (open as @fd, @sb, holding
 * @content) into the stash; false when it stays where it is. Checked again
 * once there (the inode @fd is open on, still as hutch wrote it), else given
 * back, as stash_put() does with a directory.
 */
static bool stash_put_file(struct stash *st, int dfd, const char *name, int fd,
			   const struct stat *sb, const char *content)
{
	static unsigned counter;
	int kind = content_kind(content);
	char sname[STASH_NAME_MAX];

	if (st->fd < 0 || st->n >= STASH_MAX || kind < 0 || !file_is_placeholder(fd, sb, content))
		return false;
	for (int tries = 0; tries < 9; tries++) {
		if (tries == 0 && st->want && stash_kind(st->want) == kind)
			snprintf(sname, sizeof(sname), "%s", st->want);
		else if (tries == 0)
			continue;
		else
			snprintf(sname, sizeof(sname), "f%d-%d-%u", kind, (int)getpid(), counter++);
		if (renameat2(dfd, name, st->fd, sname, RENAME_NOREPLACE) == 0) {
			struct placed id = {sb->st_dev, sb->st_ino};
			struct stat nb, now;
			bool ours = fstatat(st->fd, sname, &nb, AT_SYMLINK_NOFOLLOW) == 0 &&
				    same(&id, &nb) && fstat(fd, &now) == 0 &&
				    file_is_placeholder(fd, &now, content);

			st->n++;
			if (!ours && renameat2(st->fd, sname, dfd, name, RENAME_NOREPLACE) < 0) {
				char kept[STASH_NAME_MAX + 8];
				snprintf(kept, sizeof(kept), ".kept-%s", sname);
				(void)renameat(st->fd, sname, st->fd, kept);
			}
			return true;
		}
		if (errno != EEXIST)
			break;
	}
	return false;
}

/*
 * Move our empty directory @name in @dfd (open as @fd, @sb) into the stash;
 * false when it stays where it is. Its mode is changed on @fd only.
 */
static bool stash_put(struct stash *st, int dfd, const char *name, int fd, const struct stat *sb)
{
	static unsigned counter;
	/* moving a directory to another parent needs write permission on it (root: not) */
	bool open_up = !st->root;
	char sname[STASH_NAME_MAX];

	if (st->fd < 0 || st->n >= STASH_MAX)
		return false;
	if (open_up && fchmod(fd, 0755) < 0)
		return false;
	for (int tries = 0; tries < 9; tries++) {
		if (tries == 0 && st->want && stash_kind(st->want) == STASH_DIR)
			snprintf(sname, sizeof(sname), "%s", st->want);
		else if (tries == 0)
			continue;
		else
			snprintf(sname, sizeof(sname), "%d-%u", (int)getpid(), counter++);
		if (renameat2(dfd, name, st->fd, sname, RENAME_NOREPLACE) == 0) {
			struct placed id = {sb->st_dev, sb->st_ino};
			struct stat nb;
			bool ours = fstatat(st->fd, sname, &nb, AT_SYMLINK_NOFOLLOW) == 0 &&
				    same(&id, &nb);

			st->n++;
			/*
			 * Not our empty directory (the user put something in it, or
			 * something else took its name in between): give it back at
			 * once, never lose a file; if its name was taken meanwhile, keep
			 * it aside (dot names are never used).
			 */
			/* ours: the inode @fd is open on, so its listing is the stashed one's */
			if (!ours || !fd_dir_is_empty(fd)) {
				if (!ours && open_up)
					(void)fchmod(fd, 0555);
				if (renameat2(st->fd, sname, dfd, name, RENAME_NOREPLACE) < 0) {
					char kept[STASH_NAME_MAX + 8];
					snprintf(kept, sizeof(kept), ".kept-%s", sname);
					(void)renameat(st->fd, sname, st->fd, kept);
				}
			}
			return true;
		}
		if (errno == EACCES && !open_up && fchmod(fd, 0755) == 0) {
			open_up = true; /* root without the capability (a user namespace) */
			continue;
		}
		if (errno != EEXIST)
			break;
	}
	if (open_up)
		(void)fchmod(fd, 0555);
	return false;
}

/*
 * The stash entry a placeholder for @path will be (a directory, or a file
 * holding what it must), checked as stash_take() and stash_take_file() do,
 * chosen before the journal is written so that the journal names its inode
 * (@id) from the start: the index of the entry, or -1 when the stash has none.
 */
static int stash_pick(struct stash *st, const char *path, struct placed *id)
{
	const char *content = file_placeholder(path);
	int kind = content ? content_kind(content) : STASH_DIR;

	for (size_t i = 0; st->fd >= 0 && kind >= STASH_DIR && i < st->n; i++) {
		struct stat sb;
		bool fits;

		if (st->used[i] || st->kind[i] != kind)
			continue;
		st->used[i] = true;
		if (!content) {
			fits = fstatat(st->fd, st->names[i], &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			       S_ISDIR(sb.st_mode);
		} else {
			_cleanup_close_ int fd =
				openat(st->fd, st->names[i],
				       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			fits = fd >= 0 && fstat(fd, &sb) == 0 &&
			       file_is_placeholder(fd, &sb, content);
		}
		if (fits) {
			*id = (struct placed){sb.st_dev, sb.st_ino};
			return (int)i;
		}
	}
	return -1;
}

/*
 * The stash entry @pick (stash_pick(), inode @id) renamed to @path: 0, 1 when
 * something is there already (not ours), -ENOENT when it could not be used
 * (the caller makes the placeholder another way).
 */
static int place_picked(struct op *op, const char *path, int pick, const struct placed *id)
{
	const char *name;
	int dfd = parent_at(&op->pc, path, &name);

	if (dfd < 0 || op->st.fd < 0)
		return -ENOENT;
	if (renameat2(op->st.fd, op->st.names[pick], dfd, name, RENAME_NOREPLACE) == 0) {
		if (!file_placeholder(path) && !op->st.root) /* root's own stay 0555 in the stash */
			set_mode(dfd, name, id, 0555);
		return 0;
	}
	if (errno == EEXIST)
		return 1;
	if (errno == EXDEV)
		stash_close(&op->st);
	return -ENOENT;
}

/*
 * Place a placeholder at @path: 0 with what was placed in @id, 1 when
 * something is there already (not ours: left alone), or -errno.
 */
static int make_placeholder(struct op *op, const char *path, struct placed *id)
{
	const char *content = file_placeholder(path), *name;
	size_t len = content ? strlen(content) : 0;
	int dfd = parent_at(&op->pc, path, &name);
	_cleanup_close_ int fd = -1;
	struct stat sb;
	int r;

	*id = (struct placed){0, 0};
	if (dfd < 0)
		return dfd;
	if (!content) {
		r = stash_take(&op->st, dfd, name, id);
		if (r != -ENOENT)
			return r == -EEXIST ? 1 : r;
		if (mkdirat(dfd, name, 0555) < 0)
			return errno == EEXIST ? 1 : -errno;
		if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode))
			*id = (struct placed){sb.st_dev, sb.st_ino};
		return 0;
	}
	r = stash_take_file(&op->st, dfd, name, content, id);
	if (r != -ENOENT)
		return r == -EEXIST ? 1 : r;
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return errno == EEXIST ? 1 : -errno;
	if (fstat(fd, &sb) == 0)
		*id = (struct placed){sb.st_dev, sb.st_ino};
	if (len && write(fd, content, len) != (ssize_t)len) {
		r = errno ? -errno : -EIO;
		if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && same(id, &sb))
			unlinkat(dfd, name, 0);
		return r;
	}
	return 0;
}

/* Our directory placeholder @name in @dfd: into the stash, else rmdir. */
static void remove_dir(struct op *op, int dfd, const char *name, const char *path,
		       const struct placed *id)
{
	struct stat sb;
	_cleanup_close_ int fd = open_placed(dfd, name, id, O_RDONLY | O_DIRECTORY, &sb);

	if (fd < 0) {
		/* gone (nothing to do), or not what hutch placed there (left, noted) */
		if (known(id) && fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			refuse(op, path,
			       same(id, &sb) ? "changed while hutch looked at it"
					     : "not what hutch placed there: left where it is");
		return; /* not ours for sure: nothing to do */
	}
	/* rmdir by name, in a directory the sandbox could write: removes only an empty one */
	if (!stash_put(&op->st, dfd, name, fd, &sb))
		(void)unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Our file placeholder @name in @dfd, if it still holds exactly what we wrote: into the stash, else
 * unlink. */
static void remove_file(struct op *op, int dfd, const char *name, const char *content,
			const struct placed *id)
{
	struct stat sb;
	_cleanup_close_ int fd = open_placed(dfd, name, id, O_RDONLY, &sb);
	char buf[8];
	ssize_t n;

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	if (n == (ssize_t)strlen(content) && !memcmp(buf, content, (size_t)n) &&
	    !stash_put_file(&op->st, dfd, name, fd, &sb, content))
		(void)unlinkat(dfd, name, 0);
}

/*
 * Only ever an empty directory, or a file that still holds exactly what we
 * wrote; and, when the journal knows it, only the inode we placed, found
 * through its directory opened without following symlinks. Anything else is
 * left where it is and noted in STATE/placeholders/.refused.
 */
static void remove_placeholder(struct op *op, const char *path, const struct placed *id)
{
	const char *content = file_placeholder(path), *name;
	int dfd = parent_at(&op->pc, path, &name);
	struct stat sb;

	if (dfd < 0) {
		refuse(op, path,
		       dfd == -ELOOP	? "a symbolic link in its path: left where it is"
		       : dfd == -ENOENT ? "its directory was moved or removed"
					: "its directory cannot be opened");
		return;
	}
	/*
	 * A directory is opened straight away (O_DIRECTORY opens nothing else, so
	 * opening it acts on nothing but a directory); a file only once its inode
	 * is known to be ours.
	 */
	if (!content && known(id)) {
		remove_dir(op, dfd, name, path, id);
		return;
	}
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return; /* gone */
	if (known(id) && !same(id, &sb)) {
		refuse(op, path, "not what hutch placed there: left where it is");
		return;
	}
	if (!content)
		remove_dir(op, dfd, name, path, id);
	else
		remove_file(op, dfd, name, content, id);
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

	if (name[0] == '.')
		name++; /* a journal being rewritten: ".<pid>-<starttime>.new" */
	if (sscanf(name, "%d-%llu", &pid, &st) != 2 || pid <= 0)
		return false;
	return start_time(pid) == st;
}

/* A journal's content (NUL-terminated as a whole too). */
struct jtext {
	char *buf;
	size_t len;
};

static int read_journal(int dirfd, const char *name, struct jtext *j)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	j->buf = NULL;
	j->len = 0;
	if (fd < 0)
		return -errno;
	j->buf = malloc(JOURNAL_MAX_BYTES + 1);
	if (!j->buf)
		return -ENOMEM;
	n = read(fd, j->buf, JOURNAL_MAX_BYTES);
	if (n < 0) {
		free(j->buf);
		j->buf = NULL;
		return -errno;
	}
	j->buf[n] = '\0';
	j->len = (size_t)n;
	{
		char *small = realloc(j->buf, (size_t)n + 1);
		if (small)
			j->buf = small;
	}
	return 0;
}

/*
 * One journal record: "DEV INO PATH", each record ended by a NUL (a path
 * may hold any other byte). DEV and INO are 0 until the placeholder is
 * made. A journal of an older hutch holds "PATH\n" lines: read as not known.
 */
struct rec {
	struct placed id;
	char path[PATH_MAX];
};

/*
 * "DEV INO " at the start of a record of @l bytes: the two numbers in @v and
 * the length of that prefix (the path follows), or 0 when it is not there.
 * (Without sscanf: a run checks every path against every live run's records.)
 */
static size_t parse_ids(const char *s, size_t l, unsigned long long v[2])
{
	size_t i = 0;

	for (int k = 0; k < 2; k++) {
		size_t start;

		v[k] = 0;
		while (i < l && isspace((unsigned char)s[i]))
			i++;
		start = i;
		for (; i < l && s[i] >= '0' && s[i] <= '9'; i++) {
			unsigned d = (unsigned)(s[i] - '0');
			if (v[k] > (ULLONG_MAX - d) / 10)
				return 0;
			v[k] = v[k] * 10 + d;
		}
		if (i == start)
			return 0;
	}
	while (i < l && isspace((unsigned char)s[i]))
		i++;
	return i;
}

/* The next record of @j from *@pos: true, false at the end. Malformed ones are skipped. */
static bool next_rec(const struct jtext *j, size_t *pos, struct rec *r)
{
	char sep = memchr(j->buf, '\0', j->len) ? '\0' : '\n';

	while (*pos < j->len) {
		const char *s = j->buf + *pos;
		const char *e = memchr(s, sep, j->len - *pos);
		size_t l = e ? (size_t)(e - s) : j->len - *pos;
		unsigned long long ids[2] = {0, 0};
		size_t skip = 0;

		*pos += l + 1;
		if (sep == '\0' && (skip = parse_ids(s, l, ids)) > 0) {
			s += skip;
			l -= skip;
		} else if (sep == '\0') {
			continue;
		}
		if (l == 0 || l >= sizeof(r->path) || memchr(s, '\0', l))
			continue;
		memcpy(r->path, s, l);
		r->path[l] = '\0';
		if (!path_ok(r->path))
			continue;
		r->id = (struct placed){(dev_t)ids[0], (ino_t)ids[1]};
		return true;
	}
	return false;
}

/* The live journals' contents, read once per operation under the lock. */
struct live {
	struct jtext j[LIVE_MAX];
	size_t n;
	char free[FREE_MAX][STASH_NAME_MAX]; /* ".free-*" journals to write over */
	size_t n_free;
	bool overflow; /* more live runs than we keep: assume every path is in use */
};

/* @names: the directory's listing (NULL: unreadable), read once per operation. */
static bool is_free_journal(const char *name)
{
	return !strncmp(name, FREE_PREFIX, strlen(FREE_PREFIX)) && strlen(name) < STASH_NAME_MAX;
}

static void live_load(int dirfd, const struct hutch_dirnames *names, struct live *lv)
{
	lv->n = 0;
	lv->n_free = 0;
	lv->overflow = false;
	if (!names) {
		lv->overflow = true; /* when in doubt, keep */
		return;
	}
	for (size_t i = 0; i < names->n; i++) {
		const char *nm = names->v[i];
		struct jtext j;
		if (is_free_journal(nm) && lv->n_free < FREE_MAX)
			memcpy(lv->free[lv->n_free++], nm, strlen(nm) + 1);
		if (nm[0] == '.' || !journal_is_live(nm))
			continue;
		if (read_journal(dirfd, nm, &j) < 0 || lv->n == LIVE_MAX) {
			free(j.buf);
			lv->overflow = true;
			continue;
		}
		lv->j[lv->n++] = j;
	}
}

static void live_free(struct live *lv)
{
	for (size_t i = 0; i < lv->n; i++)
		free(lv->j[i].buf);
	lv->n = 0;
}

/*
 * Is @path listed in a live journal (other than ours, gone or not written
 * yet)? Its record's inode in @id (may be NULL; {0, 0} when not known).
 */
static bool used_by_other(const struct live *lv, const char *path, struct placed *id)
{
	struct rec r;

	if (id)
		*id = (struct placed){0, 0};
	if (lv->overflow)
		return true;
	for (size_t i = 0; i < lv->n; i++)
		for (size_t pos = 0; next_rec(&lv->j[i], &pos, &r);)
			if (!strcmp(r.path, path)) {
				if (id)
					*id = r.id;
				return true;
			}
	return false;
}

static void remove_listed(struct op *op, const struct live *lv, const struct jtext *j)
{
	struct rec r;

	for (size_t pos = 0; next_rec(j, &pos, &r);)
		if (!used_by_other(lv, r.path, NULL))
			remove_placeholder(op, r.path, &r.id);
}

static int open_locked(const char *dir, int *lockfd)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), lfd = -1;

	if (dfd < 0 && errno == ENOENT) {
		/* the first run: make it */
		int r = hutch_mkdir_p(dir, 0700);
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

/* A journal being rewritten when its run died: ".<name>.new". */
static bool is_new_journal(const char *name)
{
	size_t l = strlen(name);

	return name[0] == '.' && l > strlen(NEW_SUFFIX) + 1 &&
	       !strcmp(name + l - strlen(NEW_SUFFIX), NEW_SUFFIX);
}

static void cleanup_stale_locked(struct op *op, const struct hutch_dirnames *names,
				 const struct live *lv)
{
	size_t n_free = 0;

	for (size_t i = 0; names && i < names->n; i++) {
		const char *nm = names->v[i];
		struct jtext j;

		if (!strncmp(nm, FREE_PREFIX, strlen(FREE_PREFIX))) {
			if (++n_free > FREE_MAX || !is_free_journal(nm))
				unlinkat(op->jfd, nm, 0); /* more than are reused */
			continue;
		}
		if (is_new_journal(nm) && !journal_is_live(nm)) {
			unlinkat(op->jfd, nm, 0); /* its journal lists the same paths, or more */
			continue;
		}
		if (nm[0] == '.' || journal_is_live(nm))
			continue;
		if (read_journal(op->jfd, nm, &j) == 0)
			remove_listed(op, lv, &j);
		free(j.buf);
		unlinkat(op->jfd, nm, 0);
	}
}

static char *placeholder_dir(const char *state_dir)
{
	return hutch_path_join(state_dir, "placeholders");
}

/*
 * Under the lock: the live journals' contents into @lv and, with @op, dead
 * runs' placeholders and journals removed; the directory is listed once.
 */
static void take_stock(int dirfd, struct live *lv, struct op *op)
{
	struct hutch_dirnames names;
	bool listed = hutch_dirnames_read(dirfd, ".", &names) == 0;

	live_load(dirfd, listed ? &names : NULL, lv);
	if (op)
		cleanup_stale_locked(op, listed ? &names : NULL, lv);
	hutch_dirnames_free(&names);
}

/* Whether STATE/placeholders holds a journal (not the lock, the stash or the notes). */
static bool has_journals(const char *dir)
{
	struct hutch_dirnames names;
	bool any = false;

	if (hutch_dirnames_read(AT_FDCWD, dir, &names) < 0)
		return true; /* let the full path say what is wrong */
	for (size_t i = 0; i < names.n && !any; i++)
		any = names.v[i][0] != '.' || is_new_journal(names.v[i]);
	hutch_dirnames_free(&names);
	return any;
}

int hutch_placeholders_cleanup_stale(const char *state_dir)
{
	_cleanup_free_ char *dir = placeholder_dir(state_dir);
	_cleanup_close_ int dfd = -1, lfd = -1;
	struct op op;
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
	op_open(&op, dfd);
	take_stock(dfd, &live, &op);
	live_free(&live);
	op_close(&op);
	return op.refused;
}

static void free_ph(struct hutch_placeholders *ph)
{
	if (!ph)
		return;
	for (size_t i = 0; i < ph->n; i++)
		free(ph->paths[i]);
	free(ph->paths);
	free(ph->ids);
	free(ph->from);
	free(ph->dir);
	free(ph->journal);
	free(ph);
}

/* Journal file @name in @dirfd kept as ".free-*" to be written over by a later journal. */
static void retire_journal(int dirfd, const char *name)
{
	static unsigned counter;
	char fname[STASH_NAME_MAX];

	snprintf(fname, sizeof(fname), FREE_PREFIX "%d-%u", (int)getpid(), counter++);
	if (renameat2(dirfd, name, dirfd, fname, RENAME_NOREPLACE) < 0)
		unlinkat(dirfd, name, 0);
}

/* The ".new" file to write a journal into: a free journal of @lv renamed to @tmp, or a new one. */
static int open_journal_file(int dirfd, const char *tmp, struct live *lv)
{
	while (lv && lv->n_free > 0) {
		const char *f = lv->free[--lv->n_free];
		int fd;

		if (renameat2(dirfd, f, dirfd, tmp, RENAME_NOREPLACE) < 0)
			continue;
		fd = openat(dirfd, tmp, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0)
			return fd;
		unlinkat(dirfd, tmp, 0);
	}
	return openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/*
 * The journal @name: written aside (over a free journal of @lv when there is
 * one), then put in place: renamed when @name is new, exchanged with the old
 * version when @replace (which is kept as a free journal). Never half written.
 */
static int write_journal(int dirfd, const char *name, char *const *paths, const struct placed *ids,
			 size_t n, bool replace, struct live *lv)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	char tmp[96];
	size_t total = 0, off = 0;
	struct stat sb;
	int r = 0;

	for (size_t i = 0; i < n; i++)
		total += strlen(paths[i]) + 2 * 21 + 1;
	if (total > JOURNAL_MAX_BYTES)
		return -E2BIG;
	buf = malloc(total + 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int l = snprintf(buf + off, total + 1 - off, "%llu %llu %s",
				 (unsigned long long)ids[i].dev, (unsigned long long)ids[i].ino,
				 paths[i]);
		if (l < 0)
			return -EIO;
		off += (size_t)l + 1; /* the record's NUL */
	}
	snprintf(tmp, sizeof(tmp), ".%s" NEW_SUFFIX, name);
	fd = open_journal_file(dirfd, tmp, lv);
	if (fd < 0)
		return -errno;
	/* the whole list in one write, then what an older journal had beyond it cut */
	if (pwrite(fd, buf, off, 0) != (ssize_t)off)
		r = errno ? -errno : -EIO;
	else if (fstat(fd, &sb) < 0 || (sb.st_size > (off_t)off && ftruncate(fd, (off_t)off) < 0))
		r = -errno;
	if (r == 0 && replace) {
		if (renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0) {
			retire_journal(dirfd, tmp);
			return 0;
		}
		if (errno != ENOENT)
			r = -errno;
	}
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

static struct hutch_placeholders *new_ph(const char *state_dir, size_t n)
{
	struct hutch_placeholders *ph = calloc(1, sizeof(*ph));

	if (!ph)
		return NULL;
	ph->dir = placeholder_dir(state_dir);
	ph->paths = calloc(n + 1, sizeof(char *));
	ph->ids = calloc(n + 1, sizeof(struct placed));
	ph->from = calloc(n + 1, sizeof(*ph->from));
	if (!ph->dir || !ph->paths || !ph->ids || !ph->from) {
		free_ph(ph);
		return NULL;
	}
	return ph;
}

static int ph_add(struct hutch_placeholders *ph, const char *path, const struct placed *id,
		  const char *from)
{
	ph->paths[ph->n] = strdup(path);
	if (!ph->paths[ph->n])
		return -ENOMEM;
	snprintf(ph->from[ph->n], sizeof(ph->from[ph->n]), "%s", from ? from : "");
	ph->ids[ph->n++] = *id;
	return 0;
}

/*
 * Make the missing ones (ours from then on), keep the shared ones: into @ph.
 * @picks: the stash entry chosen for each missing one (-1: none), whose inode
 * the journal already names. *@as_journaled: false when what was placed
 * differs from what the journal says (the journal is then written again).
 */
static int place_all(struct op *op, struct hutch_placeholders *ph, char *const *paths,
		     const struct placed *ids, const int *picks, size_t n, size_t n_missing,
		     bool *as_journaled, hutch_error *err)
{
	*as_journaled = true;
	for (size_t i = 0; i < n; i++) {
		struct placed id = ids[i];
		const char *from = NULL;
		int r = 0;

		if (i < n_missing && picks[i] >= 0) {
			r = place_picked(op, paths[i], picks[i], &id);
			from = r == 0 ? op->st.names[picks[i]] : NULL;
		}
		if (i < n_missing && (picks[i] < 0 || r < 0)) {
			id = (struct placed){0, 0};
			r = make_placeholder(op, paths[i], &id);
		}
		if (i < n_missing && (picks[i] < 0 || r != 0 || !same_id(&id, &ids[i])))
			*as_journaled = false;

		if (r < 0) {
			char esc[512];

			r = hutch_err(err, r, "protect: cannot create a placeholder for %s",
				      hutch_escape_str(paths[i], esc, sizeof(esc), 0));
			if (r == -ELOOP)
				hutch_err_hint(err, "hutch never follows a symbolic link to place "
						    "one: name the writable directory by its real "
						    "path");
			return r;
		}
		if (r == 1)
			continue; /* something is there, not ours: left alone */
		r = ph_add(ph, paths[i], &id, from);
		if (r < 0)
			return r;
	}
	return 0;
}

int hutch_placeholders_create(const char *state_dir, char **missing, size_t n_missing,
			      char *const *existing, size_t n_existing,
			      struct hutch_placeholders **out, hutch_error *err)
{
	_cleanup_free_ char **paths = NULL;
	_cleanup_free_ struct placed *ids = NULL;
	_cleanup_free_ int *picks = NULL;
	bool as_journaled = false;
	size_t n = 0;
	struct hutch_placeholders *ph;
	_cleanup_close_ int dfd = -1, lfd = -1;
	struct op op;
	_cleanup_(live_free) struct live live = {.n = 0};
	char name[64];
	int r;

	*out = NULL;
	if (n_missing == 0 && n_existing == 0)
		return 0;
	ph = new_ph(state_dir, n_missing + n_existing);
	paths = calloc(n_missing + n_existing + 1, sizeof(char *));
	ids = calloc(n_missing + n_existing + 1, sizeof(*ids));
	picks = calloc(n_missing + 1, sizeof(*picks));
	if (!ph || !paths || !ids || !picks) {
		free_ph(ph);
		return -ENOMEM;
	}
	dfd = open_locked(ph->dir, &lfd);
	if (dfd < 0) {
		r = hutch_err(err, dfd, "protect: opening the placeholder journal in %s", ph->dir);
		hutch_err_hint(err, "hutch needs a writable state directory ($XDG_STATE_HOME)");
		free_ph(ph);
		return r;
	}
	op_open(&op, dfd);
	take_stock(dfd, &live, &op);
	/*
	 * Ours: the missing paths, and existing ones that are another live run's
	 * placeholders (we use them too: the last run to end removes them).
	 */
	for (size_t i = 0; i < n_missing; i++) {
		picks[n] = stash_pick(&op.st, missing[i], &ids[n]);
		paths[n++] = missing[i];
	}
	for (size_t i = 0; i < n_existing; i++)
		if (used_by_other(&live, existing[i], &ids[n]))
			paths[n++] = existing[i];
	if (n == 0) {
		op_close(&op);
		free_ph(ph);
		return 0;
	}
	snprintf(name, sizeof(name), "%d-%llu", (int)getpid(), own_start_time());
	ph->journal = strdup(name);
	if (!ph->journal) {
		op_close(&op);
		free_ph(ph);
		return -ENOMEM;
	}
	/*
	 * Journal first, then create: a crash in between leaves only rmdir work.
	 * It names the inode of each placeholder taken from the stash (chosen
	 * above); when one had to be made anew, or could not be placed as
	 * journaled, the journal is written again with what was placed. In the
	 * usual run every placeholder comes from the stash: one write.
	 */
	r = write_journal(dfd, name, paths, ids, n, false, &live);
	if (r < 0) {
		op_close(&op);
		free_ph(ph);
		return hutch_err(err, r, "protect: writing the placeholder journal");
	}
	r = place_all(&op, ph, paths, ids, picks, n, n_missing, &as_journaled, err);
	if (r >= 0 && !as_journaled) {
		r = write_journal(dfd, name, ph->paths, ph->ids, ph->n, true, &live);
		if (r < 0)
			r = hutch_err(err, r, "protect: writing the placeholder journal");
	}
	op_close(&op);
	close(TAKE_FD(lfd));
	if (r < 0) {
		hutch_placeholders_remove(ph);
		return r;
	}
	*out = ph;
	return 0;
}

int hutch_placeholders_remove(struct hutch_placeholders *ph)
{
	_cleanup_close_ int dfd = -1, lfd = -1;
	struct op op = {.refused = 0};
	struct live live;

	if (!ph)
		return 0;
	dfd = open_locked(ph->dir, &lfd);
	if (dfd >= 0) {
		op_open(&op, dfd);
		retire_journal(dfd, ph->journal);
		take_stock(dfd, &live, NULL);
		for (size_t i = 0; i < ph->n; i++)
			if (ph->paths[i] && !used_by_other(&live, ph->paths[i], NULL)) {
				op.st.want = ph->from[i][0] ? ph->from[i] : NULL;
				remove_placeholder(&op, ph->paths[i], &ph->ids[i]);
				op.st.want = NULL;
			}
		live_free(&live);
		op_close(&op);
	}
	free_ph(ph);
	return op.refused;
}
