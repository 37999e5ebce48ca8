/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The set-up that the egress proxy (proxy.c) and host ports (hostport.c) share for
 * the connections they relay: opening the outgoing TCP connection with hutch's socket
 * options, and changing which events of one side the loop watches.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct hutch_loop;

/*
 * hutch's options for a relayed TCP socket: TCP_NODELAY, fixed socket buffers of
 * @sockbuf bytes (no autotuning: what a stalled tunnel holds in the kernel is bounded).
 */
void hutch_tcp_options(int fd, int sockbuf);

/*
 * Start a non-blocking TCP connection to @addr (4 bytes for AF_INET, 16 for AF_INET6),
 * port @port: SOCK_CLOEXEC, hutch_tcp_options() set before connect (the window scale
 * is fixed then). Returns the descriptor, *@connected true when it
 * connected at once (else it is pending: EPOLLOUT, then SO_ERROR says how it ended);
 * or -errno.
 */
int hutch_tcp_connect(int family, const void *addr, uint16_t port, int sockbuf, bool *connected);

/*
 * Watch @fd, one side of a relayed connection, for @ev where *@cur (what the loop
 * watches now) differs; nothing for a closed side (-1) or an @unwatched one. *@cur is
 * updated when the loop took it.
 */
void hutch_tcp_watch(struct hutch_loop *loop, int fd, bool unwatched, uint32_t *cur, uint32_t ev);
