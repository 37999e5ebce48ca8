/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The supervisor's event loop: one epoll set, callbacks per fd. Used by the
 * terminal relay, the proxy, seccomp notifications, signals and timers.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct hutch_loop;
struct hutch_watch;

/* Return < 0 to stop the loop with that error, 0 to continue. */
typedef int (*hutch_io_cb)(struct hutch_loop *loop, int fd, uint32_t events, void *data);

int hutch_loop_new(struct hutch_loop **out);
void hutch_loop_free(struct hutch_loop *loop);

/* Watch @fd for @events (EPOLLIN, EPOLLOUT, ...). The loop does not own @fd. */
int hutch_loop_add(struct hutch_loop *loop, int fd, uint32_t events, hutch_io_cb cb, void *data);
int hutch_loop_mod(struct hutch_loop *loop, int fd, uint32_t events);
/* Safe to call from inside a callback, also for the fd being dispatched. */
int hutch_loop_del(struct hutch_loop *loop, int fd);

/* Run until hutch_loop_quit() or a callback fails. @timeout_ms < 0: none. */
int hutch_loop_run(struct hutch_loop *loop);
void hutch_loop_quit(struct hutch_loop *loop, int code);
int hutch_loop_exit_code(const struct hutch_loop *loop);
