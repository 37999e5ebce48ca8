/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Disposable sessions: their directory, metadata, lock, snapshot of the
 * workspace, placeholders, listing, forking and removal. See session.h for
 * the layout and docs/sessions.md for the user's view.
 *
 * The snapshot records, for every entry of the workspace, what it looked like
 * when the session's layer started (mode, inode, size, mtime, ctime), so that
 * hutch apply can tell a file the user changed meanwhile from one nobody
 * touched. It is written by a helper process while the sandbox starts (the
 * agent never writes the real workspace, so taking it concurrently is exact),
 * and refreshed at each later run for the paths the layer does not cover.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/magic.h>

#include "base/atomic.h"
#include "base/cleanup.h"
#include "base/file.h"
#include "base/error.h"
#include "base/path.h"
#include "base/statedir.h"
#include "session/named.h"
#include "session/rootlayer.h"
#include "session/session.h"

#define SNAPSHOT_MAGIC "hutch-snapshot 1\n"
#define MODE_UNKNOWN 1u /* snapshot entry whose start state is unknown: use ctime */
#define MAX_LIST 4096
#define SIZE_WALK_MAX 1000000

/* ---- small helpers ------------------------------------------------------- */

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return ts_ns(&t);
}

/*
 * The start of a layer, for the ctime fallback: the coarse clock file times are
 * taken from, so that a change in the same tick counts as after the start (a
 * false conflict leaves a copy beside the file; a missed one would lose work).
 */
static int64_t baseline_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME_COARSE, &t);
	return ts_ns(&t);
}

char *hutch_sessions_dir(void)
{
	return hutch_state_dir("sessions");
}

int hutch_session_check_id(const char *id, hutch_error *err)
{
	return hutch_state_check_name(id, HUTCH_SESSION_MAX_ID, err);
}

int hutch_path_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (*p < 0x21 || *p == 0x7f || *p == '%') {
			if (o + 3 >= size)
				return -ENAMETOOLONG;
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else {
			if (o + 1 >= size)
				return -ENAMETOOLONG;
			out[o++] = (char)*p;
		}
	}
	if (o >= size)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hutch_path_unescape(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p == '%') {
			int h = hexval(p[1]), l = h < 0 ? -1 : hexval(p[2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return -EINVAL;
			*o++ = (char)(h * 16 + l);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- metadata ------------------------------------------------------------ */

static int json_strv(json_t *o, const char *key, char ***out, size_t *n)
{
	json_t *a = json_object_get(o, key), *e;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > HUTCH_SESSION_MAX_PROTECTED)
		return -EINVAL;
	*out = calloc(json_array_size(a) + 1, sizeof(char *));
	if (!*out)
		return -ENOMEM;
	json_array_foreach(a, i, e)
	{
		if (!json_is_string(e))
			return -EINVAL;
		(*out)[*n] = strdup(json_string_value(e));
		if (!(*out)[*n])
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

static char *json_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

static int64_t json_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static json_t *strv_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int save_meta(hutch_session *s, hutch_error *err)
{
	_cleanup_close_ int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	char created[64];
	struct tm tm;
	time_t t = (time_t)(s->created_ns / 1000000000LL);
	json_t *o;
	int r;

	if (dfd < 0)
		return hutch_err(err, errno, "session %s: %s", s->id, s->dir);
	gmtime_r(&t, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_object();
	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "v", json_integer(1));
	json_object_set_new(o, "id", json_string(s->id));
	json_object_set_new(o, "kind", json_string(s->kind ? s->kind : "ephemeral"));
	if (s->root)
		json_object_set_new(o, "mode", json_string("root"));
	json_object_set_new(o, "workspace", json_string(s->workspace));
	json_object_set_new(o, "created", json_string(created));
	json_object_set_new(o, "createdNs", json_integer(s->created_ns));
	json_object_set_new(o, "baselineNs", json_integer(s->baseline_ns));
	json_object_set_new(o, "state", json_string(s->state ? s->state : "new"));
	json_object_set_new(o, "parent", s->parent ? json_string(s->parent) : json_null());
	json_object_set_new(o, "pid", json_integer(s->pid));
	json_object_set_new(o, "protected", strv_json(s->protected_rel, s->n_protected_rel));
	json_object_set_new(o, "protectedAnchored",
			    strv_json(s->protected_anchored, s->n_protected_anchored));
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return hutch_errx(err, ENOMEM, "session %s: encoding meta.json", s->id);
	r = hutch_write_file_atomic_at(dfd, "meta.json", text, strlen(text), 0600);
	if (r < 0)
		return hutch_err(err, r, "session %s: writing meta.json", s->id);
	return 0;
}

int hutch_session_set_state(hutch_session *s, const char *state, hutch_error *err)
{
	char *v = strdup(state);

	if (!v)
		return -ENOMEM;
	free(s->state);
	s->state = v;
	return save_meta(s, err);
}

static int load_placeholders(hutch_session *s)
{
	_cleanup_close_ int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL;
	int r;

	strv_free(s->placeholders, s->n_placeholders);
	s->placeholders = NULL;
	s->n_placeholders = 0;
	if (dfd < 0)
		return -errno;
	r = hutch_read_file_at(dfd, "placeholders", 1024 * 1024, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	s->placeholders = calloc(HUTCH_SESSION_MAX_PLACEHOLDERS, sizeof(char *));
	if (!s->placeholders)
		return -ENOMEM;
	for (line = strtok_r(text, "\n", &save);
	     line && s->n_placeholders < HUTCH_SESSION_MAX_PLACEHOLDERS;
	     line = strtok_r(NULL, "\n", &save)) {
		/* "d REL" = placeholder, "p REL" = a parent directory made for one */
		if ((line[0] != 'd' && line[0] != 'p') || line[1] != ' ' ||
		    hutch_path_unescape(line + 2) < 0)
			continue;
		s->placeholders[s->n_placeholders] = strdup(line);
		if (!s->placeholders[s->n_placeholders])
			return -ENOMEM;
		s->n_placeholders++;
	}
	return 0;
}

bool hutch_session_is_placeholder(const hutch_session *s, const char *rel)
{
	for (size_t i = 0; i < s->n_placeholders; i++)
		if (s->placeholders[i][0] == 'd' && !strcmp(s->placeholders[i] + 2, rel))
			return true;
	return false;
}

static void session_free_fields(hutch_session *s)
{
	free(s->dir);
	free(s->upper);
	free(s->work);
	free(s->workspace);
	free(s->kind);
	free(s->state);
	free(s->parent);
	strv_free(s->protected_rel, s->n_protected_rel);
	strv_free(s->protected_anchored, s->n_protected_anchored);
	strv_free(s->placeholders, s->n_placeholders);
}

void hutch_session_free(hutch_session *s)
{
	if (!s)
		return;
	if (s->snap_pid > 0) {
		kill(s->snap_pid, SIGKILL);
		waitpid(s->snap_pid, NULL, 0);
	}
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	session_free_fields(s);
	free(s);
}

static hutch_session *session_alloc(const char *base, const char *id)
{
	hutch_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->lock_fd = -1;
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->dir = hutch_path_join(base, id);
	s->upper = s->dir ? hutch_path_join(s->dir, "upper") : NULL;
	s->work = s->dir ? hutch_path_join(s->dir, "work") : NULL;
	if (!s->dir || !s->upper || !s->work) {
		hutch_session_free(s);
		return NULL;
	}
	return s;
}

static int load_meta(hutch_session *s, hutch_error *err)
{
	_cleanup_close_ int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	json_error_t jerr;
	json_t *o;
	size_t len = 0;
	int r;

	if (dfd < 0)
		return hutch_err(err, errno, "session %s", s->id);
	r = hutch_read_file_at(dfd, "meta.json", HUTCH_SESSION_MAX_META, &text, &len);
	if (r < 0)
		return hutch_err(err, r, "session %s: reading %s/meta.json", s->id, s->dir);
	o = json_loadb(text, len, 0, &jerr);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return hutch_errx(err, EINVAL, "session %s: %s/meta.json: %s", s->id, s->dir,
				  jerr.text);
	}
	s->workspace = json_str(o, "workspace");
	s->kind = json_str(o, "kind");
	s->state = json_str(o, "state");
	s->parent = json_str(o, "parent");
	{
		json_t *m = json_object_get(o, "mode");
		s->root = json_is_string(m) && !strcmp(json_string_value(m), "root");
	}
	s->created_ns = json_int(o, "createdNs");
	s->baseline_ns = json_int(o, "baselineNs");
	s->pid = (long)json_int(o, "pid");
	if (!s->baseline_ns)
		s->baseline_ns = s->created_ns;
	r = json_strv(o, "protected", &s->protected_rel, &s->n_protected_rel);
	if (r >= 0)
		r = json_strv(o, "protectedAnchored", &s->protected_anchored,
			      &s->n_protected_anchored);
	json_decref(o);
	if (r < 0 || !s->workspace || s->workspace[0] != '/')
		return hutch_errx(err, EINVAL, "session %s: %s/meta.json is malformed", s->id,
				  s->dir);
	r = load_placeholders(s);
	if (r < 0)
		return hutch_err(err, r, "session %s: reading placeholders", s->id);
	return 0;
}

/* ---- creating, opening ---------------------------------------------------- */

static int random_id(char out[9])
{
	uint8_t b[4];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return -errno;
	snprintf(out, 9, "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
	return 0;
}

/* A fresh session directory with upper/ (attributes of @workspace's root) and work/. */
static int make_session_dir(const char *id, const char *workspace, hutch_session **out,
			    hutch_error *err)
{
	_cleanup_free_ char *base = hutch_sessions_dir();
	hutch_session *s = NULL;
	char rid[9];
	struct stat wst;
	int r;

	if (!base)
		return hutch_errx(err, EINVAL,
				  "cannot find the state directory: neither XDG_STATE_HOME nor "
				  "HOME is set");
	if (id) {
		r = hutch_session_check_id(id, err);
		if (r < 0)
			return r;
	}
	if (stat(workspace, &wst) < 0 || !S_ISDIR(wst.st_mode))
		return hutch_err(err, errno ? errno : ENOTDIR, "workspace %s", workspace);
	r = hutch_mkdir_p(base, 0700);
	if (r < 0)
		return hutch_err(err, r, "session directory %s", base);
	if (hutch_path_has_prefix(base, workspace)) {
		hutch_errx(err, ELOOP,
			   "--ephemeral: the session directory %s lies inside the workspace %s",
			   base, workspace);
		hutch_err_hint(err, "set XDG_STATE_HOME to a directory outside the workspace");
		return -ELOOP;
	}
	for (int attempt = 0; attempt < 16; attempt++) {
		if (!id && (r = random_id(rid)) < 0)
			return hutch_err(err, r, "generating a session id");
		s = session_alloc(base, id ? id : rid);
		if (!s)
			return -ENOMEM;
		if (mkdir(s->dir, 0700) == 0)
			break;
		r = -errno;
		hutch_session_free(s);
		s = NULL;
		if (r != -EEXIST || id) {
			if (r == -EEXIST)
				return hutch_errx(err, EEXIST,
						  "a session named '%s' exists already", id);
			return hutch_err(err, r, "session directory in %s", base);
		}
	}
	if (!s)
		return hutch_errx(err, EEXIST, "cannot find a free session id in %s", base);
	if (mkdir(s->upper, 0700) < 0 || chmod(s->upper, wst.st_mode & 07777) < 0 ||
	    mkdir(s->work, 0700) < 0) {
		r = hutch_err(err, errno, "session %s: creating its layer", s->id);
		hutch_remove_tree(AT_FDCWD, s->dir);
		hutch_session_free(s);
		return r;
	}
	{
		struct timespec ts[2] = {wst.st_atim, wst.st_mtim};
		(void)utimensat(AT_FDCWD, s->upper, ts, 0);
	}
	s->workspace = strdup(workspace);
	s->kind = strdup("ephemeral");
	s->state = strdup("new");
	s->created_ns = now_ns();
	s->baseline_ns = baseline_now_ns();
	s->pid = 0;
	if (!s->workspace || !s->kind || !s->state) {
		hutch_remove_tree(AT_FDCWD, s->dir);
		hutch_session_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

static int add_protected(hutch_session *s, const struct hutch_policy *p)
{
	size_t n = p->fs_protected.n;

	s->protected_rel = calloc(n + 1, sizeof(char *));
	s->protected_anchored = calloc(n + 1, sizeof(char *));
	if (!s->protected_rel || !s->protected_anchored)
		return -ENOMEM;
	for (size_t i = 0; i < n && i < HUTCH_SESSION_MAX_PROTECTED; i++) {
		const char *v = p->fs_protected.v[i].value;
		char *copy;

		if (v[0] != '/') {
			copy = strdup(v);
			if (!copy)
				return -ENOMEM;
			s->protected_rel[s->n_protected_rel++] = copy;
		} else if (hutch_path_has_prefix(v, p->workspace) && strcmp(v, p->workspace)) {
			copy = strdup(v + strlen(p->workspace) +
				      (strcmp(p->workspace, "/") ? 1 : 0));
			if (!copy)
				return -ENOMEM;
			s->protected_anchored[s->n_protected_anchored++] = copy;
		}
	}
	return 0;
}

int hutch_session_create(const hutch_policy *p, const char *id, hutch_session **out,
			 hutch_error *err)
{
	hutch_session *s = NULL;
	int r;

	if (!p->finalized)
		return hutch_errx(err, EINVAL, "internal: the policy is not finalized");
	r = make_session_dir(id, p->workspace, &s, err);
	if (r < 0)
		return r;
	r = add_protected(s, p);
	if (r >= 0)
		r = save_meta(s, err);
	if (r < 0) {
		hutch_remove_tree(AT_FDCWD, s->dir);
		hutch_session_free(s);
		return r;
	}
	*out = s;
	return 0;
}

static int open_exact(const char *base, const char *id, hutch_session **out, hutch_error *err)
{
	hutch_session *s = session_alloc(base, id);
	int r;

	if (!s)
		return -ENOMEM;
	r = load_meta(s, err);
	if (r < 0) {
		hutch_session_free(s);
		return r;
	}
	*out = s;
	return 0;
}

/* Names of the session directories (not the hidden .trash-* ones). */
static int list_ids(const char *base, char ***out, size_t *n)
{
	_cleanup_closedir_ DIR *d = opendir(base);
	struct dirent *de;
	char **v;

	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	v = calloc(MAX_LIST + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	while ((de = readdir(d)) && *n < MAX_LIST) {
		if (de->d_name[0] == '.' || hutch_session_check_id(de->d_name, NULL) < 0)
			continue;
		v[*n] = strdup(de->d_name);
		if (!v[*n]) {
			strv_free(v, *n);
			return -ENOMEM;
		}
		(*n)++;
	}
	*out = v;
	return 0;
}

int hutch_session_open(const char *id, const char *path, hutch_session **out, hutch_error *err)
{
	_cleanup_free_ char *base = hutch_sessions_dir(), *real = NULL, *match = NULL;
	char **ids = NULL;
	size_t n = 0, matches = 0;
	int64_t best = -1;
	struct stat st;
	int r;

	if (!base)
		return hutch_errx(err, EINVAL,
				  "cannot find the state directory: neither XDG_STATE_HOME nor "
				  "HOME is set");
	if (id) {
		_cleanup_free_ char *dir = NULL;
		r = hutch_session_check_id(id, err);
		if (r < 0)
			return r;
		dir = hutch_path_join(base, id);
		if (!dir)
			return -ENOMEM;
		if (stat(dir, &st) == 0)
			return open_exact(base, id, out, err);
	} else {
		real = realpath(path ? path : ".", NULL);
		if (!real)
			return hutch_err(err, errno, "%s", path ? path : "current directory");
	}
	r = list_ids(base, &ids, &n);
	if (r < 0)
		return hutch_err(err, r, "listing %s", base);
	for (size_t i = 0; i < n; i++) {
		if (id) {
			if (!strncmp(ids[i], id, strlen(id))) {
				matches++;
				free(match);
				match = strdup(ids[i]);
			}
			continue;
		}
		{
			hutch_session *s = NULL;
			if (open_exact(base, ids[i], &s, NULL) < 0)
				continue;
			if (!strcmp(s->kind ? s->kind : "", "ephemeral") &&
			    hutch_path_has_prefix(real, s->workspace) && s->created_ns > best) {
				best = s->created_ns;
				free(match);
				match = strdup(ids[i]);
				matches = 1;
			}
			hutch_session_free(s);
		}
	}
	strv_free(ids, n);
	if (id && matches > 1)
		return hutch_errx(err, EINVAL, "'%s' matches %zu sessions: give more of the id", id,
				  matches);
	if (!matches || !match) {
		if (id) {
			hutch_errx(err, ENOENT, "no session '%s'", id);
			hutch_err_hint(err, "'hutch ls' lists the sessions");
		} else {
			hutch_errx(err, ENOENT, "no session for %s", real);
			hutch_err_hint(err, "start one with: hutch run --ephemeral -- COMMAND");
		}
		return -ENOENT;
	}
	return open_exact(base, match, out, err);
}

const char *hutch_session_id(const hutch_session *s)
{
	return s->id;
}

const char *hutch_session_workspace(const hutch_session *s)
{
	return s->workspace;
}

const char *hutch_session_dir(const hutch_session *s)
{
	return s->dir;
}

/* ---- lock ---------------------------------------------------------------- */

static int open_lock(const hutch_session *s)
{
	_cleanup_free_ char *path = hutch_path_join(s->dir, "lock");
	int fd;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	return fd < 0 ? -errno : fd;
}

int hutch_session_lock(hutch_session *s, hutch_error *err)
{
	int fd;

	if (s->lock_fd >= 0)
		return 0;
	fd = open_lock(s);
	if (fd < 0)
		return hutch_err(err, fd, "session %s: lock", s->id);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK) {
			hutch_errx(err, EBUSY,
				   "session %s is in use (a hutch run or apply holds it)", s->id);
			hutch_err_hint(err, "wait for it to end, or stop it");
			return -EBUSY;
		}
		return hutch_err(err, e, "session %s: lock", s->id);
	}
	s->lock_fd = fd;
	return 0;
}

void hutch_session_unlock(hutch_session *s)
{
	if (s->lock_fd >= 0) {
		close(s->lock_fd);
		s->lock_fd = -1;
	}
}

bool hutch_session_running(const hutch_session *s)
{
	_cleanup_close_ int fd = -1;

	if (s->lock_fd >= 0)
		return false; /* we hold it */
	fd = open_lock(s);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	return false;
}

const char *hutch_session_state(const hutch_session *s)
{
	const char *st = s->state ? s->state : "new";

	if (hutch_session_running(s))
		return !strcmp(st, "applying") ? "applying" : "running";
	if (!strcmp(st, "running"))
		return "interrupted"; /* hutch was killed: the layer is intact */
	if (!strcmp(st, "applying"))
		return "apply-interrupted";
	return st;
}

/* ---- snapshot ------------------------------------------------------------ */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int snap_rehash(struct hutch_snapshot *snap, size_t nslots)
{
	size_t *slots = calloc(nslots, sizeof(size_t));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < snap->n; i++) {
		size_t j = fnv1a(snap->v[i].path) & (nslots - 1);
		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = i + 1;
	}
	free(snap->slots);
	snap->slots = slots;
	snap->nslots = nslots;
	return 0;
}

static struct hutch_snap_entry *snap_lookup(const struct hutch_snapshot *snap, const char *rel)
{
	size_t j;

	if (!snap->nslots)
		return NULL;
	j = fnv1a(rel) & (snap->nslots - 1);
	while (snap->slots[j]) {
		struct hutch_snap_entry *e = &snap->v[snap->slots[j] - 1];
		if (!strcmp(e->path, rel))
			return e;
		j = (j + 1) & (snap->nslots - 1);
	}
	return NULL;
}

const struct hutch_snap_entry *hutch_snapshot_find(const struct hutch_snapshot *snap,
						   const char *rel)
{
	return snap_lookup(snap, rel);
}

static int snap_put_raw(struct hutch_snapshot *snap, const char *rel, uint32_t mode, uint64_t ino,
			uint64_t size, int64_t mtime, int64_t ctime)
{
	struct hutch_snap_entry *e = snap_lookup(snap, rel);
	size_t j;

	if (!e) {
		if (snap->n >= HUTCH_SNAPSHOT_MAX_ENTRIES + 65536)
			return -E2BIG;
		if (snap->n == snap->cap) {
			size_t cap = snap->cap ? snap->cap * 2 : 256;
			struct hutch_snap_entry *v = realloc(snap->v, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			snap->v = v;
			snap->cap = cap;
		}
		if ((snap->n + 1) * 2 > snap->nslots) {
			int r = snap_rehash(snap, snap->nslots ? snap->nslots * 2 : 512);
			if (r < 0)
				return r;
		}
		e = &snap->v[snap->n];
		e->path = strdup(rel);
		if (!e->path)
			return -ENOMEM;
		j = fnv1a(rel) & (snap->nslots - 1);
		while (snap->slots[j])
			j = (j + 1) & (snap->nslots - 1);
		snap->slots[j] = ++snap->n;
	}
	e->mode = mode;
	e->ino = ino;
	e->size = size;
	e->mtime_ns = mtime;
	e->ctime_ns = ctime;
	return 0;
}

int hutch_snapshot_put(struct hutch_snapshot *snap, const char *rel, const struct stat *st)
{
	if (!st)
		return snap_put_raw(snap, rel, 0, 0, 0, 0, 0);
	return snap_put_raw(snap, rel, st->st_mode, st->st_ino, (uint64_t)st->st_size,
			    ts_ns(&st->st_mtim), ts_ns(&st->st_ctim));
}

void hutch_snapshot_free(struct hutch_snapshot *snap)
{
	for (size_t i = 0; i < snap->n; i++)
		free(snap->v[i].path);
	free(snap->v);
	free(snap->slots);
	memset(snap, 0, sizeof(*snap));
}

int hutch_snapshot_format(char *buf, size_t size, const char *rel, const struct stat *st)
{
	char esc[PATH_MAX * 3];
	int n, r = hutch_path_escape(rel, esc, sizeof(esc));

	if (r < 0)
		return r;
	if (st)
		n = snprintf(buf, size, "%o %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " %s\n",
			     (unsigned)st->st_mode, (uint64_t)st->st_ino, (uint64_t)st->st_size,
			     ts_ns(&st->st_mtim), ts_ns(&st->st_ctim), esc);
	else
		n = snprintf(buf, size, "0 0 0 0 0 %s\n", esc);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return n;
}

/* Parse snapshot/journal lines into @snap; returns 1 when a "#partial" marker was seen. */
static int snap_parse(struct hutch_snapshot *snap, char *text)
{
	char *line, *save = NULL;
	int partial = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long mode, ino, size;
		long long mt, ct;
		char *p = line, *end;
		int r;

		if (line[0] == '#') {
			if (!strcmp(line, "#partial"))
				partial = 1;
			continue;
		}
		if (!strncmp(line, "hutch-snapshot ", 15))
			continue;
		errno = 0;
		mode = strtoull(p, &end, 8);
		if (end == p || *end != ' ')
			continue;
		p = end + 1;
		ino = strtoull(p, &end, 10);
		if (end == p || *end != ' ')
			continue;
		p = end + 1;
		size = strtoull(p, &end, 10);
		if (end == p || *end != ' ')
			continue;
		p = end + 1;
		mt = strtoll(p, &end, 10);
		if (end == p || *end != ' ')
			continue;
		p = end + 1;
		ct = strtoll(p, &end, 10);
		if (end == p || *end != ' ' || errno)
			continue;
		p = end + 1;
		if (!*p || hutch_path_unescape(p) < 0)
			continue;
		r = snap_put_raw(snap, p, (uint32_t)mode, ino, size, mt, ct);
		if (r < 0)
			return r;
	}
	return partial;
}

static int snap_load_file(int dfd, const char *name, struct hutch_snapshot *snap, bool *found,
			  bool *partial)
{
	_cleanup_free_ char *text = NULL;
	int r = hutch_read_file_at(dfd, name, (size_t)1 << 31, &text, NULL);

	*found = false;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	*found = true;
	r = snap_parse(snap, text);
	if (r < 0)
		return r;
	if (partial)
		*partial = r == 1;
	return 0;
}

int hutch_snapshot_load(const hutch_session *s, struct hutch_snapshot *snap, hutch_error *err)
{
	_cleanup_close_ int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool found = false, partial = false, jfound;
	int r;

	memset(snap, 0, sizeof(*snap));
	if (dfd < 0)
		return hutch_err(err, errno, "session %s", s->id);
	r = snap_load_file(dfd, "snapshot", snap, &found, &partial);
	if (r >= 0)
		r = snap_load_file(dfd, "applied", snap, &jfound, NULL);
	if (r < 0) {
		hutch_snapshot_free(snap);
		return hutch_err(err, r, "session %s: reading its workspace snapshot", s->id);
	}
	snap->complete = found && !partial;
	return 0;
}

bool hutch_snapshot_changed(const struct hutch_snapshot *snap, int64_t baseline_ns, const char *rel,
			    const struct stat *now)
{
	const struct hutch_snap_entry *e = snap_lookup(snap, rel);

	if (e && e->mode != MODE_UNKNOWN) {
		if (!e->mode)
			return now != NULL;
		if (!now)
			return true;
		return (now->st_mode & S_IFMT) != (e->mode & S_IFMT) || now->st_ino != e->ino ||
		       (uint64_t)now->st_size != e->size || ts_ns(&now->st_mtim) != e->mtime_ns ||
		       ts_ns(&now->st_ctim) != e->ctime_ns;
	}
	if (!e && snap->complete)
		return now != NULL;
	/* Unknown start state: anything changed after the layer started is the user's. */
	return now && ts_ns(&now->st_ctim) >= baseline_ns;
}

/* ---- the snapshot helper ------------------------------------------------- */

struct snapw {
	FILE *f;
	const struct hutch_snapshot *old;
	bool old_complete;
	char path[PATH_MAX];
	dev_t dev;
	size_t n;
	bool partial;
};

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int dfd, const char *name)
{
	char path[64], v[4];
	_cleanup_close_ int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = getxattr(path, "user.overlay.opaque", v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

static void snap_emit(struct snapw *w, const char *rel, const struct stat *st, bool keep_old)
{
	char line[PATH_MAX * 3 + 128];
	int n;

	if (keep_old) {
		const struct hutch_snap_entry *e = snap_lookup(w->old, rel);
		if (e) {
			char esc[PATH_MAX * 3];
			if (hutch_path_escape(rel, esc, sizeof(esc)) < 0)
				return;
			fprintf(w->f, "%o %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " %s\n",
				e->mode, e->ino, e->size, e->mtime_ns, e->ctime_ns, esc);
		} else if (!w->old_complete) {
			char esc[PATH_MAX * 3];
			if (hutch_path_escape(rel, esc, sizeof(esc)) < 0)
				return;
			fprintf(w->f, "%o 0 0 0 0 %s\n", MODE_UNKNOWN, esc);
		}
		/* else: absent when the layer started, and stays so */
		return;
	}
	n = hutch_snapshot_format(line, sizeof(line), rel, st);
	if (n > 0)
		fwrite(line, 1, (size_t)n, w->f);
}

/*
 * Walk the workspace (@lfd) alongside the layer (@ufd, -1 where the layer has
 * nothing): entries the layer covers keep their old record, the rest are
 * stat'ed now. @hidden: the layer replaced this directory (whiteout, opaque).
 */
static void snap_walk(struct snapw *w, int lfd, int ufd, bool hidden, size_t len, int depth)
{
	DIR *d = fdopendir(lfd);
	struct dirent *de;

	if (!d) {
		close(lfd);
		if (ufd >= 0)
			close(ufd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st, ust;
		bool covered = false, child_hidden = hidden;
		size_t nl = strlen(de->d_name), l2;
		int cl = -1, cu = -1;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (w->n >= HUTCH_SNAPSHOT_MAX_ENTRIES || len + nl + 2 >= sizeof(w->path)) {
			w->partial = true;
			continue;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		l2 = len;
		if (len)
			w->path[l2++] = '/';
		memcpy(w->path + l2, de->d_name, nl + 1);
		l2 += nl;
		if (ufd >= 0 && fstatat(ufd, de->d_name, &ust, AT_SYMLINK_NOFOLLOW) == 0) {
			covered = true;
			if (is_whiteout(&ust) || !S_ISDIR(ust.st_mode) ||
			    is_opaque(ufd, de->d_name))
				child_hidden = true;
			else
				cu = openat(ufd, de->d_name,
					    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		snap_emit(w, w->path, &st, hidden || covered);
		w->n++;
		if (S_ISDIR(st.st_mode) && st.st_dev == w->dev) {
			if (depth >= HUTCH_SESSION_MAX_DEPTH) {
				w->partial = true;
			} else {
				cl = openat(dirfd(d), de->d_name,
					    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (cl >= 0) {
					snap_walk(w, cl, cu, child_hidden, l2, depth + 1);
					cu = -1;
				}
			}
		}
		if (cu >= 0)
			close(cu);
		w->path[len] = '\0';
	}
	closedir(d);
	if (ufd >= 0)
		close(ufd);
}

__attribute__((noreturn)) static void snapshot_child(hutch_session *s, pid_t parent)
{
	struct hutch_snapshot old = {0};
	struct snapw w = {0};
	struct hutch_atomic a = HUTCH_ATOMIC_INIT; /* one left by a failed child is replaced */
	_cleanup_close_ int dfd = -1;
	int lfd, ufd;
	struct stat st;
	bool had_old;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(1);    /* hutch died before the line above */
	(void)setpgid(0, 0); /* no terminal signals: Ctrl-C is for the sandbox */
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		_exit(1);
	had_old = faccessat(dfd, "snapshot", F_OK, 0) == 0;
	if (hutch_snapshot_load(s, &old, NULL) < 0)
		_exit(1);
	w.old = &old;
	w.old_complete = !had_old ? true : old.complete;
	lfd = open(s->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ufd = open(s->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd < 0 || fstat(lfd, &st) < 0)
		_exit(1);
	w.dev = st.st_dev;
	if (hutch_atomic_begin(&a, dfd, "snapshot", "snapshot.tmp", 0600) < 0)
		_exit(1);
	w.f = hutch_atomic_stream(&a);
	if (!w.f)
		_exit(1);
	fputs(SNAPSHOT_MAGIC, w.f);
	/* first run: nothing is covered, every entry is recorded fresh */
	snap_walk(&w, lfd, had_old ? ufd : (ufd >= 0 ? (close(ufd), -1) : -1), false, 0, 0);
	if (w.partial)
		fputs("#partial\n", w.f);
	if (fflush(w.f) != 0 || ferror(w.f) || fclose(w.f) != 0 || hutch_atomic_commit(&a, 0) < 0)
		_exit(1);
	/* what hutch apply wrote is folded into the new snapshot */
	unlinkat(dfd, "applied", 0);
	_exit(0);
}

static int start_snapshot(hutch_session *s, hutch_error *err)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		return hutch_err(err, errno, "session %s: starting the workspace snapshot", s->id);
	if (pid == 0)
		snapshot_child(s, parent);
	s->snap_pid = pid;
	return 0;
}

/* ---- runs ---------------------------------------------------------------- */

static bool bad_overlay_path(const char *p)
{
	return strpbrk(p, ":\\\n,") != NULL;
}

void hutch_session_clear_placeholders(hutch_session *s)
{
	_cleanup_close_ int ufd = open(s->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *path = hutch_path_join(s->dir, "placeholders");

	if (ufd >= 0) {
		for (size_t i = s->n_placeholders; i-- > 0;) {
			const char *rel = s->placeholders[i] + 2;
			struct stat st;
			if (fstatat(ufd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
				unlinkat(ufd, rel, AT_REMOVEDIR); /* only ever removes empty ones */
		}
	}
	if (path)
		unlink(path);
	strv_free(s->placeholders, s->n_placeholders);
	s->placeholders = NULL;
	s->n_placeholders = 0;
}

/*
 * The layer's filesystem must be able to hold an overlay upper directory made
 * in a user namespace: user.* xattrs (opaque directories), and not an overlay
 * itself (a container's root). Said here, with the fix, rather than as a bare
 * EINVAL from the mount inside the sandbox.
 */
static int check_upper_fs(hutch_session *s, hutch_error *err)
{
	struct statfs sf;

	if (statfs(s->upper, &sf) < 0)
		return hutch_err(err, errno, "session %s: %s", s->id, s->upper);
	if (sf.f_type == OVERLAYFS_SUPER_MAGIC ||
	    (setxattr(s->upper, "user.hutch.probe", "1", 1, 0) < 0 &&
	     (errno == ENOTSUP || errno == EOPNOTSUPP))) {
		hutch_errx(err, EOPNOTSUPP, "--ephemeral: %s cannot hold a session layer (%s)",
			   s->upper,
			   sf.f_type == OVERLAYFS_SUPER_MAGIC ? "it is on overlayfs"
							      : "no user extended attributes");
		hutch_err_hint(err, "point XDG_STATE_HOME to a directory on ext4, xfs, btrfs or "
				    "tmpfs (Linux >= 6.6)");
		return -EOPNOTSUPP;
	}
	(void)removexattr(s->upper, "user.hutch.probe");
	return 0;
}

int hutch_session_set_root(hutch_session *s, hutch_error *err)
{
	if (s->root)
		return 0;
	s->root = true;
	return save_meta(s, err);
}

bool hutch_session_is_root(const hutch_session *s)
{
	return s->root;
}

/* --ephemeral=root: the root layer (made on the first run) and its directory. */
static int root_begin(hutch_session *s, char **root_layer, hutch_error *err)
{
	/* As the host's root, the sandbox's root owns what it writes to: no skeleton needed. */
	int r = hutch_rootlayer_make(s->dir, geteuid() != 0, err);

	if (r == 0)
		r = hutch_rootlayer_prepare(s->dir, err);
	if (r < 0)
		return r;
	*root_layer = hutch_path_join(s->dir, "root");
	return *root_layer ? 0 : -ENOMEM;
}

int hutch_session_run_begin(hutch_session *s, const struct hutch_policy *p, char **overlay,
			    char **root_layer, hutch_error *err)
{
	char *spec = NULL;
	int r;

	*root_layer = NULL;
	if (strcmp(s->kind ? s->kind : "", "ephemeral"))
		return hutch_errx(err, EINVAL, "session %s is not ephemeral", s->id);
	if (strcmp(s->workspace, p->workspace)) {
		hutch_errx(err, EINVAL, "session %s belongs to workspace %s, not %s", s->id,
			   s->workspace, p->workspace);
		hutch_err_hint(err, "run it with -C %s", s->workspace);
		return -EINVAL;
	}
	if (bad_overlay_path(s->workspace) || bad_overlay_path(s->upper))
		return hutch_errx(err, EINVAL,
				  "--ephemeral: paths with ':', ',', '\\' or a newline cannot be "
				  "overlay layers: %s",
				  bad_overlay_path(s->workspace) ? s->workspace : s->upper);
	r = check_upper_fs(s, err);
	if (r < 0)
		return r;
	r = hutch_session_lock(s, err);
	if (r < 0)
		return r;
	hutch_session_clear_placeholders(s);
	if (s->root && (r = root_begin(s, root_layer, err)) < 0)
		goto fail;
	s->pid = (long)getpid();
	r = hutch_session_set_state(s, "running", err);
	if (r < 0)
		goto fail;
	r = start_snapshot(s, err);
	if (r < 0)
		goto fail;
	if (asprintf(&spec, "%s\n%s\n%s", s->workspace, s->upper, s->work) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	*overlay = spec;
	return 0;
fail:
	free(*root_layer);
	*root_layer = NULL;
	hutch_session_unlock(s);
	return r;
}

static int append_line(int fd, char kind, const char *rel)
{
	char esc[PATH_MAX * 3 + 4];
	size_t n;
	int r;

	esc[0] = kind;
	esc[1] = ' ';
	r = hutch_path_escape(rel, esc + 2, sizeof(esc) - 3);
	if (r < 0)
		return r;
	n = strlen(esc);
	esc[n++] = '\n';
	return hutch_write_all(fd, esc, n);
}

/* Create directory @rel in the layer (parents with the workspace's attributes), recorded. */
static int make_placeholder(hutch_session *s, int ufd, int lfd, int jfd, const char *rel)
{
	char buf[PATH_MAX];
	size_t len = strlen(rel);
	struct stat st;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, rel, len + 1);
	for (char *c = buf;; c++) {
		bool last = *c == '\0';
		if (*c != '/' && !last)
			continue;
		*c = '\0';
		if (fstatat(ufd, buf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!S_ISDIR(st.st_mode))
				return 0; /* the layer has something else there: nothing to hold */
			if (last)
				return 0; /* exists in the layer already: the mount covers it */
		} else if (errno == ENOENT) {
			struct stat lst;
			bool have_lower = fstatat(lfd, buf, &lst, AT_SYMLINK_NOFOLLOW) == 0;
			int r;

			if (!last && (!have_lower || !S_ISDIR(lst.st_mode)))
				return 0;
			r = append_line(jfd, last ? 'd' : 'p', buf);
			if (r < 0)
				return r;
			if (mkdirat(ufd, buf, last ? 0755 : (lst.st_mode & 07777)) < 0)
				return -errno;
			if (!last) {
				struct timespec ts[2] = {lst.st_atim, lst.st_mtim};
				(void)utimensat(ufd, buf, ts, AT_SYMLINK_NOFOLLOW);
			}
		} else {
			return -errno;
		}
		if (last)
			return 0;
		*c = '/';
	}
}

int hutch_session_placeholders(hutch_session *s, char **paths, size_t *n, hutch_error *err)
{
	_cleanup_close_ int ufd = -1, lfd = -1, jfd = -1, dfd = -1;
	size_t wl = strlen(s->workspace), keep = 0;
	int r = 0;

	ufd = open(s->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	lfd = open(s->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ufd < 0 || lfd < 0 || dfd < 0)
		return hutch_err(err, errno, "session %s: opening its layer", s->id);
	for (size_t i = 0; i < *n; i++) {
		const char *p = paths[i];
		if (r >= 0 && hutch_path_has_prefix(p, s->workspace) && strcmp(p, s->workspace)) {
			if (jfd < 0) {
				jfd = openat(dfd, "placeholders",
					     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
					     0600);
				if (jfd < 0)
					r = -errno;
			}
			if (r >= 0)
				r = make_placeholder(s, ufd, lfd, jfd, p + wl + 1);
			if (r < 0)
				hutch_err(err, r, "session %s: placeholder for %s", s->id, p);
			free(paths[i]);
		} else {
			paths[keep++] = paths[i];
		}
	}
	*n = keep;
	if (r >= 0)
		r = load_placeholders(s);
	return r;
}

bool hutch_session_layer_empty(const hutch_session *s)
{
	_cleanup_closedir_ DIR *d = opendir(s->upper);
	struct dirent *de;

	if (!d)
		return false;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			return false;
	return true;
}

void hutch_session_run_end(hutch_session *s)
{
	if (!s || s->lock_fd < 0)
		return; /* run_begin did not get that far: the layer is someone else's */
	hutch_session_clear_placeholders(s);
	if (s->snap_pid > 0 && hutch_session_layer_empty(s)) {
		/* nothing in the layer, nothing to conflict: the next run takes the snapshot */
		_cleanup_close_ int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		kill(s->snap_pid, SIGKILL);
		while (waitpid(s->snap_pid, NULL, 0) < 0 && errno == EINTR)
			;
		s->snap_pid = 0;
		if (dfd >= 0)
			(void)unlinkat(dfd, "snapshot.tmp", 0);
	}
	if (s->snap_pid > 0) {
		int st;
		while (waitpid(s->snap_pid, &st, 0) < 0 && errno == EINTR)
			;
		s->snap_pid = 0;
	}
	if (s->lock_fd >= 0) {
		s->pid = 0;
		(void)hutch_session_set_state(s, "stopped", NULL);
		hutch_session_unlock(s);
	}
}

/* ---- fork ---------------------------------------------------------------- */

static int copy_xattrs(int sfd, int dfd)
{
	char names[16384];
	ssize_t n = flistxattr(sfd, names, sizeof(names));

	if (n < 0)
		return errno == ENOTSUP ? 0 : -errno;
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(names + off) + 1) {
		const char *name = names + off;
		char val[65536];
		ssize_t vl;

		if (strncmp(name, "user.", 5))
			continue; /* overlay's own (user.overlay.*) and the agent's */
		vl = fgetxattr(sfd, name, val, sizeof(val));
		if (vl < 0)
			continue;
		if (fsetxattr(dfd, name, val, (size_t)vl, 0) < 0)
			return -errno;
	}
	return 0;
}

/* As the host's root, a root layer holds files of any owner: keep them (before the mode). */
static int copy_owner(int dfd, const char *name, const struct stat *st, bool owners)
{
	if (!owners)
		return 0;
	return fchownat(dfd, name ? name : "", st->st_uid, st->st_gid,
			name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH) < 0
		       ? -errno
		       : 0;
}

static int copy_tree(int sdir, int ddir, int depth, bool owners)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = dup(sdir), r = 0;

	if (depth > HUTCH_SESSION_MAX_DEPTH)
		return -ELOOP;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (r >= 0 && (de = readdir(d))) {
		const char *nm = de->d_name;
		struct stat st;
		struct timespec ts[2];

		if (!strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		if (fstatat(sdir, nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		ts[0] = st.st_atim;
		ts[1] = st.st_mtim;
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int s2 = -1, d2 = -1;
			if (mkdirat(ddir, nm, 0700) < 0)
				return -errno;
			s2 = openat(sdir, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			d2 = openat(ddir, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0)
				return -errno;
			r = copy_tree(s2, d2, depth + 1, owners);
			if (r >= 0)
				r = copy_xattrs(s2, d2);
			if (r >= 0)
				r = copy_owner(d2, NULL, &st, owners);
			if (r >= 0 && fchmod(d2, st.st_mode & 07777) < 0)
				r = -errno;
			if (r >= 0)
				(void)futimens(d2, ts);
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int in = -1, out = -1;
			in = openat(sdir, nm, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			out = openat(ddir, nm, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				     0600);
			if (in < 0 || out < 0)
				return -errno;
			r = hutch_copy_data(in, out);
			if (r >= 0)
				r = copy_xattrs(in, out);
			if (r >= 0)
				r = copy_owner(out, NULL, &st, owners);
			if (r >= 0 && fchmod(out, st.st_mode & 07777) < 0)
				r = -errno;
			if (r >= 0)
				(void)futimens(out, ts);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(sdir, nm, target, sizeof(target) - 1);
			if (n < 0)
				return -errno;
			target[n] = '\0';
			if (symlinkat(target, ddir, nm) < 0)
				return -errno;
			r = copy_owner(ddir, nm, &st, owners);
			(void)utimensat(ddir, nm, ts, AT_SYMLINK_NOFOLLOW);
		} else if (is_whiteout(&st)) {
			/* unprivileged whiteouts are allowed since Linux 5.8 */
			if (mknodat(ddir, nm, S_IFCHR | 0, makedev(0, 0)) < 0)
				return -errno;
		} else if (S_ISFIFO(st.st_mode)) {
			if (mknodat(ddir, nm, S_IFIFO | (st.st_mode & 0777), 0) < 0)
				return -errno;
			r = copy_owner(ddir, nm, &st, owners);
		}
		/* sockets and device nodes cannot be part of a layer made inside: skipped */
	}
	return r;
}

static int copy_file_at(int sfd, int dfd, const char *name)
{
	_cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1;

	if (in < 0)
		return errno == ENOENT ? 0 : -errno;
	out = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	return hutch_copy_data(in, out);
}

/*
 * The root layer (--ephemeral=root): its upper directory with owners, modes,
 * times and overlay xattrs; an empty work directory (hutch_rootlayer_prepare
 * fills it at the next run). Made as root.tmp and renamed, like the original.
 */
static int fork_root_layer(int sdir, int ddir)
{
	_cleanup_close_ int sroot = -1, dtmp = -1, su = -1, du = -1;
	struct stat st;
	int r;

	sroot = openat(sdir, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sroot < 0)
		return errno == ENOENT ? 0 : -errno; /* never run yet: made at the first run */
	if (mkdirat(ddir, "root.tmp", 0700) < 0)
		return -errno;
	dtmp = openat(ddir, "root.tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dtmp < 0 || mkdirat(dtmp, "upper", 0700) < 0 || mkdirat(dtmp, "work", 0700) < 0)
		return -errno;
	su = openat(sroot, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	du = openat(dtmp, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (su < 0 || du < 0)
		return -errno;
	/* the stamp first: everything copied counts as written after it (the layer has changes) */
	r = copy_file_at(sroot, dtmp, "stamp");
	if (r >= 0)
		r = copy_tree(su, du, 0, geteuid() == 0);
	if (r >= 0 && fstat(su, &st) == 0)
		(void)fchmod(du, st.st_mode & 07777);
	if (r >= 0 && renameat(ddir, "root.tmp", ddir, "root") < 0)
		r = -errno;
	return r;
}

int hutch_session_fork(hutch_session *src, const char *new_id, hutch_session **out,
		       hutch_error *err)
{
	_cleanup_close_ int sdir = -1, ddir = -1, su = -1, du = -1;
	hutch_session *s = NULL;
	int r;

	r = make_session_dir(new_id, src->workspace, &s, err);
	if (r < 0 || !s)
		return r < 0 ? r : -ENOMEM;
	s->parent = strdup(src->id);
	s->baseline_ns = src->baseline_ns; /* the layer's changes date from the origin's start */
	s->protected_rel = calloc(src->n_protected_rel + 1, sizeof(char *));
	s->protected_anchored = calloc(src->n_protected_anchored + 1, sizeof(char *));
	r = (!s->parent || !s->protected_rel || !s->protected_anchored) ? -ENOMEM : 0;
	for (size_t i = 0; r >= 0 && i < src->n_protected_rel; i++)
		if (!(s->protected_rel[s->n_protected_rel++] = strdup(src->protected_rel[i])))
			r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < src->n_protected_anchored; i++)
		if (!(s->protected_anchored[s->n_protected_anchored++] =
			      strdup(src->protected_anchored[i])))
			r = -ENOMEM;
	if (r < 0) {
		hutch_err(err, r, "fork");
		goto fail;
	}
	free(s->state);
	s->state = strdup("stopped");
	sdir = open(src->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ddir = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	su = open(src->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	du = open(s->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sdir < 0 || ddir < 0 || su < 0 || du < 0) {
		r = hutch_err(err, errno, "fork %s: opening the layers", src->id);
		goto fail;
	}
	r = copy_file_at(sdir, ddir, "snapshot");
	if (r >= 0)
		r = copy_file_at(sdir, ddir, "applied");
	if (r >= 0)
		r = copy_file_at(sdir, ddir, "placeholders");
	if (r >= 0)
		r = copy_tree(su, du, 0, false);
	if (r >= 0) {
		struct stat st;
		if (fstat(su, &st) == 0) {
			struct timespec ts[2] = {st.st_atim, st.st_mtim};
			(void)fchmod(du, st.st_mode & 07777);
			(void)copy_xattrs(su, du);
			(void)futimens(du, ts);
		}
	}
	if (r < 0) {
		hutch_err(err, r, "fork %s: copying its layer", src->id);
		goto fail;
	}
	if (src->root) {
		r = fork_root_layer(sdir, ddir);
		if (r < 0) {
			hutch_err(err, r, "fork %s: copying its root layer", src->id);
			goto fail;
		}
		s->root = true;
	}
	r = save_meta(s, err);
	if (r < 0)
		goto fail;
	r = load_placeholders(s);
	if (r < 0) {
		hutch_err(err, r, "fork: placeholders");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	hutch_remove_tree(AT_FDCWD, s->dir);
	hutch_session_free(s);
	return r;
}

/* ---- listing ------------------------------------------------------------- */

static uint64_t tree_size(int dfd, int depth, size_t *budget)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	uint64_t total = 0;
	int fd;

	if (depth > HUTCH_SESSION_MAX_DEPTH)
		return 0;
	fd = dup(dfd);
	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) && *budget > 0) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		(*budget)--;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		total += (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int c = openat(
				dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (c >= 0)
				total += tree_size(c, depth + 1, budget);
		}
	}
	return total;
}

static int info_add(struct hutch_session_info **v, size_t *n, size_t *cap)
{
	if (*n >= MAX_LIST * 2)
		return -E2BIG;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct hutch_session_info *nv = realloc(*v, c * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	(*n)++;
	return 0;
}

static int list_named(struct hutch_session_info **v, size_t *n, size_t *cap)
{
	_cleanup_free_ char *base = hutch_named_dir();
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	if (!base)
		return 0;
	d = opendir(base);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct hutch_session_info *i;
		_cleanup_free_ char *dir = NULL, *text = NULL;
		_cleanup_close_ int dfd = -1;
		struct stat st;
		int fd;

		if (de->d_name[0] == '.' || hutch_named_check_name(de->d_name, NULL) < 0)
			continue;
		r = info_add(v, n, cap);
		if (r < 0)
			return r;
		i = &(*v)[*n - 1];
		snprintf(i->id, sizeof(i->id), "%s", de->d_name);
		snprintf(i->kind, sizeof(i->kind), "named");
		fd = hutch_named_connect(de->d_name, NULL);
		snprintf(i->state, sizeof(i->state), "%s", fd >= 0 ? "running" : "stale");
		if (fd >= 0)
			close(fd);
		dir = hutch_path_join(base, de->d_name);
		dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		if (dfd >= 0 && fstat(dfd, &st) == 0)
			i->created = (int64_t)st.st_mtim.tv_sec;
		if (dfd >= 0 && hutch_read_file_at(dfd, "meta.json", HUTCH_SESSION_MAX_META, &text,
						   NULL) >= 0) {
			json_t *o = json_loads(text, 0, NULL);
			if (json_is_object(o)) {
				i->workspace = json_str(o, "workspace");
				if (json_int(o, "createdNs"))
					i->created = json_int(o, "createdNs") / 1000000000LL;
			}
			json_decref(o);
		}
	}
	return 0;
}

int hutch_session_list(struct hutch_session_info **out, size_t *n_out, hutch_error *err)
{
	_cleanup_free_ char *base = hutch_sessions_dir();
	struct hutch_session_info *v = NULL;
	size_t n = 0, cap = 0, nids = 0;
	char **ids = NULL;
	int r;

	*out = NULL;
	*n_out = 0;
	if (!base)
		return hutch_errx(err, EINVAL,
				  "cannot find the state directory: neither XDG_STATE_HOME nor "
				  "HOME is set");
	r = list_ids(base, &ids, &nids);
	if (r < 0)
		return hutch_err(err, r, "listing %s", base);
	for (size_t k = 0; k < nids; k++) {
		hutch_session *s = NULL;
		struct hutch_session_info *i;
		_cleanup_close_ int ufd = -1;
		size_t budget = SIZE_WALK_MAX;

		if (open_exact(base, ids[k], &s, NULL) < 0)
			continue;
		r = info_add(&v, &n, &cap);
		if (r < 0) {
			hutch_session_free(s);
			break;
		}
		i = &v[n - 1];
		snprintf(i->id, sizeof(i->id), "%s", s->id);
		snprintf(i->kind, sizeof(i->kind), "%s", s->kind ? s->kind : "ephemeral");
		snprintf(i->state, sizeof(i->state), "%s", hutch_session_state(s));
		i->workspace = strdup(s->workspace);
		i->parent = s->parent ? strdup(s->parent) : NULL;
		i->created = s->created_ns / 1000000000LL;
		ufd = open(s->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (ufd >= 0)
			i->size = tree_size(ufd, 0, &budget);
		i->root = s->root;
		if (s->root) {
			_cleanup_free_ char *ru = hutch_path_join(s->dir, "root/upper");
			_cleanup_close_ int rfd =
				ru ? open(ru, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
			if (rfd >= 0)
				i->size += tree_size(rfd, 0, &budget);
		}
		hutch_session_free(s);
	}
	strv_free(ids, nids);
	if (r >= 0)
		r = list_named(&v, &n, &cap);
	if (r < 0) {
		hutch_session_list_free(v, n);
		return hutch_err(err, r, "listing sessions");
	}
	*out = v;
	*n_out = n;
	return 0;
}

void hutch_session_list_free(struct hutch_session_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].workspace);
		free(v[i].parent);
	}
	free(v);
}
