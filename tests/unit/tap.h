/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tiny TAP producer for unit tests: ok(), is_int(), is_str(), like(), diag(),
 * done_testing(). TAP on stdout; a failure's file:line, expression and got/want on stderr.
 */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

/*
 * ok(cond, fmt, ...): one test. A failure says where and what on stderr:
 *   #   Failed test 7 at tests/unit/test-x.c:42: hutch_foo(a) == 0
 */
static inline __attribute__((format(printf, 5, 6))) int
tap_ok_at(const char *file, int line, const char *expr, int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond) {
		tap_failed++;
		fprintf(stderr, "#   Failed test %d at %s:%d: %s\n", tap_n, file, line, expr);
		fflush(stderr);
	}
	return cond;
}

#define ok(cond, ...) tap_ok_at(__FILE__, __LINE__, #cond, !!(cond), __VA_ARGS__)

#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		long long _g = (got), _w = (want);                                                 \
		if (!tap_ok_at(__FILE__, __LINE__, #got " == " #want, _g == _w, __VA_ARGS__))      \
			fprintf(stderr, "#   got %lld, want %lld\n", _g, _w);                      \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *_g = (got), *_w = (want);                                              \
		int _eq = (_g && _w) ? strcmp(_g, _w) == 0 : _g == _w;                             \
		if (!tap_ok_at(__FILE__, __LINE__, #got " eq " #want, _eq, __VA_ARGS__))           \
			fprintf(stderr, "#   got '%s', want '%s'\n", _g ? _g : "(null)",           \
				_w ? _w : "(null)");                                               \
	} while (0)

#define like(got, needle, ...)                                                                     \
	do {                                                                                       \
		const char *_g = (got), *_n = (needle);                                            \
		if (!tap_ok_at(__FILE__, __LINE__, #got " contains " #needle,                      \
			       _g && strstr(_g, _n) != NULL, __VA_ARGS__))                         \
			fprintf(stderr, "#   '%s' does not contain '%s'\n", _g ? _g : "(null)",    \
				_n);                                                               \
	} while (0)

static inline __attribute__((format(printf, 1, 2))) void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
