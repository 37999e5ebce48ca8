/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The workload's environment: secrets dropped by pattern, explicit passes, set entries. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "policy/env.h"

static bool is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static size_t count(char **env)
{
	size_t n = 0;

	while (env && env[n])
		n++;
	return n;
}

void hutch_env_free(char **env)
{
	if (!env)
		return;
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

/* Index of NAME (length @n) in @env, or -1. */
static ssize_t find(char **env, const char *name, size_t n)
{
	for (size_t i = 0; env && env[i]; i++)
		if (env[i][0] == name[0] && strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return (ssize_t)i;
	return -1;
}

static size_t total_bytes(char **env)
{
	size_t t = 0;

	for (size_t i = 0; env && env[i]; i++)
		t += strlen(env[i]) + 1;
	return t;
}

bool hutch_env_name_valid(const char *s, size_t n)
{
	if (!s || n == 0 || n > 255)
		return false;
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

int hutch_env_set(char ***env, const char *name, const char *value)
{
	size_t nl, vl, n;
	ssize_t at;
	char *entry, **nv;

	if (!env || !name || !value)
		return -EINVAL;
	nl = strlen(name);
	vl = strlen(value);
	if (!hutch_env_name_valid(name, nl))
		return -EINVAL;
	if (nl + 1 + vl + 1 > HUTCH_ENV_MAX_ENTRY)
		return -E2BIG;
	at = find(*env, name, nl);
	if (total_bytes(*env) + nl + vl + 2 - (at >= 0 ? strlen((*env)[at]) + 1 : 0) >
	    HUTCH_ENV_MAX_BYTES)
		return -E2BIG;
	entry = malloc(nl + 1 + vl + 1);
	if (!entry)
		return -ENOMEM;
	memcpy(entry, name, nl);
	entry[nl] = '=';
	memcpy(entry + nl + 1, value, vl + 1);
	if (at >= 0) {
		free((*env)[at]);
		(*env)[at] = entry;
		return 0;
	}
	n = count(*env);
	if (n >= HUTCH_ENV_MAX_VARS) {
		free(entry);
		return -E2BIG;
	}
	nv = realloc(*env, (n + 2) * sizeof(*nv));
	if (!nv) {
		free(entry);
		return -ENOMEM;
	}
	nv[n] = entry;
	nv[n + 1] = NULL;
	*env = nv;
	return 0;
}

/*
 * fnmatch(3) without flags for the patterns the drop and pass lists hold
 * ("*_TOKEN", "AWS_*", "*_SECRET*"): '*' and '?' by hand, a few times faster
 * than glibc's locale-aware matcher over every variable and every pattern;
 * anything else ('[', '\\') goes to fnmatch itself (pat_classify()).
 */
static bool glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*pat == '*') {
			star = ++pat;
			resume = s;
		} else if (*pat == '?' || *pat == *s) {
			pat++;
			s++;
		} else if (star) {
			pat = star;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

/*
 * A list's patterns, each sorted once into what it asks of a name: most of the
 * drop list is a literal with a '*' before or after it ("*_TOKEN", "AWS_*",
 * "*_SECRET*"), a comparison at one end or a search, where matching the glob
 * walked the pattern for each of the ~40 variables (a quarter of the
 * preparation's time). Only the others are matched as globs. The first and
 * last character, when literal (a letter, digit or '_'), still refuse a name
 * that does not start and end with them before anything else.
 */
enum pat_kind {
	PAT_EXACT,   /* "NAME" */
	PAT_PREFIX,  /* "NAME*" */
	PAT_SUFFIX,  /* "*NAME" (and "*": every name) */
	PAT_INFIX,   /* "*NAME*" */
	PAT_GLOB,    /* '*' elsewhere, '?' */
	PAT_FNMATCH, /* a bracket or an escape */
};

struct pat {
	const char *s;
	const char *core; /* the literal part of an EXACT..INFIX pattern */
	size_t core_len;
	enum pat_kind kind;
	unsigned char first, last; /* 0: not literal */
	bool locked;
};

struct pats {
	struct pat *v; /* sorted by their last character (0: not literal first) */
	size_t n, n_locked;
	size_t from[257]; /* those ending in c: v[from[c]] to v[from[c + 1]] */
};

static unsigned char literal(char c)
{
	return isalnum((unsigned char)c) || c == '_' ? (unsigned char)c : 0;
}

static void pat_classify(struct pat *pt)
{
	const char *s = pt->s;
	size_t len = strlen(s);
	bool lead = len > 0 && s[0] == '*', trail = len > (size_t)lead && s[len - 1] == '*';

	pt->first = len ? literal(s[0]) : 0;
	pt->last = len ? literal(s[len - 1]) : 0;
	pt->core = s + lead;
	pt->core_len = len - lead - trail;
	if (strpbrk(s, "[\\"))
		pt->kind = PAT_FNMATCH;
	else if (strchr(s, '?') || memchr(pt->core, '*', pt->core_len))
		pt->kind = PAT_GLOB;
	else
		pt->kind =
			lead ? (trail ? PAT_INFIX : PAT_SUFFIX) : (trail ? PAT_PREFIX : PAT_EXACT);
}

static int pat_cmp_last(const void *a, const void *b)
{
	const struct pat *x = a, *y = b;

	return (int)x->last - (int)y->last;
}

/*
 * A name can only match the patterns that end in its own last character or
 * in no literal one: sorted by it, those are two runs of the list.
 */
static int pats_make(const struct hutch_rules *r, struct pats *out)
{
	size_t k = 0;

	out->n = out->n_locked = 0;
	out->v = calloc(r->n + 1, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		struct pat *pt = &out->v[out->n++];

		pt->s = r->v[i].value;
		pt->locked = r->v[i].locked;
		out->n_locked += pt->locked;
		pat_classify(pt);
	}
	qsort(out->v, out->n, sizeof(*out->v), pat_cmp_last);
	for (size_t c = 0; c < 257; c++) {
		while (k < out->n && out->v[k].last < c)
			k++;
		out->from[c] = k;
	}
	return 0;
}

static bool pat_match(const struct pat *pt, const char *name, size_t nl)
{
	switch (pt->kind) {
	case PAT_EXACT:
		return nl == pt->core_len && !memcmp(name, pt->core, nl);
	case PAT_PREFIX:
		return nl >= pt->core_len && !memcmp(name, pt->core, pt->core_len);
	case PAT_SUFFIX:
		return nl >= pt->core_len &&
		       !memcmp(name + nl - pt->core_len, pt->core, pt->core_len);
	case PAT_INFIX: /* by hand: glibc's memmem() sets up more than a name's length takes */
		for (size_t i = 0; i + pt->core_len <= nl; i++)
			if (!pt->core_len ||
			    (name[i] == pt->core[0] &&
			     !memcmp(name + i + 1, pt->core + 1, pt->core_len - 1)))
				return true;
		return false;
	case PAT_GLOB:
		return glob_match(pt->s, name);
	case PAT_FNMATCH:
		return fnmatch(pt->s, name, 0) == 0;
	}
	return false;
}

static bool matches(const struct pats *ps, const char *name, size_t nl, bool locked_only)
{
	unsigned char runs[2] = {0, nl ? literal(name[nl - 1]) : 0};

	if (locked_only && !ps->n_locked)
		return false;
	for (size_t k = 0; k < (runs[1] ? 2u : 1u); k++) {
		for (size_t i = ps->from[runs[k]]; i < ps->from[runs[k] + 1]; i++) {
			const struct pat *pt = &ps->v[i];

			if (locked_only && !pt->locked)
				continue;
			if ((pt->first && (unsigned char)name[0] != pt->first) ||
			    (pt->last && (!nl || (unsigned char)name[nl - 1] != pt->last)))
				continue;
			if (pat_match(pt, name, nl))
				return true;
		}
	}
	return false;
}

static bool exact(const struct hutch_rules *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!is_glob(r->v[i].value) && strcmp(r->v[i].value, name) == 0)
			return true;
	return false;
}

/* Does the policy let @name through? (The table in env.h, rules 1-5.) */
static bool passes(const struct hutch_policy *p, const struct pats *drop, const struct pats *pass,
		   const char *name, size_t nl)
{
	if (matches(drop, name, nl, true))
		return false;
	if (exact(&p->env_pass, name))
		return true;
	if (matches(drop, name, nl, false))
		return false;
	return matches(pass, name, nl, false);
}

/*
 * Credentials in URLs. A proxy variable (http_proxy=http://user:pass@host:3128,
 * any case) keeps its proxy with the user information removed; any other
 * variable whose value holds a URL with credentials (postgres://u:p@db,
 * https://TOKEN@host; not ssh://git@host, a user name alone) is dropped,
 * unless passed by exact name.
 */
static const char *const proxy_vars[] = {
	"http_proxy", "https_proxy", "ftp_proxy", "all_proxy", "rsync_proxy", "socks_proxy", NULL,
};

static bool is_proxy_var(const char *name)
{
	size_t n = strlen(name);

	if (n < 5 || strcasecmp(name + n - 5, "proxy") != 0) /* what they all end in */
		return false;
	for (size_t i = 0; proxy_vars[i]; i++)
		if (!strcasecmp(name, proxy_vars[i]))
			return true;
	return false;
}

/*
 * The next URL authority's user information at or after @from in @v:
 * [*at, *end) is "userinfo@". False when there is none.
 */
static bool next_userinfo(const char *v, size_t from, size_t *at, size_t *end, bool *secret)
{
	for (const char *p = strstr(v + from, "://"); p; p = strstr(p + 3, "://")) {
		const char *a = p + 3, *e = a + strcspn(a, "/?# \t\n,;"), *u = NULL;
		const char *sch = p;

		while (sch > v && (isalnum((unsigned char)sch[-1]) || strchr("+.-", sch[-1])))
			sch--;
		for (const char *c = a; c < e; c++)
			if (*c == '@')
				u = c;
		if (!u || u == a)
			continue;
		*at = (size_t)(a - v);
		*end = (size_t)(u + 1 - v);
		*secret = memchr(a, ':', (size_t)(u - a)) != NULL ||
			  strncasecmp(sch, "http", 4) == 0 || strncasecmp(sch, "ftp", 3) == 0;
		return true;
	}
	return false;
}

static bool has_url_credentials(const char *v)
{
	size_t at, end = 0;
	bool secret;

	while (next_userinfo(v, end, &at, &end, &secret))
		if (secret)
			return true;
	return false;
}

/* @entry (NAME=VALUE) with every URL's user information removed; NULL on ENOMEM. */
static char *strip_userinfo(const char *entry)
{
	char *out = strdup(entry);
	size_t at, end, from = 0;
	bool secret;

	while (out && next_userinfo(out, from, &at, &end, &secret)) {
		memmove(out + at, out + end, strlen(out + end) + 1);
		from = at;
	}
	return out;
}

/* Does a "~/" (or a lone "~") at @v[i] start a home-relative path, as in a shell assignment? */
static bool tilde_at(const char *v, size_t i)
{
	return v[i] == '~' && (i == 0 || v[i - 1] == '=' || v[i - 1] == ':') &&
	       (v[i + 1] == '/' || v[i + 1] == ':' || v[i + 1] == '\0');
}

/*
 * @v with each "~" that starts the value or follows "=" or ":" and is followed
 * by "/", ":" or the end replaced by @home, as a shell expands an assignment
 * (PATH-like lists, "-Dkey=~/dir"). NULL with errno set on failure.
 */
static char *expand_tilde(const char *v, const char *home)
{
	size_t n = 0, hl = strlen(home), len = strlen(v);
	char *out, *o;

	for (size_t i = 0; v[i]; i++)
		n += tilde_at(v, i);
	if (n > (SIZE_MAX - len - 1) / (hl ? hl : 1)) {
		errno = E2BIG;
		return NULL;
	}
	out = malloc(len + n * hl + 1);
	if (!out)
		return NULL;
	o = out;
	for (size_t i = 0; v[i]; i++) {
		if (tilde_at(v, i)) {
			memcpy(o, home, hl);
			o += hl;
		} else {
			*o++ = v[i];
		}
	}
	*o = '\0';
	return out;
}

/* Set the policy's NAME=VALUE entry @kv in @env, "~" expanded against $HOME. */
static int set_entry(char ***env, const char *kv, hutch_error *err)
{
	const char *eq = strchr(kv, '='), *home = getenv("HOME");
	_cleanup_free_ char *value = NULL;
	char name[256];
	size_t nl = eq ? (size_t)(eq - kv) : 0;
	int r;

	if (!eq || nl >= sizeof(name))
		return 0; /* cannot happen: validated by hutch_policy_add */
	memcpy(name, kv, nl);
	name[nl] = '\0';
	if (strchr(eq + 1, '~')) {
		bool needed = false;

		for (size_t i = 0; eq[1 + i]; i++)
			needed = needed || tilde_at(eq + 1, i);
		if (needed && (!home || home[0] != '/'))
			return hutch_errx(err, EINVAL,
					  "environment: cannot expand \"~\" in %s: HOME is not an "
					  "absolute path",
					  name);
		if (needed) {
			value = expand_tilde(eq + 1, home);
			if (!value)
				return hutch_err(err, errno, "environment: %s", name);
		}
	}
	r = hutch_env_set(env, name, value ? value : eq + 1);
	if (r < 0)
		return hutch_errx(err, -r, "environment: cannot set %s%s", name,
				  r == -E2BIG ? ": too large" : "");
	return 0;
}

/* The variables of @environ the policy lets through, into *@out (credentials in URLs removed). */
static int build_passed(const struct hutch_policy *p, const struct pats *drop,
			const struct pats *pass, char *const *environ, char ***out,
			hutch_error *err)
{
	char **env = calloc(1, sizeof(*env));
	size_t n = 0, bytes = 0;

	if (!env)
		return hutch_err(err, ENOMEM, "environment");
	for (size_t i = 0; environ && environ[i]; i++) {
		const char *e = environ[i], *eq = strchr(e, '=');
		char name[256];
		size_t nl, len;
		char **nv;

		if (!eq || !hutch_env_name_valid(e, (size_t)(eq - e)))
			continue;
		nl = (size_t)(eq - e);
		memcpy(name, e, nl);
		name[nl] = '\0';
		if (find(env, name, nl) >= 0 || !passes(p, drop, pass, name, nl))
			continue;
		if (!is_proxy_var(name) && has_url_credentials(eq + 1) &&
		    !exact(&p->env_pass, name))
			continue;
		len = strlen(e) + 1;
		if (len > HUTCH_ENV_MAX_ENTRY || n >= HUTCH_ENV_MAX_VARS ||
		    bytes + len > HUTCH_ENV_MAX_BYTES) {
			hutch_env_free(env);
			return hutch_errx(err, E2BIG,
					  "environment: too large to pass (variable %s; at most %d "
					  "variables, %d bytes each, %d bytes in all)",
					  name, HUTCH_ENV_MAX_VARS, HUTCH_ENV_MAX_ENTRY,
					  HUTCH_ENV_MAX_BYTES);
		}
		nv = realloc(env, (n + 2) * sizeof(*nv));
		if (!nv) {
			hutch_env_free(env);
			return hutch_err(err, ENOMEM, "environment");
		}
		env = nv;
		env[n] = is_proxy_var(name) ? strip_userinfo(e) : strdup(e);
		if (!env[n]) {
			hutch_env_free(env);
			return hutch_err(err, ENOMEM, "environment");
		}
		env[++n] = NULL;
		bytes += len;
	}
	*out = env;
	return 0;
}

int hutch_env_build(const struct hutch_policy *p, char *const *environ, char ***out,
		    hutch_error *err)
{
	char **env = NULL;
	struct pats drop = {0}, pass = {0};
	int r;

	if (!p || !out)
		return hutch_errx(err, EINVAL, "environment: no policy");
	*out = NULL;
	if (pats_make(&p->env_drop, &drop) < 0 || pats_make(&p->env_pass, &pass) < 0) {
		free(drop.v);
		return hutch_err(err, ENOMEM, "environment");
	}
	r = build_passed(p, &drop, &pass, environ, &env, err);
	free(drop.v);
	free(pass.v);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->env_set.n; i++) {
		r = set_entry(&env, p->env_set.v[i].value, err);
		if (r < 0) {
			hutch_env_free(env);
			return r;
		}
	}
	*out = env;
	return 0;
}
