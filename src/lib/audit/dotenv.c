/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Dangerous variables in ".env" files (dotenv.h). */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/dotenv.h"
#include "base/cleanup.h"

/*
 * Variables that run code in the programs an agent starts, or that redirect
 * the agent itself (its model endpoint, its settings, its instructions).
 * fnmatch(3) patterns, compared without regard to case.
 */
static const char *const dangerous[] = {
	/* the dynamic loader, shells, interpreters */
	"LD_*",
	"GCONV_PATH",
	"BASH_ENV",
	"ENV",
	"PROMPT_COMMAND",
	"ZDOTDIR",
	"SHELL",
	"PATH",
	"NODE_OPTIONS",
	"NODE_PATH",
	"PYTHON*",
	"PERL5*",
	"PERLLIB",
	"RUBYOPT",
	"RUBYLIB",
	"JAVA_TOOL_OPTIONS",
	"_JAVA_OPTIONS",
	"JDK_JAVA_OPTIONS",
	"DOTNET_STARTUP_HOOKS",
	/* programs other programs start */
	"GIT_*",
	"EDITOR",
	"VISUAL",
	"PAGER",
	"MANPAGER",
	"BROWSER",
	"*ASKPASS",
	/* where traffic goes and whom TLS trusts */
	"*_PROXY",
	"NODE_TLS_REJECT_UNAUTHORIZED",
	"NODE_EXTRA_CA_CERTS",
	"SSL_CERT_*",
	"REQUESTS_CA_BUNDLE",
	"CURL_CA_BUNDLE",
	/* aider: every option (lint and test commands, editor, config files, endpoints) */
	"AIDER_*",
	/* Gemini CLI: settings and system prompt paths, its home, its sandbox */
	"GEMINI_*",
	"GOOGLE_GEMINI_BASE_URL",
	"GOOGLE_VERTEX_BASE_URL",
	"CODE_ASSIST_ENDPOINT",
	/* model endpoints read by the agents' SDKs (litellm, OpenAI's, Anthropic's) */
	"*_API_BASE",
	"OPENAI_BASE_URL",
	"ANTHROPIC_BASE_URL",
	"OLLAMA_HOST",
	"LITELLM_*",
	NULL,
};

/* Names the patterns above match that only carry a key or a model name. */
static const char *const harmless[] = {"GEMINI_API_KEY", "GEMINI_MODEL", NULL};

static bool match(const char *const *table, const char *key)
{
	for (const char *const *p = table; *p; p++)
		if (fnmatch(*p, key, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

bool hutch_dotenv_key_dangerous(const char *key, size_t n)
{
	char name[256];

	if (n == 0)
		return false;
	if (n >= sizeof(name))
		return true; /* no variable of the table is that long; be safe */
	memcpy(name, key, n);
	name[n] = '\0';
	return match(dangerous, name) && !match(harmless, name);
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static bool key_char(char c)
{
	return c != '=' && c != ':' && c != '#' && c != '\'' && c != '"' && c != '`' && !blank(c) &&
	       c != '\n' && c != '\r';
}

/*
 * The variable a line sets, if any: [@*key, @*key + @*n). Blanks, a UTF-8
 * byte-order mark, "export" and an opening quote are skipped first.
 */
static bool line_key(const char *s, const char *end, const char **key, size_t *n)
{
	const char *k;

	for (;;) {
		while (s < end && blank(*s))
			s++;
		if (end - s >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
			s += 3;
		else if (end - s > 6 && !memcmp(s, "export", 6) && blank(s[6]))
			s += 7;
		else
			break;
	}
	if (s < end && (*s == '\'' || *s == '"' || *s == '`'))
		s++;
	for (k = s; s < end && key_char(*s); s++)
		;
	*key = k;
	*n = (size_t)(s - k);
	if (s < end && (*s == '\'' || *s == '"' || *s == '`'))
		s++;
	while (s < end && blank(*s))
		s++;
	return *n && s < end && (*s == '=' || *s == ':');
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = (*len + n + 1) * 2;
		char *nb = realloc(*buf, ncap);

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

int hutch_dotenv_sanitize(const char *buf, size_t len, char **out, size_t *out_len, char **removed)
{
	_cleanup_free_ char *o = NULL, *names = NULL;
	size_t olen = 0, ocap = 0, nlen = 0, ncap = 0;
	int count = 0;

	*out = NULL;
	*out_len = 0;
	*removed = NULL;
	if (len > HUTCH_DOTENV_MAX || memchr(buf, '\0', len))
		return -EINVAL;
	for (size_t at = 0; at < len;) {
		const char *line = buf + at, *eol = line, *key;
		size_t n, next;

		while (eol < buf + len && *eol != '\n' && *eol != '\r')
			eol++;
		next = (size_t)(eol - buf) + (eol < buf + len ? 1 : 0);
		if (line_key(line, eol, &key, &n) && hutch_dotenv_key_dangerous(key, n)) {
			char note[320];
			int w = snprintf(note, sizeof(note), "# %.*s removed by hutch\n",
					 (int)(n > 200 ? 200 : n), key);

			if (append(&o, &olen, &ocap, note, (size_t)w) < 0 ||
			    (nlen && append(&names, &nlen, &ncap, ", ", 2) < 0) ||
			    append(&names, &nlen, &ncap, key, n > 200 ? 200 : n) < 0)
				return -ENOMEM;
			count++;
		} else if (append(&o, &olen, &ocap, line, next - at) < 0) {
			return -ENOMEM;
		}
		at = next;
	}
	if (!count)
		return 0;
	*out = o;
	*out_len = olen;
	*removed = names;
	o = names = NULL;
	return count;
}
