/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "hutch.h"

/*
 * Fill @err (may be NULL) with a message and return -errnum (errnum > 0),
 * so callers can write: return hutch_err(err, errno, 125, "open %s", path);
 * The errno text is appended as ": <strerror>" when errnum != 0.
 */
int hutch_err(hutch_error *err, int errnum, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Like hutch_err but without the errno text. */
int hutch_errx(hutch_error *err, int errnum, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Set the one-line "what to do about it" hint. */
void hutch_err_hint(hutch_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the existing message with "what: ". */
void hutch_err_prefix(hutch_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
