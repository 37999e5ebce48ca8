/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* base/fdpass.c: descriptors over a Unix socket, close-on-exec, extra ones closed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fdpass.h"
#include "tap.h"

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int main(void)
{
	int sp[2], p1[2], p2[2], got[2], before;
	char buf[8] = {0};
	size_t n;
	ssize_t r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 || pipe(p1) < 0 ||
	    pipe(p2) < 0)
		return 1;
	/* two descriptors sent, both taken */
	is_int(hutch_fds_send(sp[0], "ab", 2, (int[]){p1[0], p2[0]}, 2), 2, "send: 2 bytes");
	r = hutch_fds_recv(sp[1], buf, sizeof(buf), got, 2, &n, 0);
	is_int(r, 2, "recv: 2 bytes");
	is_str(buf, "ab", "recv: the bytes");
	is_int((int)n, 2, "recv: 2 descriptors");
	ok(same_file(got[0], p1[0]) && same_file(got[1], p2[0]), "recv: in order");
	ok((fcntl(got[0], F_GETFD) & FD_CLOEXEC) && (fcntl(got[1], F_GETFD) & FD_CLOEXEC),
	   "recv: close-on-exec");
	close(got[0]);
	close(got[1]);
	/* more than asked for: the extra one is closed, not leaked */
	before = open_fds();
	hutch_fds_send(sp[0], "c", 1, (int[]){p1[0], p2[0]}, 2);
	r = hutch_fds_recv(sp[1], buf, sizeof(buf), got, 1, &n, 0);
	is_int((int)n, 1, "recv of 1 when 2 came: 1 kept");
	is_int(open_fds(), before + 1, "  and the other closed");
	close(got[0]);
	/* none sent, none received */
	hutch_fds_send(sp[0], "d", 1, NULL, 0);
	r = hutch_fds_recv(sp[1], buf, sizeof(buf), got, 2, &n, 0);
	ok(r == 1 && n == 0 && got[0] == -1 && got[1] == -1, "a message without descriptors");
	/* nothing waiting, MSG_DONTWAIT */
	is_int(hutch_fds_recv(sp[1], buf, sizeof(buf), got, 1, &n, MSG_DONTWAIT), -EAGAIN,
	       "nothing waiting: -EAGAIN");
	is_int(hutch_fds_send(sp[0], "e", 1, got, HUTCH_FDPASS_MAX + 1), -EINVAL,
	       "more than HUTCH_FDPASS_MAX: -EINVAL");
	/* the peer gone: the end of the stream */
	close(sp[0]);
	is_int(hutch_fds_recv(sp[1], buf, sizeof(buf), got, 1, &n, 0), 0, "peer closed: 0");
	return done_testing();
}
