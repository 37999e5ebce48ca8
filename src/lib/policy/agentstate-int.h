/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by agentstate.c (Claude Code), agentstate-codex.c (Codex) and
 * agentstate-gemini.c (Gemini CLI); not a public API.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "policy/agentstate.h"

/* Regular file @name in @dirfd, no symlinks; -ENOENT when missing, -EINVAL when not regular. */
int hutch_as_read_at(int dirfd, const char *name, char **out, size_t *len, mode_t *mode);
/* @buf (then @tail, if any) as @name in @dirfd: a new temporary file renamed over it, @mode. */
int hutch_as_write_at(int dirfd, const char *name, const char *buf, size_t len, const char *tail,
		      mode_t mode);
/* The same for a working copy made before the run: no fsync (agentstate.c says why). */
int hutch_as_write_copy_at(int dirfd, const char *name, const char *buf, size_t len, mode_t mode);
/* Remove @name in @dirfd and everything beneath it (following no symlink); 0 when missing. */
int hutch_as_rm_rf_at(int at, const char *name, int depth);
/* Is @v "~/@rel" or "@home/@rel"? */
bool hutch_as_is_home_path(const char *v, const char *home, const char *rel);
/*
 * Does @p run the agent with its state in a working copy: the variable @var set to
 * ~/@dir_rel and ~/@writable_rel writable (what the agent's profile sets)?
 */
bool hutch_as_uses_copy(const struct hutch_policy *p, const char *home, const char *var,
			const char *dir_rel, const char *writable_rel);
/* A symbolic link @name in @pfd to @up@name ("../" or "../../"); 0 when already there. */
int hutch_as_link_up(int pfd, const char *name, const char *up);
/*
 * A private home's links: in @pfd, a link "@up<name>" (hutch_as_link_up) for every
 * entry of @dir_fd that @own does not claim, and for every name of the @lists
 * (NULL-terminated, of NULL-terminated tables: files the agent creates in place,
 * protected entries...). The directories of @dirs are made in @dir_fd first and
 * linked too, so that their links never dangle.
 */
int hutch_as_link_all(int dir_fd, int pfd, const char *up, bool (*own)(const char *name),
		      const char *const *dirs, const char *const *const *lists);
/* Does @s hold @part, ignoring case? */
bool hutch_as_contains_ci(const char *s, const char *part);
/* Is @name in @dir_fd a directory (not a link to one)? Another run's private home, joined as
 * it is (agentstate.c, "Runs at once"). */
bool hutch_as_dir_there(int dir_fd, const char *name);

/*
 * @join: another run of the profile is going on: its working copy is used as it is
 * (made only when missing). @last: no other run is going on: the working copy goes.
 */
struct hutch_codex_state;
bool hutch_codex_state_wanted(const struct hutch_policy *p, const char *home);
int hutch_codex_state_begin(const struct hutch_policy *p, const char *home, bool join,
			    struct hutch_codex_state **out, hutch_error *err);
int hutch_codex_state_end(struct hutch_codex_state *c, bool last, hutch_agentstate_note_fn note,
			  void *data, hutch_error *err);
void hutch_codex_state_free(struct hutch_codex_state *c);

struct hutch_gemini_state;
bool hutch_gemini_state_wanted(const struct hutch_policy *p, const char *home);
int hutch_gemini_state_begin(const struct hutch_policy *p, const char *home, bool join,
			     struct hutch_gemini_state **out, hutch_error *err);
int hutch_gemini_state_end(struct hutch_gemini_state *g, bool last, hutch_agentstate_note_fn note,
			   void *data, hutch_error *err);
void hutch_gemini_state_free(struct hutch_gemini_state *g);
