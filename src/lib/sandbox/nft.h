/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox's transparent egress rules (docs/network.md, "Transparent
 * egress"), built by hand (the messages libnftnl would build, nft.c) and sent
 * in one netlink batch by the sandbox's init, which holds CAP_NET_ADMIN over
 * its network namespace:
 *
 *   table ip hutch {
 *     chain nat { type nat hook output priority -100; policy accept;
 *       ip daddr != 127.0.0.0/8 meta l4proto tcp redirect to :PORT }
 *     chain out { type filter hook output priority 0; policy drop;
 *       ip daddr 127.0.0.0/8 accept }
 *   }
 *   table ip6 hutch { chain out { type filter hook output priority 0; policy drop;
 *       ip6 daddr ::1 accept } }
 *
 * Every TCP connection to a non-loopback address goes to hutch's transparent
 * listener on 127.0.0.1:PORT; everything else that is not loopback (UDP,
 * ICMP, raw IP, IPv6) is dropped on output, so the sender gets EPERM at once.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hutch.h"

/* Load the rules into the current network namespace. */
int hutch_nft_setup(uint16_t redirect_port, hutch_error *err);

/*
 * A namespace with an interface of its own (a pod's, docs/oci.md): the tables replace
 * any that are there, and each out chain also accepts
 *
 *     meta oif lo accept              (what stays in the namespace)
 *     ct direction reply accept       (answers to connections peers opened to it)
 */
#define HUTCH_NFT_OWN_NETWORK 1u
int hutch_nft_setup_ex(uint16_t redirect_port, unsigned flags, hutch_error *err);

/*
 * The batch alone, in @buf: its length (0 when @size is too small), and in
 * @acks how many acknowledgements it asks for.
 */
size_t hutch_nft_build(void *buf, size_t size, uint16_t redirect_port, unsigned flags,
		       unsigned *acks);

/*
 * Can an unprivileged user do that here? Runs the setup in a child in a new
 * user and network namespace: 0 when it can, else a negative errno with @err
 * saying why. For `hutch check`.
 */
int hutch_nft_probe(hutch_error *err);
