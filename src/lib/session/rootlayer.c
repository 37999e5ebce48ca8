/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --ephemeral=root: the session's layer over the host's root (see rootlayer.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/file.h"
#include "base/path.h"
#include "sandbox/mount.h"
#include "session/rootlayer.h"
#include "session/bounds.h"

#define SKELETON_MAX_DIRS 512
#define SKELETON_MAX_FILE (16u * 1024u * 1024u)
#define CHANGED_MAX_ENTRIES (1u * 1000u * 1000u)

/*
 * Directories package managers and installers create files in (apt-get,
 * dpkg, pip, make install): each one that exists on the host is made in the
 * upper layer with its ancestors, with the host's mode and times. Patterns
 * are glob(3)s. A directory that is not in this list stays read-only to an
 * unprivileged run (new files in it: EACCES).
 */
static const char *const skeleton_dirs[] = {
	"/etc",
	"/etc/alternatives",
	"/etc/apt/apt.conf.d",
	"/etc/apt/preferences.d",
	"/etc/apt/sources.list.d",
	"/etc/apt/trusted.gpg.d",
	"/etc/default",
	"/etc/ld.so.conf.d",
	"/etc/profile.d",
	"/etc/bash_completion.d",
	"/opt",
	"/usr/bin",
	"/usr/sbin",
	"/usr/include",
	"/usr/lib",
	"/usr/lib/*-linux-gnu",
	"/usr/lib/python3/dist-packages",
	"/usr/lib/python3.*",
	"/usr/lib/python3.*/site-packages",
	"/usr/libexec",
	"/usr/share",
	"/usr/share/applications",
	"/usr/share/bash-completion/completions",
	"/usr/share/doc",
	"/usr/share/info",
	"/usr/share/lintian/overrides",
	"/usr/share/man",
	"/usr/share/man/man[1-8]",
	"/usr/share/pixmaps",
	"/usr/local/bin",
	"/usr/local/etc",
	"/usr/local/games",
	"/usr/local/include",
	"/usr/local/lib",
	"/usr/local/lib/python3*",
	"/usr/local/lib/python3*/dist-packages",
	"/usr/local/lib/python3*/site-packages",
	"/usr/local/sbin",
	"/usr/local/share",
	"/usr/local/share/man",
	"/usr/local/src",
	"/var/cache/apt/archives/partial",
	"/var/cache/debconf",
	"/var/cache/ldconfig",
	"/var/lib/apt/lists/partial",
	"/var/lib/apt/mirrors",
	"/var/lib/apt/periodic",
	"/var/lib/dpkg/alternatives",
	"/var/lib/dpkg/info",
	"/var/lib/dpkg/parts",
	"/var/lib/dpkg/triggers",
	"/var/lib/dpkg/updates",
	"/var/lib/misc",
	"/var/lib/python",
	"/var/log/apt",
	"/var/mail",
	"/var/spool",
};

/*
 * Files rewritten in place (locks, state, logs, caches): copied into the
 * layer, as the user's own. One the user cannot read is left out (it stays
 * read-only inside), unless its content does not matter (a lock, a log): then
 * it starts empty.
 */
static const struct {
	const char *path;
	bool may_start_empty;
} skeleton_files[] = {
	{"/etc/ld.so.cache", false},
	{"/var/cache/apt/archives/lock", true},
	{"/var/cache/apt/pkgcache.bin", false},
	{"/var/cache/apt/srcpkgcache.bin", false},
	{"/var/cache/debconf/config.dat", false},
	{"/var/cache/debconf/passwords.dat", false},
	{"/var/cache/debconf/templates.dat", false},
	{"/var/lib/apt/extended_states", false},
	{"/var/lib/apt/lists/lock", true},
	{"/var/lib/dpkg/diversions", false},
	{"/var/lib/dpkg/lock", true},
	{"/var/lib/dpkg/lock-frontend", true},
	{"/var/lib/dpkg/statoverride", false},
	{"/var/lib/dpkg/status", false},
	{"/var/lib/dpkg/triggers/File", false},
	{"/var/lib/dpkg/triggers/Lock", true},
	{"/var/lib/dpkg/triggers/Unincorp", false},
	{"/var/log/alternatives.log", true},
	{"/var/log/apt/eipp.log.xz", true},
	{"/var/log/apt/history.log", true},
	{"/var/log/apt/term.log", true},
	{"/var/log/dpkg.log", true},
};

struct skel {
	int ufd;		       /* the upper layer */
	char *made[SKELETON_MAX_DIRS]; /* directories made, in order (parents first) */
	struct timespec times[SKELETON_MAX_DIRS][2];
	size_t n;
};

static const char *rel_of(const char *path)
{
	while (*path == '/')
		path++;
	return path;
}

/* A host directory that is really one (no symlink on the way) and that we can read. */
static bool usable_dir(const char *path, struct stat *st)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return false;
	/* every component: a directory, not a symlink (the layer must not shadow a link) */
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = '\0';
			if (lstat(buf, st) < 0 || !S_ISDIR(st->st_mode))
				return false;
			*p = c;
			if (!c)
				break;
		}
	}
	return access(path, R_OK | X_OK) == 0;
}

/* mkdir -p of @path in the upper layer, each level with the host's mode. */
static int skel_dir(struct skel *k, const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	struct stat st;

	if (len >= sizeof(buf) || !usable_dir(path, &st))
		return -ENOENT;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = '\0';
			if (fstatat(k->ufd, rel_of(buf), &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (stat(buf, &st) < 0 || k->n >= SKELETON_MAX_DIRS)
					return -ENOENT;
				if (mkdirat(k->ufd, rel_of(buf), 0700) < 0 ||
				    fchmodat(k->ufd, rel_of(buf), st.st_mode & 07777, 0) < 0)
					return -errno;
				k->made[k->n] = strdup(rel_of(buf));
				if (!k->made[k->n])
					return -ENOMEM;
				k->times[k->n][0] = st.st_atim;
				k->times[k->n][1] = st.st_mtim;
				k->n++;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

static int skel_file(struct skel *k, const char *path, bool may_start_empty)
{
	_cleanup_free_ char *parent = strdup(path);
	_cleanup_close_ int in = -1, out = -1;
	struct timespec ts[2];
	struct stat st;
	int r;

	if (!parent)
		return -ENOMEM;
	*strrchr(parent, '/') = '\0';
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SKELETON_MAX_FILE)
		return 0;
	if (skel_dir(k, parent) < 0)
		return 0;
	in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0 && (errno != EACCES || (st.st_size > 0 && !may_start_empty)))
		return 0; /* unreadable: stays the host's (read-only inside) */
	out = openat(k->ufd, rel_of(path), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (out < 0)
		return errno == EEXIST ? 0 : -errno;
	if (in >= 0 && (r = hutch_copy_data(in, out)) < 0)
		return r;
	if (fchmod(out, st.st_mode & 0777) < 0)
		return -errno;
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	(void)futimens(out, ts);
	return 0;
}

static int make_skeleton(int ufd, hutch_error *err)
{
	struct skel k = {.ufd = ufd};
	int r = 0;

	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(skeleton_dirs); i++) {
		glob_t g;
		if (glob(skeleton_dirs[i], GLOB_NOSORT | GLOB_ONLYDIR, NULL, &g) != 0)
			continue;
		for (size_t j = 0; r >= 0 && j < g.gl_pathc; j++) {
			r = skel_dir(&k, g.gl_pathv[j]);
			if (r == -ENOENT)
				r = 0; /* missing, unreadable or behind a symlink: left out */
		}
		globfree(&g);
	}
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(skeleton_files); i++)
		r = skel_file(&k, skeleton_files[i].path, skeleton_files[i].may_start_empty);
	/* times last, deepest first: making children changed the parents' */
	for (size_t i = k.n; i-- > 0;) {
		if (r >= 0)
			(void)utimensat(ufd, k.made[i], k.times[i], AT_SYMLINK_NOFOLLOW);
		free(k.made[i]);
	}
	if (r < 0)
		return hutch_err(err, r, "--ephemeral=root: preparing the root layer");
	return 0;
}

/*
 * apt switches to its _apt user to download, and nothing inside may change
 * its ids (no CAP_SETUID): tell it, in the layer, to stay as it is.
 */
static const char apt_conf_path[] = "/etc/apt/apt.conf.d/00hutch-sandbox";
static const char apt_conf[] = "// hutch --ephemeral=root: no id switching inside the sandbox\n"
			       "APT::Sandbox::User \"root\";\n";

static int write_apt_conf(int ufd)
{
	struct skel k = {.ufd = ufd};
	_cleanup_close_ int out = -1;
	size_t len = sizeof(apt_conf) - 1;
	int r = 0;

	if (skel_dir(&k, "/etc/apt/apt.conf.d") < 0)
		goto done; /* no apt on this host */
	out = openat(ufd, rel_of(apt_conf_path),
		     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (out < 0)
		r = errno == EEXIST ? 0 : -errno;
	else if (write(out, apt_conf, len) != (ssize_t)len)
		r = -errno;
	else if (fchmod(out, 0644) < 0)
		r = -errno;
done:
	for (size_t i = k.n; i-- > 0;) {
		(void)utimensat(ufd, k.made[i], k.times[i], AT_SYMLINK_NOFOLLOW);
		free(k.made[i]);
	}
	return r;
}

static int prepare_at(int rfd, hutch_error *err);

/* The stamp's ctime must be older than any write of the sandbox: wait out the coarse tick. */
static void wait_past(const struct timespec *t)
{
	for (int i = 0; i < 100; i++) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME_COARSE, &now);
		if (now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec > t->tv_nsec))
			return;
		usleep(1000);
	}
}

int hutch_rootlayer_make(const char *session_dir, bool skeleton, hutch_error *err)
{
	_cleanup_close_ int sfd = open(session_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int tfd = -1, ufd = -1, stamp = -1;
	struct stat st;
	int r;

	if (sfd < 0)
		return hutch_err(err, errno, "session %s", session_dir);
	if (fstatat(sfd, "root", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	(void)hutch_remove_tree(sfd, "root.tmp"); /* a killed earlier attempt */
	if (mkdirat(sfd, "root.tmp", 0700) < 0)
		return hutch_err(err, errno, "--ephemeral=root: creating %s/root.tmp", session_dir);
	tfd = openat(sfd, "root.tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0 || mkdirat(tfd, "upper", 0700) < 0 || mkdirat(tfd, "work", 0700) < 0 ||
	    (ufd = openat(tfd, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = hutch_err(err, errno, "--ephemeral=root: creating the root layer in %s",
			      session_dir);
		goto fail;
	}
	r = prepare_at(tfd, err);
	if (r >= 0 && skeleton)
		r = make_skeleton(ufd, err);
	if (r >= 0 && (r = write_apt_conf(ufd)) < 0)
		r = hutch_err(err, r, "--ephemeral=root: writing %s in the layer", apt_conf_path);
	if (r < 0)
		goto fail;
	stamp = openat(tfd, "stamp", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (stamp < 0 || fstat(stamp, &st) < 0) {
		r = hutch_err(err, errno, "--ephemeral=root: %s/root.tmp/stamp", session_dir);
		goto fail;
	}
	wait_past(&st.st_ctim);
	if (renameat(sfd, "root.tmp", sfd, "root") < 0) {
		r = hutch_err(err, errno, "--ephemeral=root: %s/root", session_dir);
		goto fail;
	}
	return 1;
fail:
	(void)hutch_remove_tree(sfd, "root.tmp");
	return r;
}

/* upper/X with the attributes of /X (the merged X takes them), and work/X. */
static int prepare_top(int rfd, const char *name)
{
	char host[NAME_MAX + 2];
	struct stat st, ust;
	int r = 0;

	snprintf(host, sizeof(host), "/%s", name);
	if (lstat(host, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	{
		_cleanup_close_ int ufd = openat(rfd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (ufd < 0)
			return -errno;
		if (fstatat(ufd, name, &ust, AT_SYMLINK_NOFOLLOW) < 0) {
			struct timespec ts[2] = {st.st_atim, st.st_mtim};
			if (mkdirat(ufd, name, 0700) < 0 ||
			    fchmodat(ufd, name, st.st_mode & 07777, 0) < 0)
				return -errno;
			(void)utimensat(ufd, name, ts, AT_SYMLINK_NOFOLLOW);
		}
	}
	{
		_cleanup_close_ int wfd = openat(rfd, "work", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (wfd < 0)
			return -errno;
		if (mkdirat(wfd, name, 0700) < 0 && errno != EEXIST)
			r = -errno;
	}
	return r;
}

static int prepare_at(int rfd, hutch_error *err)
{
	_cleanup_closedir_ DIR *d = opendir("/");
	struct dirent *de;
	int r;

	if (!d)
		return hutch_err(err, errno, "--ephemeral=root: reading /");
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (hutch_mount_top_level_replaced(de->d_name))
			continue;
		r = prepare_top(rfd, de->d_name);
		if (r < 0)
			return hutch_err(err, r, "--ephemeral=root: the layer for /%s", de->d_name);
	}
	return 0;
}

int hutch_rootlayer_prepare(const char *session_dir, hutch_error *err)
{
	_cleanup_free_ char *root = hutch_path_join(session_dir, "root");
	_cleanup_close_ int rfd = root ? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (rfd < 0)
		return hutch_err(err, root ? errno : ENOMEM, "--ephemeral=root: %s", session_dir);
	return prepare_at(rfd, err);
}

static bool after(const struct statx_timestamp *a, const struct timespec *t)
{
	return a->tv_sec > t->tv_sec || (a->tv_sec == t->tv_sec && a->tv_nsec > t->tv_nsec);
}

/*
 * New or changed since the layer was made? Files: their ctime. Directories:
 * their birth time, as the kernel marks the layer's directories
 * (user.overlay.origin, .impure, .uuid) when it merely looks them up; a new
 * entry in one is a new entry. Without a birth time, ctime (keeps too much).
 */
static bool changed_entry(int dfd, const char *name, const struct timespec *t, bool *is_dir)
{
	struct statx stx;

	if (statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_CTIME | STATX_BTIME, &stx) < 0)
		return true;
	*is_dir = S_ISDIR(stx.stx_mode);
	if (*is_dir && (stx.stx_mask & STATX_BTIME))
		return after(&stx.stx_btime, t);
	return after(&stx.stx_ctime, t);
}

static bool walk_changed(int dfd, const struct timespec *t, int depth, size_t *budget)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (depth > HUTCH_SESSION_MAX_DEPTH || !*budget)
		return true; /* cannot tell: keep it */
	fd = dup(dfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return true;
	}
	while ((de = readdir(d))) {
		bool is_dir = false;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!--*budget || changed_entry(dfd, de->d_name, t, &is_dir))
			return true;
		if (is_dir) {
			_cleanup_close_ int c = openat(
				dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (c < 0 || walk_changed(c, t, depth + 1, budget))
				return true;
		}
	}
	return false;
}

bool hutch_rootlayer_changed(const char *session_dir)
{
	_cleanup_free_ char *root = hutch_path_join(session_dir, "root");
	_cleanup_close_ int rfd = root ? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	_cleanup_close_ int ufd = -1;
	size_t budget = CHANGED_MAX_ENTRIES;
	struct stat st;

	if (rfd < 0)
		return errno != ENOENT; /* no root layer: nothing in it */
	if (fstatat(rfd, "stamp", &st, 0) < 0)
		return true;
	ufd = openat(rfd, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ufd < 0)
		return true;
	return walk_changed(ufd, &st.st_ctim, 0, &budget);
}
