/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ctl-inject SOCKET: what a process on the host that is not the container's would try
 * against a container's daemon (src/lib/oci/netd.c, tests/integration/oci-net.t): connect
 * to its control socket and hand it a seccomp exec listener of its own, as hutch's
 * container init does (src/oci/oci-init.c), so that its own execs would be written to the
 * container's audit log. Prints "connected", then "ack=1" (taken) or "refused"; taken,
 * it execs /bin/true ctl-inject-marker under that filter.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(insns) / sizeof(insns[0]), .filter = insns};
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char cbuf[CMSG_SPACE(sizeof(int))], tag = 'L', ack = 0;
	struct iovec iov = {&tag, 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	int fd, listener;

	if (argc != 2)
		return 2;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("connect: %s\n", strerror(errno));
		return 1;
	}
	printf("connected\n");
	fflush(stdout);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 1;
	listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (listener < 0) {
		printf("seccomp: %s\n", strerror(errno));
		return 1;
	}
	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &listener, sizeof(int));
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) != 1 || read(fd, &ack, 1) != 1 || ack != '1') {
		printf("refused\n");
		return 0;
	}
	close(listener);
	printf("ack=1\n");
	fflush(stdout);
	execl("/bin/true", "/bin/true", "ctl-inject-marker", (char *)NULL);
	return 1;
}
