/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Errors of the library (HACKING.md, conventions): a function that fails fills the
 * caller's hutch_error with "<what failed>: <why>" and returns -errno, in one statement:
 *
 *     return hutch_err(err, errno, "audit log %s: cannot open it", path);
 *
 * The suggested exit status is hutch's own (125, HUTCH_EXIT_ERROR); the few errors
 * that mean something else (126 not executable, 127 not found, a status reported by
 * the sandbox) set it afterwards with hutch_err_status(). A caller that knows more
 * than the layer below (which session, which file) puts it in front with
 * hutch_err_prefix(); it does not rewrite the message.
 */
#pragma once

#include "hutch.h"

/*
 * Fill @err (may be NULL) with a message and return -errnum (errnum > 0, or
 * negative: its sign does not matter; 0 counts as EINVAL). The errno text is
 * appended as ": <strerror>".
 */
int hutch_err(hutch_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like hutch_err but without the errno text. */
int hutch_errx(hutch_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The exit status @err suggests, when not hutch's own (0: hutch's own, 125). */
void hutch_err_status(hutch_error *err, int status);

/* Set the one-line "what to do about it" hint. */
void hutch_err_hint(hutch_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the existing message with "what: ". */
void hutch_err_prefix(hutch_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
