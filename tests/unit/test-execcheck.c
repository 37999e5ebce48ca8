/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Foreseeing the kernel's refusal of an exec (audit/execcheck.c), checked against the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/execcheck.h"
#include "base/file.h"
#include "tap.h"

static char dir[] = "/tmp/test-execcheck.XXXXXX";
static struct hutch_execcheck *chk;
static int root;

static void put(const char *name, const char *text, mode_t mode)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) < 0 || fchmod(fd, mode) < 0)
		perror(p);
	if (fd >= 0)
		close(fd);
}

static bool ln(const char *target, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return symlink(target, p) == 0;
}

/* What the supervisor foresees for @name in the test directory. */
static int foresee(const char *name, char *real, size_t realsz)
{
	char p[256];
	bool found, late;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return hutch_execcheck_file(chk, root, p, dir, NULL, false, real, realsz, &found, &late);
}

/* What the kernel says for @name: 0 when it ran, else its errno. */
static int kernel(const char *name)
{
	char p[256];
	int pfd[2], e = 0, st;
	pid_t pid;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		execl(p, p, (char *)NULL);
		e = errno;
		if (write(pfd[1], &e, sizeof(e)) < 0)
			_exit(2);
		_exit(1);
	}
	close(pfd[1]);
	if (read(pfd[0], &e, sizeof(e)) != sizeof(e))
		e = 0;
	close(pfd[0]);
	waitpid(pid, &st, 0);
	return e;
}

#define SAME(name, want)                                                                           \
	do {                                                                                       \
		char r[4096];                                                                      \
		is_int(foresee(name, r, sizeof(r)), want, "%s: foreseen", name);                   \
		is_int(kernel(name), want, "%s: the kernel agrees", name);                         \
	} while (0)

int main(void)
{
	char link[512], real[4096];

	if (!mkdtemp(dir))
		return 1;
	chmod(dir, 0755);
	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	ok(hutch_execcheck_new(&chk) == 0, "a checker");

	put("text", "not a program\n", 0755);
	put("empty", "", 0755);
	put("no-x", "#!/bin/sh\nexit 0\n", 0644);
	put("script", "#!/bin/sh\nexit 0\n", 0755);
	put("script-spaces", "#!  /bin/sh  -e  \nexit 0\n", 0755);
	put("bad-interp", "#!/nonexistent/sh\n", 0755);
	put("no-interp", "#!   \n", 0755);
	put("nested", "#!script\n", 0755); /* relative: from the working directory */
	snprintf(link, sizeof(link), "%s/a-dir", dir);
	ok(mkdir(link, 0755) == 0, "a directory");
	ok(ln("loop-b", "loop-a") && ln("loop-a", "loop-b") && ln("/bin/true", "to-true") &&
		   ln("nowhere", "dangling"),
	   "symlinks");

	SAME("text", ENOEXEC);
	SAME("empty", ENOEXEC);
	SAME("no-x", EACCES);
	SAME("a-dir", EACCES);
	SAME("script", 0);
	SAME("script-spaces", 0);
	SAME("bad-interp", ENOENT);
	SAME("no-interp", ENOEXEC);
	SAME("loop-a", ELOOP);
	SAME("nonexistent", ENOENT);
	SAME("to-true", 0);
	is_int(foresee("to-true", real, sizeof(real)), 0, "a symlink to /bin/true");
	ok(strstr(real, "/true") != NULL, "  its real path is read (%s)", real);
	is_int(foresee("dangling", real, sizeof(real)), 0,
	       "a dangling symlink: not foreseen (its target may be /proc/self/...)");
	is_int(hutch_execcheck_file(chk, root, "/proc/self/exe", "/", NULL, false, real,
				    sizeof(real), &(bool){0}, &(bool){0}),
	       0, "/proc/self/exe is the kernel's to judge");

	/* x bits as the process: the owner's, not the others' */
	put("other-x", "#!/bin/sh\n", 0611);
	{
		struct hutch_exec_creds owner = {.known = true, .fsuid = 1000, .fsgid = 1000};
		struct hutch_exec_creds other = {.known = true, .fsuid = 1001, .fsgid = 1001};
		struct stat st;
		char p[256];
		bool f, l;

		snprintf(p, sizeof(p), "%s/other-x", dir);
		if (chown(p, 1000, 1000) == 0 && stat(p, &st) == 0) {
			is_int(hutch_execcheck_file(chk, root, p, dir, &owner, false, real,
						    sizeof(real), &f, &l),
			       EACCES, "mode 0611: not for its owner");
			is_int(hutch_execcheck_file(chk, root, p, dir, &other, false, real,
						    sizeof(real), &f, &l),
			       0, "  but for the others");
		} else {
			for (int i = 0; i < 2; i++)
				printf("ok %d # skip chown to another user needs root\n", ++tap_n);
		}
	}

	/* E2BIG, as fs/exec.c counts */
	ok(!hutch_execcheck_too_big(1, 0, 100, 100, 8 << 20), "a small exec fits");
	ok(hutch_execcheck_too_big(2, 0, 200002, 200001, RLIM_INFINITY),
	   "one string over 128 KiB does not");
	ok(!hutch_execcheck_too_big(2, 0, 131072, 131072, RLIM_INFINITY),
	   "  one of 128 KiB with its NUL does");
	ok(hutch_execcheck_too_big(1, 0, (2 << 20) + 1, 10, 8 << 20),
	   "over a quarter of an 8 MiB stack does not fit");
	ok(!hutch_execcheck_too_big(1, 0, (2 << 20) - 8, 10, 8 << 20),
	   "  what fits with the pointers does");
	ok(hutch_execcheck_too_big(1, 0, (6 << 20) + 1, 10, RLIM_INFINITY),
	   "no more than 6 MiB without a stack limit");
	ok(!hutch_execcheck_too_big(1, 0, 100000, 10, 64 << 10),
	   "a small stack limit still grants 128 KiB");

	hutch_execcheck_free(chk);
	close(root);
	if (hutch_remove_tree(AT_FDCWD, dir) < 0)
		diag("cannot remove %s", dir);
	return done_testing();
}
