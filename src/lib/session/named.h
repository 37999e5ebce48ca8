/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Named sessions: a sandbox kept alive in the background so that `hutch exec
 * NAME -- CMD` can run more commands in it (same namespaces, mounts, /tmp,
 * background services, policy).
 *
 *   client (hutch exec)  --control.sock-->  daemon (supervisor)  --ctl-->  init (PID 1)
 *
 * or, when no cgroup counts what a command used (the daemon must read those
 * counters when it starts and when it ends), init accepts on control.sock itself
 * and answers the client directly: the daemon is off the way of every command.
 * It hears of one only when a limit ended it (a line to say before its status),
 * and when the session stops (NM_BEGUN, NM_EXITED), to answer for the commands
 * init, killed at the end of the grace period, cannot report
 * (run/named-init.c, run/named-daemon.c).
 *
 * The control socket lives in $XDG_STATE_HOME/hutch/named/NAME (mode 0700),
 * which is hidden inside every sandbox. One message format is used on every
 * hop; file descriptors (the client's stdio, or the pty master) travel with
 * SCM_RIGHTS.
 */
#pragma once

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "hutch.h"

#define HUTCH_NAMED_MAX_MSG (64 * 1024)
#define HUTCH_NAMED_MAX_NAME 64

enum hutch_nm_type {
	NM_EXEC = 1, /* client -> daemon -> init: run argv; fds: stdio unless tty */
	NM_SIGNAL,   /* client -> daemon -> init: value = signal number */
	NM_STOP,     /* client -> daemon: end the session, value = grace ms (< 0 default),
		      * through init when it took the connection (fd: the connection);
		      * daemon -> init: value = the signal for every process */
	NM_STARTED,  /* init -> daemon -> client: the session is ready (id 0, to the daemon), or
		      * a command on a terminal runs, fd: its pty master (none without a tty) */
	NM_EXIT,     /* init -> daemon -> client: value = exit status (fd: the client's
		      * connection, when init took it and a limit ended the command) */
	NM_ERROR,    /* init/daemon -> client: value = exit status, payload = message */
	NM_NOTICE,   /* daemon -> client: a line for the user (a limit that fired) */
	NM_FD,	     /* sandbox -> daemon: value = HUTCH_CTL_* tag (run.h), fd: the descriptor */
	NM_BEGUN,  /* init -> daemon, stopping: a command init took, fd: its client's connection */
	NM_EXITED, /* init -> daemon: init told that command's client how it ended */
};

struct hutch_nm_hdr {
	uint32_t type;
	uint32_t id;   /* command id (daemon <-> init) */
	int32_t value; /* signal, exit status */
	uint32_t tty;  /* bit i: fd i of the client is a terminal */
	struct winsize ws;
	uint32_t argc;
	uint32_t cwd_len; /* payload: cwd (no NUL), then argc NUL-terminated strings */
};

/* Send/receive one message with up to 3 fds. Payload is bounded by HUTCH_NAMED_MAX_MSG. */
int hutch_nm_send(int sock, const struct hutch_nm_hdr *h, const void *payload, size_t len,
		  const int *fds, size_t nfds);
/* Returns payload length (>= 0), 0 with h->type == 0 on EOF, negative errno. */
ssize_t hutch_nm_recv(int sock, struct hutch_nm_hdr *h, char *payload, size_t cap, int *fds,
		      size_t *nfds);

/* $XDG_STATE_HOME/hutch/named (malloc'd), and NAME validation. */
char *hutch_named_dir(void);
/* Connect to NAME's control socket; -ENOENT (with a hint) when no such session runs. */
int hutch_named_connect(const char *name, hutch_error *err);
int hutch_named_check_name(const char *name, hutch_error *err);
