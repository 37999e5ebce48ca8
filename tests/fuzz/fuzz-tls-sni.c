/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TLS ClientHello. Invariants: consumed length within input; errors have a reason. */
#include <stdlib.h>
#include <string.h>

#include "net/tls-sni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hutch_tls_hello h;
	int r = hutch_tls_parse_client_hello(data, size, &h);

	if (r > (int)size)
		abort();
	if (r < 0 && (!h.why || h.has_sni))
		abort();
	if (r > 0 && h.has_sni && !h.sni.name[0])
		abort();
	(void)hutch_tls_looks_like_handshake(data, size);
	return 0;
}
