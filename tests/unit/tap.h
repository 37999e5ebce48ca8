/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tiny TAP producer for unit tests: ok(), is_int(), is_str(), done_testing(). */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline __attribute__((format(printf, 2, 3))) int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		long long _g = (got), _w = (want);                                                 \
		if (!ok(_g == _w, __VA_ARGS__))                                                    \
			printf("#   got %lld, want %lld\n", _g, _w);                               \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *_g = (got), *_w = (want);                                              \
		int _eq = (_g && _w) ? strcmp(_g, _w) == 0 : _g == _w;                             \
		if (!ok(_eq, __VA_ARGS__))                                                         \
			printf("#   got '%s', want '%s'\n", _g ? _g : "(null)",                    \
			       _w ? _w : "(null)");                                                \
	} while (0)

#define like(got, needle, ...)                                                                     \
	do {                                                                                       \
		const char *_g = (got), *_n = (needle);                                            \
		if (!ok(_g && strstr(_g, _n) != NULL, __VA_ARGS__))                                \
			printf("#   '%s' does not contain '%s'\n", _g ? _g : "(null)", _n);        \
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
