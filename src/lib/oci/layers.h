/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The layers file of `hutch oci` (docs/oci.md): what the host side (oci.c) compiled from
 * the policy and the static init in the container (src/oci/oci-init.c) applies before
 * it executes the workload. Shared by both; no dependency on anything else, since the
 * init is linked statically with the C library alone.
 *
 * Layout, all integers little-endian as on the host that wrote it (the same machine
 * reads it):
 *
 *   struct hutch_oci_layers_head
 *   n_paths times: struct hutch_oci_layers_path, then path_len bytes (no NUL)
 *   bpf_len bytes: struct sock_filter[] (bpf_len a multiple of 8)
 */
#pragma once

#include <stdint.h>

#define HUTCH_OCI_LAYERS_MAGIC "HUTCHOCI"
#define HUTCH_OCI_LAYERS_VERSION 1

/* Where the engine's config.json gets hutch's files, inside the container. */
#define HUTCH_OCI_DIR "/.hutch"
#ifndef HUTCH_OCI_INIT_DEST /* also in include/hutch.h, for the program */
#define HUTCH_OCI_INIT_DEST HUTCH_OCI_DIR "/init"
#endif
#define HUTCH_OCI_LAYERS_DEST HUTCH_OCI_DIR "/layers"
/*
 * The directory of the container's daemon's control socket (src/lib/oci/netd.c), bound
 * read-only: an init with HUTCH_OCI_AUDIT_EXEC hands its exec listener over on it.
 */
#define HUTCH_OCI_CTL_DEST HUTCH_OCI_DIR "/ctl"
#define HUTCH_OCI_CTL_SOCK "sock"

/* Bounds, checked by both sides. */
#define HUTCH_OCI_MAX_PATHS 256
#define HUTCH_OCI_MAX_PATH_LEN 4095
#define HUTCH_OCI_MAX_BPF_INSNS 4096 /* BPF_MAXINSNS */
#define HUTCH_OCI_MAX_LAYERS_BYTES (1024 * 1024)

/* flags */
#define HUTCH_OCI_LANDLOCK 1u	       /* apply the path rules with Landlock */
#define HUTCH_OCI_LANDLOCK_OPTIONAL 2u /* the policy allows running without Landlock */
#define HUTCH_OCI_SECCOMP 4u	       /* load the filter */
/*
 * The filter notifies execve/execveat: load it with a new listener, hand that to the
 * container's daemon (HUTCH_OCI_CTL_DEST), which audits every exec, and wait for its
 * "1" before the workload's exec. No daemon, no workload.
 */
#define HUTCH_OCI_AUDIT_EXEC 8u
/*
 * Drop CAP_NET_ADMIN and CAP_NET_RAW (every set, the bounding set where the init may):
 * the container's network is hutch's proxy, and its nftables rules must stay as the
 * daemon loaded them (docs/oci.md, "A network of its own: pods").
 */
#define HUTCH_OCI_DROP_NET_CAPS 16u

struct hutch_oci_layers_head {
	char magic[8];
	uint32_t version;
	uint32_t flags;
	uint32_t n_paths;
	uint32_t bpf_len; /* bytes */
};

/* One Landlock rule: @access (LANDLOCK_ACCESS_FS_*) at and beneath a path. */
struct hutch_oci_layers_path {
	uint64_t access;
	uint32_t path_len;
	uint32_t reserved;
};
