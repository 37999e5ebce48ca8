/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Foreseeing the kernel's refusal of an exec (see execcheck.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit/execcheck.h"
#include "base/cleanup.h"
#include "base/path.h"

/* The kernel reads this much of a file to choose its format (BINPRM_BUF_SIZE). */
#define HEAD 256
/* Files whose format is remembered, per checker. */
#define CACHE 32

enum format { FMT_UNKNOWN, FMT_ELF, FMT_SCRIPT, FMT_NOEXEC };

struct cached {
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
	off_t size;
	enum format fmt;
	char interp[HEAD]; /* FMT_SCRIPT: the interpreter as written */
};

struct hutch_execcheck {
	bool misc; /* binfmt_misc may have handlers: ENOEXEC is not foreseen */
	struct cached cache[CACHE];
	size_t next;
};

/*
 * Are there binfmt_misc handlers? Its status file says whether it is enabled,
 * its directory lists them. Not mounted here: handlers are registered through
 * that mount (systemd, binfmt-support), so none is assumed.
 */
static bool binfmt_misc_handlers(void)
{
	static const char dir[] = "/proc/sys/fs/binfmt_misc";
	_cleanup_closedir_ DIR *d = NULL;
	char st[16] = "";
	struct dirent *e;
	FILE *f = fopen("/proc/sys/fs/binfmt_misc/status", "re");

	if (!f)
		return errno != ENOENT;
	if (!fgets(st, sizeof(st), f))
		st[0] = '\0';
	fclose(f);
	if (strncmp(st, "disabled", 8) == 0)
		return false;
	d = opendir(dir);
	if (!d)
		return true;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "register") && strcmp(e->d_name, "status"))
			return true;
	return false;
}

int hutch_execcheck_new(struct hutch_execcheck **out)
{
	struct hutch_execcheck *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->misc = binfmt_misc_handlers();
	*out = c;
	return 0;
}

void hutch_execcheck_free(struct hutch_execcheck *c)
{
	free(c);
}

/* The kernel's own answer for a lookup that failed, or 0 when it is not known. */
static int lookup_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
	case EACCES:
		return e;
	default:
		return 0;
	}
}

/*
 * @abs opened O_PATH in @root (@flags added): the fd, or -errno. A magic link
 * (/proc/self/exe) is not followed from here: -EAGAIN, the kernel decides.
 */
static int open_in_root(int root, const char *abs, int flags, uint64_t resolve)
{
	struct open_how how = {.flags = (uint64_t)(O_PATH | O_CLOEXEC | flags),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve};
	int fd = (int)syscall(SYS_openat2, root, abs, &how, sizeof(how));

	if (fd >= 0)
		return fd;
	if (errno != ELOOP || resolve)
		return -errno;
	/* a magic link refused, or a real loop: a loop fails the same way with them allowed */
	how.resolve = RESOLVE_IN_ROOT;
	fd = (int)syscall(SYS_openat2, root, abs, &how, sizeof(how));
	if (fd >= 0) {
		close(fd);
		return -EAGAIN;
	}
	return errno == ELOOP ? -ELOOP : -EAGAIN;
}

/*
 * ENOENT is the one failure a lookup from here can get where the process's
 * succeeds: /proc/self and /proc/thread-self name the process looking up, and
 * the supervisor is no process of the sandbox. Sure when no symlink came
 * before the missing name, or when it is missing from a directory reached
 * that is not in procfs.
 */
static bool missing_for_sure(int root, const char *abs)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dfd = -1, fd = -1;
	struct statfs sfs;
	const char *slash = strrchr(abs, '/');

	if (strncmp(abs, "/proc/", 6) == 0 || strncmp(abs, "/dev/", 5) == 0)
		return false; /* /proc/self/..., /dev/fd/..., /dev/stdin */
	fd = open_in_root(root, abs, O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
	if (fd == -ENOENT)
		return true;
	if (fd != -ELOOP || !slash || !slash[1])
		return false;
	dir = strndup(abs, (size_t)(slash - abs) + 1);
	if (!dir)
		return false;
	dfd = open_in_root(root, dir, O_DIRECTORY, 0);
	if (dfd < 0 || fstatfs(dfd, &sfs) < 0 || sfs.f_type == PROC_SUPER_MAGIC)
		return false;
	fd = openat(dfd, slash + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 && errno == ENOENT;
}

/* @abs looked up in @root as the kernel will (@flags: O_NOFOLLOW or 0): fd, or -errno foreseen, or
 * -EAGAIN. */
static int lookup(int root, const char *abs, int flags)
{
	int fd = open_in_root(root, abs, flags, 0);

	if (fd == -ENOENT && !missing_for_sure(root, abs))
		return -EAGAIN;
	return fd;
}

/* Execute permission as fs/namei.c's generic_permission() gives it to a process without
 * capabilities. */
static bool may_exec(const struct stat *st, const struct hutch_exec_creds *cr)
{
	if (!(st->st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
		return false; /* nobody, not even root */
	if (!cr || !cr->known || cr->fsuid == 0)
		return true; /* root may hold capabilities here: the kernel decides */
	if (cr->fsuid == st->st_uid)
		return st->st_mode & S_IXUSR;
	/* group or other: without x in both, no class lets it (an ACL's entries are masked by the
	 * group bits) */
	return st->st_mode & (S_IXGRP | S_IXOTH);
}

/* "#!": the interpreter as fs/binfmt_script.c reads it; false: ENOEXEC. */
static bool script_interp(const char *buf, size_t n, char *interp)
{
	const char *end = memchr(buf, '\n', n), *p, *q;

	if (!end) {
		/* no newline in the buffer: a name running to its end may be cut, refused */
		for (p = buf + 2; p < buf + n && (*p == ' ' || *p == '\t'); p++)
			;
		if (p == buf + n)
			return false;
		for (q = p; q < buf + n && *q != ' ' && *q != '\t' && *q != '\0'; q++)
			;
		if (q == buf + n)
			return false;
		end = buf + n;
	}
	for (p = buf + 2; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	for (q = p; q < end && *q != ' ' && *q != '\t' && *q != '\0'; q++)
		;
	if (q == p)
		return false;
	memcpy(interp, p, (size_t)(q - p));
	interp[q - p] = '\0';
	return true;
}

static struct cached *cache_find(struct hutch_execcheck *c, const struct stat *st)
{
	for (size_t i = 0; i < CACHE; i++) {
		struct cached *e = &c->cache[i];
		if (e->fmt != FMT_UNKNOWN && e->dev == st->st_dev && e->ino == st->st_ino &&
		    e->size == st->st_size && e->ctime.tv_sec == st->st_ctim.tv_sec &&
		    e->ctime.tv_nsec == st->st_ctim.tv_nsec)
			return e;
	}
	return NULL;
}

/* The file's format from its first bytes (@fd: O_PATH of a regular file). */
static enum format read_format(int fd, char *interp)
{
	char p[64], buf[HEAD];
	_cleanup_close_ int rd = -1;
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	rd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (rd < 0)
		return FMT_UNKNOWN; /* not readable by the supervisor: the kernel decides */
	n = pread(rd, buf, sizeof(buf), 0);
	if (n < 0)
		return FMT_UNKNOWN;
	if (n >= 4 && memcmp(buf, "\177ELF", 4) == 0)
		return FMT_ELF; /* its header's details are the kernel's to judge */
	if (n >= 2 && buf[0] == '#' && buf[1] == '!')
		return script_interp(buf, (size_t)n, interp) ? FMT_SCRIPT : FMT_NOEXEC;
	return FMT_NOEXEC;
}

static enum format format_of(struct hutch_execcheck *c, int fd, const struct stat *st, char *interp)
{
	struct cached *e = cache_find(c, st);

	if (!e) {
		e = &c->cache[c->next++ % CACHE];
		e->fmt = read_format(fd, e->interp);
		e->dev = st->st_dev;
		e->ino = st->st_ino;
		e->size = st->st_size;
		e->ctime = st->st_ctim;
	}
	if (e->fmt == FMT_SCRIPT)
		memcpy(interp, e->interp, strlen(e->interp) + 1);
	return e->fmt;
}

static int check(struct hutch_execcheck *c, int root, const char *abs, const char *cwd,
		 const struct hutch_exec_creds *cr, bool want_real, char *real, size_t realsz,
		 bool *found, bool *late, int depth);

/* A "#!" interpreter: looked up from the process's working directory, checked in turn. */
static int check_interp(struct hutch_execcheck *c, int root, const char *interp, const char *cwd,
			const struct hutch_exec_creds *cr, int depth)
{
	_cleanup_free_ char *joined = NULL, *norm = NULL;
	char real[1];
	bool found = false, late = false;

	if (depth >= HUTCH_EXECCHECK_MAX_DEPTH)
		return 0;
	if (interp[0] != '/') {
		if (!cwd)
			return 0;
		joined = hutch_path_join(cwd, interp);
		if (!joined)
			return 0;
	}
	norm = hutch_path_normalize(joined ? joined : interp);
	if (!norm)
		return 0;
	return check(c, root, norm, cwd, cr, false, real, sizeof(real), &found, &late, depth + 1);
}

static int check(struct hutch_execcheck *c, int root, const char *abs, const char *cwd,
		 const struct hutch_exec_creds *cr, bool want_real, char *real, size_t realsz,
		 bool *found, bool *late, int depth)
{
	_cleanup_close_ int fd = -1;
	char interp[HEAD];
	struct statvfs vfs;
	struct stat st;

	real[0] = '\0';
	*found = false;
	if (strlen(abs) >= PATH_MAX)
		return ENAMETOOLONG;
	fd = lookup(root, abs, O_NOFOLLOW);
	if (fd < 0)
		return lookup_errno(-fd);
	if (fstat(fd, &st) < 0)
		return 0;
	if (S_ISLNK(st.st_mode)) {
		close(fd);
		fd = lookup(root, abs, 0);
		if (fd < 0)
			return lookup_errno(-fd);
		if (fstat(fd, &st) < 0)
			return 0;
		want_real = true;
	}
	*found = true;
	if (want_real && realsz > 1)
		(void)hutch_fd_path(fd, real, realsz);
	if (!S_ISREG(st.st_mode) || !may_exec(&st, cr))
		return EACCES;
	if (fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_NOEXEC))
		return EACCES;
	/* what follows is found by the kernel only after it copied argv and envp (E2BIG first) */
	*late = true;
	switch (format_of(c, fd, &st, interp)) {
	case FMT_NOEXEC:
		return c->misc ? 0 : ENOEXEC;
	case FMT_SCRIPT:
		return check_interp(c, root, interp, cwd, cr, depth);
	default:
		return 0;
	}
}

int hutch_execcheck_file(struct hutch_execcheck *c, int root, const char *abs, const char *cwd,
			 const struct hutch_exec_creds *cr, bool want_real, char *real,
			 size_t realsz, bool *found, bool *late)
{
	*late = false;
	return check(c, root, abs, cwd, cr, want_real, real, realsz, found, late, 0);
}

void hutch_execcheck_real(int root, const char *abs, char *real, size_t realsz)
{
	_cleanup_close_ int fd = open_in_root(root, abs, 0, 0);

	real[0] = '\0';
	if (fd >= 0 && realsz > 1)
		(void)hutch_fd_path(fd, real, realsz);
}

bool hutch_execcheck_too_big(uint64_t argc, uint64_t envc, uint64_t strings, uint64_t longest,
			     uint64_t rlim_stack)
{
	/* fs/exec.c bprm_stack_limits(): a quarter of the stack limit, within these bounds */
	uint64_t limit =
		rlim_stack / 4 < HUTCH_EXEC_STRINGS_MAX ? rlim_stack / 4 : HUTCH_EXEC_STRINGS_MAX;
	uint64_t ptrs = ((argc ? argc : 1) + envc) * sizeof(void *);

	if (limit < HUTCH_EXEC_ARG_MAX)
		limit = HUTCH_EXEC_ARG_MAX;
	if (longest > HUTCH_EXEC_ARG_MAX) /* MAX_ARG_STRLEN, one string with its NUL */
		return true;
	if (limit <= ptrs)
		return true;
	/* an empty argv gets an empty argv[0] */
	return strings + (argc ? 0 : 1) > limit - ptrs;
}
