/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hutch-oci-init: the first program of a container started by `hutch oci` (docs/oci.md).
 * runc has set the container up and runs this, bind-mounted read-only at
 * /.hutch/init, with the workload's arguments after it. It applies what the host side
 * compiled into /.hutch/layers (src/lib/oci/layers.h): no_new_privs, the Landlock
 * rules, hutch's seccomp filter (stacked on the engine's, which runc loaded), then
 * execs the workload with the environment runc gave it. With the audit of execs, the
 * filter's listener goes to the container's daemon on the host first (ctl_hand_over()).
 *
 * Linked statically with the C library alone: the container's image need not have
 * anything. Any failure ends it with status 125 and one line on stderr, before the
 * workload ran: a layer that cannot be applied means no workload (fail closed).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/uapi/landlock.h"
#include "oci/layers.h"

#define EXIT_HUTCH 125

/* Rights that make sense on a file that is not a directory. */
#define FILE_RIGHTS                                                                                \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                              \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* The filesystem rights each Landlock ABI handles (index: ABI version). */
static const uint64_t abi_fs[] = {
	0,
	(1ULL << 13) - 1, /* 1: EXECUTE .. MAKE_SYM */
	(1ULL << 14) - 1, /* 2: REFER */
	(1ULL << 15) - 1, /* 3: TRUNCATE */
	(1ULL << 15) - 1, /* 4: network only */
	(1ULL << 16) - 1, /* 5: IOCTL_DEV */
};

struct layers {
	unsigned char *data;
	size_t len;
	struct hutch_oci_layers_head head;
	size_t paths_off; /* first path entry */
	size_t bpf_off;
};

static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	fputs("hutch oci init: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_HUTCH);
}

static void read_layers(struct layers *l)
{
	int fd = open(HUTCH_OCI_LAYERS_DEST, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0)
		die("%s: %s", HUTCH_OCI_LAYERS_DEST, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(l->head) ||
	    st.st_size > HUTCH_OCI_MAX_LAYERS_BYTES)
		die("%s: not a layers file", HUTCH_OCI_LAYERS_DEST);
	l->len = (size_t)st.st_size;
	l->data = malloc(l->len);
	if (!l->data)
		die("out of memory");
	for (size_t off = 0; off < l->len; off += (size_t)n) {
		n = read(fd, l->data + off, l->len - off);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			die("%s: short read", HUTCH_OCI_LAYERS_DEST);
	}
	close(fd);
	memcpy(&l->head, l->data, sizeof(l->head));
	if (memcmp(l->head.magic, HUTCH_OCI_LAYERS_MAGIC, sizeof(l->head.magic)) != 0 ||
	    l->head.version != HUTCH_OCI_LAYERS_VERSION)
		die("%s: not a layers file of this version", HUTCH_OCI_LAYERS_DEST);
	if (l->head.n_paths > HUTCH_OCI_MAX_PATHS || l->head.bpf_len % sizeof(struct sock_filter) ||
	    l->head.bpf_len / sizeof(struct sock_filter) > HUTCH_OCI_MAX_BPF_INSNS)
		die("%s: out of bounds", HUTCH_OCI_LAYERS_DEST);
	l->paths_off = sizeof(l->head);
	/* Walk the paths once to find the program and check every length. */
	{
		size_t off = l->paths_off;

		for (uint32_t i = 0; i < l->head.n_paths; i++) {
			struct hutch_oci_layers_path e;

			if (l->len - off < sizeof(e))
				die("%s: truncated", HUTCH_OCI_LAYERS_DEST);
			memcpy(&e, l->data + off, sizeof(e));
			off += sizeof(e);
			if (e.path_len == 0 || e.path_len > HUTCH_OCI_MAX_PATH_LEN ||
			    l->len - off < e.path_len)
				die("%s: truncated", HUTCH_OCI_LAYERS_DEST);
			off += e.path_len;
		}
		if (l->len - off != l->head.bpf_len)
			die("%s: truncated", HUTCH_OCI_LAYERS_DEST);
		l->bpf_off = off;
	}
}

static int landlock_abi(void)
{
	return (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
}

/* One rule; a path missing in this image is skipped (nothing to grant there). */
static void add_path_rule(int ruleset, const char *path, uint64_t access, uint64_t handled)
{
	struct landlock_path_beneath_attr pb = {0};
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return;
		die("landlock: %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0)
		die("landlock: %s: %s", path, strerror(errno));
	pb.allowed_access = access & handled;
	if (!S_ISDIR(st.st_mode))
		pb.allowed_access &= FILE_RIGHTS;
	pb.parent_fd = fd;
	if (pb.allowed_access &&
	    syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		die("landlock: rule for %s: %s", path, strerror(errno));
	close(fd);
}

static void apply_landlock(const struct layers *l)
{
	struct landlock_ruleset_attr attr = {0};
	int abi = landlock_abi(), ruleset;
	size_t off = l->paths_off;

	if (abi <= 0) {
		if (l->head.flags & HUTCH_OCI_LANDLOCK_OPTIONAL)
			return;
		die("Landlock is not available here (%s): refusing to run the workload without it "
		    "(hutch oci --allow-degraded allows it)",
		    strerror(errno));
	}
	if (abi >= (int)(sizeof(abi_fs) / sizeof(abi_fs[0])))
		abi = (int)(sizeof(abi_fs) / sizeof(abi_fs[0])) - 1;
	attr.handled_access_fs = abi_fs[abi];
	/* Only the filesystem part of the structure: every ABI accepts that size. */
	ruleset =
		(int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr.handled_access_fs), 0);
	if (ruleset < 0)
		die("landlock: creating the ruleset: %s", strerror(errno));
	for (uint32_t i = 0; i < l->head.n_paths; i++) {
		struct hutch_oci_layers_path e;
		char path[HUTCH_OCI_MAX_PATH_LEN + 1];

		memcpy(&e, l->data + off, sizeof(e));
		off += sizeof(e);
		memcpy(path, l->data + off, e.path_len);
		path[e.path_len] = '\0';
		off += e.path_len;
		if (path[0] != '/' || strlen(path) != e.path_len)
			die("%s: a path is not absolute", HUTCH_OCI_LAYERS_DEST);
		add_path_rule(ruleset, path, e.access, attr.handled_access_fs);
	}
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		die("landlock: restricting: %s", strerror(errno));
	close(ruleset);
}

/* The container's daemon's control socket: connected before Landlock applies. */
static int ctl_connect(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", HUTCH_OCI_CTL_DEST, HUTCH_OCI_CTL_SOCK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("audit: connecting to hutch's daemon at %s: %s", a.sun_path, strerror(errno));
	return fd;
}

/* Hand the exec listener over and wait for the daemon to serve it ("1"). */
static void ctl_hand_over(int ctl, int listener)
{
	char cbuf[CMSG_SPACE(sizeof(int))], tag = 'L', ack = 0;
	struct iovec iov = {&tag, 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	ssize_t n;

	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &listener, sizeof(int));
	if (sendmsg(ctl, &msg, MSG_NOSIGNAL) != 1)
		die("audit: handing the exec listener to hutch's daemon: %s", strerror(errno));
	close(listener);
	do
		n = read(ctl, &ack, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || ack != '1')
		die("audit: hutch's daemon did not take the exec listener");
	close(ctl);
}

static void apply_seccomp(const struct layers *l, int ctl)
{
	long r;

	struct sock_filter *insns = malloc(l->head.bpf_len ? l->head.bpf_len : 1);
	struct sock_fprog prog;

	if (!insns)
		die("out of memory");
	/* Copied out: the file's data need not be aligned for struct sock_filter. */
	memcpy(insns, l->data + l->bpf_off, l->head.bpf_len);
	prog.len = (unsigned short)(l->head.bpf_len / sizeof(struct sock_filter));
	prog.filter = insns;
	if (prog.len == 0)
		die("seccomp: the layers file holds no program");
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		    ctl >= 0 ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
	if (r < 0)
		die("seccomp: loading hutch's filter: %s", strerror(errno));
	free(insns);
	if (ctl >= 0) {
		if (fcntl((int)r, F_SETFD, FD_CLOEXEC) < 0)
			die("seccomp: the listener: %s", strerror(errno));
		ctl_hand_over(ctl, (int)r);
	}
}

/*
 * CAP_NET_ADMIN and CAP_NET_RAW out of every set: with them the workload could flush the
 * daemon's nftables rules or send on the pod's interface with a packet socket. The
 * bounding set needs CAP_SETPCAP; without it, no_new_privs already keeps an execve from
 * gaining what the permitted set lost. Checked after: fail closed.
 */
static void drop_net_caps(void)
{
	static const int caps[] = {CAP_NET_ADMIN, CAP_NET_RAW};
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	uint32_t mask[2] = {0, 0};

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		mask[caps[i] / 32] |= 1u << (caps[i] % 32);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, caps[i], 0, 0) < 0 &&
		    errno != EINVAL)
			die("capabilities: lowering ambient %d: %s", caps[i], strerror(errno));
		if (prctl(PR_CAPBSET_DROP, caps[i], 0, 0, 0) < 0 && errno != EPERM &&
		    errno != EINVAL)
			die("capabilities: bounding set %d: %s", caps[i], strerror(errno));
	}
	if (syscall(SYS_capget, &hdr, data) < 0)
		die("capabilities: capget: %s", strerror(errno));
	for (int k = 0; k < 2; k++) {
		data[k].effective &= ~mask[k];
		data[k].permitted &= ~mask[k];
		data[k].inheritable &= ~mask[k];
	}
	if (syscall(SYS_capset, &hdr, data) < 0 || syscall(SYS_capget, &hdr, data) < 0)
		die("capabilities: dropping CAP_NET_ADMIN and CAP_NET_RAW: %s", strerror(errno));
	for (int k = 0; k < 2; k++)
		if ((data[k].effective | data[k].permitted | data[k].inheritable) & mask[k])
			die("capabilities: CAP_NET_ADMIN or CAP_NET_RAW still held");
}

int main(int argc, char **argv)
{
	struct layers l = {0};
	int ctl = -1;

	if (argc < 2)
		die("usage: %s COMMAND [ARG...] (started by hutch oci, see docs/oci.md)",
		    HUTCH_OCI_INIT_DEST);
	read_layers(&l);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("no_new_privs: %s", strerror(errno));
	if (l.head.flags & HUTCH_OCI_DROP_NET_CAPS)
		drop_net_caps();
	if (l.head.flags & HUTCH_OCI_AUDIT_EXEC) {
		if (!(l.head.flags & HUTCH_OCI_SECCOMP))
			die("audit: the layers file has no seccomp program to notify execs");
		ctl = ctl_connect();
	}
	if (l.head.flags & HUTCH_OCI_LANDLOCK)
		apply_landlock(&l);
	if (l.head.flags & HUTCH_OCI_SECCOMP)
		apply_seccomp(&l, ctl);
	free(l.data);
	execvp(argv[1], argv + 1);
	{
		int e = errno;

		fprintf(stderr, "hutch oci init: %s: %s\n", argv[1], strerror(e));
		return e == ENOENT ? 127 : 126;
	}
}
