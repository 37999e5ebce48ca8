/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What oci.c (the bundle) and netd.c (the container's network daemon) share (docs/oci.md). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "hutch.h"
#include "policy/model.h"

/* Bundle files written by hutch_oci_prepare() for a container with a network allowlist. */
#define HUTCH_OCI_RESOLV_FILE "hutch-resolv.conf" /* bound over /etc/resolv.conf */
#define HUTCH_OCI_NETD_PID "hutch-netd.pid"	  /* "PID STARTTIME" of the daemon */
/* ... for a container with the audit of execs: the daemon's socket's directory */
#define HUTCH_OCI_CTL_DIR "hutch-ctl"

/*
 * Is the container's network hutch's proxy (network.mode "proxy", or an allowlist
 * without a mode, as hutch run's -a), and may it be (the system policy's cap)?
 */
static inline bool hutch_oci_policy_proxy(const struct hutch_policy *p)
{
	bool asked = p->net_mode == HUTCH_NET_PROXY ||
		     (p->net_mode == HUTCH_NET_NONE && p->net_allow.n > 0);

	return asked && p->net_mode_max >= HUTCH_NET_PROXY;
}

/* The container's policy: the runtime-wide file, then the annotation of @config. */
int hutch_oci_load_policy(const struct hutch_oci_opts *o, json_t *config, hutch_policy **out,
			  hutch_error *err);
/* The bundle's config.json (the engine's, config.json.orig, when hutch rewrote it). */
int hutch_oci_read_config(int dirfd, json_t **out, hutch_error *err);

/*
 * The container's daemon once set up (confine.c): nobody, no capability but what the
 * audit of execs needs (@audit), no_new_privs, a seccomp filter; @pidfd is the
 * container's process, the one process it may signal.
 */
int hutch_oci_netd_confine(bool audit, int pidfd, hutch_error *err);
