/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Command rules: pure matching of commands.allow / commands.deny (see cmdrules.h). */
#include <string.h>

#include "audit/cmdrules.h"
#include "policy/policy.h"

/* Next pattern unit at @p: sets *lit to the byte, returns its length (1, or 2 for "\x"). */
static size_t unit(const char *p, size_t left, char *lit)
{
	if (p[0] == '\\' && left > 1) {
		*lit = p[1];
		return 2;
	}
	*lit = p[0];
	return 1;
}

bool hutch_glob(const char *pat, size_t plen, const char *s, size_t n)
{
	size_t p = 0, i = 0;
	size_t star_p = (size_t)-1, star_i = 0;

	/* Greedy match with one backtrack point: the last '*' seen. */
	while (i < n) {
		if (p < plen && pat[p] == '*') {
			star_p = ++p;
			star_i = i;
			continue;
		}
		if (p < plen && pat[p] == '?') {
			p++;
			i++;
			continue;
		}
		if (p < plen) {
			char c;
			size_t u = unit(pat + p, plen - p, &c); /* "\?" and "\*" are literal */
			if (c == s[i]) {
				p += u;
				i++;
				continue;
			}
		}
		if (star_p == (size_t)-1)
			return false;
		p = star_p;
		i = ++star_i;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

size_t hutch_cmd_join_args(const char *const *argv, const size_t *arglen, size_t argc, char *buf,
			   size_t cap)
{
	size_t len = 0;

	if (cap == 0)
		return 0;
	for (size_t i = 1; i < argc && len + 1 < cap; i++) {
		size_t l = arglen ? arglen[i] : strlen(argv[i]);
		if (i > 1)
			buf[len++] = ' ';
		if (l > cap - 1 - len)
			l = cap - 1 - len;
		memcpy(buf + len, argv[i], l);
		len += l;
	}
	buf[len] = '\0';
	return len;
}

static const char *base_name(const char *path, size_t *len)
{
	const char *s = strrchr(path, '/');

	s = s ? s + 1 : path;
	*len = strlen(s);
	return s;
}

/* Does the program part @pp match one of the names of @c? */
static bool prog_match(const char *pp, size_t pn, const struct hutch_cmd *c, bool for_deny)
{
	const char *paths[2] = {c->path, c->real_path};
	bool by_path = memchr(pp, '/', pn) != NULL;
	size_t n;

	for (size_t k = 0; k < 2; k++) {
		const char *s;
		if (!paths[k])
			continue;
		if (by_path) {
			if (hutch_glob(pp, pn, paths[k], strlen(paths[k])))
				return true;
			continue;
		}
		s = base_name(paths[k], &n);
		if (hutch_glob(pp, pn, s, n))
			return true;
	}
	if (for_deny && !by_path && c->argc > 0 && c->argv[0]) {
		const char *s = base_name(c->argv[0], &n);
		if (hutch_glob(pp, pn, s, n))
			return true;
	}
	return false;
}

bool hutch_cmd_pattern_match(const char *pattern, const struct hutch_cmd *c, bool for_deny)
{
	const char *p = pattern, *rest;
	size_t pn, rn;

	while (*p == ' ')
		p++;
	/* The program part ends at the first unescaped space. */
	for (rest = p; *rest && *rest != ' '; rest++)
		if (*rest == '\\' && rest[1])
			rest++;
	pn = (size_t)(rest - p);
	if (pn == 0 || !prog_match(p, pn, c, for_deny))
		return false;
	while (*rest == ' ')
		rest++;
	rn = strlen(rest);
	while (rn > 0 && rest[rn - 1] == ' ')
		rn--;
	if (rn == 0)
		return true; /* a bare program: any arguments */
	if (hutch_glob(rest, rn, c->args ? c->args : "", c->args ? c->args_len : 0))
		return true;
	/* "sudo *" matches a bare "sudo"; "rm -rf *" matches "rm -rf". */
	if (rn == 1 && rest[0] == '*')
		return true;
	if (rn >= 2 && rest[rn - 1] == '*' && rest[rn - 2] == ' ' &&
	    (rn < 3 || rest[rn - 3] != '\\'))
		return hutch_glob(rest, rn - 2, c->args ? c->args : "", c->args ? c->args_len : 0);
	return false;
}

bool hutch_cmdrules_decide(const struct hutch_rules *allow, const struct hutch_rules *deny,
			   const struct hutch_cmd *c, const struct hutch_rule **rule)
{
	*rule = NULL;
	for (size_t i = 0; deny && i < deny->n; i++)
		if (hutch_cmd_pattern_match(deny->v[i].value, c, true)) {
			*rule = &deny->v[i];
			return false;
		}
	if (!allow || allow->n == 0)
		return true;
	for (size_t i = 0; i < allow->n; i++)
		if (hutch_cmd_pattern_match(allow->v[i].value, c, false)) {
			*rule = &allow->v[i];
			return true;
		}
	return false;
}
