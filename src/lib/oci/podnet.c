/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A network allowlist in a network namespace with an interface of its own: a pod's
 * (docs/oci.md, "A network of its own: pods"). The containers of a pod share one
 * namespace (the pause container's), so one daemon serves the proxy and owns the
 * nftables rules there for all of them: the namespace's daemon, keyed by the
 * namespace's device and inode, with its state in HUTCH_OCI_NETNS_DIR/KEY/:
 *
 *   lock             flock()ed by every `hutch oci create` and `delete` that looks at
 *                    or changes the rest (never by the daemon, which cannot wait)
 *   hutch-netd.pid   the daemon's "PID STARTTIME" (netd.c's write_pidfile())
 *   policy           the network part of the policy it serves (policy_key())
 *   sock             its members' socket: "J" ID + a pidfd joins a container, "L" ID
 *                    leaves; the answer is "1" (served) or "E" (the daemon ends)
 *
 * The first container's create starts the daemon (netd.c, pod mode) with itself as
 * member; the later ones join it, if their network policy is the same. A member leaves
 * when its process ends (its pidfd) or on `delete`; with no member left the daemon
 * closes its socket and ends, so `delete` of the last container waits for it. The
 * rules stay in the namespace (fail closed), replaced by the next daemon's if the
 * namespace is used again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/atomic.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fdpass.h"
#include "base/file.h"
#include "base/loop.h"
#include "oci/oci-int.h"
#include "policy/model.h"

#define LOCK_FILE "lock"
#define POLICY_FILE "policy"
#define SOCK_FILE "sock"
#define MAX_MEMBERS 256
#define MAX_ID 128
#define MAX_POLICY_KEY 65536

/* ---- the host side: create and delete ------------------------------------------------------ */

static int write_file_at(int dirfd, const char *name, const char *data, size_t len)
{
	_cleanup_atomic_ struct hutch_atomic a = HUTCH_ATOMIC_INIT;
	int r = hutch_atomic_begin(&a, dirfd, name, NULL, 0600);

	if (r == 0)
		r = hutch_write_all(a.fd, data, len);
	if (r == 0)
		r = hutch_atomic_commit(&a, 0);
	return r;
}

static int key_of(int nsfd, char *key, size_t size)
{
	struct stat st;

	if (fstat(nsfd, &st) < 0)
		return -errno;
	snprintf(key, size, "%llx-%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	return mkdir(buf, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

static const char *netns_dir(void)
{
	const char *env = getenv("HUTCH_OCI_NETNS_DIR");

	return env && env[0] == '/' ? env : HUTCH_OCI_NETNS_DIR;
}

/*
 * The namespace's state directory, locked: *dirfd and *lockfd (the lock goes with it).
 * A directory removed by a delete between our open and our lock is made again.
 */
static int lock_key(const char *key, int *dirfd, int *lockfd, hutch_error *err)
{
	const char *top = netns_dir();
	int r = mkdir_p(top);

	if (r < 0)
		return hutch_err(err, -r, "%s", top);
	for (int tries = 0; tries < 16; tries++) {
		_cleanup_close_ int parent = open(top, O_PATH | O_DIRECTORY | O_CLOEXEC);
		_cleanup_close_ int dir = -1, lock = -1;
		struct stat a, b;

		if (parent < 0)
			return hutch_err(err, errno, "%s", top);
		if (mkdirat(parent, key, 0700) < 0 && errno != EEXIST)
			return hutch_err(err, errno, "%s/%s", top, key);
		dir = openat(parent, key, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (dir < 0)
			continue;
		lock = openat(dir, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (lock < 0)
			continue;
		if (flock(lock, LOCK_EX) < 0)
			return hutch_err(err, errno, "%s/%s/%s", top, key, LOCK_FILE);
		/* still the directory's lock, and the directory still there? */
		if (fstat(lock, &a) < 0 || a.st_nlink == 0 ||
		    fstatat(dir, LOCK_FILE, &b, AT_SYMLINK_NOFOLLOW) < 0 || a.st_ino != b.st_ino ||
		    fstat(dir, &a) < 0 || fstatat(parent, key, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
		    a.st_ino != b.st_ino)
			continue;
		*dirfd = TAKE_FD(dir);
		*lockfd = TAKE_FD(lock);
		return 0;
	}
	return hutch_errx(err, EAGAIN, "%s/%s: removed again and again under us", top, key);
}

/* The daemon of @dirfd, if it runs: a pidfd of it, else -1 (stale or no pid file). */
/*
 * Has the process ended? Its pidfd is readable then, also while it is a zombie
 * nobody reaped yet (which still has its pid and start time).
 */
static bool pidfd_exited(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, 0) > 0;
}

static int daemon_pidfd(int dirfd)
{
	char line[64];
	unsigned long long start = 0;
	ssize_t n = hutch_read_small_at(dirfd, HUTCH_OCI_NETD_PID, line, sizeof(line) - 1);
	int pid = 0, fd;

	if (n <= 0)
		return -1;
	line[n] = '\0';
	if (sscanf(line, "%d %llu", &pid, &start) != 2 || pid <= 1)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0 && (hutch_oci_proc_starttime(pid) != start || pidfd_exited(fd))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Wait for a daemon's end (it closed its socket and ends by itself): true once it has
 * ended. One that goes on serving is never killed: its members still use it.
 */
static bool wait_end(int pidfd)
{
	struct pollfd pfd = {.fd = pidfd, .events = POLLIN};

	return poll(&pfd, 1, 5000) > 0;
}

/* One message to the daemon of @dirfd: its answer ('1', 'E'), or 0 when there is none. */
static char send_msg(int dirfd, char tag, const char *id, int fd)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char buf[1 + MAX_ID], ans = 0;
	struct timeval tv = {.tv_sec = 10};
	_cleanup_close_ int s = -1;

	if (strlen(id) >= MAX_ID)
		return 0;
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	buf[0] = tag;
	memcpy(buf + 1, id, strlen(id));
	snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/%s", dirfd, SOCK_FILE);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 0;
	(void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (hutch_fds_send(s, buf, 1 + strlen(id), &fd, fd >= 0 ? 1 : 0) < 0 ||
	    recv(s, &ans, 1, 0) != 1)
		return 0;
	return ans;
}

/* The network part of @p, as text: what the containers of one namespace must share. */
static char *policy_key(const hutch_policy *p)
{
	_cleanup_free_ char *text = hutch_policy_to_json(p);
	json_t *all = text ? json_loads(text, 0, NULL) : NULL, *k;
	char *out = NULL;

	if (!all)
		return NULL;
	k = json_pack("{s:O?, s:O?}", "network", json_object_get(all, "network"), "audit",
		      json_object_get(all, "audit"));
	if (k)
		out = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(k);
	json_decref(all);
	return out;
}

static int check_policy_key(int dirfd, const char *want, hutch_error *err)
{
	_cleanup_free_ char *have = NULL;
	size_t len;
	int r = hutch_read_file_at(dirfd, POLICY_FILE, MAX_POLICY_KEY, &have, &len);

	if (r < 0)
		return hutch_err(err, -r, "the network namespace's state: %s", POLICY_FILE);
	if (len == strlen(want) && !memcmp(have, want, len))
		return 0;
	hutch_errx(err, EPERM,
		   "the container's network namespace (a pod's) is served with another network "
		   "policy: one proxy serves every container of it");
	hutch_err_hint(err, "give every container of the pod the same network and audit "
			    "policy (a pod annotation dev.hutch.policy reaches them all)");
	return -EPERM;
}

/*
 * Every process already in the namespace: none may hold CAP_NET_ADMIN or CAP_NET_RAW
 * (it could undo the rules or send beside them), except @exempt, the container's process
 * whose init drops them. A process with no_new_privs holds what its permitted and
 * ambient sets hold; one without may also get its bounding set back by an execve.
 */
static int check_caps(int nsfd, int exempt, hutch_error *err)
{
	const unsigned long long mask = (1ULL << 12) | (1ULL << 13); /* NET_ADMIN, NET_RAW */
	_cleanup_closedir_ DIR *proc = opendir("/proc");
	struct stat ns;
	struct dirent *e;

	if (!proc || fstat(nsfd, &ns) < 0)
		return hutch_err(err, errno, "/proc");
	while ((e = readdir(proc))) {
		char path[64], buf[4096], *l;
		unsigned long long prm = 0, amb = 0, bnd = 0;
		int pid = atoi(e->d_name), nnp = 0;
		struct stat st;
		ssize_t n;

		if (pid <= 0 || pid == exempt)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		if (stat(path, &st) < 0 || st.st_ino != ns.st_ino || st.st_dev != ns.st_dev)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		n = hutch_read_small_at(AT_FDCWD, path, buf, sizeof(buf) - 1);
		if (n <= 0)
			continue; /* ended */
		buf[n] = '\0';
		if ((l = strstr(buf, "\nCapPrm:")))
			prm = strtoull(l + 8, NULL, 16);
		if ((l = strstr(buf, "\nCapAmb:")))
			amb = strtoull(l + 8, NULL, 16);
		if ((l = strstr(buf, "\nCapBnd:")))
			bnd = strtoull(l + 8, NULL, 16);
		if ((l = strstr(buf, "\nNoNewPrivs:")))
			nnp = atoi(l + 12);
		if (!((prm | amb) & mask) && (nnp || !(bnd & mask)))
			continue;
		hutch_errx(err, EPERM,
			   "process %d in the container's network namespace may use CAP_NET_ADMIN "
			   "or CAP_NET_RAW: it could go around the proxy",
			   pid);
		hutch_err_hint(err, "give the network allowlist to every container of the pod, the "
				    "pause container too (a pod annotation), or drop those "
				    "capabilities from them");
		return -EPERM;
	}
	return 0;
}

/* The daemon's directory, removed under the lock when no daemon runs there. */
static void remove_state(int dirfd, const char *key)
{
	_cleanup_close_ int parent = open(netns_dir(), O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = daemon_pidfd(dirfd);

	if (fd >= 0) {
		close(fd);
		return;
	}
	(void)unlinkat(dirfd, HUTCH_OCI_NETD_PID, 0);
	(void)unlinkat(dirfd, POLICY_FILE, 0);
	(void)unlinkat(dirfd, SOCK_FILE, 0);
	(void)unlinkat(dirfd, HUTCH_OCI_NETD_PID ".tmp", 0);
	(void)unlinkat(dirfd, LOCK_FILE, 0);
	if (parent >= 0)
		(void)unlinkat(parent, key, AT_REMOVEDIR);
}

int hutch_oci_podnet_own_network(int pid, char *ifname, size_t size, hutch_error *err)
{
	_cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int ns = -1;
	_cleanup_free_ char *dev = NULL;
	char path[64];
	struct stat a, b;
	size_t len = 0;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || ns < 0 || fstat(self, &a) < 0 || fstat(ns, &b) < 0)
		return hutch_err(err, errno, "the container's network namespace (%s)", path);
	if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
		return 0; /* the host's: netd.c refuses it */
	/*
	 * The interfaces of @pid's namespace, without entering it: the root of a user
	 * namespace (rootless engines) could enter it but not come back.
	 */
	snprintf(path, sizeof(path), "/proc/%d/net/dev", pid);
	r = hutch_read_file_at(AT_FDCWD, path, 1 << 20, &dev, &len);
	if (r < 0)
		return hutch_err(err, -r, "the container's network interfaces (%s)", path);
	/* two header lines, then "  NAME: counters" per interface */
	for (char *line = dev, *next; line && *line; line = next) {
		char *colon, *name = line;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		colon = strchr(line, ':');
		if (!colon || strchr(line, '|'))
			continue;
		*colon = '\0';
		name += strspn(name, " \t");
		if (*name && strcmp(name, "lo") != 0) {
			snprintf(ifname, size, "%s", name);
			return 1;
		}
	}
	return 0;
}

int hutch_oci_podnet_attach(hutch_policy *p, int bundlefd, const char *id, int pid,
			    hutch_error *err)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	_cleanup_close_ int ns = -1, dir = -1, lock = -1;
	_cleanup_free_ char *want = NULL;
	char key[64], path[64];
	int r;

	if (strlen(id) >= MAX_ID)
		return hutch_errx(err, ENAMETOOLONG, "container id longer than %d", MAX_ID - 1);
	if (!p->net_transparent) {
		hutch_errx(err, ENOTSUP,
			   "network.transparent false in a network namespace with an interface of "
			   "its own: hutch's rules redirect every TCP connection there");
		hutch_err_hint(err, "drop \"transparent\": false from the policy");
		return -ENOTSUP;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (pidfd < 0 || ns < 0)
		return hutch_err(err, errno, "the container's process %d", pid);
	/* the namespace is still the container's: its process had not ended when we opened it */
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return hutch_err(err, errno, "the container's process %d", pid);
	want = policy_key(p);
	if (!want)
		return hutch_err(err, ENOMEM, "policy");
	r = key_of(ns, key, sizeof(key));
	if (r < 0)
		return hutch_err(err, -r, "%s", path);
	r = lock_key(key, &dir, &lock, err);
	if (r < 0)
		return r;
	for (int tries = 0; tries < 3; tries++) {
		_cleanup_close_ int d = daemon_pidfd(dir);
		char ans;

		if (d < 0)
			break;
		r = check_policy_key(dir, want, err);
		if (r < 0)
			return r;
		ans = send_msg(dir, 'J', id, pidfd);
		if (ans == '1')
			goto joined;
		/* it was ending: start another once it has */
		if (!wait_end(d))
			return hutch_errx(err, EBUSY,
					  "the network daemon of the container's namespace neither "
					  "took the container nor ended");
	}
	/* no daemon (or a stale one's files): this container's starts one */
	(void)unlinkat(dir, HUTCH_OCI_NETD_PID, 0);
	(void)unlinkat(dir, SOCK_FILE, 0);
	r = check_caps(ns, pid, err);
	if (r == 0) {
		r = write_file_at(dir, POLICY_FILE, want, strlen(want));
		if (r < 0)
			hutch_err(err, -r, "the network namespace's state: %s", POLICY_FILE);
	}
	if (r == 0)
		r = hutch_oci_netd_start_pod(p, dir, id, pid, err);
	if (r < 0) {
		remove_state(dir, key);
		return r;
	}
joined:
	r = write_file_at(bundlefd, HUTCH_OCI_NETNS_FILE, key, strlen(key));
	return r < 0 ? hutch_err(err, -r, "bundle: %s", HUTCH_OCI_NETNS_FILE) : 0;
}

int hutch_oci_podnet_leave(int bundlefd, const char *id, hutch_error *err)
{
	_cleanup_close_ int dir = -1, lock = -1, d = -1;
	char key[64];
	ssize_t n = hutch_read_small_at(bundlefd, HUTCH_OCI_NETNS_FILE, key, sizeof(key) - 1);
	int r;

	if (n <= 0)
		return 0;
	key[n] = '\0';
	if (strspn(key, "0123456789abcdef-") != (size_t)n)
		return hutch_errx(err, EINVAL, "bundle: %s is not a namespace's key",
				  HUTCH_OCI_NETNS_FILE);
	r = lock_key(key, &dir, &lock, err);
	if (r < 0)
		return r;
	d = daemon_pidfd(dir);
	if (d >= 0 && send_msg(dir, 'L', id, -1) != '1')
		(void)wait_end(d); /* the last one: it ends, and delete returns after it */
	remove_state(dir, key);
	(void)unlinkat(bundlefd, HUTCH_OCI_NETNS_FILE, 0);
	return 0;
}

int hutch_oci_podnet_served(json_t *config)
{
	json_t *nss = json_object_get(json_object_get(config, "linux"), "namespaces"), *n;
	_cleanup_close_ int dir = -1, d = -1;
	const char *path = NULL;
	struct stat st;
	char key[80];
	size_t i;

	json_array_foreach(nss, i, n)
	{
		const char *type = json_string_value(json_object_get(n, "type"));

		if (type && !strcmp(type, "network"))
			path = json_string_value(json_object_get(n, "path"));
	}
	if (!path || stat(path, &st) < 0)
		return 0;
	snprintf(key, sizeof(key), "%s/%llx-%llu", netns_dir(), (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	dir = open(key, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dir < 0)
		return 0;
	d = daemon_pidfd(dir);
	return d >= 0;
}

/* ---- the daemon's side: its members ---------------------------------------------------------- */

struct member {
	char id[MAX_ID];
	int pidfd;
};

struct hutch_podnet {
	struct hutch_loop *loop;
	int dirfd, sock;
	struct member m[MAX_MEMBERS];
	unsigned n;
	bool ending;
	void (*on_empty)(void *data);
	void *data;
};

static void member_del(struct hutch_podnet *pn, unsigned i)
{
	hutch_loop_del(pn->loop, pn->m[i].pidfd);
	close(pn->m[i].pidfd);
	pn->m[i] = pn->m[--pn->n];
}

/* No member left: no one joins any more (the socket goes), and the daemon ends. */
static void check_empty(struct hutch_podnet *pn)
{
	if (pn->n > 0 || pn->ending)
		return;
	pn->ending = true;
	if (pn->sock >= 0) {
		hutch_loop_del(pn->loop, pn->sock);
		close(pn->sock);
		pn->sock = -1;
	}
	(void)unlinkat(pn->dirfd, SOCK_FILE, 0);
	pn->on_empty(pn->data);
}

static int on_member_end(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct hutch_podnet *pn = data;

	(void)loop;
	(void)events;
	for (unsigned i = 0; i < pn->n; i++)
		if (pn->m[i].pidfd == fd) {
			member_del(pn, i);
			break;
		}
	check_empty(pn);
	return 0;
}

static int member_add(struct hutch_podnet *pn, const char *id, int pidfd)
{
	struct member *m;

	if (pn->n >= MAX_MEMBERS || pn->ending)
		return -ENOSPC;
	m = &pn->m[pn->n];
	snprintf(m->id, sizeof(m->id), "%s", id);
	m->pidfd = pidfd;
	if (hutch_loop_add(pn->loop, pidfd, EPOLLIN, on_member_end, pn) < 0)
		return -ENOMEM;
	pn->n++;
	return 0;
}

/* One message: "J" ID with a pidfd, or "L" ID; answered "1", or "E" when it ends. */
static int on_conn(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct hutch_podnet *pn = data;
	char buf[1 + MAX_ID], ans = 'E';
	int got = -1;
	size_t nfds;
	ssize_t n;

	(void)events;
	n = hutch_fds_recv(fd, buf, sizeof(buf) - 1, &got, 1, &nfds, MSG_DONTWAIT);
	if (n == -EAGAIN)
		return 0;
	if (n > 1) {
		buf[n] = '\0';
		if (buf[0] == 'J' && got >= 0 && member_add(pn, buf + 1, got) == 0) {
			got = -1;
			ans = '1';
		} else if (buf[0] == 'L') {
			for (unsigned i = 0; i < pn->n; i++)
				if (!strcmp(pn->m[i].id, buf + 1)) {
					member_del(pn, i);
					break;
				}
			ans = pn->n > 0 ? '1' : 'E';
		}
	}
	if (got >= 0)
		close(got);
	/* the answer before the end: the socket closes at once when no member is left */
	(void)send(fd, &ans, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	hutch_loop_del(loop, fd);
	close(fd);
	check_empty(pn);
	return 0;
}

static int on_sock(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)events;
	if (c >= 0 && hutch_loop_add(loop, c, EPOLLIN | EPOLLRDHUP, on_conn, data) < 0)
		close(c);
	return 0;
}

int hutch_podnet_serve(struct hutch_loop *loop, int dirfd, const char *id, int pidfd,
		       void (*on_empty)(void *), void *data, struct hutch_podnet **out,
		       hutch_error *err)
{
	struct hutch_podnet *pn = calloc(1, sizeof(*pn));
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	if (!pn)
		return hutch_err(err, ENOMEM, "network daemon");
	*out = pn;
	pn->loop = loop;
	pn->dirfd = dirfd;
	pn->on_empty = on_empty;
	pn->data = data;
	snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/%s", dirfd, SOCK_FILE);
	(void)unlinkat(dirfd, SOCK_FILE, 0);
	pn->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (pn->sock < 0 || bind(pn->sock, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(pn->sock, 16) < 0 || hutch_loop_add(loop, pn->sock, EPOLLIN, on_sock, pn) < 0)
		return hutch_err(err, errno, "the network namespace's socket");
	if (member_add(pn, id, pidfd) < 0)
		return hutch_err(err, ENOMEM, "network daemon");
	return 0;
}

void hutch_podnet_end(int dirfd)
{
	_cleanup_close_ int lock = openat(dirfd, LOCK_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	char self[64], path[PATH_MAX];
	ssize_t n;

	(void)unlinkat(dirfd, SOCK_FILE, 0);
	(void)unlinkat(dirfd, HUTCH_OCI_NETD_PID, 0);
	/* a create or delete that holds the lock tidies up after it */
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0)
		return;
	(void)unlinkat(dirfd, POLICY_FILE, 0);
	(void)unlinkat(dirfd, LOCK_FILE, 0);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", dirfd);
	n = readlink(self, path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = '\0';
		(void)rmdir(path);
	}
}

void hutch_podnet_free(struct hutch_podnet *pn)
{
	if (!pn)
		return;
	while (pn->n > 0)
		member_del(pn, pn->n - 1);
	if (pn->sock >= 0)
		close(pn->sock);
	free(pn);
}
