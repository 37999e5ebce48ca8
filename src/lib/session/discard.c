/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Discarding a session: its layer out of sight at once, then removed (hutch discard). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/file.h"
#include "session/apply.h"
#include "session/session.h"

static void remove_trash(int bfd)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = dup(bfd);

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, ".trash-", 7))
			(void)hutch_remove_tree(bfd, de->d_name);
}

int hutch_session_discard(hutch_session *s, hutch_error *err)
{
	_cleanup_free_ char *base = hutch_sessions_dir();
	_cleanup_close_ int bfd = -1;
	char trash[HUTCH_SESSION_MAX_ID + 64];
	int r;

	if (!base)
		return -EINVAL;
	r = hutch_session_lock(s, err);
	if (r < 0)
		return r;
	if (s->state && !strcmp(s->state, "applying"))
		hutch_apply_sweep(s); /* an apply was killed: its temporaries go too */
	bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return hutch_err(err, errno, "%s", base);
	/* Out of sight first (atomic), then removed; a crash leaves only .trash-* to sweep. */
	snprintf(trash, sizeof(trash), ".trash-%s-%ld", s->id, (long)getpid());
	if (renameat(bfd, s->id, bfd, trash) < 0)
		return hutch_err(err, errno, "session %s: removing %s", s->id, s->dir);
	hutch_session_unlock(s);
	r = hutch_remove_tree(bfd, trash);
	remove_trash(bfd);
	if (r < 0)
		return hutch_err(err, r, "session %s: removing its files", s->id);
	return 0;
}
