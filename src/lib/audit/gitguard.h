/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The end-of-run check for code planted in git repositories (docs/THREAT_MODEL.md,
 * "Persistence"). After the workload ended, every writable root is walked
 * (directory fds, never a symbolic link followed, no budget); every git
 * directory in any layout is found by its shape (HEAD, or objects/ and
 * refs/), wherever it lies: ".git", submodules at any depth and with any
 * name, worktrees, bare and separate git directories, repositories made
 * during the run. In each, what can make git run a program and was created
 * or changed during the run (ctime, which userspace cannot set back) is
 * neutralised:
 *
 *   hooks/<name>           moved to the quarantine (a "*.sample" is never run)
 *   hooks (a symlink)      made during the run: moved; else its target's hooks
 *   config, config.worktree with a key that runs a program (gitconfig.c):
 *                          moved to the quarantine, a copy without those keys
 *                          put in its place; unreadable: a minimal config
 *   core.hooksPath, include.path, includeIf.*.path targets inside a writable
 *   root (read from the config, changed or not): the same for what changed there
 *
 * The quarantine mirrors the absolute path under @quarantine_dir (mode 0700).
 * Each action is handed to the caller (the library prints nothing).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "hutch.h"

/* The actions and items are hutch_persist_* (hutch.h): the caller shows them. */
typedef void (*hutch_gitguard_fn)(const struct hutch_persist_item *it, void *data);

struct hutch_gitguard_stats {
	uint64_t dirs, entries, gitdirs;
	uint64_t trusted; /* of the dirs: unchanged since the last walk, not read (walkcache.h) */
	uint64_t neutralised, failed;
};

/*
 * Check the writable @roots (absolute, canonical; a root inside another is
 * walked once) for what changed since @start (CLOCK_REALTIME, taken before
 * the sandbox started). Paths at or beneath one of @held (absolute: what was
 * read-only for the whole run, the protected mounts) are left alone: the
 * sandbox could not change them. Returns 0, or a negative errno when the
 * quarantine cannot be made (nothing was moved then). Failures on single
 * items are reported through @fn and counted, the walk goes on.
 *
 * @cache_dir (a directory the sandbox could not reach: hutch's state
 * directory; NULL for none) keeps each root's last complete walk
 * (walkcache.h). A directory that is the same inode with the same ctime as
 * then, that ctime before @start (less the margin) and not too close to when
 * the cache was saved, reached through directories read or trusted in this
 * walk, is not read again: its subdirectories are taken from the cache (each
 * checked by one stat), and what the check acts on in it (a git directory's
 * hooks and config, a ".env", local instructions) is still checked by its
 * own ctime. Everything else is read as without a cache. The cache is
 * written again after a walk in which nothing failed, when it differs in
 * more than the directories holding hutch's placeholders (the parents of
 * @held). A missing, damaged or foreign cache: everything is read.
 */
int hutch_gitguard_check(const char *const *roots, size_t n_roots, const char *const *held,
			 size_t n_held, const struct timespec *start, const char *quarantine_dir,
			 const char *cache_dir, hutch_gitguard_fn fn, void *data,
			 struct hutch_gitguard_stats *stats, hutch_error *err);

/*
 * Is a directory with these entries a git directory? @has(name, want_dir, data)
 * says whether the entry exists (and is a directory when @want_dir).
 */
bool hutch_gitguard_is_gitdir(bool (*has)(const char *name, bool want_dir, void *data), void *data);

/*
 * The same rules for a path relative to a root (hutch apply, changes.c): is
 * @rel something through which git runs code? A ".git" that is not a
 * directory (a "gitdir:" file or a symbolic link), or, inside any git
 * directory (".git", or what @is_gitdir says is one: submodules, worktrees,
 * bare repositories, at any depth), hooks/, config, config.worktree,
 * commondir or gitdir.
 */
bool hutch_gitguard_is_code_path(const char *rel, bool is_dir,
				 bool (*is_gitdir)(const char *dir, void *data), void *data);

/*
 * The end-of-run check's rule for what agents and editors load from where they
 * start, for a path relative to a root (hutch apply): a file they load there
 * (AGENTS.override.md, CLAUDE.local.md, .mcp.json, .hutch.json, aider's and
 * Cursor's...), or any file beneath a directory of their settings (.claude,
 * .gemini, .codex, .cursor, .vscode, ...; not beneath node_modules or hutch's
 * private homes .hutch-home).
 */
bool hutch_gitguard_is_agent_path(const char *rel);
