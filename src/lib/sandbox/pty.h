/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Terminals. When the caller's stdin, stdout or stderr is a terminal, the
 * sandbox gets a pseudo-terminal of its own (from its own devpts instance) and
 * the supervisor relays bytes between it and the caller's terminal, which is
 * put in raw mode: the host terminal device is never handed to the sandbox,
 * so TIOCSTI and friends can only reach the sandbox's own terminal.
 */
#pragma once

#include <stdbool.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "hutch.h"
#include "base/loop.h"

struct hutch_tty_info {
	bool any;	/* at least one of fds 0-2 is a terminal */
	bool is_tty[3]; /* which of fds 0, 1, 2 are */
	int host_fd;	/* the caller's terminal fd (for raw mode and output) */
	bool have_termios;
	struct termios termios;
	struct winsize winsize;
};

/* Look at the caller's fds 0-2. */
void hutch_tty_probe(struct hutch_tty_info *t);

/* In the sandbox (after /dev/pts is mounted): open a pty pair with the caller's settings. */
int hutch_pty_open(const struct hutch_tty_info *t, int *master, int *slave, hutch_error *err);

/* In the workload: make @slave the controlling terminal and the std fds that were ttys. */
int hutch_pty_attach(const struct hutch_tty_info *t, int slave, hutch_error *err);

struct hutch_relay;

/* Supervisor side: put the caller's terminal in raw mode and relay through @master. */
int hutch_relay_start(struct hutch_loop *loop, const struct hutch_tty_info *t, int master,
		      struct hutch_relay **out);
/* Propagate the caller's window size (on SIGWINCH). */
void hutch_relay_resize(struct hutch_relay *r);
/*
 * @hold: stop relaying either way while hutch itself talks to the terminal
 * (an --ask question): the keys typed are not the command's, and its output
 * does not cover the question. NULL is fine.
 */
void hutch_relay_hold(struct hutch_relay *r, bool hold);
/* Read what is left on the pty (the sandbox is gone), restore the terminal. */
void hutch_relay_finish(struct hutch_relay *r);
void hutch_relay_free(struct hutch_relay *r);
