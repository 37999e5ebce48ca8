/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Agent state files the agent must write (agentstate.h). Claude Code keeps
 * its global state in ~/.claude.json and saves it through a lock directory
 * and a temporary file renamed over it, next to it: in $HOME, which is
 * read-only in the sandbox. The claude-code profile sets
 * CLAUDE_CONFIG_DIR=~/.claude, so Claude Code keeps that file as
 * ~/.claude/.claude.json instead (the rest of its configuration directory is
 * ~/.claude either way). That file is a working copy: made from the host's
 * ~/.claude.json before the run, written freely inside, and merged back key
 * by key at the end: login state, onboarding and trust flags, history and
 * tips go back; what could start programs or change the agent's permissions
 * (MCP servers, hooks, the status line, helpers, allowed tools, ...) keeps
 * the host's value and is reported.
 *
 * Every file operation is relative to a directory opened without following
 * symlinks; files are opened O_NOFOLLOW and must be regular files.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/agentstate-int.h"
#include "policy/agentstate.h"
#include "base/atomic.h"
#include "base/cleanup.h"
#include "base/file.h"
#include "base/path.h"
#include "base/statedir.h"

#define STATE_MAX_BYTES (64u * 1024u * 1024u)
#define CLAUDE_STATE ".claude.json"
#define MAX_MEMORY_DIRS 1024	/* protected at start-up */
#define MAX_MEMORY_LISTED 65536 /* compared at the end */
#define QUARANTINED_MEMORY "memory.quarantined-by-hutch"

struct hutch_agentstate {
	int home_fd;	  /* $HOME */
	int dir_fd;	  /* ~/.claude, where the working copy is */
	char *workspace;  /* trust flags are carried back for it (and below it) only */
	bool host_exists; /* ~/.claude.json existed before the run */
	char **memory;	  /* ~/.claude/projects/<name> with a memory directory before the run */
	size_t n_memory;
	struct hutch_codex_state *codex;   /* agentstate-codex.c */
	struct hutch_gemini_state *gemini; /* agentstate-gemini.c */
	/* runs at once share the working copies (see "Runs at once" below) */
	int users_fd; /* held LOCK_SH for the run's whole life */
	char *lock_dir;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names under ~/.claude/projects that have a "memory" entry, sorted. */
static char **memory_dirs(int dir_fd, size_t *n)
{
	int fd = openat(dir_fd, "projects", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **v = calloc(1, sizeof(char *));
	struct dirent *de;

	*n = 0;
	if (!d && fd >= 0)
		close(fd);
	while (v && d && (de = readdir(d)) && *n < MAX_MEMORY_LISTED) {
		struct stat st;
		char **nv;
		char sub[NAME_MAX + 8];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/memory", de->d_name);
		if (fstatat(dirfd(d), sub, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		nv = realloc(v, (*n + 2) * sizeof(char *));
		if (!nv)
			break;
		v = nv;
		v[*n] = strdup(de->d_name);
		if (v[*n])
			v[++*n] = NULL;
	}
	if (d)
		closedir(d);
	if (v)
		qsort(v, *n, sizeof(char *), cmp_str);
	return v;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* ---- which keys go back ---------------------------------------------------------------- */

enum key_class { KEY_SAFE, KEY_TRUST, KEY_REFUSED };

/*
 * Keys carried back although their names look like one of the patterns
 * below: login state, dialogs seen, counters. bypassPermissionsModeAccepted
 * records that the warning for --dangerously-skip-permissions was shown; it
 * grants nothing without that flag.
 */
static const char *const claude_safe[] = {
	"oauthAccount",
	"primaryApiKey",
	"customApiKeyResponses",
	"bypassPermissionsModeAccepted",
	"hasCompletedOnboarding",
	"promptQueueUseCount",
	"memoryUsageCount",
	"skillUsage",
	"toolUsage",
	"hasSeenTasksHint",
	"shiftEnterKeyBindingInstalled",
	"hasUsedBackslashReturn",
	NULL,
};

/*
 * Keys that can make Claude Code start programs, connect to servers, load
 * instructions or skip permission prompts, at the top level or under
 * projects.<path> (docs/profiles.md lists them with their meaning).
 */
static const char *const claude_refused[] = {
	"mcpServers",
	"enabledMcpjsonServers",
	"disabledMcpjsonServers",
	"enableAllProjectMcpServers",
	"mcpContextUris",
	"hooks",
	"statusLine",
	"apiKeyHelper",
	"awsAuthRefresh",
	"awsCredentialExport",
	"otelHeadersHelper",
	"env",
	"permissions",
	"allowedTools",
	"disallowedTools",
	"additionalDirectories",
	"hasClaudeMdExternalIncludesApproved",
	"enabledPlugins",
	"extraKnownMarketplaces",
	"forceLoginMethod",
	"forceLoginOrgUUID",
	NULL,
};

/*
 * Any other key whose name contains one of these (case-insensitive) is
 * refused too: a future setting that runs something most likely says so in
 * its name. Everything else is state (counters, caches, dialogs seen).
 */
static const char *const claude_refused_parts[] = {
	"mcp",	   "hook",   "helper", "command", "cmd",	"env",	  "permission",
	"allowed", "tool",   "plugin", "market",  "statusline", "script", "exec",
	"shell",   "skill",  "agent",  "instruc", "prompt",	"url",	  "endpoint",
	"proxy",   "server", "dir",    "path",	  "approv",	"bypass", "sandbox",
	"include", "import", "login",  "apikey",  "auth",	NULL,
};

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

bool hutch_as_dir_there(int dir_fd, const char *name)
{
	struct stat st;

	return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

bool hutch_as_contains_ci(const char *s, const char *part)
{
	size_t n = strlen(part);

	for (; *s; s++)
		if (strncasecmp(s, part, n) == 0)
			return true;
	return false;
}

/*
 * Claude Code's bookkeeping of its own attempt to add its official plugin
 * marketplace (counts, times, a flag): state, not the marketplace, which
 * lives in ~/.claude/plugins (protected). Kept from "market" below, so it is
 * carried back and the attempt is not repeated at every launch.
 */
#define CLAUDE_MARKETPLACE_BOOKKEEPING "officialMarketplaceAutoInstall"

static enum key_class classify(const char *key, bool project)
{
	if (project && !strcmp(key, "hasTrustDialogAccepted"))
		return KEY_TRUST;
	if (in_list(claude_refused, key))
		return KEY_REFUSED;
	if (in_list(claude_safe, key) || (project && !strncmp(key, "last", 4)) ||
	    !strncmp(key, CLAUDE_MARKETPLACE_BOOKKEEPING, strlen(CLAUDE_MARKETPLACE_BOOKKEEPING)))
		return KEY_SAFE;
	for (const char *const *p = claude_refused_parts; *p; p++)
		if (hutch_as_contains_ci(key, *p))
			return KEY_REFUSED;
	return KEY_SAFE;
}

static void notef(hutch_agentstate_note_fn note, void *data, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void notef(hutch_agentstate_note_fn note, void *data, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	note(msg, data);
}

/* Printable, bounded form of a key for a message. */
static const char *shown(const char *key, char *buf, size_t size)
{
	size_t o = 0;

	for (; *key && o + 5 < size; key++)
		buf[o++] = isprint((unsigned char)*key) ? *key : '?';
	if (*key && o + 4 <= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static bool same(const json_t *a, const json_t *b)
{
	return (!a && !b) || (a && b && json_equal(a, b));
}

/* Is the project @path the workspace or inside it? */
static bool in_workspace(const char *path, const char *ws)
{
	return ws && hutch_path_has_prefix(path, ws);
}

/*
 * A refused key that the sandbox only set to an empty default ([], {}, false,
 * null, "", 0) where the host had none: Claude Code writes these for every new
 * project. Not carried back either, but nothing worth a warning.
 */
static bool empty_default(const json_t *old, const json_t *v)
{
	if (old)
		return false;
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return true;
	case JSON_ARRAY:
		return json_array_size(v) == 0;
	case JSON_OBJECT:
		return json_object_size(v) == 0;
	case JSON_STRING:
		return json_string_length(v) == 0;
	case JSON_INTEGER:
		return json_integer_value(v) == 0;
	default:
		return false;
	}
}

static int merge_project(json_t *host_projects, const char *path, json_t *in, const char *ws,
			 hutch_agentstate_note_fn note, void *data)
{
	json_t *hp = json_object_get(host_projects, path);
	const char *key;
	json_t *v;
	int changes = 0;
	char k1[96], k2[256];

	if (!json_is_object(in)) {
		if (!same(hp, in))
			notef(note, data, "projects[\"%s\"] (not an object)",
			      shown(path, k2, sizeof(k2)));
		return 0;
	}
	if (hp && !json_is_object(hp))
		return 0;
	json_object_foreach(in, key, v)
	{
		json_t *old = hp ? json_object_get(hp, key) : NULL;
		enum key_class c = classify(key, true);

		if (same(old, v))
			continue;
		if (c == KEY_REFUSED || (c == KEY_TRUST && !in_workspace(path, ws))) {
			if (!empty_default(old, v))
				notef(note, data, "projects[\"%s\"].%s",
				      shown(path, k2, sizeof(k2)), shown(key, k1, sizeof(k1)));
			continue;
		}
		if (!hp) {
			hp = json_object();
			if (!hp || json_object_set_new(host_projects, path, hp) < 0)
				return -ENOMEM;
		}
		if (json_object_set(hp, key, v) < 0)
			return -ENOMEM;
		changes++;
	}
	return changes;
}

int hutch_agentstate_merge_claude(json_t *host, const json_t *inside, const char *ws,
				  hutch_agentstate_note_fn note, void *data)
{
	const char *key;
	json_t *v;
	int changes = 0, r;
	char k1[96];

	if (!json_is_object(host) || !json_is_object(inside))
		return -EINVAL;
	/* json_object_foreach takes a non-const object; nothing is modified in @inside. */
	json_object_foreach((json_t *)inside, key, v)
	{
		json_t *old = json_object_get(host, key);

		if (!strcmp(key, "projects") && json_is_object(v) &&
		    (!old || json_is_object(old))) {
			const char *path;
			json_t *pv;

			if (!old) {
				old = json_object();
				if (!old || json_object_set_new(host, key, old) < 0)
					return -ENOMEM;
			}
			json_object_foreach(v, path, pv)
			{
				r = merge_project(old, path, pv, ws, note, data);
				if (r < 0)
					return r;
				changes += r;
			}
			continue;
		}
		if (same(old, v))
			continue;
		if (!strcmp(key, "projects") || classify(key, false) != KEY_SAFE) {
			if (!empty_default(old, v))
				notef(note, data, "%s", shown(key, k1, sizeof(k1)));
			continue;
		}
		if (json_object_set(host, key, v) < 0)
			return -ENOMEM;
		changes++;
	}
	return changes;
}

/* ---- files ------------------------------------------------------------------------------ */

/* Read regular file @name in @dirfd (no symlinks); -ENOENT when missing. */
int hutch_as_read_at(int dirfd, const char *name, char **out, size_t *len, mode_t *mode)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	char *buf;
	size_t n = 0;
	int r;

	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno; /* a symlink: not a regular file */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((unsigned long long)st.st_size > STATE_MAX_BYTES)
		return -EFBIG;
	r = hutch_read_fd(fd, STATE_MAX_BYTES, &buf, &n);
	if (r < 0)
		return r;
	*out = buf;
	*len = n;
	if (mode)
		*mode = st.st_mode & 07777;
	return 0;
}

/* Write @buf as @name in @dirfd: a new temporary file, then renamed over it. */
int hutch_as_write_at(int dirfd, const char *name, const char *buf, size_t len, const char *tail,
		      mode_t mode)
{
	_cleanup_free_ char *joined = NULL;
	size_t tl = tail ? strlen(tail) : 0;

	if (tl) {
		joined = malloc(len + tl);
		if (!joined)
			return -ENOMEM;
		memcpy(joined, buf, len);
		memcpy(joined + len, tail, tl);
		buf = joined;
	}
	return hutch_write_file_atomic_at(dirfd, name, buf, len + tl, mode);
}

/*
 * A working copy: written as hutch_as_write_at() does (a new temporary, no symlink
 * followed, renamed over @name), without its fsync. The copy lives for the runs
 * only and is made again from the host's file by the next first run, so a crash
 * cannot lose anything it holds that the host's file does not; the fsync cost
 * every run a disk flush (1-2 ms, more than the rest of the profile's set-up).
 */
int hutch_as_write_copy_at(int dirfd, const char *name, const char *buf, size_t len, mode_t mode)
{
	_cleanup_atomic_ struct hutch_atomic a = HUTCH_ATOMIC_INIT;
	int r = hutch_atomic_begin(&a, dirfd, name, NULL, mode);

	if (r >= 0)
		r = hutch_write_all(a.fd, buf, len);
	if (r >= 0 && fchmod(a.fd, mode) < 0)
		r = -errno;
	if (r >= 0)
		r = hutch_atomic_commit(&a, 0);
	return r;
}

#define AS_RM_MAX_DEPTH 16

/* Remove @name in @dirfd and everything beneath it, following no symlink. */
int hutch_as_rm_rf_at(int at, const char *name, int depth)
{
	int fd;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth > AS_RM_MAX_DEPTH)
		return -ELOOP;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (r == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = hutch_as_rm_rf_at(dirfd(d), de->d_name, depth + 1);
	closedir(d);
	if (r == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

bool hutch_as_is_home_path(const char *v, const char *home, const char *rel)
{
	size_t hl = strlen(home);

	if (v[0] == '~' && v[1] == '/')
		return !strcmp(v + 2, rel);
	return !strncmp(v, home, hl) && v[hl] == '/' && !strcmp(v + hl + 1, rel);
}

/*
 * Does this run keep Claude Code's state the claude-code profile's way:
 * ~/.claude writable and CLAUDE_CONFIG_DIR (its last setting) ~/.claude?
 * Not when a -e CLAUDE_CONFIG_DIR=... of the user's points elsewhere.
 */
bool hutch_as_uses_copy(const struct hutch_policy *p, const char *home, const char *var,
			const char *dir_rel, const char *writable_rel)
{
	size_t vl = strlen(var);
	const char *dir = NULL;
	bool writable = false;

	if (!p || !home)
		return false;
	for (size_t i = 0; i < p->env_set.n; i++)
		if (!strncmp(p->env_set.v[i].value, var, vl) && p->env_set.v[i].value[vl] == '=')
			dir = p->env_set.v[i].value + vl + 1;
	for (size_t i = 0; i < p->fs_writable.n; i++)
		writable = writable ||
			   hutch_as_is_home_path(p->fs_writable.v[i].value, home, writable_rel);
	return dir && writable && hutch_as_is_home_path(dir, home, dir_rel);
}

int hutch_as_link_up(int pfd, const char *name, const char *up)
{
	char target[NAME_MAX + 8];

	snprintf(target, sizeof(target), "%s%s", up, name);
	if (symlinkat(target, pfd, name) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int link_list(int pfd, const char *const *names, const char *up)
{
	int r = 0;

	for (size_t i = 0; r == 0 && names[i]; i++)
		r = hutch_as_link_up(pfd, names[i], up);
	return r;
}

int hutch_as_link_all(int dir_fd, int pfd, const char *up, bool (*own)(const char *name),
		      const char *const *dirs, const char *const *const *lists)
{
	struct dirent *de;
	int fd, r = 0;
	DIR *d;

	for (size_t i = 0; dirs[i]; i++)
		if (mkdirat(dir_fd, dirs[i], 0700) < 0 && errno != EEXIST)
			return -errno;
	fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while (r == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && !own(de->d_name))
			r = hutch_as_link_up(pfd, de->d_name, up);
	closedir(d);
	if (r == 0)
		r = link_list(pfd, dirs, up);
	for (size_t i = 0; r == 0 && lists[i]; i++)
		r = link_list(pfd, lists[i], up);
	return r;
}

static bool is_claude(const struct hutch_policy *p, const char *home)
{
	return hutch_as_uses_copy(p, home, "CLAUDE_CONFIG_DIR", ".claude", ".claude");
}

/*
 * Claude Code's name for a project's directory under ~/.claude/projects:
 * the path with every character other than a letter or digit replaced by "-".
 */
static char *claude_project_name(const char *path)
{
	char *s = strdup(path);

	for (char *c = s; c && *c; c++)
		if (!isalnum((unsigned char)*c))
			*c = '-';
	return s;
}

int hutch_agentstate_policy(struct hutch_policy *p, const char *home, const char *ws,
			    hutch_error *err)
{
	_cleanup_free_ char *projects = NULL, *real = NULL, *name = NULL, *own = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t n = 0;
	int r;

	if (!home || !*home)
		home = getenv("HOME");
	if (!home || home[0] != '/' || !is_claude(p, home))
		return 0;
	projects = hutch_path_join(home, ".claude/projects");
	/* -C DIR, else a policy's absolute "workspace", else the current directory. */
	if (!ws && p->workspace && p->workspace[0] == '/')
		ws = p->workspace;
	real = realpath(ws ? ws : ".", NULL);
	if (!projects)
		return hutch_err(err, ENOMEM, "profile claude-code");
	/*
	 * Auto-memory: ~/.claude/projects/<project>/memory/MEMORY.md is loaded
	 * into every later session as instructions. The workspace's own (also
	 * before it exists) and every existing project's are protected.
	 */
	if (real) {
		name = claude_project_name(real);
		if (!name || asprintf(&own, "%s/%s/memory", projects, name) < 0)
			return hutch_err(err, ENOMEM, "profile claude-code");
		r = hutch_policy_add(p, HUTCH_LIST_PROTECTED, own, "profile claude-code", err);
		if (r < 0)
			return r;
	}
	d = opendir(projects);
	while (d && (de = readdir(d)) && n < MAX_MEMORY_DIRS) {
		_cleanup_free_ char *mem = NULL;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&mem, "%s/%s/memory", projects, de->d_name) < 0)
			return hutch_err(err, ENOMEM, "profile claude-code");
		if ((own && !strcmp(mem, own)) || lstat(mem, &st) < 0)
			continue;
		r = hutch_policy_add(p, HUTCH_LIST_PROTECTED, mem, "profile claude-code", err);
		if (r < 0)
			return r;
		n++;
	}
	return 0;
}

void hutch_agentstate_free(hutch_agentstate *s)
{
	if (!s)
		return;
	if (s->home_fd >= 0)
		close(s->home_fd);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	if (s->users_fd >= 0)
		close(s->users_fd);
	free(s->lock_dir);
	free(s->workspace);
	free_strv(s->memory);
	hutch_codex_state_free(s->codex);
	hutch_gemini_state_free(s->gemini);
	free(s);
}

/*
 * The working copy puts ~/.claude.json's content where the sandbox reads it:
 * refused when a policy hides that file by name, or the system policy hides
 * it or a directory above it (a user's "strict" hiding all of $HOME is the
 * user's own choice together with this profile).
 */
static int check_not_hidden(const struct hutch_policy *p, const char *home, hutch_error *err)
{
	_cleanup_free_ char *file = hutch_path_join(home, CLAUDE_STATE);

	if (!file)
		return hutch_err(err, ENOMEM, "profile claude-code");
	for (size_t i = 0; i < p->fs_hidden.n; i++) {
		const struct hutch_rule *h = &p->fs_hidden.v[i];

		if (strcmp(h->value, file) && !(h->locked && hutch_path_has_prefix(file, h->value)))
			continue;
		hutch_errx(
			err, EPERM,
			"profile claude-code: %s is hidden (%s), but the profile gives Claude Code "
			"a copy of it in ~/.claude",
			h->value, h->origin ? h->origin : "policy");
		hutch_err_hint(err, "remove the hidden entry, or do not use --profile claude-code");
		return -EPERM;
	}
	return 0;
}

/* Claude Code: the working copy of ~/.claude.json in ~/.claude. */
static int begin_claude(hutch_agentstate *s, const struct hutch_policy *p, const char *home,
			bool join, hutch_error *err)
{
	struct stat st;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	s->workspace = p->workspace ? strdup(p->workspace) : NULL;
	s->home_fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->home_fd < 0)
		return hutch_err(err, errno, "profile claude-code: %s", home);
	s->dir_fd = openat(s->home_fd, ".claude", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dir_fd < 0)
		return hutch_err(err, errno, "profile claude-code: its state directory %s/.claude",
				 home);
	/*
	 * The workspace's project directory must exist for the read-only stand-in
	 * of its memory to be put there (hutch_agentstate_policy protects it).
	 */
	if (s->workspace) {
		_cleanup_free_ char *name = claude_project_name(s->workspace), *dir = NULL;

		if (!name || asprintf(&dir, "%s/.claude/projects/%s", home, name) < 0)
			return hutch_err(err, ENOMEM, "profile claude-code");
		r = hutch_mkdir_p(dir, 0700);
		if (r < 0)
			return hutch_err(err, -r, "profile claude-code: cannot create %s", dir);
	}
	s->memory = memory_dirs(s->dir_fd, &s->n_memory);
	/* another run's working copy: shared, as two Claude Codes share ~/.claude.json outside */
	if (join && fstatat(s->dir_fd, CLAUDE_STATE, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode)) {
		s->host_exists =
			faccessat(s->home_fd, CLAUDE_STATE, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		return 0;
	}
	r = hutch_as_read_at(s->home_fd, CLAUDE_STATE, &buf, &len, NULL);
	if (r == 0) {
		s->host_exists = true;
		r = hutch_as_write_copy_at(s->dir_fd, CLAUDE_STATE, buf, len, 0600);
	} else if (r == -ENOENT) {
		/* No state yet: the agent starts from none (a stale working copy goes). */
		r = unlinkat(s->dir_fd, CLAUDE_STATE, 0) < 0 && errno != ENOENT ? -errno : 0;
	}
	if (r < 0) {
		hutch_err(err, -r,
			  "profile claude-code: cannot make the working copy of %s/" CLAUDE_STATE
			  " in %s/.claude",
			  home, home);
		hutch_err_hint(err, "check that both are regular files you own; or run without "
				    "--profile claude-code");
		return r;
	}
	return 0;
}

/*
 * Runs at once. The working copies are in the agents' state directories, at
 * fixed places the agents are told (CLAUDE_CONFIG_DIR, CODEX_HOME, ...): two
 * runs of one profile share them, as two agents share their files outside.
 * The first run makes them, the others join; each run carries back what it
 * may at its end, and the last one removes them. Who is first and last is
 * known from a file each run holds a shared lock on for its life
 * ($XDG_STATE_HOME/hutch/agents/users: out of every sandbox's reach, and a
 * killed run's lock goes with it); beginning and ending are serialised by an
 * exclusive lock on .../agents/lock, held for the moment they take.
 */
static int lock_runs(const char *dir, int *lock_fd, hutch_error *err)
{
	_cleanup_close_ int dfd = -1;
	int r = hutch_mkdir_p(dir, 0700);

	if (r < 0)
		return hutch_err(err, -r, "agent state: cannot create %s", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	*lock_fd =
		dfd < 0 ? -1 : openat(dfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*lock_fd < 0)
		return hutch_err(err, errno, "agent state: cannot open %s/lock", dir);
	while (flock(*lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return hutch_err(err, errno, "agent state: cannot lock %s/lock", dir);
	return 0;
}

/* The run's share of .../users (LOCK_SH from now on); *first: no other run holds one. */
static int join_runs(const char *dir, bool *first, hutch_error *err)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int fd = dfd < 0 ? -1
			 : openat(dfd, "users", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return hutch_err(err, errno, "agent state: cannot open %s/users", dir);
	*first = flock(fd, LOCK_EX | LOCK_NB) == 0;
	/* compatible with the others' shared locks: no wait (they change under lock only) */
	if (flock(fd, LOCK_SH) < 0) {
		int r = hutch_err(err, errno, "agent state: cannot lock %s/users", dir);
		close(fd);
		return r;
	}
	return fd;
}

int hutch_agentstate_begin(const struct hutch_policy *p, const char *home, hutch_agentstate **out,
			   hutch_error *err)
{
	hutch_agentstate *s;
	_cleanup_close_ int lock_fd = -1;
	bool claude, first = true;
	int r;

	*out = NULL;
	if (!home || !*home)
		home = getenv("HOME");
	if (!p || !home || home[0] != '/')
		return 0;
	claude = is_claude(p, home);
	if (claude) {
		r = check_not_hidden(p, home, err);
		if (r < 0)
			return r;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return hutch_err(err, ENOMEM, "agent state");
	s->home_fd = s->dir_fd = s->users_fd = -1;
	r = 0;
	if (claude || hutch_codex_state_wanted(p, home) || hutch_gemini_state_wanted(p, home)) {
		s->lock_dir = hutch_state_dir("agents");
		r = s->lock_dir ? lock_runs(s->lock_dir, &lock_fd, err)
				: hutch_errx(err, EINVAL,
					     "agent state: no state directory "
					     "($XDG_STATE_HOME or $HOME)");
		if (r >= 0)
			r = s->users_fd = join_runs(s->lock_dir, &first, err);
	}
	if (r >= 0)
		r = claude ? begin_claude(s, p, home, !first, err) : 0;
	if (r >= 0)
		r = hutch_codex_state_begin(p, home, !first, &s->codex, err);
	if (r >= 0)
		r = hutch_gemini_state_begin(p, home, !first, &s->gemini, err);
	if (r < 0 || (!claude && !s->codex && !s->gemini)) {
		hutch_agentstate_free(s);
		return r < 0 ? r : 0;
	}
	*out = s;
	return 0;
}

static void refused(const char *what, void *data)
{
	void **cb = data;
	hutch_agentstate_note_fn note = (hutch_agentstate_note_fn)cb[0];
	char msg[600];

	snprintf(msg, sizeof(msg),
		 "~/" CLAUDE_STATE ": %s was changed in the sandbox and not carried back (it "
		 "could run code, change Claude Code's permissions or trust a folder outside "
		 "the workspace; the host's value stays)",
		 what);
	note(msg, cb[1]);
}

/*
 * Whether @name under @dir_fd could give Claude Code anything to load: all
 * but an empty directory (a link, a file or a directory with entries; an
 * empty one is also what another run's read-only stand-in looks like).
 */
static bool memory_has_content(int dir_fd, const char *name)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	bool any = false;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return errno != ENOENT;
	}
	while (!any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return any;
}

/*
 * Move ~/.claude/projects/@name/memory aside, in its own directory (opened
 * without following links, so a planted link moves only itself), to
 * "memory.quarantined-by-hutch", ".1" to ".99", then a random suffix: the
 * sandbox could have taken every name it can guess. The name goes to @aside.
 */
static int move_memory_aside(int projects_fd, const char *name, char *aside, size_t size)
{
	_cleanup_close_ int fd =
		openat(projects_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (int i = 0; i < 116; i++) {
		uint64_t rnd = 0;

		if (i == 0)
			snprintf(aside, size, "%s", QUARANTINED_MEMORY);
		else if (i < 100)
			snprintf(aside, size, QUARANTINED_MEMORY ".%d", i);
		else if (getrandom(&rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd))
			snprintf(aside, size, QUARANTINED_MEMORY ".%016llx",
				 (unsigned long long)rnd);
		else
			return -1;
		if (renameat2(fd, "memory", fd, aside, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/*
 * Auto-memory of a project that had none before the run: the existing ones
 * and the workspace's are protected, one made for another project from
 * inside is not (its name is not known in advance). Claude Code would load it
 * as instructions at its next start in that project, so it is moved aside,
 * and the user told where it is and how to put it back.
 */
static void quarantine_new_memory(const hutch_agentstate *s, hutch_agentstate_note_fn note,
				  void *data)
{
	size_t n = 0;
	char **now = memory_dirs(s->dir_fd, &n);
	int projects_fd =
		openat(s->dir_fd, "projects", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char shown_name[256], aside[64];

	for (size_t i = 0; now && now[i] && projects_fd >= 0; i++) {
		_cleanup_free_ char *rel = NULL;
		bool old = s->memory &&
			   bsearch(&now[i], s->memory, s->n_memory, sizeof(char *), cmp_str);

		if (old || asprintf(&rel, "%s/memory", now[i]) < 0 ||
		    !memory_has_content(projects_fd, rel))
			continue;
		shown(now[i], shown_name, sizeof(shown_name));
		if (move_memory_aside(projects_fd, now[i], aside, sizeof(aside)) < 0) {
			notef(note, data,
			      "~/.claude/projects/%s/memory was created in the sandbox: Claude "
			      "Code "
			      "loads it as instructions in that project; it could not be moved "
			      "aside (%s): review or remove it",
			      shown_name, strerror(errno));
			continue;
		}
		notef(note, data,
		      "~/.claude/projects/%s/memory was created in the sandbox: Claude Code would "
		      "load it as instructions in that project; moved to "
		      "~/.claude/projects/%s/%s (review it; to keep it, rename it back to memory)",
		      shown_name, shown_name, aside);
	}
	if (projects_fd >= 0)
		close(projects_fd);
	free_strv(now);
}

static int end_claude(hutch_agentstate *s, bool last, hutch_agentstate_note_fn note, void *data,
		      hutch_error *err)
{
	_cleanup_free_ char *in_buf = NULL, *host_buf = NULL, *out = NULL;
	json_t *inside = NULL, *host = NULL;
	void *cb[2] = {(void *)note, data};
	json_error_t je;
	size_t len = 0;
	mode_t mode = 0600;
	int r, changes;

	quarantine_new_memory(s, note, data);
	r = hutch_as_read_at(s->dir_fd, CLAUDE_STATE, &in_buf, &len, NULL);
	if (r == -ENOENT)
		return 0;
	if (last)
		unlinkat(s->dir_fd, CLAUDE_STATE, 0);
	if (r < 0) {
		notef(note, data, "~/.claude/" CLAUDE_STATE ": not carried back: %s",
		      r == -EINVAL ? "not a regular file" : strerror(-r));
		return 0;
	}
	inside = json_loadb(in_buf, len, 0, &je);
	if (!json_is_object(inside)) {
		notef(note, data,
		      "~/.claude/" CLAUDE_STATE ": not carried back: not a JSON object");
		json_decref(inside);
		return 0;
	}
	r = hutch_as_read_at(s->home_fd, CLAUDE_STATE, &host_buf, &len, &mode);
	if (r == 0)
		host = json_loadb(host_buf, len, 0, &je);
	else if (r == -ENOENT)
		host = json_object();
	if (!json_is_object(host)) {
		notef(note, data,
		      "~/" CLAUDE_STATE ": the sandbox's changes are not carried back: the host's "
		      "file is %s",
		      r == -EINVAL ? "not a regular file"
		      : r < 0	   ? strerror(-r)
				   : "not a JSON object");
		json_decref(inside);
		json_decref(host);
		return 0;
	}
	changes = hutch_agentstate_merge_claude(host, inside, s->workspace, note ? refused : NULL,
						cb);
	if (changes > 0) {
		out = json_dumps(host, JSON_INDENT(2));
		r = out ? hutch_as_write_at(s->home_fd, CLAUDE_STATE, out, strlen(out), "\n", mode)
			: -ENOMEM;
	} else {
		r = changes;
	}
	json_decref(inside);
	json_decref(host);
	if (r < 0)
		return hutch_err(err, -r,
				 "profile claude-code: carrying the sandbox's state back into "
				 "~/" CLAUDE_STATE);
	return 0;
}

int hutch_agentstate_end(hutch_agentstate *s, hutch_agentstate_note_fn note, void *data,
			 hutch_error *err)
{
	_cleanup_close_ int lock_fd = -1;
	hutch_error lerr = {0};
	bool last = true;
	int r = 0, rc;

	if (!s)
		return 0;
	/*
	 * Under the lock: no run begins or ends meanwhile. Last: no other run holds
	 * its share of users (ours is given up by the attempt, whatever its result).
	 */
	if (s->users_fd >= 0) {
		r = lock_runs(s->lock_dir, &lock_fd, &lerr);
		if (r < 0) {
			if (err)
				*err = lerr;
			return r;
		}
		last = flock(s->users_fd, LOCK_EX | LOCK_NB) == 0;
	}
	if (s->dir_fd >= 0)
		r = end_claude(s, last, note, data, err);
	rc = hutch_codex_state_end(s->codex, last, note, data, r < 0 ? NULL : err);
	if (rc < 0 && r >= 0)
		r = rc;
	rc = hutch_gemini_state_end(s->gemini, last, note, data, r < 0 ? NULL : err);
	return r < 0 ? r : rc;
}
