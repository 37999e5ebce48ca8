/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch run --ask: the question on the terminal, and "always" written to the user policy. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ask.h"

#define POLICY_MAX_BYTES (1024 * 1024)

char *cli_user_policy_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *p = NULL;

	if (xdg && xdg[0] == '/') {
		if (asprintf(&p, "%s/hutch/policy.json", xdg) < 0)
			return NULL;
	} else if (home && home[0] == '/') {
		if (asprintf(&p, "%s/.config/hutch/policy.json", home) < 0)
			return NULL;
	} else {
		errno = ENOENT;
	}
	return p;
}

int cli_ask_init(struct cli_ask *a, const char *policy_path)
{
	*a = (struct cli_ask){.tty = -1, .timeout_ms = CLI_ASK_TIMEOUT_MS};
	a->policy_path = policy_path ? strdup(policy_path) : cli_user_policy_path();
	if (!a->policy_path && errno == ENOMEM)
		return -ENOMEM;
	if (!isatty(STDIN_FILENO))
		return 0;
	a->tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	return 0;
}

void cli_ask_done(struct cli_ask *a)
{
	if (a->tty >= 0)
		close(a->tty);
	a->tty = -1;
	free(a->policy_path);
	a->policy_path = NULL;
}

static void tty_write(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One key from the terminal within @timeout_ms; -1 on timeout, 0 on EOF or error. */
static int read_key(int fd, unsigned timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;

	for (;;) {
		uint64_t t = now_ms();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		unsigned char c;
		ssize_t n;
		int r;

		if (t >= end)
			return -1;
		r = poll(&pfd, 1, (int)(end - t));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -1;
		if (r < 0 || (pfd.revents & (POLLERR | POLLNVAL)))
			return 0;
		n = read(fd, &c, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return 0;
		return c;
	}
}

/* The pattern for the policy file: host:port, IPv6 literals in brackets. */
static void pattern_of(const char *host, uint16_t port, char *buf, size_t size)
{
	if (strchr(host, ':'))
		snprintf(buf, size, "[%s]:%u", host, (unsigned)port);
	else
		snprintf(buf, size, "%s:%u", host, (unsigned)port);
}

/* Printable ASCII only: a host name never needs more, and the terminal must not get escapes. */
static bool printable(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

enum hutch_ask_decision cli_ask(const char *host, uint16_t port, void *data)
{
	struct cli_ask *a = data;
	struct termios saved, raw;
	enum hutch_ask_decision d = HUTCH_ASK_DENY;
	bool restore = false;
	char pattern[320], line[512];
	const char *said = "denied";

	if (!a || a->tty < 0 || !host || !printable(host) || strlen(host) > 253)
		return HUTCH_ASK_DENY;
	a->asked++;
	pattern_of(host, port, pattern, sizeof(pattern));

	/* Keys typed before the question appeared are for the agent, not an answer. */
	tcflush(a->tty, TCIFLUSH);
	if (tcgetattr(a->tty, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		restore = tcsetattr(a->tty, TCSANOW, &raw) == 0;
	}
	snprintf(line, sizeof(line),
		 "\r\nhutch: allow a connection to %s? [o]nce, [s]ession, [a]lways, [d]eny: ",
		 pattern);
	tty_write(a->tty, line);
	for (;;) {
		int k = read_key(a->tty, a->timeout_ms);

		if (k == -1) {
			said = "no answer: denied";
			break;
		}
		if (k == 'o' || k == 'O' || k == 'y' || k == 'Y') {
			d = HUTCH_ASK_ONCE;
			said = "allowed once";
			break;
		}
		if (k == 's' || k == 'S') {
			d = HUTCH_ASK_SESSION;
			said = "allowed for this session";
			break;
		}
		if (k == 'a' || k == 'A') {
			d = HUTCH_ASK_ALWAYS;
			break;
		}
		/* d, n, Enter, Ctrl-C, Ctrl-D, Escape, end of input: deny; other keys: ask on */
		if (k == 0 || k == 'd' || k == 'D' || k == 'n' || k == 'N' || k == '\r' ||
		    k == '\n' || k == 3 || k == 4 || k == 27)
			break;
	}
	if (d == HUTCH_ASK_ALWAYS) {
		char why[256];

		if (!a->policy_path) {
			d = HUTCH_ASK_SESSION;
			snprintf(line, sizeof(line),
				 "allowed for this session (no user policy file to save it to: "
				 "neither XDG_CONFIG_HOME nor HOME is set)");
		} else if (cli_policy_allow_append(a->policy_path, pattern, why, sizeof(why)) < 0) {
			d = HUTCH_ASK_SESSION;
			snprintf(line, sizeof(line),
				 "allowed for this session (not saved to %s: %s)", a->policy_path,
				 why);
		} else {
			snprintf(line, sizeof(line), "allowed always (added to %s)",
				 a->policy_path);
		}
		said = line;
	}
	tty_write(a->tty, said);
	tty_write(a->tty, "\r\n");
	if (restore)
		tcsetattr(a->tty, TCSANOW, &saved);
	if (d != HUTCH_ASK_DENY)
		a->allowed++;
	return d;
}

/* ---- "always": the user policy file --------------------------------------------------------- */

static int fail(char *why, size_t n, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t n, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -err;
}

/* mkdir -p for the directory of the policy file: new components 0700. */
static int make_dirs(const char *dir)
{
	char buf[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, 0700) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

static int read_all(int fd, char **out, size_t *len)
{
	char *buf = malloc(POLICY_MAX_BYTES + 1);
	size_t got = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + got, POLICY_MAX_BYTES + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > POLICY_MAX_BYTES) {
			free(buf);
			return -EFBIG;
		}
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Add @pattern to root.network.allow; 1 if added, 0 if there already, -EINVAL with @why. */
static int add_pattern(json_t *root, const char *pattern, char *why, size_t n)
{
	json_t *net, *allow, *e;
	size_t i;

	if (!json_is_object(root))
		return fail(why, n, EINVAL, "it is not a JSON object");
	net = json_object_get(root, "network");
	if (!net) {
		net = json_object();
		if (!net || json_object_set_new(root, "network", net) < 0)
			return -ENOMEM;
	} else if (!json_is_object(net)) {
		return fail(why, n, EINVAL, "\"network\" is not an object");
	}
	allow = json_object_get(net, "allow");
	if (!allow) {
		allow = json_array();
		if (!allow || json_object_set_new(net, "allow", allow) < 0)
			return -ENOMEM;
	} else if (!json_is_array(allow)) {
		return fail(why, n, EINVAL, "\"network.allow\" is not a list");
	}
	json_array_foreach(allow, i, e)
	{
		if (json_is_string(e) && strcmp(json_string_value(e), pattern) == 0)
			return 0;
	}
	if (json_array_append_new(allow, json_string(pattern)) < 0)
		return -ENOMEM;
	return 1;
}

int cli_policy_allow_append(const char *path, const char *pattern, char *why, size_t why_size)
{
	char dirbuf[4096], tmp[4096 + 16];
	const char *dir;
	json_t *root = NULL;
	json_error_t jerr;
	char *data = NULL, *text = NULL;
	size_t len = 0;
	mode_t mode = 0600;
	int dfd = -1, fd = -1, r;
	struct stat st;

	if (!path || path[0] != '/' || strlen(path) >= sizeof(dirbuf))
		return fail(why, why_size, EINVAL, "not an absolute path");
	memcpy(dirbuf, path, strlen(path) + 1);
	dir = dirname(dirbuf);
	r = make_dirs(dir);
	if (r < 0)
		return fail(why, why_size, -r, "cannot create %s: %s", dir, strerror(-r));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(why, why_size, errno, "cannot open %s: %s", dir, strerror(errno));
	/* Two sessions answering "always" at once must not lose an entry. */
	while (flock(dfd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			r = fail(why, why_size, errno, "cannot lock %s: %s", dir, strerror(errno));
			goto out;
		}
	}

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno != ENOENT) {
		r = fail(why, why_size, errno, "cannot open it: %s", strerror(errno));
		goto out;
	}
	if (fd >= 0) {
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			r = fail(why, why_size, EINVAL, "not a regular file");
			goto out;
		}
		/* Keep its permissions, but never writable by others (hutch would refuse it). */
		mode = st.st_mode & 0755;
		r = read_all(fd, &data, &len);
		close(fd);
		fd = -1;
		if (r < 0) {
			r = fail(why, why_size, -r, "cannot read it: %s", strerror(-r));
			goto out;
		}
		root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!root) {
			r = fail(why, why_size, EINVAL, "line %d: %s (left unchanged)", jerr.line,
				 jerr.text);
			goto out;
		}
	} else {
		root = json_object();
		if (!root) {
			r = fail(why, why_size, ENOMEM, "out of memory");
			goto out;
		}
	}
	r = add_pattern(root, pattern, why, why_size);
	if (r == -ENOMEM)
		fail(why, why_size, ENOMEM, "out of memory");
	if (r <= 0)
		goto out; /* already there (0), or an error */

	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text) {
		r = fail(why, why_size, ENOMEM, "out of memory");
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = fail(why, why_size, errno, "cannot create a temporary file: %s",
			 strerror(errno));
		goto out;
	}
	r = write_all(fd, text, strlen(text));
	if (r >= 0)
		r = write_all(fd, "\n", 1);
	if (r >= 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	fd = -1;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		r = fail(why, why_size, -r, "cannot write it: %s", strerror(-r));
		goto out;
	}
	fsync(dfd);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd); /* drops the lock */
	json_decref(root);
	free(data);
	free(text);
	return r < 0 ? r : 0;
}
