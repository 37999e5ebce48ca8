/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit log: JSON writer, sinks, a session's events and the summary
 * (see audit.h and docs/audit.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/cleanup.h"
#include "base/file.h"
#include "base/error.h"
#include "base/path.h"
#include "audit/execmon.h"
#include "audit/filescan.h"
#include "audit/writecheck.h"
#include "audit/writemon.h"
#include "limits/limit.h"
#include "base/loop.h"
#include "sandbox/mount.h"
#include "audit/package.h"
#include "policy/policy.h"
#include "net/proxy.h"

/* ---- event builder -------------------------------------------------------- */

/* Kept free for the end: ,"truncated":true plus closing brackets and the newline. */
#define TAIL 40

static size_t room(const struct hutch_event *e)
{
	size_t need = e->len + TAIL + e->depth;

	return e->cap > need ? e->cap - need : 0;
}

static bool put(struct hutch_event *e, const char *s, size_t n)
{
	if (n > room(e))
		return false;
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	return true;
}

/* For the end only: the tail was reserved. */
static void put_tail(struct hutch_event *e, const char *s, size_t n)
{
	if (e->len + n <= e->cap) {
		memcpy(e->buf + e->len, s, n);
		e->len += n;
	}
}

/* ,"key": (keys are hutch's own constants: plain ASCII, nothing to escape) */
static bool put_key(struct hutch_event *e, const char *key)
{
	if (e->comma && !put(e, ",", 1))
		return false;
	e->comma = true;
	if (!key)
		return true;
	return put(e, "\"", 1) && put(e, key, strlen(key)) && put(e, "\":", 2);
}

struct mark {
	size_t len;
	bool comma;
};

static struct mark mark(const struct hutch_event *e)
{
	return (struct mark){e->len, e->comma};
}

static void rollback(struct hutch_event *e, struct mark m)
{
	e->len = m.len;
	e->comma = m.comma;
	e->truncated = true;
}

static void remember_raw(struct hutch_event *e, const char *key, long index, const char *s,
			 size_t n)
{
	if (e->n_raw >= HUTCH_AUDIT_MAX_RAW) {
		e->raw_lost = true;
		return;
	}
	e->raw[e->n_raw++] = (struct hutch_event_raw){key, s, n, index};
}

/* A string value (the key is written already). */
static bool str_value(struct hutch_event *e, const char *raw_key, long index, const char *s,
		      size_t n)
{
	size_t limit = n, consumed = 0, r, w;
	bool invalid = false, cut = false;

	if (limit > HUTCH_AUDIT_MAX_VALUE) {
		limit = HUTCH_AUDIT_MAX_VALUE;
		/* cut between characters, not inside one */
		for (int k = 0; k < 3 && limit > 0 && ((uint8_t)s[limit] & 0xC0) == 0x80; k++)
			limit--;
		cut = true;
	}
	if (!put(e, "\"", 1))
		return false;
	r = room(e);
	if (r < 1)
		return false;
	w = hutch_json_escape((const uint8_t *)s, limit, e->buf + e->len, r - 1, &consumed,
			      &invalid, 0);
	e->len += w;
	if (consumed < limit)
		cut = true;
	if (!put(e, "\"", 1))
		return false;
	if (cut)
		e->truncated = true;
	if (invalid)
		remember_raw(e, raw_key, index, s, consumed);
	return true;
}

void hutch_event_strn(struct hutch_event *e, const char *key, const char *s, size_t n)
{
	struct mark m = mark(e);

	if (!s) {
		hutch_event_null(e, key);
		return;
	}
	if (!put_key(e, key) || !str_value(e, key, -1, s, n))
		rollback(e, m);
}

void hutch_event_str(struct hutch_event *e, const char *key, const char *s)
{
	hutch_event_strn(e, key, s, s ? strlen(s) : 0);
}

static void scalar(struct hutch_event *e, const char *key, const char *text)
{
	struct mark m = mark(e);

	if (!put_key(e, key) || !put(e, text, strlen(text)))
		rollback(e, m);
}

void hutch_event_u64(struct hutch_event *e, const char *key, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	scalar(e, key, b);
}

void hutch_event_i64(struct hutch_event *e, const char *key, int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%lld", (long long)v);
	scalar(e, key, b);
}

void hutch_event_bool(struct hutch_event *e, const char *key, bool v)
{
	scalar(e, key, v ? "true" : "false");
}

void hutch_event_null(struct hutch_event *e, const char *key)
{
	scalar(e, key, "null");
}

void hutch_event_strv(struct hutch_event *e, const char *key, const char *const *v,
		      const size_t *lens, size_t n)
{
	struct mark m = mark(e);

	if (!put_key(e, key) || !put(e, "[", 1)) {
		rollback(e, m);
		return;
	}
	e->depth++; /* reserves the ']' */
	e->comma = false;
	for (size_t i = 0; i < n; i++) {
		struct mark em = mark(e);
		if (i >= HUTCH_AUDIT_MAX_ARGS || room(e) < 8) {
			e->truncated = true;
			break;
		}
		if (!put_key(e, NULL) ||
		    !str_value(e, key, (long)i, v[i], lens ? lens[i] : strlen(v[i]))) {
			rollback(e, em);
			break;
		}
	}
	e->depth--;
	put_tail(e, "]", 1);
	e->comma = true;
}

void hutch_event_object_begin(struct hutch_event *e, const char *key)
{
	struct mark m = mark(e);
	bool ok = e->nest < ARRAY_SIZE(e->nest_ok) && put_key(e, key) && put(e, "{", 1);

	if (!ok)
		rollback(e, m); /* its members go to the enclosing object */
	if (e->nest < ARRAY_SIZE(e->nest_ok))
		e->nest_ok[e->nest] = ok;
	e->nest++;
	if (ok) {
		e->depth++;
		e->comma = false;
	}
}

void hutch_event_object_end(struct hutch_event *e)
{
	if (e->nest == 0)
		return;
	e->nest--;
	if (e->nest >= ARRAY_SIZE(e->nest_ok) || !e->nest_ok[e->nest])
		return;
	e->depth--;
	put_tail(e, "}", 1);
	e->comma = true;
}

/* "raw": the exact bytes (base64) of values that were not valid UTF-8. */
static void put_raw(struct hutch_event *e)
{
	struct mark m = mark(e);
	char *b64;
	size_t i = 0;

	if (!e->n_raw)
		return;
	b64 = malloc(((HUTCH_AUDIT_MAX_VALUE + 2) / 3) * 4 + 1);
	if (!b64 || !put_key(e, "raw") || !put(e, "{", 1))
		goto fail;
	e->comma = false;
	while (i < e->n_raw) {
		const struct hutch_event_raw *r = &e->raw[i];
		size_t l = hutch_base64((const uint8_t *)r->s, r->n, b64,
					((HUTCH_AUDIT_MAX_VALUE + 2) / 3) * 4 + 1);
		if (!put_key(e, r->key))
			goto fail;
		if (r->index < 0) {
			if (!put(e, "\"", 1) || !put(e, b64, l) || !put(e, "\"", 1))
				goto fail;
			i++;
			continue;
		}
		/* array elements of one key are consecutive: [null, ..., "b64", ...] */
		if (!put(e, "[", 1))
			goto fail;
		for (long k = 0;; k++) {
			if (k > 0 && !put(e, ",", 1))
				goto fail;
			if (i < e->n_raw && e->raw[i].key == r->key && e->raw[i].index == k) {
				l = hutch_base64((const uint8_t *)e->raw[i].s, e->raw[i].n, b64,
						 ((HUTCH_AUDIT_MAX_VALUE + 2) / 3) * 4 + 1);
				if (!put(e, "\"", 1) || !put(e, b64, l) || !put(e, "\"", 1))
					goto fail;
				i++;
				if (i >= e->n_raw || e->raw[i].key != r->key)
					break;
			} else if (!put(e, "null", 4)) {
				goto fail;
			}
		}
		if (!put(e, "]", 1))
			goto fail;
	}
	if (!put(e, "}", 1))
		goto fail;
	e->comma = true;
	free(b64);
	return;
fail:
	free(b64);
	rollback(e, m);
	e->raw_lost = true;
}

void hutch_event_begin(struct hutch_event *e, char *buf, size_t size, const char *type,
		       const char *sandbox, const struct timespec *ts)
{
	char t[32];

	memset(e, 0, offsetof(struct hutch_event, raw));
	e->buf = buf;
	e->cap = size;
	hutch_audit_timestamp(ts, t);
	put(e, "{", 1);
	hutch_event_u64(e, "v", HUTCH_AUDIT_SCHEMA);
	hutch_event_str(e, "ts", t);
	hutch_event_str(e, "sandbox", sandbox);
	hutch_event_str(e, "event", type);
}

size_t hutch_event_end(struct hutch_event *e)
{
	if (e->done)
		return e->len;
	while (e->nest > 0)
		hutch_event_object_end(e);
	put_raw(e);
	if (e->truncated || e->raw_lost)
		put_tail(e, ",\"truncated\":true", 17);
	put_tail(e, "}\n", 2);
	e->done = true;
	return e->len;
}

void hutch_audit_timestamp(const struct timespec *ts, char out[32])
{
	struct tm tm;
	size_t n;

	gmtime_r(&ts->tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%06ldZ", ts->tv_nsec / 1000);
}

/* ---- sinks ---------------------------------------------------------------- */

#define SYSLOG_PATH "/dev/log"
#define SYSLOG_FACILITY 1 /* user-level messages */

struct hutch_audit_sink {
	int fd;
	bool syslog;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char host[256];
};

static int syslog_connect(struct hutch_audit_sink *s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	/* A stuck syslog daemon must not stall the supervisor: the event is counted lost. */
	struct timeval tmo = {.tv_sec = 1};
	int fd;

	memcpy(sa.sun_path, s->path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	return 0;
}

int hutch_audit_sink_open_syslog(const char *socket_path, struct hutch_audit_sink **out,
				 hutch_error *err)
{
	struct hutch_audit_sink *s;
	int r;

	if (strlen(socket_path) >= sizeof(s->path))
		return hutch_errx(err, ENAMETOOLONG, "audit to syslog: socket path too long: %s",
				  socket_path);
	s = calloc(1, sizeof(*s));
	if (!s)
		return hutch_err(err, ENOMEM, "audit");
	s->fd = -1;
	s->syslog = true;
	memcpy(s->path, socket_path, strlen(socket_path) + 1);
	if (gethostname(s->host, sizeof(s->host) - 1) < 0)
		s->host[0] = '\0';
	r = syslog_connect(s);
	if (r < 0) {
		free(s);
		hutch_err(err, r, "audit to syslog: cannot connect to %s", socket_path);
		hutch_err_hint(err, "is a syslog daemon (rsyslog, systemd-journald) running? "
				    "Or write the audit log to a file: --audit FILE");
		return r;
	}
	*out = s;
	return 0;
}

int hutch_audit_sink_open(const char *target, struct hutch_audit_sink **out, hutch_error *err)
{
	struct hutch_audit_sink *s;
	struct stat st;
	int fd, r;

	if (!target || !*target)
		return hutch_errx(err, EINVAL, "audit: empty audit file name");
	if (strcmp(target, "syslog") == 0)
		return hutch_audit_sink_open_syslog(SYSLOG_PATH, out, err);
	if (strcmp(target, "-") == 0) {
		fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return hutch_err(err, errno, "audit log on stderr: cannot use stderr");
	} else {
		r = hutch_mkdir_parents(target, 0700);
		if (r < 0) {
			hutch_err(err, r, "audit log %s: cannot create its directory", target);
			hutch_err_hint(err, "choose a writable place with --audit FILE or "
					    "\"audit\": {\"file\": ...} in the policy");
			return r;
		}
		/* Never through a symlink: the log must not become a way to append elsewhere. */
		fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
			  0600);
		if (fd < 0) {
			r = -errno;
			hutch_err(err, r, "audit log %s: cannot open it%s", target,
				  r == -ELOOP ? " (it is a symbolic link)" : "");
			hutch_err_hint(err, "hutch does not run without the audit log it was asked "
					    "to write; choose a writable path with --audit FILE");
			return r;
		}
		/*
		 * A file or a pipe (a log shipper reading it). Not a device: /dev/null
		 * would drop every event, /dev/full fail on each.
		 */
		if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
			close(fd);
			hutch_errx(err, EINVAL, "audit log %s: not a regular file or a pipe",
				   target);
			hutch_err_hint(err, "give a file path (--audit FILE), '-' for stderr or "
					    "'syslog'");
			return -EINVAL;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return hutch_err(err, ENOMEM, "audit");
	}
	s->fd = fd;
	*out = s;
	return 0;
}

/* Printable US-ASCII without spaces, at most @max bytes, "-" when empty (RFC 5424 6.2). */
static size_t syslog_field(char *out, size_t cap, const char *in, size_t max)
{
	size_t o = 0;

	for (size_t i = 0; in && in[i] && o < max && o + 1 < cap; i++)
		if ((unsigned char)in[i] >= 33 && (unsigned char)in[i] <= 126)
			out[o++] = in[i];
	if (o == 0 && cap > 1)
		out[o++] = '-';
	out[o] = '\0';
	return o;
}

size_t hutch_syslog_header(char *out, size_t cap, int pri, const char *timestamp, const char *host,
			   const char *app, long procid, const char *msgid)
{
	char h[256], a[49], m[33], pid[24];
	int n;

	syslog_field(h, sizeof(h), host, 255);
	syslog_field(a, sizeof(a), app, 48);
	syslog_field(m, sizeof(m), msgid, 32);
	snprintf(pid, sizeof(pid), "%ld", procid);
	n = snprintf(out, cap, "<%d>1 %s %s %s %s %s - ", pri, timestamp, h, a, pid, m);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

int hutch_audit_sink_write(struct hutch_audit_sink *s, const char *msgid, bool warning,
			   const struct timespec *ts, const char *line, size_t len)
{
	if (s->syslog) {
		char hdr[512], t[32];
		struct iovec iov[2];
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
		int pri = SYSLOG_FACILITY * 8 + (warning ? 4 : 6);

		hutch_audit_timestamp(ts, t);
		iov[0].iov_base = hdr;
		iov[0].iov_len = hutch_syslog_header(hdr, sizeof(hdr), pri, t, s->host, "hutch",
						     (long)getpid(), msgid);
		iov[1].iov_base = (void *)line;
		iov[1].iov_len = len && line[len - 1] == '\n' ? len - 1 : len;
		for (int attempt = 0; attempt < 2; attempt++) {
			if (sendmsg(s->fd, &msg, MSG_NOSIGNAL) >= 0)
				return 0;
			if (errno == EINTR) {
				attempt--;
				continue;
			}
			/* the syslog daemon restarted: connect again once */
			if (attempt > 0 || (errno != ECONNREFUSED && errno != ENOTCONN) ||
			    syslog_connect(s) < 0)
				return -errno;
		}
		return -EIO;
	}
	/* One write(): concurrent sessions appending to one file do not interleave lines. */
	while (len > 0) {
		ssize_t n = write(s->fd, line, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		line += n;
		len -= (size_t)n;
	}
	return 0;
}

void hutch_audit_sink_free(struct hutch_audit_sink *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

/* ---- one session ------------------------------------------------------------ */

#define MAX_DENIED_HOSTS 64
#define MAX_DENIED_CMDS 8
#define MAX_PKG_PROCS 8
/* refused writes named in the summary */
#define MAX_REFUSED_PATHS 5
/* file events written per session; the counts in "end" stay exact */
#define MAX_FILE_EVENTS 10000

struct strset {
	char *v[MAX_DENIED_HOSTS];
	size_t n, max;
	uint64_t more;
};

struct hutch_audit {
	const struct hutch_policy *p;
	char id[33];
	struct hutch_audit_sink *sink;
	char *buf;
	struct timespec t0;
	bool launched;	      /* hutch_audit_started was called */
	bool started;	      /* ... and wrote "start" */
	bool ephemeral;	      /* the workspace is @layer's overlay */
	hutch_session *layer; /* --ephemeral: its changes are the workspace's file events */
	bool layer_done;
	bool named;
	struct hutch_execmon *em;
	struct hutch_fsnap *before; /* the baseline: the last comparison's "after" */
	struct hutch_loop *loop;    /* the periodic comparison's timer is watched there */
	int flush_fd;		    /* its timerfd, or -1 */
	const char **
		excl; /* left out of the file comparison (pointers into the plan: it outlives us) */
	size_t n_excl;
	uint64_t n_exec, n_exec_denied, n_exec_failed, n_pkg, n_net, n_net_failed, n_net_denied;
	uint64_t n_limit;
	uint64_t n_persist; /* end-of-run check actions (gitguard.c) */
	uint64_t n_files[3], file_events, file_events_dropped;
	bool files_tracked, files_complete;
	const char *files_cut;
	char layer_cut[512]; /* why the layer's comparison is partial (--ephemeral) */
	uint64_t write_errors;
	char write_error[256];
	/* bounds (docs/audit.md "Bounds, never silent") */
	uint64_t bytes, max_bytes; /* written this session; the bound */
	struct {
		uint64_t window; /* start of the current second (ms since t0) */
		uint32_t n;	 /* events written in it */
		uint64_t held;	 /* events of the kind not written in it */
	} rate[5];
	uint64_t n_held;
	bool stopped; /* the log cannot go on: everything but "end" is held back */
	int stop_code;
	char stop_reason[300];
	void (*on_stop)(void *data);
	void *on_stop_data;
	struct strset denied_hosts, denied_cmds, failed_hosts;
	/* refused writes (writemon.h): where the sandbox refuses them, the first ones seen */
	bool watch_writes;
	struct hutch_writecheck_spec wspec;
	char **wpaths; /* the strings behind wspec's lists */
	size_t n_wpaths;
	struct strset refused_writes;
	unsigned refused_why; /* bits of write_reasons[] */
	uint64_t n_write_events;
	struct {
		pid_t pid;
		uint64_t start;
		const char *manager;
	} pkgs[MAX_PKG_PROCS];
	size_t n_pkgs;
	struct {
		uint64_t hash; /* manager, action, names, files */
		pid_t pid, ppid;
	} last_pkg;
};

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static uint64_t elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)(t.tv_sec - t0->tv_sec) * 1000 +
	       (uint64_t)((t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* For the summary (printed on a terminal): printable ASCII only, bounded. */
static void strset_add(struct strset *s, const char *v, size_t n)
{
	char *c;

	if (n > 200)
		n = 200;
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == n && memcmp(s->v[i], v, n) == 0)
			return;
	if (s->n >= s->max) {
		s->more++;
		return;
	}
	c = malloc(n + 1);
	if (!c)
		return;
	for (size_t i = 0; i < n; i++)
		c[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	c[n] = '\0';
	s->v[s->n++] = c;
}

static void strset_join(const struct strset *s, const char *sep, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		int w = snprintf(out + o, cap - o, "%s%s", i ? sep : "", s->v[i]);
		if (w < 0 || (size_t)w >= cap - o) {
			snprintf(out + o, cap - o, "%s...", i ? sep : "");
			return;
		}
		o += (size_t)w;
	}
	if (s->more)
		snprintf(out + o, cap - o, " (+%llu more)", (unsigned long long)s->more);
}

static void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
}

static void begin(struct hutch_audit *a, struct hutch_event *e, const char *type,
		  struct timespec *ts)
{
	now(ts);
	hutch_event_begin(e, a->buf, HUTCH_AUDIT_MAX_EVENT, type, a->id, ts);
}

/* An exec's event, stamped when execmon answered it (it is written a little later). */
static void begin_exec(struct hutch_audit *a, struct hutch_event *e, const char *type,
		       struct timespec *ts, const struct hutch_exec_info *x)
{
	if (x->when.tv_sec)
		*ts = x->when;
	else
		now(ts);
	hutch_event_begin(e, a->buf, HUTCH_AUDIT_MAX_EVENT, type, a->id, ts);
}

/* The kinds a flood can come from; the others are bounded by nature or counted (file). */
static const char *const rated[] = {"exec", "deny", "package", "net", "exec_failed"};
_Static_assert(ARRAY_SIZE(rated) == ARRAY_SIZE(((struct hutch_audit *)0)->rate), "rate[]");

/* Stop: the session cannot be audited any more. run.c kills the sandbox (fail closed). */
static void audit_stop(struct hutch_audit *a, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void audit_stop(struct hutch_audit *a, int code, const char *fmt, ...)
{
	va_list ap;

	if (a->stopped)
		return;
	a->stopped = true;
	a->stop_code = code;
	va_start(ap, fmt);
	vsnprintf(a->stop_reason, sizeof(a->stop_reason), fmt, ap);
	va_end(ap);
	if (a->on_stop)
		a->on_stop(a->on_stop_data);
}

static void write_line(struct hutch_audit *a, const char *type, bool warning,
		       const struct timespec *ts, const char *line, size_t len)
{
	int r = hutch_audit_sink_write(a->sink, type, warning, ts, line, len);

	if (r < 0) {
		if (!a->write_errors)
			snprintf(a->write_error, sizeof(a->write_error), "%s", strerror(-r));
		a->write_errors++;
		audit_stop(a, r, "cannot write the audit log: %s", strerror(-r));
		return;
	}
	a->bytes += len;
}

/* A small event of its own buffer (the big one may hold the event being emitted). */
static void write_small(struct hutch_audit *a, struct hutch_event *e, const char *type,
			bool warning, const struct timespec *ts)
{
	size_t len = hutch_event_end(e);

	write_line(a, type, warning, ts, e->buf, len);
}

/* One "suppressed" event for the events of rated[@i] held back in its last second. */
static void rate_flush(struct hutch_audit *a, size_t i)
{
	char buf[512];
	struct hutch_event e;
	struct timespec ts;

	if (!a->rate[i].held)
		return;
	now(&ts);
	hutch_event_begin(&e, buf, sizeof(buf), "suppressed", a->id, &ts);
	hutch_event_str(&e, "suppressed.event", rated[i]);
	hutch_event_u64(&e, "count", a->rate[i].held);
	hutch_event_u64(&e, "window_ms", 1000);
	hutch_event_u64(&e, "max_per_second", HUTCH_AUDIT_MAX_RATE);
	a->rate[i].held = 0;
	if (!a->stopped)
		write_small(a, &e, "suppressed", true, &ts);
}

/* Summaries of the seconds that are over (all of them with @all). */
static void rate_flush_due(struct hutch_audit *a, uint64_t t, bool all)
{
	for (size_t i = 0; i < ARRAY_SIZE(rated); i++)
		if (a->rate[i].held && (all || t - a->rate[i].window >= 1000))
			rate_flush(a, i);
}

/* True when an event of @type is over its rate: counted, not written. */
static bool rate_hold(struct hutch_audit *a, const char *type)
{
	uint64_t t = elapsed_ms(&a->t0);
	size_t i;

	rate_flush_due(a, t, false);
	for (i = 0; i < ARRAY_SIZE(rated); i++)
		if (strcmp(type, rated[i]) == 0)
			break;
	if (i == ARRAY_SIZE(rated))
		return false;
	if (t - a->rate[i].window >= 1000) {
		a->rate[i].window = t;
		a->rate[i].n = 0;
	}
	if (a->rate[i].n < HUTCH_AUDIT_MAX_RATE) {
		a->rate[i].n++;
		return false;
	}
	a->rate[i].held++;
	a->n_held++;
	return true;
}

/* The size bound is reached: a "limit" event, then stop. */
static void size_bound_reached(struct hutch_audit *a)
{
	char buf[1024], sz[32];
	struct hutch_event e;
	struct timespec ts;

	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)a->max_bytes);
	now(&ts);
	a->n_limit++;
	hutch_event_begin(&e, buf, sizeof(buf), "limit", a->id, &ts);
	hutch_event_str(&e, "limit", "audit.maxSize");
	hutch_event_u64(&e, "value", a->max_bytes);
	hutch_event_str(&e, "decision", "deny");
	hutch_event_str(&e, "detail",
			"the audit log reached its size bound for this session; "
			"the sandbox was stopped");
	write_small(a, &e, "limit", true, &ts);
	audit_stop(a, -EFBIG,
		   "the audit log reached its size bound for this session (audit.maxSize, %s "
		   "bytes)",
		   sz);
}

static void emit(struct hutch_audit *a, struct hutch_event *e, const char *type, bool warning,
		 const struct timespec *ts)
{
	size_t len = hutch_event_end(e);
	bool last = strcmp(type, "end") == 0;

	if (!last && (a->stopped || rate_hold(a, type))) {
		if (a->stopped)
			a->n_held++;
		return;
	}
	if (last)
		rate_flush_due(a, 0, true);
	/* "end" may go past the bound: the log says how the session ended */
	if (!last && a->bytes + len > a->max_bytes) {
		a->n_held++;
		size_bound_reached(a);
		return;
	}
	write_line(a, type, warning, ts, e->buf, len);
}

void hutch_audit_on_stop(struct hutch_audit *a, void (*cb)(void *data), void *data)
{
	a->on_stop = cb;
	a->on_stop_data = data;
}

int hutch_audit_stopped(const struct hutch_audit *a, hutch_error *err)
{
	int r;

	if (!a || !a->stopped)
		return 0;
	r = hutch_errx(err, -a->stop_code, "audit: %s; the sandbox was stopped", a->stop_reason);
	if (a->stop_code == -EFBIG)
		hutch_err_hint(err, "raise the bound: \"audit\": {\"maxSize\": \"1G\"} in a "
				    "policy file");
	else
		hutch_err_hint(err, "hutch does not run a sandbox whose audit log it cannot write; "
				    "free space or choose another --audit FILE");
	return r;
}

int hutch_audit_new_with_sink(const struct hutch_policy *p, const char *sandbox_id,
			      struct hutch_audit_sink *sink, struct hutch_audit **out)
{
	struct hutch_audit *a = calloc(1, sizeof(*a));

	if (!a) {
		hutch_audit_sink_free(sink);
		return -ENOMEM;
	}
	a->p = p;
	a->flush_fd = -1;
	a->max_bytes = p && p->audit_max_size ? p->audit_max_size : HUTCH_AUDIT_DEFAULT_MAX_SIZE;
	snprintf(a->id, sizeof(a->id), "%s", sandbox_id ? sandbox_id : "");
	a->denied_hosts.max = MAX_DENIED_HOSTS;
	a->denied_cmds.max = MAX_DENIED_CMDS;
	a->failed_hosts.max = MAX_DENIED_CMDS;
	a->refused_writes.max = MAX_REFUSED_PATHS;
	clock_gettime(CLOCK_MONOTONIC, &a->t0);
	if (sink) {
		a->buf = malloc(HUTCH_AUDIT_MAX_EVENT);
		if (!a->buf) {
			hutch_audit_sink_free(sink);
			free(a);
			return -ENOMEM;
		}
		a->sink = sink;
	}
	*out = a;
	return 0;
}

int hutch_audit_new(const struct hutch_policy *p, const char *sandbox_id, unsigned flags,
		    hutch_session *layer, struct hutch_audit **out, hutch_error *err)
{
	struct hutch_audit_sink *sink = NULL;
	int r;

	if (p->audit_file) {
		r = hutch_audit_sink_open(p->audit_file, &sink, err);
		if (r < 0)
			return r;
	}
	r = hutch_audit_new_with_sink(p, sandbox_id, sink, out);
	if (r < 0)
		return hutch_err(err, r, "audit");
	(*out)->layer = layer;
	(*out)->ephemeral = layer != NULL;
	(*out)->named = flags & HUTCH_AUDIT_NAMED;
	return 0;
}

void hutch_audit_free(struct hutch_audit *a)
{
	if (!a)
		return;
	hutch_execmon_free(a->em);
	if (a->flush_fd >= 0) {
		if (a->loop)
			hutch_loop_del(a->loop, a->flush_fd);
		close(a->flush_fd);
	}
	hutch_fsnap_free(a->before);
	free(a->excl);
	hutch_audit_sink_free(a->sink);
	strset_free(&a->denied_hosts);
	strset_free(&a->denied_cmds);
	strset_free(&a->failed_hosts);
	strset_free(&a->refused_writes);
	for (size_t i = 0; i < a->n_wpaths; i++)
		free(a->wpaths[i]);
	free(a->wpaths);
	free(a->buf);
	free(a);
}

bool hutch_audit_enabled(const struct hutch_audit *a)
{
	return a && a->sink;
}

bool hutch_audit_has_rules(const struct hutch_audit *a)
{
	return a && (a->p->cmd_allow.n || a->p->cmd_deny.n);
}

bool hutch_audit_wants_exec(const struct hutch_audit *a)
{
	return a && (a->sink || hutch_audit_has_rules(a));
}

static const char *audit_path(const struct hutch_audit *a)
{
	const char *f = a->p->audit_file;

	return f && f[0] == '/' ? f : NULL;
}

/* The writable roots compared before/after (not an --ephemeral workspace: it does not change). */
static size_t scan_roots(const struct hutch_audit *a, const char **roots, size_t max)
{
	size_t n = 0;

	if (a->p->workspace && !a->ephemeral && n < max)
		roots[n++] = a->p->workspace;
	for (size_t i = 0; i < a->p->fs_writable.n && n < max; i++)
		if (!a->ephemeral ||
		    !hutch_path_has_prefix(a->p->fs_writable.v[i].value, a->p->workspace))
			roots[n++] = a->p->fs_writable.v[i].value;
	return n;
}

static void take_before(struct hutch_audit *a)
{
	const char *roots[1 + HUTCH_MAX_RULES];
	size_t n = scan_roots(a, roots, ARRAY_SIZE(roots));

	if (hutch_fsnap_take(roots, n, a->excl, a->n_excl, NULL, &a->before) < 0)
		a->before = NULL;
}

/*
 * The "start" event, for hutch run (the sandbox hutch made: @c describes its
 * process) and for a container (hutch oci's daemon: the container's process).
 */
static void emit_start(struct hutch_audit *a, const struct hutch_audit_container *c)
{
	static const unsigned bits[] = {HUTCH_LAYER_USERNS, HUTCH_LAYER_LANDLOCK,
					HUTCH_LAYER_SECCOMP};
	const char *names[ARRAY_SIZE(bits)], *writable[64];
	struct hutch_event e;
	struct timespec ts;
	char digest[65], sha[72];
	size_t n = 0, nw = 0;

	for (size_t i = 0; i < ARRAY_SIZE(bits); i++)
		if (c->layers & bits[i])
			names[n++] = hutch_layer_name(bits[i]);
	for (size_t i = 0; i < a->p->fs_writable.n && nw < ARRAY_SIZE(writable); i++)
		writable[nw++] = a->p->fs_writable.v[i].value;
	hutch_policy_digest(a->p, digest);
	snprintf(sha, sizeof(sha), "sha256:%s", digest);

	begin(a, &e, "start", &ts);
	hutch_event_str(&e, "hutch.version", HUTCH_VERSION);
	hutch_event_str(&e, "policy.digest", sha);
	hutch_event_str(&e, "workspace", a->p->workspace);
	if (a->layer) /* --ephemeral: the session holding the workspace's changes */
		hutch_event_str(&e, "session", hutch_session_id(a->layer));
	hutch_event_strv(&e, "layers", names, NULL, n);
	if (c->layers & HUTCH_LAYER_LANDLOCK)
		hutch_event_i64(&e, "landlock.abi", c->landlock_abi);
	hutch_event_bool(&e, "degraded", c->degraded);
	/* exec events need seccomp user notification */
	hutch_event_bool(&e, "exec_events", (c->layers & HUTCH_LAYER_SECCOMP) != 0);
	hutch_event_str(&e, "network.mode", c->network_mode);
	hutch_event_strv(&e, "writable", writable, NULL, nw);
	hutch_event_u64(&e, "commands.allow", a->p->cmd_allow.n);
	hutch_event_u64(&e, "commands.deny", a->p->cmd_deny.n);
	hutch_event_i64(&e, "user.id", c->uid);
	hutch_event_i64(&e, "process.pid", c->pid);
	hutch_event_str(&e, "process.working_directory", c->cwd);
	hutch_event_u64(&e, "process.args_count", c->argc);
	hutch_event_strv(&e, "process.command_args", c->argv, NULL, c->argc);
	if (c->bundle)
		hutch_event_str(&e, "container.bundle", c->bundle);
	emit(a, &e, "start", false, &ts);
}

/* Once per run: false when there is nothing (more) to write. */
static bool first_start(struct hutch_audit *a)
{
	if (!a)
		return false;
	a->launched = true;
	if (!a->sink || a->started)
		return false;
	a->started = true;
	return true;
}

void hutch_audit_started(struct hutch_audit *a, unsigned layers, int landlock_abi, bool degraded,
			 char *const argv[], const struct hutch_mount_plan *plan)
{
	_cleanup_free_ char *cwd = NULL;
	struct hutch_audit_container c = {
		.layers = layers, .landlock_abi = landlock_abi, .degraded = degraded};

	if (!first_start(a))
		return;
	cwd = getcwd(NULL, 0);
	while (argv && argv[c.argc])
		c.argc++;
	c.network_mode = hutch_net_mode_name(a->p->net_mode);
	c.uid = (int64_t)getuid();
	c.pid = (int)getpid();
	c.cwd = cwd;
	c.argv = (const char *const *)argv;
	emit_start(a, &c);

	a->excl = calloc((plan ? plan->n : 0) + 1, sizeof(char *));
	if (a->excl) {
		if (audit_path(a))
			a->excl[a->n_excl++] = audit_path(a);
		for (size_t i = 0; plan && i < plan->n; i++)
			if (plan->ops[i].kind == MOUNT_PROTECT)
				a->excl[a->n_excl++] = plan->ops[i].path;
	}
	take_before(a);
}

void hutch_audit_container_started(struct hutch_audit *a, const struct hutch_audit_container *c)
{
	if (first_start(a))
		emit_start(a, c);
}

/* The exec monitor's reports (execmon.h), into the log. */
static void on_exec(void *data, const struct hutch_exec_info *x, bool allowed,
		    const struct hutch_rule *rule, const char *reason)
{
	hutch_audit_exec(data, x, allowed, rule, reason);
}

static void on_package(void *data, const struct hutch_exec_info *x, const struct hutch_package *pk,
		       uint64_t starttime)
{
	hutch_audit_package(data, x, pk, starttime);
}

/* The reasons a write is refused, in the summary's order. */
static const char *const write_reasons[] = {"read-only", "protected", "not writable"};

/* A refused write (writemon.h): a "write_refused" event and the summary's first paths. */
static void on_write_refused(void *data, const struct hutch_write_refusal *wr)
{
	struct hutch_audit *a = data;
	struct hutch_event e;
	struct timespec ts = wr->when;
	const char *code = strerrorname_np(wr->error);

	a->n_write_events++;
	strset_add(&a->refused_writes, wr->path, strlen(wr->path));
	for (size_t i = 0; i < ARRAY_SIZE(write_reasons); i++)
		if (wr->reason && !strcmp(wr->reason, write_reasons[i]))
			a->refused_why |= 1U << i;
	if (!a->sink)
		return;
	hutch_event_begin(&e, a->buf, HUTCH_AUDIT_MAX_EVENT, "write_refused", a->id, &ts);
	hutch_event_i64(&e, "process.pid", wr->pid);
	hutch_event_str(&e, "syscall", wr->call);
	hutch_event_str(&e, "file.path", wr->path);
	hutch_event_str(&e, "error.code", code ? code : "?");
	hutch_event_str(&e, "reason", wr->reason);
	emit(a, &e, "write_refused", true, &ts);
}

int hutch_audit_watch_writes(struct hutch_audit *a, bool landlock, const char *const *writable,
			     size_t n, const struct hutch_mount_plan *plan)
{
	size_t np = 0, k = 0;

	if (!a)
		return 0;
	for (size_t i = 0; plan && i < plan->n; i++)
		np += plan->ops[i].kind == MOUNT_PROTECT;
	a->wpaths = calloc(n + np + 1, sizeof(char *));
	if (!a->wpaths)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (writable[i] && (a->wpaths[k] = strdup(writable[i])))
			k++;
	a->wspec.writable = (const char *const *)a->wpaths;
	a->wspec.n_writable = k;
	/* a writable path lost: Landlock's part cannot be foreseen for sure */
	a->wspec.landlock = landlock && k == n;
	a->wspec.protect = (const char *const *)a->wpaths + k;
	for (size_t i = 0; plan && i < plan->n; i++)
		if (plan->ops[i].kind == MOUNT_PROTECT &&
		    (a->wpaths[k] = strdup(plan->ops[i].path)))
			k++;
	a->wspec.n_protect = k - a->wspec.n_writable;
	a->n_wpaths = k;
	a->watch_writes = true;
	return 0;
}

int hutch_audit_add_listener(struct hutch_audit *a, struct hutch_loop *loop, int fd)
{
	int r;

	if (!a->em) {
		struct hutch_execmon_opts o = {
			.on_exec = on_exec,
			.on_package = on_package,
			.data = a,
			.allow = &a->p->cmd_allow,
			.deny = &a->p->cmd_deny,
			.on_write_refused = on_write_refused,
			.writes = a->watch_writes ? &a->wspec : NULL,
		};
		r = hutch_execmon_new(&o, &a->em);
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	return hutch_execmon_add(a->em, loop, fd);
}

void hutch_audit_drain_execs(struct hutch_audit *a)
{
	if (a)
		hutch_execmon_drain(a->em);
}

void hutch_audit_limit(struct hutch_audit *a, const char *what, uint64_t limit, const char *detail)
{
	struct hutch_event e;
	struct timespec ts;

	if (!a)
		return;
	a->n_limit++;
	if (!a->sink)
		return;
	begin(a, &e, "limit", &ts);
	hutch_event_str(&e, "limit", what);
	hutch_event_u64(&e, "value", limit);
	hutch_event_str(&e, "decision", "deny");
	if (detail)
		hutch_event_str(&e, "detail", detail);
	emit(a, &e, "limit", true, &ts);
}

void hutch_audit_persist(struct hutch_audit *a, const struct hutch_persist_item *it)
{
	static const char *const action[] = {"quarantine", "sanitize", "failed"};
	struct hutch_event e;
	struct timespec ts;

	if (!a)
		return;
	a->n_persist++;
	if (!a->sink)
		return;
	begin(a, &e, "persist", &ts);
	hutch_event_str(&e, "action", action[it->action]);
	hutch_event_str(&e, "path", it->path);
	hutch_event_str(&e, "what", it->what);
	if (it->quarantine)
		hutch_event_str(&e, "quarantine", it->quarantine);
	if (it->detail)
		hutch_event_str(&e, "detail", it->detail);
	emit(a, &e, "persist", true, &ts);
}

void hutch_audit_limits_fired(struct hutch_audit *a, const struct hutch_limits_state *lim)
{
	const struct hutch_limit_hit *h;
	size_t n = 0;

	if (!a || !lim)
		return;
	h = hutch_limits_fired(lim, &n);
	for (size_t i = 0; h && i < n; i++) {
		struct hutch_event e;
		struct timespec ts;

		if (!h[i].what || strcmp(h[i].what, "timeout") == 0)
			continue; /* logged by hutch_audit_limit when it fired */
		a->n_limit++;
		if (!a->sink)
			continue;
		begin(a, &e, "limit", &ts);
		hutch_event_str(&e, "limit", h[i].what);
		hutch_event_u64(&e, "value", h[i].value);
		hutch_event_u64(&e, "count", h[i].count);
		hutch_event_bool(&e, "ended", h[i].ended);
		hutch_event_str(&e, "decision", "deny");
		hutch_event_str(&e, "detail", h[i].message);
		emit(a, &e, "limit", true, &ts);
	}
}

static void rule_fields(struct hutch_event *e, const struct hutch_rule *rule)
{
	if (rule) {
		hutch_event_str(e, "rule", rule->value);
		hutch_event_str(e, "rule_origin", rule->origin);
	} else {
		hutch_event_null(e, "rule");
	}
}

static void process_fields(struct hutch_event *e, const struct hutch_exec_info *x)
{
	hutch_event_i64(e, "process.pid", x->pid);
	hutch_event_i64(e, "process.parent_pid", x->ppid);
	hutch_event_str(e, "process.executable.path", x->path);
	hutch_event_str(e, "process.executable.name", x->name);
	hutch_event_str(e, "process.working_directory", x->cwd);
}

static void argv_fields(struct hutch_event *e, const struct hutch_exec_info *x)
{
	if (x->truncated)
		e->truncated = true;
	hutch_event_u64(e, "process.args_count", x->args_count);
	hutch_event_strv(e, "process.command_args", x->argv, x->arglen, x->argc);
}

/* An exec refused by the kernel (foreseen and answered by execmon.c): it did not happen. */
static void exec_failed(struct hutch_audit *a, const struct hutch_exec_info *x)
{
	const char *name = strerrorname_np(x->failed);
	struct hutch_event e;
	struct timespec ts;

	a->n_exec_failed++;
	if (!a->sink)
		return;
	begin_exec(a, &e, "exec_failed", &ts, x);
	process_fields(&e, x);
	hutch_event_str(&e, "error.code", name ? name : "unknown");
	hutch_event_str(&e, "error.message", strerror(x->failed));
	if (x->error)
		hutch_event_str(&e, "error", x->error);
	argv_fields(&e, x);
	emit(a, &e, "exec_failed", false, &ts);
}

void hutch_audit_exec(struct hutch_audit *a, const struct hutch_exec_info *x, bool allowed,
		      const struct hutch_rule *rule, const char *reason)
{
	struct hutch_event e;
	struct timespec ts;

	if (allowed && x->failed) {
		exec_failed(a, x);
		return;
	}
	if (allowed) {
		a->n_exec++;
	} else {
		char line[256];
		size_t o = 0;
		for (size_t i = 0; i < x->argc && o + 2 < sizeof(line); i++) {
			size_t l = x->arglen[i];
			if (i)
				line[o++] = ' ';
			if (l > sizeof(line) - 1 - o)
				l = sizeof(line) - 1 - o;
			memcpy(line + o, x->argv[i], l);
			o += l;
		}
		if (x->argc == 0 && x->path) {
			o = strlen(x->path) < sizeof(line) ? strlen(x->path) : sizeof(line) - 1;
			memcpy(line, x->path, o);
		}
		a->n_exec_denied++;
		strset_add(&a->denied_cmds, line, o);
	}
	if (!a->sink)
		return;
	begin_exec(a, &e, allowed ? "exec" : "deny", &ts, x);
	if (!allowed)
		hutch_event_str(&e, "layer", "commands");
	process_fields(&e, x);
	hutch_event_str(&e, "decision", allowed ? "allow" : "deny");
	rule_fields(&e, rule);
	if (reason)
		hutch_event_str(&e, "reason", reason);
	if (x->error)
		hutch_event_str(&e, "error", x->error);
	argv_fields(&e, x);
	emit(a, &e, allowed ? "exec" : "deny", !allowed, &ts);
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL; /* a separator */
}

void hutch_audit_package(struct hutch_audit *a, const struct hutch_exec_info *x,
			 const struct hutch_package *pk, uint64_t starttime)
{
	struct hutch_event e;
	struct timespec ts;
	uint64_t h = 1469598103934665603ULL;

	/*
	 * One install is often several execs of the same command line (a pyenv or
	 * asdf shim, "env bash script", a wrapper that re-execs the real tool): the
	 * same request in the same process or its child is one package event.
	 */
	h = fnv(h, pk->manager);
	h = fnv(h, pk->action);
	for (size_t i = 0; i < pk->n_names; i++)
		h = fnv(h, pk->names[i]);
	for (size_t i = 0; i < pk->n_files; i++)
		h = fnv(h, pk->files[i]);
	if (a->n_pkg && h == a->last_pkg.hash &&
	    (x->pid == a->last_pkg.pid || x->ppid == a->last_pkg.pid ||
	     x->ppid == a->last_pkg.ppid))
		return;
	a->last_pkg.hash = h;
	a->last_pkg.pid = x->pid;
	a->last_pkg.ppid = x->ppid;
	a->n_pkg++;
	/* remembered to link the proxy's registry connections to it (oldest replaced) */
	if (a->n_pkgs == MAX_PKG_PROCS) {
		memmove(&a->pkgs[0], &a->pkgs[1], sizeof(a->pkgs[0]) * (MAX_PKG_PROCS - 1));
		a->n_pkgs--;
	}
	a->pkgs[a->n_pkgs].pid = x->pid;
	a->pkgs[a->n_pkgs].start = starttime;
	a->pkgs[a->n_pkgs].manager = pk->manager;
	a->n_pkgs++;
	if (!a->sink)
		return;
	begin_exec(a, &e, "package", &ts, x);
	hutch_event_str(&e, "package.manager", pk->manager);
	hutch_event_str(&e, "package.action", pk->action);
	hutch_event_strv(&e, "package.names", pk->names, NULL, pk->n_names);
	if (pk->n_files)
		hutch_event_strv(&e, "package.files", pk->files, NULL, pk->n_files);
	hutch_event_bool(&e, "package.from_manifest", pk->from_manifest);
	if (pk->more)
		e.truncated = true;
	process_fields(&e, x);
	argv_fields(&e, x);
	emit(a, &e, "package", false, &ts);
}

/* The newest package-install process still running, for a connection made now. */
static int live_package(struct hutch_audit *a)
{
	while (a->n_pkgs > 0) {
		size_t i = a->n_pkgs - 1;
		uint64_t st = 0;
		if (hutch_proc_stat(a->pkgs[i].pid, NULL, &st) == 0 && st == a->pkgs[i].start)
			return (int)i;
		a->n_pkgs--; /* gone (or its pid reused) */
	}
	return -1;
}

static const char *via_name(enum hutch_proxy_via v)
{
	switch (v) {
	case HUTCH_PROXY_VIA_CONNECT:
		return "connect";
	case HUTCH_PROXY_VIA_HTTP:
		return "http";
	case HUTCH_PROXY_VIA_SOCKS5:
		return "socks5";
	case HUTCH_PROXY_VIA_HOST_PORT:
		return "host-port";
	case HUTCH_PROXY_VIA_TRANSPARENT:
		return "transparent";
	}
	return "unknown";
}

static const char *const outcome_names[] = {
	[HUTCH_PROXY_CONNECTED] = "connected",
	[HUTCH_PROXY_FAILED] = "failed",
	[HUTCH_PROXY_REFUSED] = "refused",
};

/* The counters behind the summary: connections made, failed (with why), refused. */
static void count_record(struct hutch_audit *a, const struct hutch_proxy_record *rec)
{
	char hp[600];
	int n;

	if (rec->phase == HUTCH_PROXY_OPEN)
		return;
	if (rec->allowed && rec->outcome == HUTCH_PROXY_CONNECTED) {
		a->n_net++;
		return;
	}
	if (rec->allowed) { /* failed */
		a->n_net_failed++;
		n = snprintf(hp, sizeof(hp), "%s:%u: %s",
			     rec->host && rec->host[0] ? rec->host : "?", (unsigned)rec->port,
			     rec->reason ? rec->reason : "failed");
		strset_add(&a->failed_hosts, hp, n > 0 ? (size_t)n : 0);
		return;
	}
	n = snprintf(hp, sizeof(hp), "%s:%u", rec->host && rec->host[0] ? rec->host : "?",
		     (unsigned)rec->port);
	a->n_net_denied++;
	strset_add(&a->denied_hosts, hp, n > 0 ? (size_t)n : 0);
}

/*
 * "net" when a connection is made (phase "open"), "net" when it ends (phase
 * "close": how, bytes, duration) or could not be made (outcome "failed", with
 * the reason), "deny" when it was refused.
 */
void hutch_audit_proxy_record(const struct hutch_proxy_record *rec, void *userdata)
{
	struct hutch_audit *a = userdata;
	struct hutch_event e;
	struct timespec ts;
	const char *type = rec->allowed ? "net" : "deny";
	bool end = rec->phase == HUTCH_PROXY_END;
	int pk;

	if (!a)
		return;
	count_record(a, rec);
	if (!a->sink)
		return;
	begin(a, &e, type, &ts);
	if (!rec->allowed)
		hutch_event_str(&e, "layer", "network");
	else
		hutch_event_str(&e, "phase", end ? "close" : "open");
	hutch_event_str(&e, "server.address", rec->host);
	hutch_event_u64(&e, "server.port", rec->port);
	if (rec->address && rec->address[0])
		hutch_event_str(&e, "network.peer.address", rec->address);
	hutch_event_str(&e, "proxy.via", via_name(rec->via));
	if (rec->via == HUTCH_PROXY_VIA_HOST_PORT)
		hutch_event_bool(&e, "hostPort", true);
	if (rec->sni)
		hutch_event_str(&e, "tls.client.server_name", rec->sni);
	hutch_event_str(&e, "decision", rec->allowed ? "allow" : "deny");
	hutch_event_str(&e, "outcome",
			!rec->allowed ? "refused"
			: (unsigned)rec->outcome < ARRAY_SIZE(outcome_names)
				? outcome_names[rec->outcome]
				: "failed");
	if (rec->rule) {
		hutch_event_str(&e, "rule", rec->rule);
		if (rec->origin)
			hutch_event_str(&e, "rule_origin", rec->origin);
	} else {
		hutch_event_null(&e, "rule");
	}
	if (rec->reason && end)
		hutch_event_str(&e, "reason", rec->reason);
	if (rec->allowed && end) {
		hutch_event_u64(&e, "bytes_up", rec->bytes_up);
		hutch_event_u64(&e, "bytes_down", rec->bytes_down);
		hutch_event_u64(&e, "duration_ms", rec->duration_ms);
		if (rec->via == HUTCH_PROXY_VIA_HTTP)
			hutch_event_u64(&e, "requests", rec->requests);
	}
	pk = live_package(a);
	if (pk >= 0) {
		hutch_event_i64(&e, "package.pid", a->pkgs[pk].pid);
		hutch_event_str(&e, "package.manager", a->pkgs[pk].manager);
	}
	emit(a, &e, type, !rec->allowed || rec->outcome != HUTCH_PROXY_CONNECTED, &ts);
}

static const char *file_type(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "symlink";
	default:
		return "other";
	}
}

static void on_file(const struct hutch_fchange_info *c, void *data)
{
	static const char *const names[] = {"created", "modified", "deleted"};
	struct hutch_audit *a = data;
	struct hutch_event e;
	struct timespec ts;

	a->n_files[c->change]++;
	if (a->file_events >= MAX_FILE_EVENTS) {
		a->file_events_dropped++;
		return;
	}
	a->file_events++;
	begin(a, &e, "file", &ts);
	hutch_event_str(&e, "file.path", c->path);
	hutch_event_str(&e, "change", names[c->change]);
	hutch_event_str(&e, "file.type", file_type(c->mode));
	if (c->change != HUTCH_FILE_DELETED && S_ISREG(c->mode))
		hutch_event_u64(&e, "file.size", c->size);
	emit(a, &e, "file", false, &ts);
}

/* --ephemeral: the workspace's changes, exactly, from the session layer. */
static int layer_event(const struct hutch_change *c, void *data)
{
	static const enum hutch_fchange kinds[] = {
		[HUTCH_CHANGE_ADDED] = HUTCH_FILE_CREATED,
		[HUTCH_CHANGE_MODIFIED] = HUTCH_FILE_MODIFIED,
		[HUTCH_CHANGE_DELETED] = HUTCH_FILE_DELETED,
	};
	static const mode_t types[] = {
		[HUTCH_FILE_NONE] = 0,	     [HUTCH_FILE_REGULAR] = S_IFREG,
		[HUTCH_FILE_DIR] = S_IFDIR,  [HUTCH_FILE_SYMLINK] = S_IFLNK,
		[HUTCH_FILE_FIFO] = S_IFIFO, [HUTCH_FILE_OTHER] = S_IFSOCK,
	};
	struct hutch_audit *a = data;
	enum hutch_file_type t = c->kind == HUTCH_CHANGE_DELETED ? c->old_type : c->type;
	struct hutch_fchange_info fc = {0};
	_cleanup_free_ char *path = NULL;

	if (c->uncompared && !a->layer_cut[0])
		snprintf(a->layer_cut, sizeof(a->layer_cut), "not compared beneath %s: %s", c->path,
			 c->uncompared);
	if ((unsigned)c->kind >= ARRAY_SIZE(kinds) || (unsigned)t >= ARRAY_SIZE(types))
		return 0;
	if (asprintf(&path, "%s/%s", a->p->workspace, c->path) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	fc.path = path;
	fc.change = kinds[c->kind];
	fc.mode = types[t];
	fc.size = c->kind == HUTCH_CHANGE_DELETED ? c->old_size : c->size;
	on_file(&fc, a);
	return 0;
}

static void layer_events(struct hutch_audit *a)
{
	hutch_error err = {0};
	bool ok;

	if (!a->layer)
		return;
	ok = hutch_session_changes_each(a->layer, layer_event, a, &err) >= 0;
	if (!ok)
		snprintf(a->layer_cut, sizeof(a->layer_cut),
			 "the session layer was not compared "
			 "to the end: %s",
			 err.msg[0] ? err.msg : "error");
	a->layer_done = ok;
	if (!a->files_tracked) { /* no other writable root was compared */
		a->files_tracked = true;
		a->files_complete = true;
	}
	if (a->layer_cut[0]) {
		a->files_complete = false;
		a->files_cut = a->layer_cut;
	}
}

static void file_events(struct hutch_audit *a)
{
	struct hutch_fsnap *after = NULL;
	const char *roots[1 + HUTCH_MAX_RULES];
	size_t n;

	if (!a->before)
		return;
	n = scan_roots(a, roots, ARRAY_SIZE(roots));
	if (hutch_fsnap_take(roots, n, a->excl, a->n_excl, NULL, &after) < 0)
		return;
	a->files_tracked = true;
	a->files_complete = hutch_fsnap_diff(a->before, after, on_file, a);
	a->files_cut = hutch_fsnap_cut_reason(a->before);
	if (!a->files_cut)
		a->files_cut = hutch_fsnap_cut_reason(after);
	hutch_fsnap_free(after);
}

/*
 * The periodic comparison: what changed since the last one is written now.
 * Its snapshot has a smaller time budget than the first and the last (the
 * loop serving the proxy and exec notifications waits for it); a scan cut
 * short keeps the previous baseline beyond where it stopped, so the next
 * scan or the final one reports those paths, each change still once.
 */
void hutch_audit_flush_files(struct hutch_audit *a)
{
	const struct hutch_fscan_limits lim = {.max_ms = HUTCH_AUDIT_FLUSH_SCAN_MS};
	struct hutch_fsnap *now = NULL;
	const char *roots[1 + HUTCH_MAX_RULES];
	size_t n;

	if (!a || !a->sink || !a->before || a->stopped)
		return;
	n = scan_roots(a, roots, ARRAY_SIZE(roots));
	if (hutch_fsnap_take(roots, n, a->excl, a->n_excl, &lim, &now) < 0)
		return; /* out of memory: the final comparison still runs */
	(void)hutch_fsnap_diff(a->before, now, on_file, a);
	if (hutch_fsnap_merge_tail(now, a->before) < 0) {
		hutch_fsnap_free(now); /* keep the old baseline: changes are reported again */
		return;
	}
	hutch_fsnap_free(a->before);
	a->before = now;
}

static int on_flush_timer(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	uint64_t ticks;

	(void)loop;
	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) == sizeof(ticks))
		hutch_audit_flush_files(data);
	return 0;
}

int hutch_audit_watch_files(struct hutch_audit *a, struct hutch_loop *loop)
{
	const struct itimerspec its = {
		.it_value = {.tv_sec = HUTCH_AUDIT_FLUSH_MS / 1000},
		.it_interval = {.tv_sec = HUTCH_AUDIT_FLUSH_MS / 1000},
	};
	int r;

	if (!a || !a->sink || !a->before || a->flush_fd >= 0)
		return 0;
	a->flush_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (a->flush_fd < 0)
		return -errno;
	if (timerfd_settime(a->flush_fd, 0, &its, NULL) < 0)
		return -errno;
	r = hutch_loop_add(loop, a->flush_fd, EPOLLIN, on_flush_timer, a);
	if (r < 0)
		return r;
	a->loop = loop;
	return 0;
}

void hutch_audit_finish(struct hutch_audit *a, int ret, int status, bool timed_out,
			const hutch_error *error, struct hutch_run_summary *sum)
{
	static const hutch_error unknown = {.code = -EIO,
					    .status = HUTCH_EXIT_ERROR,
					    .msg = "the sandbox could not be started"};
	uint64_t ms;
	int sig = 0;

	if (!a)
		return;
	hutch_execmon_drain(a->em); /* the last execs before "end" */
	if (ret >= 0)
		error = NULL;
	else if (!error || !error->msg[0])
		error = &unknown;
	ms = elapsed_ms(&a->t0);
	if (!error && !timed_out && status > 128 && status < 128 + 65)
		sig = status - 128; /* the sandbox's init reports a signal as 128+N */
	/* the sandbox is gone: a bound reached now is said in "end", nobody is to be stopped */
	a->on_stop = NULL;
	if (a->sink) {
		struct hutch_event e;
		struct timespec ts;

		file_events(a);
		layer_events(a);
		begin(a, &e, "end", &ts);
		if (error) {
			hutch_event_i64(&e, "process.exit.code",
					error->status ? error->status : HUTCH_EXIT_ERROR);
			hutch_event_str(&e, "error", error->msg);
		} else {
			hutch_event_i64(&e, "process.exit.code", status);
		}
		if (sig)
			hutch_event_i64(&e, "signal", sig);
		hutch_event_bool(&e, "timed_out", timed_out);
		hutch_event_u64(&e, "duration_ms", ms);
		hutch_event_object_begin(&e, "counts");
		hutch_event_u64(&e, "exec", a->n_exec);
		hutch_event_u64(&e, "exec_denied", a->n_exec_denied);
		hutch_event_u64(&e, "exec_failed", a->n_exec_failed);
		hutch_event_u64(&e, "package", a->n_pkg);
		hutch_event_u64(&e, "net", a->n_net);
		hutch_event_u64(&e, "net_failed", a->n_net_failed);
		hutch_event_u64(&e, "net_denied", a->n_net_denied);
		hutch_event_u64(&e, "limit", a->n_limit);
		hutch_event_u64(&e, "persist", a->n_persist);
		if (a->watch_writes)
			hutch_event_u64(&e, "write_refused", hutch_execmon_writes_refused(a->em));
		hutch_event_object_end(&e);
		hutch_event_object_begin(&e, "files");
		hutch_event_bool(&e, "tracked", a->files_tracked);
		if (a->layer)
			hutch_event_bool(&e, "from_layer", a->layer_done);
		hutch_event_u64(&e, "created", a->n_files[HUTCH_FILE_CREATED]);
		hutch_event_u64(&e, "modified", a->n_files[HUTCH_FILE_MODIFIED]);
		hutch_event_u64(&e, "deleted", a->n_files[HUTCH_FILE_DELETED]);
		hutch_event_bool(&e, "complete", a->files_tracked && a->files_complete);
		if (a->files_cut)
			hutch_event_str(&e, "cut", a->files_cut);
		if (a->file_events_dropped)
			hutch_event_u64(&e, "events_dropped", a->file_events_dropped);
		hutch_event_object_end(&e);
		if (a->write_errors)
			hutch_event_u64(&e, "audit_errors", a->write_errors);
		if (a->n_held)
			hutch_event_u64(&e, "events_suppressed", a->n_held);
		if (a->stopped)
			hutch_event_str(&e, "audit_stopped", a->stop_reason);
		emit(a, &e, "end", error != NULL, &ts);
	}
	if (!sum)
		return;
	memset(sum, 0, sizeof(*sum));
	sum->valid = a->launched;
	snprintf(sum->sandbox, sizeof(sum->sandbox), "%s", a->id);
	sum->duration_ms = ms;
	sum->status = error ? (error->status ? error->status : HUTCH_EXIT_ERROR) : status;
	sum->signal = sig;
	sum->timed_out = timed_out;
	sum->audited = a->sink != NULL;
	sum->exec_tracked = a->em != NULL && hutch_audit_wants_exec(a);
	sum->commands = a->n_exec;
	sum->commands_denied = a->n_exec_denied;
	sum->packages = a->n_pkg;
	sum->net_allowed = a->n_net;
	sum->net_denied = a->n_net_denied;
	sum->net_failed = a->n_net_failed;
	sum->files_tracked = a->files_tracked;
	sum->files_incomplete = a->files_tracked && !a->files_complete;
	sum->files_created = a->n_files[HUTCH_FILE_CREATED];
	sum->files_modified = a->n_files[HUTCH_FILE_MODIFIED];
	sum->files_deleted = a->n_files[HUTCH_FILE_DELETED];
	sum->audit_errors = a->write_errors;
	snprintf(sum->audit_error, sizeof(sum->audit_error), "%s", a->write_error);
	strset_join(&a->denied_hosts, ", ", sum->denied_hosts, sizeof(sum->denied_hosts));
	strset_join(&a->failed_hosts, "; ", sum->failed_hosts, sizeof(sum->failed_hosts));
	strset_join(&a->denied_cmds, "; ", sum->denied_commands, sizeof(sum->denied_commands));
	sum->writes_watched = a->watch_writes && a->em != NULL;
	sum->writes_refused = hutch_execmon_writes_refused(a->em);
	strset_join(&a->refused_writes, ", ", sum->refused_writes, sizeof(sum->refused_writes));
	for (size_t i = 0, o = 0; i < ARRAY_SIZE(write_reasons); i++) {
		int w;

		if (!(a->refused_why & (1U << i)))
			continue;
		w = snprintf(sum->refused_why + o, sizeof(sum->refused_why) - o, "%s%s",
			     o ? ", " : "", write_reasons[i]);
		if (w > 0 && (size_t)w < sizeof(sum->refused_why) - o)
			o += (size_t)w;
	}
}
