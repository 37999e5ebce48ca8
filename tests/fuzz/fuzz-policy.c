/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the policy loader: hutch_policy_load_data() on
 * arbitrary bytes, merged into a policy that already has a profile (as the
 * CLI does), under each source kind. Invariants checked:
 * - a failed load always fills the error message (never an empty "hutch: ");
 * - every message is one printable line (control bytes escaped);
 * - a load that succeeded can be serialised (hutch_policy_to_json) and its
 *   digest computed;
 * - loading the same bytes into a fresh policy gives the same result.
 * Finalising (path expansion against a home) runs too, but its outcome is
 * not checked: it depends on the environment.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"
#include "hutch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const hutch_error *e)
{
	char copy[sizeof(e->msg)];
	size_t n = strlen(e->msg);

	if (e->msg[0] == '\0')
		abort();
	/*
	 * A raw control (C0, DEL, C1 as a code point or a stray byte, newline),
	 * or bytes that are not UTF-8, in a one-line message. Backslashes are the
	 * escapes themselves.
	 */
	memcpy(copy, e->msg, n);
	for (size_t i = 0; i < n; i++)
		if (copy[i] == '\\')
			copy[i] = '/';
	if (hutch_escape_needed(copy, n))
		abort();
}

static int load(const uint8_t *data, size_t size, enum hutch_source src, char **json)
{
	hutch_policy *p = hutch_policy_new();
	hutch_error e;
	int r;

	if (!p)
		return -1;
	memset(&e, 0, sizeof(e));
	*json = NULL;
	(void)hutch_policy_apply_profile(p, "default", NULL);
	r = hutch_policy_load_data(p, "fuzz.json", (const char *)data, size, src, &e);
	if (r < 0) {
		check_message(&e);
	} else {
		char digest[65];

		*json = hutch_policy_to_json(p);
		if (!*json)
			abort();
		hutch_policy_digest(p, digest);
		if (strlen(digest) != 64)
			abort();
		memset(&e, 0, sizeof(e));
		if (hutch_policy_finalize(p, "/home/fuzz", &e) < 0)
			check_message(&e);
	}
	hutch_policy_free(p);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum hutch_source srcs[] = {HUTCH_SOURCE_SYSTEM, HUTCH_SOURCE_USER,
						 HUTCH_SOURCE_FILE, HUTCH_SOURCE_PROJECT};
	enum hutch_source src = srcs[size % 4];
	char *j1 = NULL, *j2 = NULL;
	int r1, r2;

	if (size > 1 << 16)
		return 0;
	r1 = load(data, size, src, &j1);
	r2 = load(data, size, src, &j2);
	if ((r1 < 0) != (r2 < 0))
		abort();
	if (j1 && j2 && strcmp(j1, j2) != 0)
		abort();
	free(j1);
	free(j2);
	return 0;
}
