/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tty-inject [--fd N] [--text TEXT] OP...: try to push input into a terminal,
 * the way a hostile process types commands into the user's shell. For each
 * OP print "OP RESULT", RESULT being 0 on success or the errno's name.
 *
 *   tiocsti      TIOCSTI, one byte of TEXT at a time, on fd N (default 0)
 *   tiocsti64    the same request with garbage in the upper 32 bits (the
 *                kernel only looks at the low 32: a filter comparing all 64
 *                bits would let it through)
 *   tioclinux    TIOCLINUX subcode 3 (TIOCL_PASTESEL: paste the console
 *                selection as input) on fd N
 *   tioclinux64  the same with the upper bits set
 *   devtty       open /dev/tty (the controlling terminal)
 *   devtty-sti   TIOCSTI of TEXT through a fresh open of /dev/tty
 *
 * Default TEXT: "echo HUTCH-INJECTED\n".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "UNKNOWN";
}

/* Through syscall(): glibc's ioctl() takes the request as unsigned long too, but be explicit. */
static int sti(int fd, unsigned long request, const char *text)
{
	for (const char *c = text; *c; c++)
		if (syscall(SYS_ioctl, fd, request, c) < 0)
			return errno;
	return 0;
}

static int linux_ioctl(int fd, unsigned long request)
{
	char sub[2] = {3, 0}; /* TIOCL_PASTESEL */

	return syscall(SYS_ioctl, fd, request, sub) < 0 ? errno : 0;
}

static void report(const char *op, int e)
{
	printf("%s %s\n", op, e ? errname(e) : "0");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *text = "echo HUTCH-INJECTED\n";
	int fd = 0, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fd") && i + 1 < argc)
			fd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--text") && i + 1 < argc)
			text = argv[++i];
		else
			break;
	}
	for (; i < argc; i++) {
		const char *op = argv[i];

		if (!strcmp(op, "tiocsti")) {
			report(op, sti(fd, TIOCSTI, text));
		} else if (!strcmp(op, "tiocsti64")) {
			report(op, sti(fd, (unsigned long)TIOCSTI | (1UL << 32), text));
		} else if (!strcmp(op, "tioclinux")) {
			report(op, linux_ioctl(fd, TIOCLINUX));
		} else if (!strcmp(op, "tioclinux64")) {
			report(op, linux_ioctl(fd, (unsigned long)TIOCLINUX | (1UL << 32)));
		} else if (!strcmp(op, "devtty") || !strcmp(op, "devtty-sti")) {
			int t = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

			if (t < 0) {
				report(op, errno);
				continue;
			}
			report(op, !strcmp(op, "devtty") ? 0 : sti(t, TIOCSTI, text));
			close(t);
		} else {
			fprintf(stderr, "tty-inject: unknown op '%s'\n", op);
			return 2;
		}
	}
	return 0;
}
