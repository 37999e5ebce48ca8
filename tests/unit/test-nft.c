/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transparent egress rules (src/lib/sandbox/nft.c) are written by hand:
 * here each batch hutch sends is compared byte for byte with the one libnftnl
 * builds for the same rules (nft-oracle.c), for both rule sets and a few
 * ports, and a buffer too small is refused. That the kernel takes them and
 * they do what they say is tests/integration/transparent.t's business.
 */
#include <stdio.h>
#include <string.h>

#include "nft-oracle.h"
#include "sandbox/nft.h"
#include "tap.h"

static void same_batch(uint16_t port, unsigned flags)
{
	static char want[16384], got[16384];
	unsigned acks = 0;
	size_t wn, gn, at = 0;

	/* the padding libnftnl leaves as it finds it is zero in both */
	memset(want, 0, sizeof(want));
	memset(got, 0xa5, sizeof(got));
	wn = nft_oracle_build(want, sizeof(want), port, flags);
	gn = hutch_nft_build(got, sizeof(got), port, flags, &acks);

	ok(wn > 0, "libnftnl built the batch (port %u, flags %u)", port, flags);
	is_int(gn, wn, "the same length (port %u, flags %u)", port, flags);
	while (at < gn && at < wn && got[at] == want[at])
		at++;
	if (!ok(gn == wn && at == gn, "the same bytes (port %u, flags %u)", port, flags))
		fprintf(stderr, "#   first difference at byte %zu of %zu: %02x, libnftnl %02x\n",
			at, wn, (unsigned char)got[at], (unsigned char)want[at]);
	/* every message but the batch's two edges asks for an acknowledgement */
	is_int(acks, flags & HUTCH_NFT_OWN_NETWORK ? 16 : 8, "acknowledgements asked (flags %u)",
	       flags);
}

int main(void)
{
	static const uint16_t ports[] = {1, 4321, 65535};
	char small[512];

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		same_batch(ports[i], 0);
		same_batch(ports[i], HUTCH_NFT_OWN_NETWORK);
	}
	is_int(hutch_nft_build(small, sizeof(small), 4321, 0, NULL), 0,
	       "a buffer too small for the batch: nothing");
	done_testing();
}
