/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Would the kernel refuse this exec? What the exec monitor (execmon.c) can
 * tell while the process waits in execve, so that it answers a refusal the
 * kernel would give with the kernel's own errno and logs an `exec_failed`
 * event instead of an `exec` (docs/audit.md "Which execs are logged"):
 *
 *   - the file's lookup in the sandbox's root: ENOENT, ENOTDIR, ELOOP,
 *     ENAMETOOLONG, EACCES;
 *   - not a regular file, no execute bit for the process (its fsuid/fsgid;
 *     no execute bit at all whoever it is), a noexec mount: EACCES;
 *   - the format: neither ELF nor "#!" (when no binfmt_misc handler could
 *     take it): ENOEXEC; a "#!" interpreter checked the same way, in turn;
 *   - argv and envp too big for the new stack: E2BIG.
 *
 * The file is opened O_PATH, without following a magic link, in the root the
 * sandbox's processes share; only a regular file is reopened for reading its
 * first 256 bytes (the kernel's BINPRM_BUF_SIZE). A verdict on a file's
 * format is kept per file (device, inode, ctime, size) so an exec loop reads
 * each file once.
 *
 * What it cannot tell is left to the kernel, which may still refuse after
 * "continue": Landlock's execute right, LSMs, ETXTBSY, a damaged or foreign
 * ELF, binfmt_misc's handlers, a directory the process may not search (the
 * supervisor looks up with its own rights). Those execs are logged as `exec`.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ARG_MAX and MAX_ARG_STRLEN of the kernel (32 pages of 4 KiB): see hutch_execcheck_too_big(). */
#define HUTCH_EXEC_ARG_MAX (32U * 4096U)
/* _STK_LIM / 4 * 3: the most argv and envp may take whatever the stack limit. */
#define HUTCH_EXEC_STRINGS_MAX (6U * 1024U * 1024U)
/* "#!" nesting followed at most (the kernel's own bound is a little further). */
#define HUTCH_EXECCHECK_MAX_DEPTH 4

struct hutch_execcheck;

/* Who is exec'ing, as the supervisor sees uids; !known: only what holds for anyone. */
struct hutch_exec_creds {
	bool known;
	uint32_t fsuid, fsgid;
};

/* One per thread that checks (the format cache is not shared). */
int hutch_execcheck_new(struct hutch_execcheck **out);
void hutch_execcheck_free(struct hutch_execcheck *c);

/*
 * @abs (absolute, normalized) in the sandbox's root @root; @cwd (the process's
 * working directory, may be NULL) for a relative "#!" interpreter. Returns 0
 * when the kernel will try it (no refusal foreseen), else the positive errno
 * it would fail with. @real (@realsz bytes) gets the file's path with
 * symlinks resolved, when it was looked up and @want_real or the last
 * component is a symlink; else "". *@found: the file itself was found;
 * *@late: the refusal is its format's or its interpreter's, which the kernel
 * finds after copying argv and envp (an E2BIG comes first).
 */
int hutch_execcheck_file(struct hutch_execcheck *c, int root, const char *abs, const char *cwd,
			 const struct hutch_exec_creds *cr, bool want_real, char *real,
			 size_t realsz, bool *found, bool *late);

/* Only the file's path with symlinks resolved (@real, "" if not found): no verdict. */
void hutch_execcheck_real(int root, const char *abs, char *real, size_t realsz);

/*
 * E2BIG as fs/exec.c decides it: @argc and @envc pointers, @strings bytes of
 * the strings copied (the file name, envp and argv, NULs included), the
 * longest one @longest, under a stack limit @rlim_stack (RLIM_INFINITY: none).
 */
bool hutch_execcheck_too_big(uint64_t argc, uint64_t envc, uint64_t strings, uint64_t longest,
			     uint64_t rlim_stack);
