/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * After the sandbox: its placeholders, the files that would redirect git, planted
 * git code (gitguard), and everything the run held.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "run/asker.h"
#include "audit/audit.h"
#include "base/cleanup.h"
#include "base/escape.h"
#include "base/error.h"
#include "base/path.h"
#include "sandbox/caps.h"
#include "policy/env.h"
#include "sandbox/init.h"
#include "sandbox/landlock.h"
#include "limits/limit.h"
#include "base/loop.h"
#include "sandbox/mount.h"
#include "session/named.h"
#include "sandbox/netns.h"
#include "sandbox/ns.h"
#include "policy/policy.h"
#include "policy/profiles.h"
#include "sandbox/protect.h"
#include "net/hostport.h"
#include "net/proxy.h"
#include "net/resolver.h"
#include "sandbox/pty.h"
#include "limits/rlimit.h"
#include "audit/gitguard.h"
#include "audit/walkcache.h"
#include "run/run.h"
#include "sandbox/seccomp.h"
#include "session/session.h"
#include "run/run-int.h"

/*
 * The placeholders go; those left in place because something else was found
 * where hutch placed them (the sandbox swapped a directory for a symbolic
 * link...) are said in one warning: how many, the first of this run's lines
 * of STATE/placeholders/.refused (appended after @before, escaped there), what
 * to check.
 */
struct ph_removal {
	struct hutch_placeholders *ph;
	char *refused; /* STATE/placeholders/.refused */
	off_t before;  /* its size before */
	int n;	       /* placeholders left in place */
};

static void ph_removal_begin(struct run *r, struct ph_removal *pr)
{
	struct stat st;

	*pr = (struct ph_removal){0};
	pr->ph = r->ph;
	r->ph = NULL;
	if (r->state_dir && asprintf(&pr->refused, "%s/placeholders/.refused", r->state_dir) < 0)
		pr->refused = NULL;
	if (pr->refused && stat(pr->refused, &st) == 0)
		pr->before = st.st_size;
}

static void *ph_removal_run(void *data)
{
	struct ph_removal *pr = data;

	pr->n = hutch_placeholders_remove(TAKE_PTR(pr->ph));
	return NULL;
}

static void ph_removal_report(struct run *r, struct ph_removal *pr)
{
	_cleanup_free_ char *path = TAKE_PTR(pr->refused);
	_cleanup_close_ int fd = -1;
	char lines[768], joined[800] = "", shown[1024], msg[1600];
	off_t before = pr->before;
	ssize_t got;
	int n = pr->n, n_lines = 0;

	if (n <= 0 || !r->opts || !r->opts->warn)
		return;
	if (path)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	got = fd >= 0 ? pread(fd, lines, sizeof(lines) - 1, before) : -1;
	lines[got > 0 ? got : 0] = '\0';
	for (const char *p = lines; *p && n_lines < 3; n_lines++) { /* "a; b; c" */
		size_t l = strcspn(p, "\n"), o = strlen(joined);
		snprintf(joined + o, sizeof(joined) - o, "%s%.*s", n_lines ? "; " : "", (int)l, p);
		p += l + (p[l] != '\0');
	}
	snprintf(msg, sizeof(msg),
		 "warning: %d placeholder%s of protected paths left in place: what was found there "
		 "was not what hutch placed (moved or swapped for a symbolic link inside the "
		 "sandbox)%s%s; check those paths in the workspace and remove what is left (the "
		 "list: %s)",
		 n, n == 1 ? "" : "s", joined[0] ? ": " : "",
		 hutch_escape_str(joined, shown, sizeof(shown), 0),
		 path ? path : "STATE/placeholders/.refused");
	r->opts->warn(msg, r->opts->data);
}

void hutch_run_placeholders_done(struct run *r)
{
	struct ph_removal pr;

	if (!r->ph)
		return;
	ph_removal_begin(r, &pr);
	ph_removal_run(&pr);
	ph_removal_report(r, &pr);
}

/*
 * Files that redirect git (.git/commondir) and did not exist at the start:
 * created by the session, they would make the user's next git command run
 * hooks of the sandbox's choosing. They cannot have a placeholder; remove them.
 */
static void undo_watched(struct run *r)
{
	for (size_t i = 0; r->plan && i < r->plan->n; i++) {
		const struct hutch_mount_op *op = &r->plan->ops[i];
		char msg[PATH_MAX + 160];
		struct stat st;

		if (op->kind != MOUNT_WATCH || lstat(op->path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) || unlink(op->path) < 0)
			snprintf(msg, sizeof(msg),
				 "warning: the sandbox created %s (it redirects git); remove it "
				 "before using git there",
				 op->path);
		else
			snprintf(msg, sizeof(msg),
				 "removed %s created in the sandbox: it would redirect git to "
				 "hooks and config of the sandbox's choosing",
				 op->path);
		if (r->opts && r->opts->warn)
			r->opts->warn(msg, r->opts->data);
	}
}

void hutch_run_free(struct run *r, const sigset_t *oldmask)
{
	if (r->init_pid > 0 && !r->degraded && r->session_listen < 0)
		undo_watched(r);
	/* The sandbox is gone (init reaped): kill any straggler, remove its cgroups. */
	if (hutch_limits_free(r->lim) < 0 && r->opts && r->opts->warn)
		r->opts->warn("warning: a cgroup of the sandbox could not be removed (the next run "
			      "removes it)",
			      r->opts->data);
	r->lim = NULL;
	hutch_asker_free(r->asker);
	r->asker = NULL;
	hutch_proxy_free(r->proxy); /* its last records go to the audit log */
	r->proxy = NULL;
	hutch_resolver_free(r->resolver); /* after the proxy, which maps addresses with it */
	r->resolver = NULL;
	hutch_hostport_free(r->hostport);
	r->hostport = NULL;
	hutch_audit_free(r->audit); /* before the loop it watches from */
	if (r->opts && r->opts->session)
		hutch_session_run_end(r->opts->session); /* the sandbox is gone: layer at rest */
	if (r->relay) {
		hutch_relay_finish(r->relay);
		hutch_relay_free(r->relay);
	}
	if (r->master >= 0)
		close(r->master);
	hutch_loop_free(r->loop);
	if (r->sigfd >= 0)
		close(r->sigfd);
	if (r->timerfd >= 0)
		close(r->timerfd);
	for (int i = 0; i < 2; i++)
		if (r->proxy_fd[i] >= 0)
			close(r->proxy_fd[i]);
	if (r->transparent_fd >= 0)
		close(r->transparent_fd);
	for (int i = 0; i < 2; i++) {
		if (r->errpipe[i] >= 0)
			close(r->errpipe[i]);
		if (r->ctl[i] >= 0)
			close(r->ctl[i]);
	}
	free(r->ll_protect);
	for (size_t i = 0; i < r->n_missing; i++)
		free(r->missing[i]);
	free(r->missing);
	free(r->cmds);
	hutch_run_placeholders_done(r);
	hutch_mount_plan_free(r->plan);
	hutch_env_free(r->env);
	free(r->state_dir);
	if (oldmask)
		sigprocmask(SIG_SETMASK, oldmask, NULL);
}

static void guard_item(const struct hutch_persist_item *it, void *data)
{
	struct run *r = data;

	hutch_audit_persist(r->audit, it);
	if (r->opts && r->opts->persist)
		r->opts->persist(it, r->opts->persist_data);
}

/*
 * The workload ended: neutralise git code it planted in the writable roots
 * (gitguard.h). An ephemeral workspace is a layer (hutch apply checks it);
 * hutch's placeholders go first, they are not the agent's.
 */
void hutch_run_guard_persistence(struct run *r)
{
	const struct hutch_policy *p = r->p;
	_cleanup_free_ const char **roots = calloc(p->fs_writable.n + 1, sizeof(char *));
	_cleanup_free_ const char **held = r->plan ? calloc(r->plan->n + 1, sizeof(char *)) : NULL;
	_cleanup_free_ char *q = NULL, *cache = NULL;
	hutch_error e = {0};
	size_t n = 0, n_held = 0;

	if (r->guarded)
		return; /* done already, when init said the sandbox was gone */
	hutch_placeholders_remove(r->ph);
	r->ph = NULL;
	if (!roots || !r->state_dir || asprintf(&q, "%s/quarantine/%s", r->state_dir, r->id) < 0) {
		struct hutch_persist_item it = {HUTCH_PERSIST_FAILED, p->workspace, NULL,
						"writable roots",
						"out of memory or no state directory"};
		r->guard.failed++;
		guard_item(&it, r);
		r->guarded = true;
		return;
	}
	if (!(r->opts && r->opts->session))
		roots[n++] = p->workspace;
	for (size_t i = 0; i < p->fs_writable.n; i++)
		if (!hutch_profile_is_pkg_cache(p->fs_writable.v[i].value, getenv("HOME")))
			roots[n++] = p->fs_writable.v[i].value;
	/* the protected mounts were read-only all along: what is there is the user's */
	for (size_t i = 0; r->plan && held && i < r->plan->n; i++)
		if (r->plan->ops[i].kind == MOUNT_PROTECT)
			held[n_held++] = r->plan->ops[i].path;
	/* the last walk of each root, in the state directory (audit/walkcache.h) */
	if (asprintf(&cache, "%s/walk", r->state_dir) < 0)
		cache = NULL;
	if (hutch_gitguard_check(roots, n, held, n_held, &r->start, q, cache, guard_item, r,
				 &r->guard, &e) < 0) {
		struct hutch_persist_item it = {HUTCH_PERSIST_FAILED, q, NULL, "quarantine", e.msg};
		r->guard.failed++;
		guard_item(&it, r);
	}
	r->guarded = true;
	rmdir(q); /* empty: nothing was quarantined */
}

/*
 * Does the workspace hold more than a few directories at its top, besides
 * .git and what hutch placed (its protected paths)? Then the walk of the
 * writable roots takes long enough to pay for a thread beside the
 * placeholders' removal (hutch's own repository: ~100 directories, ~0.3 ms);
 * a fresh `git init` walks in ~40 us, less than a thread costs here (~0.1 ms
 * of CPU, on two CPUs busy with the namespaces' teardown). Other writable
 * roots: assumed long. A workspace with a cache of its last walk: as long as
 * that walk was, at a stat per directory.
 */
#define GUARD_THREAD_MIN_DIRS 4
/*
 * With the walk's cache (audit/walkcache.h) an unchanged directory costs a
 * stat, or an O_PATH open, a stat and a close when it has subdirectories
 * (~0.4-1.2 us): from this many on, the walk beside the placeholders' removal
 * pays for its thread (a clone of this repository after a build, 106
 * directories: 1.07x -> 1.02x bwrap, bench/RESULTS.md).
 */
#define GUARD_THREAD_MIN_CACHED 32

static bool held_by_plan(const struct run *r, const char *dir, const char *name)
{
	size_t dl = strlen(dir);

	for (size_t i = 0; r->plan && i < r->plan->n; i++) {
		const char *path = r->plan->ops[i].path;

		if (r->plan->ops[i].kind == MOUNT_PROTECT && !strncmp(path, dir, dl) &&
		    path[dl] == '/' && !strcmp(path + dl + 1, name))
			return true;
	}
	return false;
}

static bool guard_walk_is_long(const struct run *r)
{
	_Alignas(struct dirent64) char buf[4096];
	_cleanup_close_ int fd = -1;
	const char *ws = r->p->workspace;
	size_t dirs = 0;
	ssize_t n;

	if (r->p->fs_writable.n || (r->opts && r->opts->session))
		return true;
	if (r->state_dir) {
		_cleanup_free_ char *cache = NULL;
		long cached = asprintf(&cache, "%s/walk", r->state_dir) < 0
				      ? -1
				      : hutch_walkcache_count(cache, ws);
		if (cached >= 0)
			return cached >= GUARD_THREAD_MIN_CACHED;
	}
	fd = open(ws, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *de = (const struct dirent64 *)(buf + off);
			const char *nm = de->d_name;

			off += de->d_reclen;
			if ((de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) ||
			    !strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, ".git") ||
			    held_by_plan(r, ws, nm))
				continue;
			if (++dirs >= GUARD_THREAD_MIN_DIRS)
				return true;
		}
	}
	return false;
}

/*
 * The sandbox is gone (init said so, nothing in it runs any more): its
 * placeholders go back to the stash and the writable roots are checked for
 * planted git code, each ~0.2-0.3 ms in a repository (two dozen renames; a
 * walk of every directory), on the way out of every run: in two threads
 * when the walk is long (guard_walk_is_long). The walk leaves the
 * placeholders alone (they are protected paths: held, and one gone under
 * the walk is expected, as a concurrent run's). A thread that cannot start:
 * one after the other.
 */
void hutch_run_sandbox_done(struct run *r)
{
	struct ph_removal pr;
	pthread_t t;

	if (!r->ph) {
		hutch_run_guard_persistence(r);
		return;
	}
	ph_removal_begin(r, &pr);
	if (!guard_walk_is_long(r) || pthread_create(&t, NULL, ph_removal_run, &pr) != 0) {
		ph_removal_run(&pr);
		hutch_run_guard_persistence(r);
	} else {
		hutch_run_guard_persistence(r);
		pthread_join(t, NULL);
	}
	ph_removal_report(r, &pr);
}
