/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Serving the workload's execve/execveat notifications (seccomp user
 * notification): a thread per listener, blocked in poll() on it, with
 * SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP while the machine is busy (the exec'ing
 * process and the thread hand one CPU to each other), reads what the process asks to run from its
 * memory, its parent and fsuid/fsgid from a pidfd and its working directory
 * from /proc/PID, checks that the notification is still pending (so the pid
 * was not reused meanwhile), foresees a refusal of the kernel (execcheck.h:
 * then it answers that errno itself, an exec_failed event), applies the
 * command rules, and answers "continue", the errno or EPERM. The events are
 * written by the supervisor's event loop: the thread queues a copy and goes
 * back to its listener, so the process does not wait for the log.
 *
 * TOCTOU: the process is stopped in the syscall while we read, but another
 * thread of it can change the argv memory after we read and before the
 * kernel does; path and argv are what the process showed us. That is why
 * command rules are guard rails, not a boundary (docs/audit.md). A refusal
 * we foresee is ours to give, so it is what happened; a file changed after
 * our check may still make the kernel refuse an exec logged as `exec`.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct hutch_loop;
struct hutch_package;
struct hutch_write_refusal;
struct hutch_writecheck_spec;
struct hutch_rule;
struct hutch_rules;

/* Listeners served at once (one per filter; named sessions have several). */
#define HUTCH_EXECMON_MAX_LISTENERS 64
/* Bytes of argument strings captured per exec (the rest is cut, flagged). */
#define HUTCH_EXECMON_MAX_ARGBYTES (48 * 1024)
/*
 * Arguments counted at most (process.args_count): more than execve accepts
 * (argv and envp must fit in at most 6 MiB of the new stack, 9 bytes each at
 * least), so the count logged is always the real one.
 */
#define HUTCH_EXECMON_MAX_COUNT (1U << 20)
/* Arguments kept, and bytes of each: the audit log's bounds (audit.h checks they agree). */
#define HUTCH_EXECMON_MAX_ARGS 1024
#define HUTCH_EXECMON_MAX_VALUE 4096

/* What execmon learned about one execve/execveat. */
struct hutch_exec_info {
	pid_t pid, ppid;	 /* host pids */
	const char *path;	 /* absolute as executed (lexical), NULL if unknown */
	const char *name;	 /* basename of the resolved executable, NULL if unknown */
	const char *cwd;	 /* working directory, NULL if unknown */
	const char *const *argv; /* captured arguments */
	const size_t *arglen;
	size_t argc;	   /* captured */
	size_t args_count; /* real count (>= argc) */
	bool truncated;	   /* argv or a value cut while reading */
	const char *error; /* what could not be read, NULL if all was */
	int failed; /* the exec was refused with this errno, foreseen and answered: 0 if not */
	struct timespec when; /* CLOCK_REALTIME when it was answered (0: unknown) */
};

struct hutch_execmon;

struct hutch_execmon_opts {
	/*
	 * What the monitor saw, for the audit log (audit.c): an exec run or refused
	 * (@rule decided, NULL: the default; @reason for a refusal), a package
	 * install recognised in one. Called from the event loop, with @data;
	 * @allowed with x->failed: an exec that did not happen (exec_failed).
	 */
	void (*on_exec)(void *data, const struct hutch_exec_info *x, bool allowed,
			const struct hutch_rule *rule, const char *reason);
	void (*on_package)(void *data, const struct hutch_exec_info *x,
			   const struct hutch_package *pk, uint64_t starttime);
	/*
	 * A write the sandbox refused (writemon.h), among the first
	 * HUTCH_EXECMON_MAX_WRITE_EVENTS of the session; all are counted
	 * (hutch_execmon_writes_refused).
	 */
	void (*on_write_refused)(void *data, const struct hutch_write_refusal *wr);
	void *data;
	const struct hutch_rules *allow; /* commands.allow (may be empty) */
	const struct hutch_rules *deny;	 /* commands.deny (may be empty) */
	/* Where writes are refused (writecheck.h); NULL: writes are answered, not checked. */
	const struct hutch_writecheck_spec *writes;
};

/* Refused writes passed on one by one; the rest are only counted. */
#define HUTCH_EXECMON_MAX_WRITE_EVENTS 100

int hutch_execmon_new(const struct hutch_execmon_opts *o, struct hutch_execmon **out);
/*
 * Serve listener @fd (a thread of its own); its events reach the callbacks
 * through @loop. The monitor owns @fd from now on (also on failure).
 */
int hutch_execmon_add(struct hutch_execmon *m, struct hutch_loop *loop, int fd);
/*
 * The sandbox is gone: stop the threads and pass every exec still queued to
 * the callbacks, so they come before the session's end.
 */
void hutch_execmon_drain(struct hutch_execmon *m);
void hutch_execmon_free(struct hutch_execmon *m);

/* Writes the sandbox refused so far (all of them, also those not passed on). */
uint64_t hutch_execmon_writes_refused(const struct hutch_execmon *m);

/* From /proc/@pid/stat: parent pid and start time (clock ticks since boot). */
int hutch_proc_stat(pid_t pid, pid_t *ppid, uint64_t *starttime);

/*
 * Whether a listener wants synchronous wake-ups (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
 * with @runnable tasks runnable lately on @ncpus CPUs (the listener's thread and the
 * exec'ing process among them): when they outnumber the CPUs.
 */
bool hutch_execmon_sync_wanted(double runnable, int ncpus);
/* /proc/loadavg's tasks runnable now (its fourth field, "runnable/threads"). */
int hutch_execmon_parse_loadavg(const char *buf, unsigned *runnable);
