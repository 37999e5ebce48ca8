/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What oci.c (the bundle) and netd.c (the container's network daemon) share (docs/oci.md). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "hutch.h"
#include "policy/model.h"

/* Bundle files written by hutch_oci_prepare() for a container with a network allowlist. */
#define HUTCH_OCI_RESOLV_FILE "hutch-resolv.conf" /* bound over /etc/resolv.conf */
#define HUTCH_OCI_NETD_PID "hutch-netd.pid"	  /* "PID STARTTIME" of the daemon */
/* ... for a container with the audit of execs: the daemon's socket's directory */
#define HUTCH_OCI_CTL_DIR "hutch-ctl"
/* ... for one in a pod's namespace: the key of its namespace's daemon (podnet.c) */
#define HUTCH_OCI_NETNS_FILE "hutch-netns"
/* The writable binds recorded at create (persist.c), protected after runc create (binds.c). */
#define HUTCH_OCI_PERSIST_FILE "hutch-persist"
/* The namespaces' daemons' state (podnet.c); HUTCH_OCI_NETNS_DIR in the environment too. */
#define HUTCH_OCI_NETNS_DIR "/run/hutch-oci/netns"

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

/* Write @name in the bundle (@dirfd) atomically. 0 or -errno. */
int hutch_oci_write_bundle_file(int dirfd, const char *name, const void *data, size_t len,
				mode_t mode);
/*
 * At create (persist.c): record in the bundle the host directories bound writable into
 * the container (@config, the engine's), their identity, the time, @p's audit file and
 * @quarantine_dir (may be NULL),
 * for hutch_oci_persist_check() at delete. Nothing is recorded when there is none.
 */
int hutch_oci_persist_record(int dirfd, const char *bundle, json_t *config,
			     const struct hutch_policy *p, const char *quarantine_dir,
			     hutch_error *err);

/* The start time of @pid (field 22 of /proc/PID/stat), 0 if gone. */
unsigned long long hutch_oci_proc_starttime(int pid);

/* ---- a network of its own: one daemon per pod's namespace (podnet.c) ---------------- */

struct hutch_loop;
struct hutch_podnet;

/* 1 (and its name) if @pid's network namespace has an interface besides lo, else 0. */
int hutch_oci_podnet_own_network(int pid, char *ifname, size_t size, hutch_error *err);
/*
 * Join the container @id (its process @pid) to its namespace's daemon, starting it if
 * none runs; the namespace's key goes to the bundle (@bundlefd) for delete.
 */
int hutch_oci_podnet_attach(hutch_policy *p, int bundlefd, const char *id, int pid,
			    hutch_error *err);
/* delete: the container leaves its namespace's daemon; the last one waits for its end. */
int hutch_oci_podnet_leave(int bundlefd, const char *id, hutch_error *err);
/* 1 if @config's network namespace (by path) is served by a namespace's daemon. */
int hutch_oci_podnet_served(json_t *config);
/* netd.c: start the daemon of the namespace of @pid, its state in @dirfd. */
int hutch_oci_netd_start_pod(hutch_policy *p, int dirfd, const char *id, int pid, hutch_error *err);

/* In the daemon: its members' socket in @dirfd, @id (@pidfd, taken) the first one. */
int hutch_podnet_serve(struct hutch_loop *loop, int dirfd, const char *id, int pidfd,
		       void (*on_empty)(void *), void *data, struct hutch_podnet **out,
		       hutch_error *err);
void hutch_podnet_free(struct hutch_podnet *pn);
/* The daemon ends: its socket and pid file go, and the directory if no one holds it. */
void hutch_podnet_end(int dirfd);
/*
 * The container's daemon once set up (confine.c): nobody, no capability but what the
 * audit of execs needs (@audit), no_new_privs, a seccomp filter; @pidfd is the
 * container's process, the one process it may signal.
 */
int hutch_oci_netd_confine(bool audit, int pidfd, hutch_error *err);
