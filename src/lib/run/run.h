/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Messages on the control socket between the sandbox and the supervisor. */
#pragma once

#include <stdint.h>

/* Tag of each SCM_RIGHTS message from the sandbox's init or workload. */
enum hutch_ctl_tag {
	HUTCH_CTL_PTY = 1,	  /* master side of the sandbox's pty */
	HUTCH_CTL_SECCOMP = 2,	  /* seccomp user-notification listener */
	HUTCH_CTL_PROXY_HTTP = 3, /* listening socket created inside the netns */
	HUTCH_CTL_PROXY_SOCKS = 4,
	HUTCH_CTL_GONE = 5,	 /* init -> supervisor, no fd: every other process is gone */
	HUTCH_CTL_LOOPBACK = 6,	 /* a socket of the sandbox's netns: the supervisor brings lo up */
	HUTCH_CTL_HOST_PORT = 7, /* a host port's listening socket made inside the netns */
	/* transparent egress (docs/network.md): the redirect target, the resolver's socket */
	HUTCH_CTL_PROXY_TRANSPARENT = 8,
	HUTCH_CTL_DNS_UDP = 9,
	/* the rules could not be loaded: the low byte; bits 8.. hold the errno (fd: ignored) */
	HUTCH_CTL_NO_TRANSPARENT = 10,
	HUTCH_CTL_DNS_TCP = 11, /* the resolver's TCP listening socket (127.0.0.53:53) */
};
