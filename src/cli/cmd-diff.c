/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch diff [SESSION] [--stat | --json | --name-status] [-U N] [-C DIR] */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/escape.h"

#include "cli.h"

enum { FMT_PATCH, FMT_STAT, FMT_JSON, FMT_NAMES };

struct diff_args {
	int format;
	unsigned context;
	const char *dir;
	const char *id;
	bool color;
	bool tty; /* control characters in file contents are shown escaped */
};

static char qbuf[PATH_MAX * 4 + 3];

static const struct option diff_options[] = {
	{"stat", no_argument, NULL, 's'},
	{"json", no_argument, NULL, 'j'},
	{"name-status", no_argument, NULL, 'n'},
	{"unified", required_argument, NULL, 'U'},
	{"workspace", required_argument, NULL, 'C'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int diff_usage(FILE *f)
{
	fprintf(f, "Usage: hutch diff [SESSION] [OPTIONS]\n\n"
		   "Show what an ephemeral session changed, against the workspace as it is now.\n"
		   "SESSION is an id (or a unique prefix of one) from 'hutch ls'; default: the\n"
		   "latest session of the workspace containing the current directory.\n\n"
		   "      --stat          one line per path with added/removed line counts\n"
		   "      --name-status   one line per path: A added, M modified, D deleted\n"
		   "      --json          the changes as one JSON document\n"
		   "  -U, --unified N     lines of context (default 3)\n"
		   "  -C, --workspace DIR find the latest session of DIR instead\n\n"
		   "Text files get a unified diff, binary files one line. Marked on their own\n"
		   "line before the diff: '# protected' (hutch apply refuses it without\n"
		   "--include-protected) and '# conflict' (the file changed in the workspace\n"
		   "since the session started; hutch apply keeps yours).\n");
	return f == stderr ? HUTCH_EXIT_ERROR : 0;
}

static const char *kind_name(enum hutch_change_kind k)
{
	switch (k) {
	case HUTCH_CHANGE_ADDED:
		return "added";
	case HUTCH_CHANGE_MODIFIED:
		return "modified";
	case HUTCH_CHANGE_DELETED:
		return "deleted";
	}
	return "?";
}

static const char *type_name(enum hutch_file_type t)
{
	switch (t) {
	case HUTCH_FILE_NONE:
		return "none";
	case HUTCH_FILE_REGULAR:
		return "file";
	case HUTCH_FILE_DIR:
		return "directory";
	case HUTCH_FILE_SYMLINK:
		return "symlink";
	case HUTCH_FILE_FIFO:
		return "fifo";
	case HUTCH_FILE_OTHER:
		return "other";
	}
	return "?";
}

/* The mode git records: 100644 or 100755 for a file (the owner's x bit), 120000 for a link. */
static unsigned git_mode(enum hutch_file_type t, unsigned mode)
{
	if (t == HUTCH_FILE_SYMLINK)
		return 0120000;
	return mode & 0100 ? 0100755 : 0100644;
}

static void color(const struct diff_args *a, const char *code)
{
	if (a->color)
		fputs(code, stdout);
}

/*
 * A path in a patch header, quoted the way git does when it has to (control
 * bytes, '"', '\\', bytes >= 0x80: C escapes and octal), which both git apply
 * and GNU patch read back.
 */
static void put_git_path(const char *prefix, const char *path)
{
	static const char esc[] = "\a\b\t\n\v\f\r";
	static const char let[] = "abtnvfr";
	bool plain = true;

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			plain = false;
	if (plain) {
		printf("%s%s", prefix, path);
		return;
	}
	printf("\"%s", prefix);
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		const char *e = *p ? strchr(esc, *p) : NULL;
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (e)
			printf("\\%c", let[e - esc]);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\%03o", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/*
 * A line of file content: on a terminal, control characters (but tab) are shown as ^X,
 * C1 controls (U+0080..U+009F, which terminals may obey like ESC [) as \u0080..\u009f
 * and lone bytes 0x80..0x9f as \x80..\x9f. Elsewhere (a pipe, a file: a patch for git
 * apply) the bytes as they are.
 */
static void put_line(const struct diff_args *a, const char *p, size_t l)
{
	if (!a->tty) {
		fwrite(p, 1, l, stdout);
		return;
	}
	for (size_t i = 0; i < l; i++) {
		unsigned char ch = (unsigned char)p[i];
		size_t n = ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 : ch >= 0xc2 ? 2 : 1;
		bool seq = ch >= 0xc2 && ch <= 0xf4 && i + n <= l;

		for (size_t k = 1; seq && k < n; k++)
			seq = ((unsigned char)p[i + k] & 0xc0) == 0x80;
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			printf("^%c", ch == 0x7f ? '?' : ch + '@');
		} else if (seq && ch == 0xc2 && (unsigned char)p[i + 1] <= 0x9f) {
			printf("\\u%04x", (unsigned char)p[i + 1]);
			i++;
		} else if (seq) {
			fwrite(p + i, 1, n, stdout);
			i += n - 1;
		} else if (ch >= 0x80 && ch <= 0x9f) {
			printf("\\x%02x", ch);
		} else {
			putchar(ch);
		}
	}
}

static void print_hunks(const struct diff_args *a, const char *text, size_t len)
{
	if (!a->tty) {
		fwrite(text, 1, len, stdout);
		return;
	}
	for (const char *p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
		const char *c = !a->color   ? ""
				: *p == '+' ? "\033[32m"
				: *p == '-' ? "\033[31m"
				: *p == '@' ? "\033[36m"
					    : "";
		fputs(c, stdout);
		put_line(a, p, l);
		printf("%s\n", *c ? "\033[m" : "");
		p += l + 1;
	}
}

static void file_header(const struct diff_args *a, const struct hutch_change *c)
{
	color(a, "\033[1m");
	if (c->kind == HUTCH_CHANGE_ADDED)
		fputs("--- /dev/null", stdout);
	else
		fputs("--- ", stdout), put_git_path("a/", c->path);
	putchar('\n');
	if (c->kind == HUTCH_CHANGE_DELETED)
		fputs("+++ /dev/null", stdout);
	else
		fputs("+++ ", stdout), put_git_path("b/", c->path);
	putchar('\n');
	color(a, "\033[m");
}

/* ---- large text files: a whole replacement, streamed ---------------------------------------- */

struct text_side {
	int fd;
	unsigned long long lines;
	bool newline_at_end;
};

static int count_lines(struct text_side *t)
{
	char buf[65536];
	off_t off = 0;
	char last = '\n';

	t->lines = 0;
	for (;;) {
		ssize_t n = pread(t->fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			t->lines += buf[i] == '\n';
		last = buf[n - 1];
		off += n;
	}
	t->newline_at_end = last == '\n';
	if (off > 0 && !t->newline_at_end)
		t->lines++;
	return 0;
}

static int stream_lines(const struct diff_args *a, struct text_side *t, char tag)
{
	char buf[65536];
	off_t off = 0;
	bool bol = true;

	if (a->color)
		fputs(tag == '-' ? "\033[31m" : "\033[32m", stdout);
	for (;;) {
		ssize_t n = pread(t->fd, buf, sizeof(buf), off);
		const char *p = buf, *end;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		end = buf + n;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
			if (bol)
				putchar(tag);
			put_line(a, p, l);
			if (nl)
				putchar('\n');
			bol = nl != NULL;
			p += l + (nl ? 1 : 0);
		}
		off += n;
	}
	if (a->color)
		fputs("\033[m", stdout);
	if (!bol)
		fputs("\n\\ No newline at end of file\n", stdout);
	return 0;
}

static void put_range(char tag, unsigned long long n)
{
	if (n == 1)
		printf("%c1", tag);
	else
		printf("%c%d,%llu", tag, n ? 1 : 0, n);
}

static int print_replacement(hutch_session *s, const struct hutch_change *c,
			     const struct diff_args *a, hutch_error *err)
{
	struct text_side o = {.fd = -1}, n = {.fd = -1};
	int r = 0;

	if (c->kind != HUTCH_CHANGE_ADDED && (o.fd = hutch_change_open(s, c, false, err)) < 0)
		return o.fd;
	if (c->kind != HUTCH_CHANGE_DELETED && (n.fd = hutch_change_open(s, c, true, err)) < 0) {
		r = n.fd;
		goto out;
	}
	if ((o.fd >= 0 && (r = count_lines(&o)) < 0) || (n.fd >= 0 && (r = count_lines(&n)) < 0)) {
		r = hutch_err(err, r, "diff: reading %s", c->path);
		goto out;
	}
	if (!o.lines && !n.lines)
		goto out;
	file_header(a, c);
	color(a, "\033[36m");
	fputs("@@ ", stdout);
	put_range('-', o.lines);
	putchar(' ');
	put_range('+', n.lines);
	fputs(" @@\n", stdout);
	color(a, "\033[m");
	if (o.lines)
		r = stream_lines(a, &o, '-');
	if (r >= 0 && n.lines)
		r = stream_lines(a, &n, '+');
	if (r < 0)
		r = hutch_err(err, r, "diff: reading %s", c->path);
out:
	if (o.fd >= 0)
		close(o.fd);
	if (n.fd >= 0)
		close(n.fd);
	return r;
}

/* ---- binary files: git's literal binary patch (zlib, stored blocks; base85), streamed ---- */

struct b85 {
	unsigned char line[52];
	size_t n;
	uint32_t a, b; /* adler-32 */
};

static void b85_flush(struct b85 *e)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
	char out[70];
	size_t o = 0;

	if (!e->n)
		return;
	out[o++] = (char)(e->n <= 26 ? 'A' + e->n - 1 : 'a' + e->n - 27);
	for (size_t i = 0; i < e->n; i += 4) {
		uint32_t v = 0;
		for (size_t k = 0; k < 4; k++)
			v = v << 8 | (i + k < e->n ? e->line[i + k] : 0);
		for (int k = 4; k >= 0; k--) {
			out[o + (size_t)k] = alphabet[v % 85];
			v /= 85;
		}
		o += 5;
	}
	out[o++] = '\n';
	fwrite(out, 1, o, stdout);
	e->n = 0;
}

static void b85_put(struct b85 *e, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		e->line[e->n++] = p[i];
		if (e->n == sizeof(e->line))
			b85_flush(e);
	}
}

static void adler(struct b85 *e, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		e->a = (e->a + p[i]) % 65521;
		e->b = (e->b + e->a) % 65521;
	}
}

static int literal(int fd, unsigned long long size)
{
	static const unsigned char zhead[2] = {0x78, 0x01}, zend[5] = {1, 0, 0, 0xff, 0xff};
	struct b85 e = {.a = 1};
	unsigned char buf[65535], hdr[5], tail[4];
	off_t off = 0;

	printf("GIT binary patch\nliteral %llu\n", size);
	b85_put(&e, zhead, sizeof(zhead));
	for (;;) {
		ssize_t n = fd < 0 ? 0 : pread(fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		/* a stored block: BFINAL 0, BTYPE 00, LEN, NLEN (little-endian) */
		hdr[0] = 0;
		hdr[1] = (unsigned char)(n & 0xff);
		hdr[2] = (unsigned char)(n >> 8);
		hdr[3] = (unsigned char)(~n & 0xff);
		hdr[4] = (unsigned char)((~n >> 8) & 0xff);
		b85_put(&e, hdr, sizeof(hdr));
		b85_put(&e, buf, (size_t)n);
		adler(&e, buf, (size_t)n);
		off += n;
	}
	if ((unsigned long long)off != size)
		return -EAGAIN; /* changed while we read */
	b85_put(&e, zend, sizeof(zend));
	tail[0] = (unsigned char)(e.b >> 8);
	tail[1] = (unsigned char)e.b;
	tail[2] = (unsigned char)(e.a >> 8);
	tail[3] = (unsigned char)e.a;
	b85_put(&e, tail, sizeof(tail));
	b85_flush(&e);
	putchar('\n');
	return 0;
}

static int print_binary(hutch_session *s, const struct hutch_change *c, hutch_error *err)
{
	static const char zero[41] = "0000000000000000000000000000000000000000";
	char oid_old[41], oid_new[41];
	int ofd = -1, nfd = -1, r = 0;

	memcpy(oid_old, zero, sizeof(zero));
	memcpy(oid_new, zero, sizeof(zero));
	if (c->kind != HUTCH_CHANGE_ADDED) {
		ofd = hutch_change_open(s, c, false, err);
		if (ofd < 0)
			return ofd;
		r = hutch_git_blob_id(ofd, oid_old);
	}
	if (r >= 0 && c->kind != HUTCH_CHANGE_DELETED) {
		nfd = hutch_change_open(s, c, true, err);
		if (nfd < 0) {
			r = nfd;
			goto out;
		}
		r = hutch_git_blob_id(nfd, oid_new);
	}
	if (r >= 0) {
		struct stat st = {0};
		printf("index %s..%s\n", oid_old, oid_new);
		if (nfd >= 0 && fstat(nfd, &st) < 0)
			r = -errno;
		if (r >= 0)
			r = literal(nfd, (unsigned long long)st.st_size);
	}
	if (r < 0 && !err->code)
		r = hutch_err(err, r, "diff: reading %s", c->path);
out:
	if (ofd >= 0)
		close(ofd);
	if (nfd >= 0)
		close(nfd);
	return r;
}

/* A symlink's target as git shows it: one line without a newline. */
static void print_link(hutch_session *s, const struct hutch_change *c, const struct diff_args *a)
{
	char from[PATH_MAX] = "", to[PATH_MAX] = "";
	bool old = c->kind != HUTCH_CHANGE_ADDED && c->old_type == HUTCH_FILE_SYMLINK;
	bool new = c->kind != HUTCH_CHANGE_DELETED && c->type == HUTCH_FILE_SYMLINK;

	if (old && hutch_change_readlink(s, c, false, from, sizeof(from)) < 0)
		old = false;
	if (new &&hutch_change_readlink(s, c, true, to, sizeof(to)) < 0)
		new = false;
	file_header(a, c);
	printf("@@ -%s +%s @@\n", old ? "1" : "0,0", new ? "1" : "0,0");
	if (old) {
		putchar('-');
		put_line(a, from, strlen(from));
		fputs("\n\\ No newline at end of file\n", stdout);
	}
	if (new) {
		putchar('+');
		put_line(a, to, strlen(to));
		fputs("\n\\ No newline at end of file\n", stdout);
	}
}

struct diff_state {
	hutch_session *s;
	const struct diff_args *a;
	size_t n, uncompared;
	unsigned long long tadd, tdel;
	hutch_error err;
};

static void comment(const char *what, const struct hutch_change *c, const char *rest)
{
	printf("# %s: %s%s\n", what, cli_quote_path(c->path, qbuf, sizeof(qbuf)), rest);
}

/* What a git patch cannot say (directories, fifos, what was not compared) is a '#' line. */
static bool print_outside_git(const struct hutch_change *c)
{
	enum hutch_file_type t = c->kind == HUTCH_CHANGE_DELETED ? c->old_type : c->type;
	char rest[128];

	if (c->uncompared) {
		char why[sizeof(rest) - 2];

		snprintf(rest, sizeof(rest), ": %s",
			 hutch_escape_str(c->uncompared, why, sizeof(why), 0));
		comment("not compared", c, rest);
		return true;
	}
	if (t == HUTCH_FILE_DIR) {
		if (c->kind == HUTCH_CHANGE_MODIFIED)
			snprintf(rest, sizeof(rest), " (mode %04o -> %04o)", c->old_mode, c->mode);
		else
			snprintf(rest, sizeof(rest), "/ (mode %04o)",
				 c->kind == HUTCH_CHANGE_ADDED ? c->mode : c->old_mode);
		comment(c->kind == HUTCH_CHANGE_ADDED	  ? "new directory"
			: c->kind == HUTCH_CHANGE_DELETED ? "deleted directory"
							  : "directory",
			c, rest);
		return true;
	}
	if (t == HUTCH_FILE_FIFO || t == HUTCH_FILE_OTHER) {
		snprintf(rest, sizeof(rest), " (%s, not in a patch)", type_name(t));
		comment(kind_name(c->kind), c, rest);
		return true;
	}
	if (c->kind == HUTCH_CHANGE_MODIFIED && !c->content_changed &&
	    git_mode(c->type, c->mode) == git_mode(c->old_type, c->old_mode)) {
		snprintf(rest, sizeof(rest), " (mode %04o -> %04o, which git does not record)",
			 c->old_mode, c->mode);
		comment("mode", c, rest);
		return true;
	}
	return false;
}

/* One "diff --git" section. */
static int print_section(struct diff_state *d, const struct hutch_change *c)
{
	const struct diff_args *a = d->a;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	unsigned add = 0, del = 0;
	bool reg;

	color(a, "\033[1m");
	fputs("diff --git ", stdout);
	put_git_path("a/", c->path);
	putchar(' ');
	put_git_path("b/", c->path);
	putchar('\n');
	if (c->kind == HUTCH_CHANGE_ADDED)
		printf("new file mode %06o\n", git_mode(c->type, c->mode));
	else if (c->kind == HUTCH_CHANGE_DELETED)
		printf("deleted file mode %06o\n", git_mode(c->old_type, c->old_mode));
	else if (git_mode(c->type, c->mode) != git_mode(c->old_type, c->old_mode))
		printf("old mode %06o\nnew mode %06o\n", git_mode(c->old_type, c->old_mode),
		       git_mode(c->type, c->mode));
	if (c->kind == HUTCH_CHANGE_DELETED && c->old_type == HUTCH_FILE_REGULAR && !c->old_size)
		/* the empty blob: GNU patch then deletes without asking */
		printf("index e69de29bb2d1d6434b8b29ae775ad8c2e48c5391.."
		       "0000000000000000000000000000000000000000\n");
	color(a, "\033[m");
	if (!c->content_changed)
		return 0;
	if (c->type == HUTCH_FILE_SYMLINK || c->old_type == HUTCH_FILE_SYMLINK) {
		print_link(d->s, c, a);
		return 0;
	}
	reg = (c->kind == HUTCH_CHANGE_DELETED ? c->old_type : c->type) == HUTCH_FILE_REGULAR;
	if (!reg)
		return 0;
	if (c->binary)
		return print_binary(d->s, c, &d->err);
	if (hutch_change_diff(d->s, c, a->context, &text, &len, &add, &del, &d->err) < 0)
		return -1;
	if (!text && (c->size > HUTCH_DIFF_MAX_FILE || c->old_size > HUTCH_DIFF_MAX_FILE))
		return print_replacement(d->s, c, a, &d->err);
	if (!text || !len)
		return 0; /* an empty file added or deleted: the header says it all */
	file_header(a, c);
	print_hunks(a, text, len);
	return 0;
}

static int print_patch(const struct hutch_change *c, void *data)
{
	struct diff_state *d = data;

	d->n++;
	d->uncompared += c->uncompared != NULL;
	if (c->protected_path)
		comment("protected", c, ": hutch apply refuses it without --include-protected");
	if (c->conflict)
		comment("conflict", c, ": changed in the workspace since the session started");
	if (print_outside_git(c))
		return 0;
	if (c->kind == HUTCH_CHANGE_MODIFIED && c->type == HUTCH_FILE_SYMLINK &&
	    c->content_changed) {
		/* a link pointed elsewhere: GNU patch only deletes and creates links */
		struct hutch_change gone = *c, made = *c;
		int r;

		gone.kind = HUTCH_CHANGE_DELETED;
		made.kind = HUTCH_CHANGE_ADDED;
		r = print_section(d, &gone);
		return r < 0 ? r : print_section(d, &made);
	}
	return print_section(d, c);
}

static void counts(hutch_session *s, const struct hutch_change *c, const struct diff_args *a,
		   unsigned *add, unsigned *del, bool *shown)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	*add = *del = 0;
	*shown = false;
	if (hutch_change_diff(s, c, a->context, &text, &len, add, del, NULL) >= 0 && text)
		*shown = true;
}

static int print_stat_one(const struct hutch_change *c, void *data)
{
	struct diff_state *d = data;
	unsigned add, del;
	bool shown;
	bool is_dir = (c->kind == HUTCH_CHANGE_DELETED ? c->old_type : c->type) == HUTCH_FILE_DIR;

	d->uncompared += c->uncompared != NULL;
	counts(d->s, c, d->a, &add, &del, &shown);
	d->tadd += add;
	d->tdel += del;
	d->n++;
	printf(" %c %s%s |", "AMD"[c->kind], cli_quote_path(c->path, qbuf, sizeof(qbuf)),
	       is_dir ? "/" : "");
	if (c->uncompared)
		printf(" not compared: %s", hutch_escape_str(c->uncompared, qbuf, sizeof(qbuf), 0));
	else if (shown)
		printf(" +%u -%u", add, del);
	else if (c->binary)
		printf(" Bin %llu -> %llu bytes", (unsigned long long)c->old_size,
		       (unsigned long long)c->size);
	else if (c->kind == HUTCH_CHANGE_MODIFIED && !c->content_changed)
		printf(" mode %04o -> %04o", c->old_mode, c->mode);
	else
		printf(" %s", type_name(c->kind == HUTCH_CHANGE_DELETED ? c->old_type : c->type));
	printf("%s%s\n", c->protected_path ? " [protected]" : "", c->conflict ? " [conflict]" : "");
	return 0;
}

static int print_name_one(const struct hutch_change *c, void *data)
{
	struct diff_state *d = data;

	d->n++;
	d->uncompared += c->uncompared != NULL;
	printf("%c\t%s%s%s%s\n", "AMD"[c->kind], cli_quote_path(c->path, qbuf, sizeof(qbuf)),
	       c -> protected_path ? "\t[protected]" : "", c->conflict ? "\t[conflict]" : "",
	       c->uncompared ? "\t[not compared]" : "");
	return 0;
}

/*
 * A file name as JSON: "path" is always valid JSON text (controls escaped,
 * a byte that is not UTF-8 is U+FFFD); when there was such a byte, "pathBase64"
 * carries the exact bytes (RFC 4648 base64).
 */
static void json_path(const char *name)
{
	size_t len = strlen(name), cap = (len + 2) / 3 * 4 + 1;
	_cleanup_free_ char *b64 = NULL;
	bool invalid = false;

	printf("\"path\":");
	cli_json_bytes(stdout, name, len, &invalid);
	if (!invalid)
		return;
	b64 = malloc(cap);
	if (b64 && hutch_base64((const uint8_t *)name, len, b64, cap) > 0)
		printf(",\"pathBase64\":\"%s\"", b64);
}

static int print_json_one(const struct hutch_change *c, void *data)
{
	struct diff_state *d = data;
	unsigned add, del;
	bool shown;

	counts(d->s, c, d->a, &add, &del, &shown);
	printf("%s\n  {", d->n ? "," : "");
	d->n++;
	json_path(c->path);
	printf(",\"change\":\"%s\"", kind_name(c->kind));
	if (c->kind != HUTCH_CHANGE_DELETED)
		printf(",\"type\":\"%s\",\"mode\":\"%04o\",\"size\":%llu", type_name(c->type),
		       c->mode, (unsigned long long)c->size);
	if (c->kind != HUTCH_CHANGE_ADDED)
		printf(",\"oldType\":\"%s\",\"oldMode\":\"%04o\",\"oldSize\":%llu",
		       type_name(c->old_type), c->old_mode, (unsigned long long)c->old_size);
	printf(",\"contentChanged\":%s,\"binary\":%s,\"protected\":%s,\"conflict\":%s",
	       c->content_changed ? "true" : "false", c->binary ? "true" : "false",
	       c->protected_path ? "true" : "false", c->conflict ? "true" : "false");
	if (c->uncompared) {
		d->uncompared++;
		printf(",\"uncompared\":");
		cli_json_string(stdout, c->uncompared);
	}
	if (shown)
		printf(",\"added\":%u,\"removed\":%u", add, del);
	printf("}");
	return 0;
}

static int print_json(struct diff_state *d)
{
	int r;

	printf("{\"session\":");
	cli_json_string(stdout, hutch_session_id(d->s));
	printf(",\"workspace\":");
	cli_json_string(stdout, hutch_session_workspace(d->s));
	printf(",\"state\":");
	cli_json_string(stdout, hutch_session_state(d->s));
	printf(",\"changes\":[");
	r = hutch_session_changes_each(d->s, print_json_one, d, &d->err);
	printf("%s],\"complete\":%s", d->n ? "\n" : "",
	       r >= 0 && !d->uncompared ? "true" : "false");
	if (r < 0) {
		printf(",\"error\":");
		cli_json_string(stdout, d->err.msg);
	}
	printf("}\n");
	return r;
}

int cmd_diff(int argc, char **argv)
{
	struct diff_args a = {.format = FMT_PATCH, .context = 3};
	struct diff_state d = {0};
	_cleanup_session_ hutch_session *s = NULL;
	int c, r = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":U:C:h", diff_options, NULL)) != -1) {
		switch (c) {
		case 's':
			a.format = FMT_STAT;
			break;
		case 'j':
			a.format = FMT_JSON;
			break;
		case 'n':
			a.format = FMT_NAMES;
			break;
		case 'U': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 100000)
				return cli_cmd_error("diff", "-U: not a number of lines: %s",
						     optarg);
			a.context = (unsigned)v;
			break;
		}
		case 'C':
			a.dir = optarg;
			break;
		case 'h':
			return diff_usage(stdout);
		default:
			return cli_bad_option("diff", c, argv);
		}
	}
	if (optind < argc)
		a.id = argv[optind++];
	if (optind < argc)
		return cli_cmd_error("diff", "one session at a time");
	a.tty = isatty(1);
	a.color = a.format == FMT_PATCH && a.tty && !getenv("NO_COLOR");
	r = cli_open_session(a.id, a.dir, &s);
	if (r)
		return r;
	if (hutch_session_running(s) && !cli_quiet && a.format != FMT_JSON)
		cli_warn("session %s is running: its layer may change while you look",
			 hutch_session_id(s));
	d.s = s;
	d.a = &a;
	switch (a.format) {
	case FMT_STAT:
		r = hutch_session_changes_each(s, print_stat_one, &d, &d.err);
		if (r >= 0)
			printf(" %zu path%s changed, %llu insertion%s(+), %llu deletion%s(-)\n",
			       d.n, d.n == 1 ? "" : "s", d.tadd, d.tadd == 1 ? "" : "s", d.tdel,
			       d.tdel == 1 ? "" : "s");
		break;
	case FMT_JSON:
		r = print_json(&d);
		break;
	case FMT_NAMES:
		r = hutch_session_changes_each(s, print_name_one, &d, &d.err);
		break;
	default:
		r = hutch_session_changes_each(s, print_patch, &d, &d.err);
		break;
	}
	fflush(stdout);
	if (r < 0)
		return cli_error(&d.err);
	if (d.uncompared && !cli_quiet)
		cli_warn("session %s: %zu director%s not compared (see '# not compared' lines): "
			 "what they hold is not shown",
			 hutch_session_id(s), d.uncompared,
			 d.uncompared == 1 ? "y was" : "ies were");
	return 0;
}
