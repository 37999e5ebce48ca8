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
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ask.h"
#include "base/file.h"

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
	*a = (struct cli_ask){
		.tty = -1, .timeout_ms = CLI_ASK_TIMEOUT_MS, .settle_ms = CLI_ASK_SETTLE_MS};
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

/*
 * Keys typed before a question, or in the first moment it shows, were meant
 * for the agent (the user was typing when it appeared): flushed, then after
 * CLI_ASK_SETTLE_MS flushed again. False when cancelled meanwhile.
 */
static bool settle(int tty, int cancel_fd, unsigned ms)
{
	struct pollfd pfd = {.fd = cancel_fd, .events = POLLIN};
	int r;

	tcflush(tty, TCIFLUSH);
	do
		r = poll(&pfd, cancel_fd >= 0 ? 1 : 0, (int)ms);
	while (r < 0 && errno == EINTR);
	tcflush(tty, TCIFLUSH);
	return r == 0;
}

enum line_result { LINE_OK, LINE_TIMEOUT, LINE_CANCEL, LINE_ABORT };

/*
 * One line typed on the terminal (echoed; Backspace edits), ended by Enter,
 * before @end (CLOCK_MONOTONIC ms). Ctrl-C, Ctrl-D, Escape and the end of
 * input abort; @cancel_fd readable cancels.
 */
static enum line_result read_line(int tty, int cancel_fd, uint64_t end, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (;;) {
		uint64_t t = now_ms();
		struct pollfd pfd[2] = {{.fd = tty, .events = POLLIN},
					{.fd = cancel_fd, .events = POLLIN}};
		unsigned char c;
		ssize_t n;
		int r;

		if (t >= end)
			return LINE_TIMEOUT;
		r = poll(pfd, cancel_fd >= 0 ? 2 : 1, (int)(end - t));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return LINE_TIMEOUT;
		if (r < 0)
			return LINE_ABORT;
		if (cancel_fd >= 0 && pfd[1].revents)
			return LINE_CANCEL;
		if (pfd[0].revents & (POLLERR | POLLNVAL))
			return LINE_ABORT;
		n = read(tty, &c, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0 || c == 3 || c == 4 || c == 27)
			return LINE_ABORT;
		if (c == '\r' || c == '\n') {
			buf[len] = '\0';
			return LINE_OK;
		}
		if ((c == 127 || c == 8) && len > 0) {
			len--;
			tty_write(tty, "\b \b");
		} else if (c > 0x20 && c < 0x7f && len + 1 < size) {
			char echo[2] = {(char)c, '\0'};

			buf[len++] = (char)c;
			tty_write(tty, echo);
		}
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

static const struct {
	const char *word;
	enum hutch_ask_decision d;
} ask_words[] = {
	{"o", HUTCH_ASK_ONCE},		{"once", HUTCH_ASK_ONCE}, {"s", HUTCH_ASK_SESSION},
	{"session", HUTCH_ASK_SESSION}, {"a", HUTCH_ASK_ALWAYS},  {"always", HUTCH_ASK_ALWAYS},
	{"d", HUTCH_ASK_DENY},		{"deny", HUTCH_ASK_DENY}, {"n", HUTCH_ASK_DENY},
	{"no", HUTCH_ASK_DENY},
};

/* The answer a line names (case does not matter), -1 for none. */
static int answer_of(const char *line)
{
	for (size_t i = 0; i < sizeof(ask_words) / sizeof(ask_words[0]); i++)
		if (strcasecmp(line, ask_words[i].word) == 0)
			return (int)ask_words[i].d;
	return -1;
}

/* "always": saved only once the user typed "yes" to a second question. */
static enum hutch_ask_decision confirm_always(struct cli_ask *a, const char *pattern, int cancel_fd,
					      uint64_t end, char *said, size_t said_size)
{
	char line[512], why[256];
	enum line_result lr;

	if (!a->policy_path) {
		snprintf(said, said_size,
			 "allowed for this session (no user policy file to save it to: neither "
			 "XDG_CONFIG_HOME nor HOME is set)");
		return HUTCH_ASK_SESSION;
	}
	snprintf(line, sizeof(line),
		 "\r\nhutch: save %s to %s for every future run? type yes and Enter to save: ",
		 pattern, a->policy_path);
	tty_write(a->tty, line);
	if (!settle(a->tty, cancel_fd, a->settle_ms))
		lr = LINE_CANCEL;
	else
		lr = read_line(a->tty, cancel_fd, end, line, sizeof(line));
	if (lr == LINE_CANCEL) {
		snprintf(said, said_size, "cancelled: denied");
		return HUTCH_ASK_DENY;
	}
	if (lr != LINE_OK || strcmp(line, "yes") != 0) {
		snprintf(said, said_size, "not saved: allowed for this session only");
		return HUTCH_ASK_SESSION;
	}
	if (cli_policy_allow_append(a->policy_path, pattern, why, sizeof(why)) < 0) {
		snprintf(said, said_size, "allowed for this session (not saved to %s: %s)",
			 a->policy_path, why);
		return HUTCH_ASK_SESSION;
	}
	snprintf(said, said_size, "allowed always (added to %s)", a->policy_path);
	return HUTCH_ASK_ALWAYS;
}

enum hutch_ask_decision cli_ask(const char *host, uint16_t port, int cancel_fd, void *data)
{
	struct cli_ask *a = data;
	struct termios saved, raw;
	enum hutch_ask_decision d = HUTCH_ASK_DENY;
	bool restore = false;
	char pattern[320], line[512], said[1024];
	uint64_t end;

	if (!a || a->tty < 0 || !host || !printable(host) || strlen(host) > 253)
		return HUTCH_ASK_DENY;
	a->asked++;
	pattern_of(host, port, pattern, sizeof(pattern));
	end = now_ms() + a->timeout_ms;
	snprintf(said, sizeof(said), "denied");

	if (tcgetattr(a->tty, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		restore = tcsetattr(a->tty, TCSANOW, &raw) == 0;
	}
	snprintf(line, sizeof(line),
		 "\r\nhutch: allow a connection to %s? [o]nce, [s]ession, [a]lways, [d]eny, "
		 "then Enter: ",
		 pattern);
	tty_write(a->tty, line);
	/* What was typed before the question, or just as it appeared, is not an answer. */
	if (!settle(a->tty, cancel_fd, a->settle_ms)) {
		snprintf(said, sizeof(said), "cancelled: denied");
		goto out;
	}
	for (;;) {
		enum line_result lr = read_line(a->tty, cancel_fd, end, line, sizeof(line));
		int ans;

		if (lr == LINE_TIMEOUT)
			snprintf(said, sizeof(said), "no answer: denied");
		else if (lr == LINE_CANCEL)
			snprintf(said, sizeof(said), "cancelled: denied");
		if (lr != LINE_OK)
			goto out;
		ans = answer_of(line);
		if (ans >= 0) {
			d = (enum hutch_ask_decision)ans;
			break;
		}
		tty_write(a->tty, "\r\nhutch: type o, s, a or d, then Enter: ");
	}
	if (d == HUTCH_ASK_ONCE)
		snprintf(said, sizeof(said), "allowed once");
	else if (d == HUTCH_ASK_SESSION)
		snprintf(said, sizeof(said), "allowed for this session");
	else if (d == HUTCH_ASK_ALWAYS)
		d = confirm_always(a, pattern, cancel_fd, end, said, sizeof(said));
out:
	tty_write(a->tty, "\r\nhutch: ");
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
	char dirbuf[4096];
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
	r = hutch_mkdir_p(dir, 0700);
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
		r = hutch_read_fd(fd, POLICY_MAX_BYTES, &data, &len);
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
	{
		size_t tl = strlen(text);
		char *t = realloc(text, tl + 2);

		if (!t) {
			r = fail(why, why_size, ENOMEM, "out of memory");
			goto out;
		}
		text = t;
		memcpy(text + tl, "\n", 2);
		r = hutch_write_file_atomic(path, text, tl + 1, mode);
	}
	if (r < 0) {
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
