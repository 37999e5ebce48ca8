/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host names, authorities and host patterns. Invariants checked:
 * - a parsed host is canonical: re-parsing its text gives the same host;
 * - a name never contains bytes outside [a-z0-9._-] and never looks numeric;
 * - a pattern that parses matches consistently with itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hutch_host h, h2;
	struct hutch_pattern p;
	uint16_t port;
	const char *why;

	if (hutch_host_parse(data, size, &h, &why) == 0) {
		size_t n = strlen(h.name);

		if (n == 0 || n > HUTCH_HOST_MAX)
			abort();
		if (hutch_host_parse((const uint8_t *)h.name, n, &h2, &why) != 0)
			abort();
		if (h2.kind != h.kind || strcmp(h2.name, h.name) != 0)
			abort();
		if (h.kind == HUTCH_HOST_NAME)
			for (size_t i = 0; i < n; i++) {
				char c = h.name[i];
				if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
				      c == '.' || c == '-' || c == '_'))
					abort();
			}
		(void)hutch_addr_classify(&h.addr, NULL, 0, NULL);
	}
	(void)hutch_authority_parse(data, size, 0, &h, &port, &why);
	if (hutch_pattern_parse(data, size, &p, &why) == 0) {
		if (p.kind == HUTCH_PAT_NAME) {
			if (hutch_host_parse((const uint8_t *)p.name, p.name_len, &h, &why) != 0 ||
			    !hutch_pattern_match_host(&p, &h, p.port ? p.port : 443))
				abort();
		}
		if (p.kind == HUTCH_PAT_SUBDOMAINS) {
			char sub[HUTCH_HOST_MAX + 8] = "x.";

			if (p.name_len + 2 <= HUTCH_HOST_MAX) {
				memcpy(sub + 2, p.name, p.name_len + 1);
				if (hutch_host_parse((const uint8_t *)sub, p.name_len + 2, &h,
						     &why) == 0 &&
				    !hutch_pattern_match_host(&p, &h, p.port ? p.port : 443))
					abort();
			}
			/* never the apex */
			if (hutch_host_parse((const uint8_t *)p.name, p.name_len, &h, &why) == 0 &&
			    hutch_pattern_match_host(&p, &h, p.port ? p.port : 443))
				abort();
		}
		if (p.kind == HUTCH_PAT_ADDR && !hutch_pattern_match_addr(&p, &p.addr, p.port))
			abort();
	}
	return 0;
}
