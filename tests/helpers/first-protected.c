/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * first-protected: the workload's very first system calls try what the sandbox
 * forbids, before anything else runs (linked statically where the toolchain
 * can: no dynamic loader goes first). One line per attempt, "NAME RESULT":
 * 0 when it succeeded (a hole), else the errno's name. Run in a git
 * workspace by tests/escape/first-protected.t, which checks the lines and the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define N_ACTS 11

struct act {
	const char *name;
	long ret;
	int err;
};

static long try_open(const char *path, int flags)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0644);

	if (fd >= 0)
		close((int)fd);
	return fd;
}

static long try_connect(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(80)};
	long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return fd;
	sa.sin_addr.s_addr = htonl(0x01010101); /* 1.1.1.1: no route out of the sandbox */
	r = syscall(SYS_connect, (int)fd, &sa, sizeof(sa));
	close((int)fd);
	return r;
}

/*
 * The host's old root, which pivot_root stacked on the new one, still there:
 * a second mount at "/" in mountinfo (0, a hole), else -1 with ENOENT.
 */
static long old_root_there(void)
{
	static char buf[1 << 16];
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/mountinfo", O_RDONLY | O_CLOEXEC), n;
	size_t len = 0;
	int at_root = 0;

	if (fd < 0)
		return fd;
	while (len < sizeof(buf) - 1 &&
	       (n = syscall(SYS_read, (int)fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close((int)fd);
	buf[len] = '\0';
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ...": the fifth field of each line */
	for (char *line = buf; line && *line;) {
		char *end = strchr(line, '\n'), *f = line;

		for (int k = 0; k < 4 && f; k++)
			f = strchr(f, ' ') ? strchr(f, ' ') + 1 : NULL;
		if (f && f[0] == '/' && f[1] == ' ')
			at_root++;
		line = end ? end + 1 : NULL;
	}
	if (at_root > 1)
		return 0;
	errno = ENOENT;
	return -1;
}

int main(int argc, char **argv)
{
	struct act a[N_ACTS];
	int n = 0;

	/* Each attempt is made and its errno kept before anything is printed. */
#define ACT(label, expr)                                                                           \
	do {                                                                                       \
		errno = 0;                                                                         \
		a[n].ret = (expr);                                                                 \
		a[n].err = errno;                                                                  \
		a[n++].name = (label);                                                             \
	} while (0)
	ACT("hook", try_open(".git/hooks/pre-commit", O_WRONLY | O_CREAT | O_TRUNC));
	ACT("git-config", try_open(".git/config", O_WRONLY | O_APPEND));
	ACT("vscode", syscall(SYS_mkdirat, AT_FDCWD, ".vscode", 0755));
	ACT("bashrc", try_open(".bashrc", O_WRONLY | O_CREAT | O_TRUNC));
	ACT("envrc", try_open(".envrc", O_WRONLY | O_CREAT | O_TRUNC));
	/* a file placeholder (recycled through the stash from the second round on) */
	ACT("cursorrules", try_open(".cursorrules", O_WRONLY | O_CREAT | O_TRUNC));
	ACT("usr", try_open("/usr/first-protected-probe", O_WRONLY | O_CREAT | O_TRUNC));
	ACT("connect", try_connect());
	ACT("userns", syscall(SYS_unshare, CLONE_NEWUSER));
	ACT("ptrace-scope", syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, 1, 0, 0));
	ACT("old-root", old_root_there());
#undef ACT
	(void)argc;
	(void)argv;
	for (int i = 0; i < n; i++)
		printf("%s %s\n", a[i].name, a[i].ret >= 0 ? "0" : strerrorname_np(a[i].err));
	return 0;
}
