/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An interactive rebase's exec commands, commented out (rebasetodo.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/rebasetodo.h"

#define REMOVED "# removed by hutch: "

/* Is the line at @s (@n bytes, no newline) an exec command? */
static bool is_exec(const char *s, size_t n)
{
	size_t i = 0, w;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	w = i;
	while (w < n && s[w] != ' ' && s[w] != '\t' && s[w] != '\r')
		w++;
	return (w - i == 4 && !strncasecmp(s + i, "exec", 4)) ||
	       (w - i == 1 && (s[i] == 'x' || s[i] == 'X'));
}

int hutch_rebase_todo_sanitize(const char *buf, size_t len, char **out, size_t *out_len)
{
	size_t n = 0, o = 0;
	char *p;

	*out = NULL;
	*out_len = 0;
	if (len > HUTCH_REBASE_TODO_MAX || memchr(buf, '\0', len))
		return -EINVAL;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (buf + i)) : len - i;
		n += is_exec(buf + i, l);
		i += l + 1;
	}
	if (!n)
		return 0;
	p = malloc(len + n * strlen(REMOVED) + 1);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (buf + i)) + 1 : len - i;
		if (is_exec(buf + i, nl ? l - 1 : l)) {
			memcpy(p + o, REMOVED, strlen(REMOVED));
			o += strlen(REMOVED);
		}
		memcpy(p + o, buf + i, l);
		o += l;
		i += l;
	}
	p[o] = '\0';
	*out = p;
	*out_len = o;
	return (int)n;
}
