/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SOCKS5 greeting and request. Invariants: lengths within input, errors carry a reply code. */
#include <stdlib.h>
#include <string.h>

#include "net/socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hutch_socks5_request req;
	uint8_t m, rep[HUTCH_SOCKS5_REPLY_MAX];
	int r = hutch_socks5_parse_greeting(data, size, &m);

	if (r > (int)size)
		abort();
	r = hutch_socks5_parse_request(data, size, &req);
	if (r > (int)size)
		abort();
	if (r > 0 && (!req.host.name[0] || !req.port || req.cmd != HUTCH_SOCKS5_CMD_CONNECT))
		abort();
	if (r > 0 && req.host.kind == HUTCH_HOST_NAME &&
	    memchr(req.host.name, 0, strlen(req.host.name)))
		abort();
	if (r < 0 && (req.rep == HUTCH_SOCKS5_OK || !req.why))
		abort();
	if (r > 0 &&
	    hutch_socks5_reply(rep, HUTCH_SOCKS5_OK, &req.host.addr, req.port) > sizeof(rep))
		abort();
	return 0;
}
