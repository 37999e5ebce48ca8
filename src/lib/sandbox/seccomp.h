/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The syscall filter (libseccomp), loaded last, just before exec. See docs/seccomp.md. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hutch.h"

struct sock_filter;

struct seccomp_notif;
struct seccomp_notif_resp;

struct hutch_seccomp_opts {
	bool notify_exec; /* execve/execveat -> SCMP_ACT_NOTIFY, listener fd returned */
	bool deny_inet;	  /* degraded mode without a netns: no AF_INET/AF_INET6 sockets */
	/*
	 * Calls that write by path (the "file-write" group, and open/openat with
	 * a write flag) -> SCMP_ACT_NOTIFY on the same listener: the supervisor
	 * counts the writes the sandbox refuses (audit/writemon.c), answering
	 * "continue" to every one of them.
	 */
	bool notify_writes;
};

/*
 * Build the filter from the table in seccomp-table.c and load it into the
 * calling thread (PR_SET_NO_NEW_PRIVS must already be set). When
 * opts->notify_exec is set, *notify_fd receives the user-notification
 * listener (CLOEXEC), else -1.
 *
 * With notify_exec the caller's own next execve() is notified too: hand the
 * listener to whoever answers (the supervisor, over SCM_RIGHTS) and close it
 * before exec, or that exec blocks. Once every copy of the listener is
 * closed, notified calls fail with ENOSYS.
 */
int hutch_seccomp_load(const struct hutch_seccomp_opts *opts, int *notify_fd, hutch_error *err);

/*
 * Probe in forked children whether a seccomp filter can be loaded here
 * (*filter) and whether user notification works end to end, including
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE (*notify). Returns 0 once both are known,
 * a negative errno if the probe itself could not run (fork failed).
 */
int hutch_seccomp_probe(bool *filter, bool *notify);

/*
 * A filter compiled from this table ahead of time (seccomp-gen at build
 * time: building it with libseccomp at run time costs ~5 ms per command).
 */
struct hutch_seccomp_bpf {
	const unsigned char *insns; /* struct sock_filter[], host byte order */
	size_t size;		    /* in bytes */
};

/* The precompiled variants, indexed by hutch_seccomp_variant(); defined by generated code. */
#define HUTCH_SECCOMP_VARIANTS 8
extern const struct hutch_seccomp_bpf hutch_seccomp_precompiled[HUTCH_SECCOMP_VARIANTS];

static inline unsigned hutch_seccomp_variant(const struct hutch_seccomp_opts *opts)
{
	return (opts->notify_exec ? 1U : 0U) | (opts->deny_inet ? 2U : 0U) |
	       (opts->notify_writes ? 4U : 0U);
}

/* The options of variant @v (the inverse of hutch_seccomp_variant). */
static inline struct hutch_seccomp_opts hutch_seccomp_variant_opts(unsigned v)
{
	return (struct hutch_seccomp_opts){.notify_exec = (v & 1U) != 0,
					   .deny_inet = (v & 2U) != 0,
					   .notify_writes = (v & 4U) != 0};
}

/* Some SCMP_ACT_NOTIFY rule is in the filter built with @opts (a listener is needed). */
static inline bool hutch_seccomp_notifies(const struct hutch_seccomp_opts *opts)
{
	return opts->notify_exec || opts->notify_writes;
}

/*
 * Load a precompiled filter with the same checks as hutch_seccomp_load()
 * (no_new_privs set; and the program must start with the arch check for this
 * architecture). With @notify, the filter's SCMP_ACT_NOTIFY rules get a
 * listener, returned CLOEXEC in *notify_fd.
 */
int hutch_seccomp_load_bpf(const struct hutch_seccomp_bpf *bpf, bool notify, int *notify_fd,
			   hutch_error *err);

/* Write the filter as BPF (@pfc false) or libseccomp's readable PFC to @fd, without loading. */
int hutch_seccomp_export(const struct hutch_seccomp_opts *opts, bool pfc, int fd, hutch_error *err);

/*
 * The table's verdict for each syscall number below @n, as a filter return
 * value (SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | e, SECCOMP_RET_USER_NOTIF),
 * or HUTCH_SC_VERDICT_ARGS for a call whose verdict depends on an argument.
 * -ERANGE if a call's number is @n or more.
 */
#define HUTCH_SC_VERDICT_ARGS 0xffffffffU
/* The filter's return value for a table errnum (HUTCH_SC_ALLOW or an errno). */
uint32_t hutch_seccomp_verdict_of(int errnum);
int hutch_seccomp_verdicts(const struct hutch_seccomp_opts *opts, uint32_t *verdict, size_t n);

/*
 * The filter of hutch_seccomp_export(), compiled into a smaller program with
 * the same verdict for every call: a binary search over runs of syscall
 * numbers that share a verdict, ending in a return or, for the few calls
 * whose verdict depends on an argument, in a short check of that argument.
 * About a quarter of libseccomp's instructions, so the kernel's conversion
 * and JIT at every start-up take far less time. *out is malloc'd.
 */
int hutch_seccomp_compile(const struct hutch_seccomp_opts *opts, struct sock_filter **out,
			  size_t *n, hutch_error *err);

/* ---- user notification (served by the supervisor's event loop) ---------- */

/*
 * Allocate a request/response pair sized for the running kernel
 * (seccomp_notify_alloc). Free with hutch_seccomp_notify_free().
 */
int hutch_seccomp_notify_alloc(struct seccomp_notif **req, struct seccomp_notif_resp **resp);
void hutch_seccomp_notify_free(struct seccomp_notif *req, struct seccomp_notif_resp *resp);

/*
 * Receive one notification into @req (from hutch_seccomp_notify_alloc).
 * Returns 0, -EAGAIN if none is pending on a non-blocking fd, -ENOENT if the
 * caller went away before it could be read, or another negative errno.
 */
int hutch_seccomp_notify_receive(int fd, struct seccomp_notif *req);

/* Let the notified call run as if no filter had stopped it. -ENOENT: the caller is gone. */
int hutch_seccomp_notify_continue(int fd, struct seccomp_notif_resp *resp, uint64_t id);

/* Fail the notified call with @errnum (> 0). -ENOENT: the caller is gone. */
int hutch_seccomp_notify_deny(int fd, struct seccomp_notif_resp *resp, uint64_t id, int errnum);

/* 0 while notification @id is still pending (its caller alive and waiting), else -ENOENT. */
int hutch_seccomp_notify_id_valid(int fd, uint64_t id);

/* ---- the table (seccomp-table.c) ---------------------------------------- */

#define HUTCH_SC_ALLOW 0     /* errnum value meaning "allow" */
#define HUTCH_SC_NOTIFY (-1) /* errnum value meaning "notify the supervisor" (conds only) */

/* A named group of calls sharing one action. */
struct hutch_sc_group {
	const char *name; /* "base", "file", "deny-mount", ... */
	int errnum;	  /* HUTCH_SC_ALLOW, or the errno the call fails with */
	/* notified instead of allowed: HUTCH_SC_ON_EXEC or HUTCH_SC_ON_WRITES (0: never) */
	unsigned notify;
	const char *const *calls; /* NULL-terminated syscall names */
};
#define HUTCH_SC_ON_EXEC 1U   /* with opts->notify_exec */
#define HUTCH_SC_ON_WRITES 2U /* with opts->notify_writes */

enum hutch_sc_kind {
	HUTCH_SC_FLAGS,	 /* any of @flags set in the argument -> @errnum, else allow */
	HUTCH_SC_VALUES, /* the argument looked up in @values (see @width), else @errnum */
};

enum hutch_sc_when {
	HUTCH_SC_ALWAYS,
	HUTCH_SC_INET,	  /* only without opts->deny_inet */
	HUTCH_SC_NO_INET, /* only with opts->deny_inet */
	/*
	 * only with opts->notify_writes; the call is also in a group, whose
	 * verdict it has without (the one case of a call named twice)
	 */
	HUTCH_SC_WRITES,
};

struct hutch_sc_value {
	uint32_t value;
	int errnum; /* HUTCH_SC_ALLOW or an errno */
};

#define HUTCH_SC_MAX_VALUES 16

/* A call whose fate depends on one argument. */
struct hutch_sc_cond {
	const char *name;
	const char *group; /* for documentation and tests */
	enum hutch_sc_kind kind;
	enum hutch_sc_when when;
	unsigned arg;	   /* argument index on most architectures */
	unsigned arg_s390; /* argument index on s390/s390x (clone differs) */
	uint64_t flags;	   /* HUTCH_SC_FLAGS */
	/* FLAGS: errno (or HUTCH_SC_NOTIFY) when a flag is set; VALUES: for other values */
	int errnum;
	/*
	 * HUTCH_SC_VALUES: 0 compares the low 32 bits only, whatever the upper
	 * half holds (for arguments the kernel truncates and callers may
	 * sign-extend: ioctl requests). N in 1..32 compares the whole 64-bit
	 * value, and any value >= 1 << N gets @errnum (fewer rules, stricter).
	 */
	unsigned width;
	size_t nvalues; /* HUTCH_SC_VALUES, at most HUTCH_SC_MAX_VALUES */
	struct hutch_sc_value values[HUTCH_SC_MAX_VALUES];
};

/* A call newer than some libseccomp releases know, by its number on asm-generic arches. */
struct hutch_sc_generic {
	const char *name;
	int nr;
};

/*
 * The native syscall number for @name: libseccomp's, else the asm-generic
 * one from hutch_seccomp_generic_nrs(). -ENOSYS when libseccomp knows the
 * call but this architecture lacks it, -ENOENT when the name is unknown.
 */
int hutch_seccomp_resolve(const char *name);

const struct hutch_sc_group *hutch_seccomp_groups(size_t *n);
const struct hutch_sc_cond *hutch_seccomp_conds(size_t *n);
/*
 * @c's syscall number when it is part of the filter built with @opts (else
 * negative: not applicable (deny_inet picks one of two socket entries), or
 * not on this architecture), and in *@arg (may
 * be NULL) the index of the argument it checks here (s390 numbers clone's
 * differently).
 */
int hutch_seccomp_cond_nr(const struct hutch_sc_cond *c, const struct hutch_seccomp_opts *opts,
			  unsigned *arg);
const struct hutch_sc_generic *hutch_seccomp_generic_nrs(size_t *n);

/* The errno a call fails with when no table entry names it. */
#define HUTCH_SC_DEFAULT_ERRNO ENOSYS
