/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* git config syntax, read conservatively; the keys that run programs (gitconfig.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "audit/gitconfig.h"

/*
 * Keys with which git runs a program, or reads another file that can set
 * one. @key NULL: every key of the section; @bang: only a value starting
 * with "!" (an alias that is a shell command). The subsection is not looked
 * at: "diff.external" and "diff.<driver>.command" are both matched by section
 * and key, so a key is never missed for being in an unexpected subsection.
 */
static const struct {
	const char *section, *key;
	bool bang;
} dangerous[] = {
	{"core", "hookspath", false},
	{"core", "fsmonitor", false},
	{"core", "sshcommand", false},
	{"core", "pager", false},
	{"core", "editor", false},
	{"core", "askpass", false},
	{"core", "gitproxy", false},
	{"core", "alternaterefscommand", false},
	{"sequence", "editor", false},
	{"diff", "external", false},
	{"diff", "command", false},
	{"diff", "textconv", false},
	{"merge", "driver", false},
	{"filter", NULL, false},
	{"alias", NULL, true},
	{"include", NULL, false},
	{"includeif", NULL, false},
	{"credential", "helper", false},
	{"gpg", "program", false},
	{"gpg", "defaultkeycommand", false},
	{"uploadpack", "packobjectshook", false},
	{"remote", "uploadpack", false},
	{"remote", "receivepack", false},
	{"remote", "vcs", false},
	{"protocol", "allow", false}, /* protocol.ext.allow: "ext::sh -c ..." URLs */
	{"pager", NULL, false},
	{"interactive", "difffilter", false},
	{"difftool", "cmd", false},
	{"difftool", "path", false},
	{"mergetool", "cmd", false},
	{"mergetool", "path", false},
	{"web", "browser", false},
	{"browser", "cmd", false},
	{"browser", "path", false},
	{"man", "cmd", false},
	{"man", "path", false},
	{"sendemail", NULL, false},
	{"imap", "tunnel", false},
	{"trailer", "command", false},
	{"trailer", "cmd", false},
	{"submodule", "update", false}, /* "!command" */
	{"hook", "command", false},	/* git 2.54's configured hooks: hook.<name>.command */
	{"init", "templatedir", false}, /* a re-run "git init" copies hooks from there */
	{"lfs", "path", false},		/* git-lfs: lfs.customtransfer.<name>.path */
	{"lfs", "clean", false},	/* lfs.extension.<name>.clean */
	{"lfs", "smudge", false},	/* lfs.extension.<name>.smudge */
	{"guitool", "cmd", false},
	{"instaweb", "httpd", false},
};

bool hutch_gitconfig_dangerous(const struct hutch_gitconfig_entry *e)
{
	for (size_t i = 0; i < sizeof(dangerous) / sizeof(dangerous[0]); i++) {
		if (strcmp(e->section, dangerous[i].section))
			continue;
		if (dangerous[i].key && strcmp(e->key, dangerous[i].key))
			continue;
		if (dangerous[i].bang && !(e->value && e->value[strspn(e->value, " \t")] == '!'))
			continue;
		return true;
	}
	return false;
}

/* ---- the parser ----------------------------------------------------------- */

struct parser {
	const char *b;
	size_t n, i;
	char section[256], sub[1024];
	bool have_section, have_sub;
	char *val;
	size_t vlen, vcap;
};

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void skip_line(struct parser *p)
{
	while (p->i < p->n && p->b[p->i] != '\n')
		p->i++;
	if (p->i < p->n)
		p->i++;
}

/* After "]" or a value: only blanks, then a comment or the end of the line. */
static int line_end(struct parser *p)
{
	while (p->i < p->n && blank(p->b[p->i]))
		p->i++;
	if (p->i >= p->n || p->b[p->i] == '\n' || p->b[p->i] == '#' || p->b[p->i] == ';') {
		skip_line(p);
		return 0;
	}
	return -EINVAL;
}

static int header(struct parser *p)
{
	size_t k = 0;
	char *dot;

	p->i++; /* [ */
	while (p->i < p->n &&
	       (isalnum((unsigned char)p->b[p->i]) || p->b[p->i] == '-' || p->b[p->i] == '.')) {
		if (k + 1 >= sizeof(p->section))
			return -EINVAL;
		p->section[k++] = (char)tolower((unsigned char)p->b[p->i++]);
	}
	p->section[k] = '\0';
	if (!k)
		return -EINVAL;
	p->have_sub = false;
	dot = strchr(p->section, '.');
	if (dot) {
		/* [section.sub]: the old form, the subsection lower-cased */
		if (!dot[1] || dot == p->section)
			return -EINVAL;
		snprintf(p->sub, sizeof(p->sub), "%s", dot + 1);
		*dot = '\0';
		p->have_sub = true;
	}
	if (p->i < p->n && blank(p->b[p->i])) {
		size_t s = 0;

		while (p->i < p->n && blank(p->b[p->i]))
			p->i++;
		if (dot || p->i >= p->n || p->b[p->i] != '"')
			return -EINVAL;
		p->i++;
		for (;;) {
			char c;
			if (p->i >= p->n || p->b[p->i] == '\n' || p->b[p->i] == '\0')
				return -EINVAL;
			c = p->b[p->i++];
			if (c == '"')
				break;
			if (c == '\\') {
				if (p->i >= p->n || p->b[p->i] == '\n' || p->b[p->i] == '\0')
					return -EINVAL;
				c = p->b[p->i++];
			}
			if (s + 1 >= sizeof(p->sub))
				return -EINVAL;
			p->sub[s++] = c;
		}
		p->sub[s] = '\0';
		p->have_sub = true;
	}
	if (p->i >= p->n || p->b[p->i] != ']')
		return -EINVAL;
	p->i++;
	p->have_section = true;
	return line_end(p); /* "[core] key = v" on one line is valid git, but not read here */
}

static int vput(struct parser *p, char c)
{
	if (p->vlen + 2 > p->vcap) {
		size_t cap = p->vcap ? p->vcap * 2 : 128;
		char *v = realloc(p->val, cap);
		if (!v)
			return -ENOMEM;
		p->val = v;
		p->vcap = cap;
	}
	p->val[p->vlen++] = c;
	p->val[p->vlen] = '\0';
	return 0;
}

static int value(struct parser *p)
{
	bool quote = false;
	size_t space = 0;
	int r;

	p->vlen = 0;
	if ((r = vput(p, '\0')) < 0)
		return r;
	p->vlen = 0;
	while (p->i < p->n && blank(p->b[p->i]))
		p->i++;
	for (;;) {
		char c = p->i < p->n ? p->b[p->i] : '\n';

		if (c == '\0')
			return -EINVAL;
		if (c == '\n') {
			if (quote)
				return -EINVAL;
			if (p->i < p->n)
				p->i++;
			return 0;
		}
		p->i++;
		if (!quote && (c == '#' || c == ';')) {
			skip_line(p);
			return 0;
		}
		if (!quote && blank(c)) {
			if (p->vlen)
				space++;
			continue;
		}
		if (c == '\\') {
			char e = p->i < p->n ? p->b[p->i++] : '\0';
			if (e == '\r' && p->i < p->n && p->b[p->i] == '\n')
				e = p->b[p->i++];
			if (e == '\n')
				continue; /* continuation */
			switch (e) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'b':
				c = '\b';
				break;
			case '"':
				c = '"';
				break;
			case '\\':
				c = '\\';
				break;
			default:
				return -EINVAL;
			}
		} else if (c == '"') {
			quote = !quote;
			continue;
		}
		for (; space; space--)
			if ((r = vput(p, ' ')) < 0)
				return r;
		if ((r = vput(p, c)) < 0)
			return r;
	}
}

static int entry(struct parser *p, hutch_gitconfig_fn fn, void *data, size_t start)
{
	char key[256];
	size_t k = 0;
	bool has_value = false;
	int r;

	if (!p->have_section || !isalpha((unsigned char)p->b[p->i]))
		return -EINVAL;
	while (p->i < p->n && (isalnum((unsigned char)p->b[p->i]) || p->b[p->i] == '-')) {
		if (k + 1 >= sizeof(key))
			return -EINVAL;
		key[k++] = (char)tolower((unsigned char)p->b[p->i++]);
	}
	key[k] = '\0';
	while (p->i < p->n && blank(p->b[p->i]))
		p->i++;
	if (p->i < p->n && p->b[p->i] == '=') {
		p->i++;
		has_value = true;
		r = value(p);
	} else {
		r = line_end(p);
	}
	if (r < 0)
		return r;
	{
		struct hutch_gitconfig_entry e = {
			.section = p->section,
			.subsection = p->have_sub ? p->sub : NULL,
			.key = key,
			.value = has_value ? p->val : NULL,
			.start = start,
			.end = p->i,
		};
		return fn(&e, data);
	}
}

int hutch_gitconfig_parse(const char *buf, size_t len, hutch_gitconfig_fn fn, void *data)
{
	struct parser p = {.b = buf, .n = len};
	int r = 0;

	if (len > HUTCH_GITCONFIG_MAX || memchr(buf, '\0', len))
		return -EINVAL;
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		p.i = 3;
	while (r == 0 && p.i < p.n) {
		size_t start = p.i;
		char c;

		while (p.i < p.n && blank(p.b[p.i]))
			p.i++;
		c = p.i < p.n ? p.b[p.i] : '\n';
		if (c == '\n' || c == '#' || c == ';')
			skip_line(&p);
		else if (c == '[')
			r = header(&p);
		else
			r = entry(&p, fn, data, start);
	}
	free(p.val);
	return r;
}

/* ---- sanitizing ----------------------------------------------------------- */

struct sanitize {
	const char *in;
	size_t copied; /* input bytes up to here are handled */
	FILE *out;
	char *removed;
	size_t removed_len;
	FILE *rm;
	int n;
};

static int sanitize_one(const struct hutch_gitconfig_entry *e, void *data)
{
	struct sanitize *s = data;

	if (!hutch_gitconfig_dangerous(e))
		return 0;
	fwrite(s->in + s->copied, 1, e->start - s->copied, s->out);
	if (e->subsection && !strpbrk(e->subsection, "\n\r"))
		fprintf(s->out, "\t# removed by hutch: %s.<%s>.%s\n", e->section, e->subsection,
			e->key);
	else
		fprintf(s->out, "\t# removed by hutch: %s.%s\n", e->section, e->key);
	fprintf(s->rm, "%s%s.%s", s->n ? ", " : "", e->section, e->key);
	s->copied = e->end;
	s->n++;
	return 0;
}

int hutch_gitconfig_sanitize(const char *buf, size_t len, char **out, size_t *out_len,
			     char **removed)
{
	struct sanitize s = {.in = buf};
	char *o = NULL;
	size_t olen = 0;
	int r;

	*out = *removed = NULL;
	*out_len = 0;
	s.out = open_memstream(&o, &olen);
	s.rm = open_memstream(&s.removed, &s.removed_len);
	if (!s.out || !s.rm) {
		if (s.out)
			fclose(s.out);
		if (s.rm)
			fclose(s.rm);
		free(o);
		free(s.removed);
		return -ENOMEM;
	}
	r = hutch_gitconfig_parse(buf, len, sanitize_one, &s);
	if (r == 0 && s.n)
		fwrite(buf + s.copied, 1, len - s.copied, s.out);
	if (fclose(s.out) != 0 && r == 0)
		r = -ENOMEM;
	if (fclose(s.rm) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0 || s.n == 0) {
		free(o);
		free(s.removed);
		return r < 0 ? r : 0;
	}
	*out = o;
	*out_len = olen;
	*removed = s.removed;
	return s.n;
}

char *hutch_gitconfig_minimal(bool bare)
{
	char *s = NULL;

	if (asprintf(&s,
		     "# written by hutch: the repository's config could not be read safely\n"
		     "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = %s\n",
		     bare ? "true" : "false") < 0)
		return NULL;
	return s;
}
