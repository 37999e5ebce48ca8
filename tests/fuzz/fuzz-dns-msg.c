/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DNS queries (net/dns-msg.c) and the resolver's answers (net/resolver.c). Invariants: the
 * question lies within the input, the name holds no dot inside a label and no NUL, an
 * answer fits its buffer and echoes the id, a pool address handed out maps back to a name
 * that the policy allows.
 */
#include <stdlib.h>
#include <string.h>

#include "net/dns-msg.h"
#include "net/resolver.h"
#include "policy/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hutch_resolver *resolver(void)
{
	static const char *const allow[] = {"example.com", "*.svc.example", "api.example:443"};
	static const char *const deny[] = {"bad.svc.example"};
	static struct hutch_resolver *r;
	struct hutch_filter_spec spec = {allow, 3, deny, 1, false};
	struct hutch_filter *f;

	if (!r && (hutch_filter_new_spec(&spec, &f, NULL) < 0 ||
		   hutch_resolver_new_filter(f, &r, NULL) < 0))
		abort();
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hutch_dns_question q;
	uint8_t out[HUTCH_DNS_MSG_MAX];
	int r = hutch_dns_parse_query(data, size, &q);
	size_t n;

	if (r < 0 && !q.why)
		abort();
	if (r == 0) {
		if (q.wire != data + HUTCH_DNS_HDR_LEN || q.wire_len + HUTCH_DNS_HDR_LEN > size)
			abort();
		if (q.name_len != strlen(q.name) || q.name_len == 0 ||
		    q.name_len > HUTCH_DNS_WIRE_NAME_MAX)
			abort();
	}
	n = hutch_resolver_answer(resolver(), data, size, out, sizeof(out));
	if (n > sizeof(out) || (n && n < HUTCH_DNS_HDR_LEN))
		abort();
	if (n && r == 0 && (out[0] != data[0] || out[1] != data[1]))
		abort();
	if (n && r == 0 && out[7] == 1) {
		struct hutch_addr a = {.family = 2 /* AF_INET */};
		const char *name = NULL;
		struct hutch_host h;

		memcpy(a.b, out + n - 4, 4);
		if (hutch_resolver_name_of(resolver(), &a, &name) != 1 ||
		    hutch_host_parse((const uint8_t *)name, strlen(name), &h, NULL) < 0 ||
		    h.kind != HUTCH_HOST_NAME)
			abort();
	}
	return 0;
}
