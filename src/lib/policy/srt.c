/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Anthropic sandbox-runtime settings -> the hutch policy (see srt.h).
 *
 * The settings format is the one of sandbox-runtime's SandboxRuntimeConfig
 * (src/sandbox/sandbox-config.ts upstream): "network", "filesystem",
 * "credentials" and a few top-level switches. How each key maps is one
 * table below (srt_top, srt_network, ...):
 *
 *   network.allowedDomains   -> network.allow, mode "proxy" (empty: mode "none",
 *                               as in srt an empty list means no network)
 *   network.deniedDomains    -> network.deny ("*": mode "none")
 *   network.allowUnixSockets -> filesystem.sockets (that host socket only)
 *   filesystem.denyRead      -> filesystem.hidden
 *   filesystem.allowRead     -> filesystem.readOnly (re-exposed under a hidden dir)
 *   filesystem.allowWrite    -> filesystem.writable ("." is the workspace)
 *   filesystem.denyWrite     -> filesystem.protected
 *   credentials.files[deny]  -> filesystem.hidden
 *   credentials.envVars      -> env.drop (exact names)
 *
 * Everything else is reported in a note. hutch's own defaults (the profile:
 * secrets hidden, secret variables dropped, persistence paths protected)
 * still apply on top, so a mapped policy is never looser than the profile.
 *
 * Paths keep their srt spelling ("~/x", "./src" -> "src"): hutch resolves
 * relative paths against the workspace, which is the current directory
 * unless -C says otherwise, as srt resolves them against the current
 * directory.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/escape.h"
#include "policy/env.h"
#include "policy/json.h"
#include "policy/policy.h"
#include "policy/filter.h"
#include "policy/srt.h"

#define SRT_MAX_DEPTH 6
#define SRT_LOC_MAX (PATH_MAX + 32)

struct srt_op {
	bool is_list;
	int which; /* enum hutch_list or enum hutch_key */
	char *value;
	char *origin; /* "file:line:col" of the srt entry */
};

struct srt_note {
	char *text;
	bool weaker;
};

struct hutch_srt {
	struct srt_op *ops;
	size_t n_ops, cap_ops;
	struct srt_note *notes;
	size_t n_notes, n_weaker;
};

/* ---- the mapping, as tables ------------------------------------------------------------- */

enum srt_kind {
	SK_SCHEMA,     /* "$schema": a string, ignored */
	SK_SECTION,    /* an object with its own table */
	SK_PATHS,      /* an array of path strings, mapped by @act */
	SK_DOMAINS,    /* an array of host patterns, mapped by @act */
	SK_BOOL,       /* a boolean: a note when true (the default is false) */
	SK_BOOL_FALSE, /* a boolean: a note when false */
	SK_NOTE,       /* any value (of @type): always a note */
	SK_SILENT,     /* any value (of @type): honoured, nothing to map */
	SK_CRED_FILES, /* credentials.files */
	SK_CRED_ENV,   /* credentials.envVars */
};

enum srt_act {
	SA_NONE,
	SA_ALLOW_DOMAIN,
	SA_DENY_DOMAIN,
	SA_DENY_READ,
	SA_ALLOW_READ,
	SA_ALLOW_WRITE,
	SA_DENY_WRITE,
	SA_SOCKET,
};

enum srt_type { ST_ANY, ST_OBJECT, ST_ARRAY, ST_STRING, ST_BOOL, ST_INT };

#define N_WEAKER 1u /* hutch enforces less than srt would: refused unless allowed */

struct srt_section;

struct srt_key {
	const char *name;
	enum srt_kind kind;
	enum srt_type type; /* SK_NOTE / SK_SILENT */
	enum srt_act act;
	unsigned flags;
	const char *note; /* SK_BOOL*, SK_NOTE: why hutch does not honour it */
	const struct srt_section *sub;
};

struct srt_section {
	const char *name;
	const struct srt_key *keys;
	size_t n;
};

static const struct srt_key srt_network[] = {
	{"allowedDomains", SK_DOMAINS, ST_ARRAY, SA_ALLOW_DOMAIN, 0, NULL, NULL},
	{"deniedDomains", SK_DOMAINS, ST_ARRAY, SA_DENY_DOMAIN, 0, NULL, NULL},
	{"deniedDomainReasons", SK_NOTE, ST_OBJECT, SA_NONE, 0,
	 "not supported: denials are reported with the rule that decided, not a custom reason",
	 NULL},
	/* hutch never asks unless run with --ask: the allowlist is always strict. */
	{"strictAllowlist", SK_SILENT, ST_BOOL, SA_NONE, 0, NULL, NULL},
	{"allowUnixSockets", SK_PATHS, ST_ARRAY, SA_SOCKET, 0, NULL, NULL},
	{"allowAllUnixSockets", SK_BOOL, ST_BOOL, SA_NONE, 0,
	 "not supported: hutch exposes host sockets one by one (list them in "
	 "allowUnixSockets); none is reachable otherwise",
	 NULL},
	/* Binding works inside the sandbox's own network namespace, unreachable from outside. */
	{"allowLocalBinding", SK_SILENT, ST_BOOL, SA_NONE, 0, NULL, NULL},
	{"allowMachLookup", SK_NOTE, ST_ARRAY, SA_NONE, 0, "macOS only: ignored", NULL},
	{"httpProxyPort", SK_NOTE, ST_INT, SA_NONE, 0,
	 "not supported: hutch does not hand its traffic to an external proxy; its own proxy "
	 "filters with allowedDomains",
	 NULL},
	{"socksProxyPort", SK_NOTE, ST_INT, SA_NONE, 0,
	 "not supported: hutch does not hand its traffic to an external proxy; its own proxy "
	 "filters with allowedDomains",
	 NULL},
	{"mitmProxy", SK_NOTE, ST_OBJECT, SA_NONE, N_WEAKER,
	 "not supported: connections to these domains are not routed through the MITM proxy, "
	 "so whatever it inspects or blocks is not",
	 NULL},
	{"filterRequest", SK_NOTE, ST_ANY, SA_NONE, N_WEAKER,
	 "not supported: hutch does not filter individual HTTP requests", NULL},
	{"tlsTerminate", SK_NOTE, ST_OBJECT, SA_NONE, 0,
	 "not supported: hutch does not terminate TLS; tunnels are checked by name and TLS SNI",
	 NULL},
	{"parentProxy", SK_NOTE, ST_OBJECT, SA_NONE, 0,
	 "not supported: hutch's proxy connects directly, not through a parent proxy", NULL},
};

static const struct srt_key srt_filesystem[] = {
	{"disabled", SK_BOOL, ST_BOOL, SA_NONE, 0,
	 "ignored: hutch always enforces its filesystem view", NULL},
	{"denyRead", SK_PATHS, ST_ARRAY, SA_DENY_READ, 0, NULL, NULL},
	{"allowRead", SK_PATHS, ST_ARRAY, SA_ALLOW_READ, 0, NULL, NULL},
	{"allowWrite", SK_PATHS, ST_ARRAY, SA_ALLOW_WRITE, 0, NULL, NULL},
	{"denyWrite", SK_PATHS, ST_ARRAY, SA_DENY_WRITE, 0, NULL, NULL},
	{"allowGitConfig", SK_BOOL, ST_BOOL, SA_NONE, 0,
	 "ignored: .git/config stays protected in hutch", NULL},
};

static const struct srt_key srt_credentials[] = {
	{"files", SK_CRED_FILES, ST_ARRAY, SA_NONE, 0, NULL, NULL},
	{"envVars", SK_CRED_ENV, ST_ARRAY, SA_NONE, 0, NULL, NULL},
	{"allowPlaintextInject", SK_NOTE, ST_BOOL, SA_NONE, 0,
	 "ignored: hutch does not inject credentials", NULL},
	{"awsPairs", SK_NOTE, ST_ARRAY, SA_NONE, 0,
	 "ignored: hutch does not re-sign requests; masked variables are dropped", NULL},
	{"sigv4", SK_NOTE, ST_OBJECT, SA_NONE, 0, "ignored: hutch does not re-sign requests", NULL},
};

#define SECTION(n, k)                                                                              \
	{                                                                                          \
		n, k, ARRAY_SIZE(k)                                                                \
	}
static const struct srt_section network_section = SECTION("network", srt_network);
static const struct srt_section filesystem_section = SECTION("filesystem", srt_filesystem);
static const struct srt_section credentials_section = SECTION("credentials", srt_credentials);

static const struct srt_key srt_top[] = {
	{"$schema", SK_SCHEMA, ST_STRING, SA_NONE, 0, NULL, NULL},
	{"network", SK_SECTION, ST_OBJECT, SA_NONE, 0, NULL, &network_section},
	{"filesystem", SK_SECTION, ST_OBJECT, SA_NONE, 0, NULL, &filesystem_section},
	{"credentials", SK_SECTION, ST_OBJECT, SA_NONE, 0, NULL, &credentials_section},
	{"ignoreViolations", SK_NOTE, ST_OBJECT, SA_NONE, 0,
	 "ignored: hutch reports every denial (the denials themselves are the same)", NULL},
	{"enableWeakerNestedSandbox", SK_BOOL, ST_BOOL, SA_NONE, 0,
	 "ignored: hutch does not weaken itself; where a layer is missing it refuses to run "
	 "unless given --allow-degraded",
	 NULL},
	{"enableWeakerNetworkIsolation", SK_BOOL, ST_BOOL, SA_NONE, 0, "macOS only: ignored", NULL},
	{"allowAppleEvents", SK_BOOL, ST_BOOL, SA_NONE, 0, "macOS only: ignored", NULL},
	{"allowPty", SK_SILENT, ST_BOOL, SA_NONE, 0, NULL, NULL}, /* hutch always has a pty */
	{"ripgrep", SK_NOTE, ST_OBJECT, SA_NONE, 0, "ignored: hutch does not use ripgrep", NULL},
	{"mandatoryDenySearchDepth", SK_NOTE, ST_INT, SA_NONE, 0,
	 "ignored: hutch protects the workspace root and the git repositories under it with "
	 "its own bounded search",
	 NULL},
	{"seccomp", SK_NOTE, ST_OBJECT, SA_NONE, 0, "ignored: hutch uses its own seccomp filter",
	 NULL},
	{"bwrapPath", SK_NOTE, ST_STRING, SA_NONE, 0, "ignored: hutch does not use bubblewrap",
	 NULL},
	{"socatPath", SK_NOTE, ST_STRING, SA_NONE, 0, "ignored: hutch does not use socat", NULL},
	{"javaAgentJarPath", SK_NOTE, ST_STRING, SA_NONE, 0,
	 "ignored: hutch sets the JVM proxy variables itself", NULL},
	{"windows", SK_NOTE, ST_OBJECT, SA_NONE, 0, "Windows only: ignored", NULL},
	{"git", SK_NOTE, ST_OBJECT, SA_NONE, 0,
	 "ignored: inside hutch the files keep their owner, git needs no safe.directory", NULL},
};
static const struct srt_section top_section = {NULL, srt_top, ARRAY_SIZE(srt_top)};

/* Keys of one credentials.files[] / credentials.envVars[] entry. */
static const char *const cred_file_keys[] = {
	"path",		  "mode",	 "extract", "onExtractNoMatch", "decode", "maskClaims",
	"maskDuplicates", "injectHosts", NULL,
};
static const char *const cred_env_keys[] = {
	"name", "mode", "extract", "onExtractNoMatch", "decode", "maskClaims", "injectHosts", NULL,
};

/* Host-side temporary directories: private and writable inside hutch anyway. */
static const char *const private_tmp[] = {"/tmp", "/var/tmp", "/private/tmp", "/dev/shm", NULL};

/* ---- the walk ----------------------------------------------------------------------------- */

struct walk {
	struct hutch_srt *s;
	const char *name;
	const uint8_t *data;
	size_t len;
	hutch_error *err;
	struct hutch_jpath path[SRT_MAX_DEPTH];
	size_t depth;
	/* what the network and filesystem sections said, for the decisions made at the end */
	bool have_network, any_allow, deny_all, write_dot, have_allow_write;
	char deny_port_loc[SRT_LOC_MAX]; /* first "*:PORT" in deniedDomains, "" if none */
	char deny_port_key[128];
	char net_loc[SRT_LOC_MAX];
	char write_loc[SRT_LOC_MAX];
};

static const char *where(const struct walk *w, bool at_key, char *buf, size_t size)
{
	return hutch_json_where(w->name, w->data, w->len, w->path, w->depth, at_key, buf, size);
}

static const char *dotted(const struct walk *w, char *buf, size_t size)
{
	return hutch_json_dotted(w->path, w->depth, buf, size);
}

/* A value for a message: escaped for display (base/escape.h), bounded. */
static const char *shown(const char *v, char *buf, size_t size)
{
	return hutch_escape_str(v, buf, size, 0);
}

static int add_op(struct walk *w, bool is_list, int which, const char *value, const char *origin)
{
	struct hutch_srt *s = w->s;
	_cleanup_free_ char *v = NULL, *o = NULL;

	if (s->n_ops >= HUTCH_MAX_RULES)
		return hutch_errx(w->err, E2BIG, "%s: too many entries (at most %d)", w->name,
				  HUTCH_MAX_RULES);
	if (s->n_ops == s->cap_ops) {
		size_t cap = s->cap_ops ? s->cap_ops * 2 : 32;
		struct srt_op *nv = realloc(s->ops, cap * sizeof(*nv));

		if (!nv)
			return hutch_err(w->err, ENOMEM, "%s", w->name);
		s->ops = nv;
		s->cap_ops = cap;
	}
	v = strdup(value);
	o = strdup(origin);
	if (!v || !o)
		return hutch_err(w->err, ENOMEM, "%s", w->name);
	s->ops[s->n_ops++] = (struct srt_op){is_list, which, TAKE_PTR(v), TAKE_PTR(o)};
	return 0;
}

static int add_note_at(struct walk *w, const char *loc, const char *key, bool weaker,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int add_note_at(struct walk *w, const char *loc, const char *key, bool weaker,
		       const char *fmt, ...)
{
	struct hutch_srt *s = w->s;
	char why[512];
	char *text;
	va_list ap;

	if (s->n_notes >= HUTCH_SRT_MAX_NOTES)
		return hutch_errx(w->err, E2BIG, "%s: more than %d settings hutch cannot honour",
				  w->name, HUTCH_SRT_MAX_NOTES);
	if (!s->notes) {
		s->notes = calloc(HUTCH_SRT_MAX_NOTES, sizeof(*s->notes));
		if (!s->notes)
			return hutch_err(w->err, ENOMEM, "%s", w->name);
	}
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (asprintf(&text, "%s: %s: %s%s", loc, key, weaker ? "NOT ENFORCED: " : "", why) < 0)
		return hutch_err(w->err, ENOMEM, "%s", w->name);
	s->notes[s->n_notes++] = (struct srt_note){text, weaker};
	if (weaker)
		s->n_weaker++;
	return 0;
}

/* A note about the current path. */
#define NOTE(w, weaker, ...)                                                                       \
	add_note_at((w), where((w), false, (char[SRT_LOC_MAX]){0}, SRT_LOC_MAX),                   \
		    dotted((w), (char[256]){0}, 256), (weaker), __VA_ARGS__)

static int type_error(struct walk *w, const json_t *v, const char *expected)
{
	char loc[SRT_LOC_MAX], key[256];

	return hutch_errx(w->err, EINVAL, "%s: %s: expected %s, got %s",
			  where(w, false, loc, sizeof(loc)), dotted(w, key, sizeof(key)), expected,
			  hutch_json_type_name(v));
}

static bool type_ok(const json_t *v, enum srt_type t)
{
	switch (t) {
	case ST_ANY:
		return true;
	case ST_OBJECT:
		return json_is_object(v);
	case ST_ARRAY:
		return json_is_array(v);
	case ST_STRING:
		return json_is_string(v);
	case ST_BOOL:
		return json_is_boolean(v);
	case ST_INT:
		return json_is_integer(v);
	}
	return false;
}

static const char *const type_names[] = {
	[ST_ANY] = "anything",	  [ST_OBJECT] = "an object",   [ST_ARRAY] = "an array",
	[ST_STRING] = "a string", [ST_BOOL] = "true or false", [ST_INT] = "an integer",
};

static bool is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static bool in_list(const char *const *l, const char *v)
{
	for (; *l; l++)
		if (strcmp(*l, v) == 0)
			return true;
	return false;
}

/* "./src/" -> "src", "." -> ".", "/" -> "/": srt's spelling, without the noise. */
static void tidy_path(const char *in, char *out, size_t size)
{
	size_t n;

	while (in[0] == '.' && in[1] == '/')
		for (in += 2; *in == '/'; in++)
			;
	snprintf(out, size, "%s", *in ? in : ".");
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
}

/* One path of filesystem.* / allowUnixSockets / credentials.files. */
static int map_path(struct walk *w, enum srt_act act, const char *raw)
{
	char loc[SRT_LOC_MAX], v[PATH_MAX], q[96];
	bool weaker = act == SA_DENY_READ || act == SA_DENY_WRITE;

	if (!*raw) {
		char key[256];

		return hutch_errx(w->err, EINVAL, "%s: %s: empty path",
				  where(w, false, loc, sizeof(loc)), dotted(w, key, sizeof(key)));
	}
	if (strlen(raw) >= sizeof(v)) {
		char key[256];

		return hutch_errx(w->err, ENAMETOOLONG, "%s: %s: path longer than %zu bytes",
				  where(w, false, loc, sizeof(loc)), dotted(w, key, sizeof(key)),
				  sizeof(v) - 1);
	}
	tidy_path(raw, v, sizeof(v));
	where(w, false, loc, sizeof(loc));
	if (is_glob(v))
		return NOTE(w, weaker, "\"%s\" is a glob pattern; hutch takes literal paths only%s",
			    shown(v, q, sizeof(q)),
			    weaker ? ", so nothing is denied for it" : ": not opened");

	switch (act) {
	case SA_DENY_READ:
		return add_op(w, true, HUTCH_LIST_HIDDEN, v, loc);
	case SA_ALLOW_READ:
		if (strcmp(v, ".") == 0)
			return 0; /* the workspace is readable (and writable) anyway */
		return add_op(w, true, HUTCH_LIST_READONLY, v, loc);
	case SA_ALLOW_WRITE:
		w->have_allow_write = true;
		if (strcmp(v, ".") == 0) {
			w->write_dot = true;
			return 0; /* the workspace */
		}
		if (in_list(private_tmp, v))
			return NOTE(w, false,
				    "\"%s\": hutch gives the sandbox a private, writable %s; the "
				    "host's is not shared",
				    v, strcmp(v, "/private/tmp") == 0 ? "/tmp" : v);
		return add_op(w, true, HUTCH_LIST_WRITABLE, v, loc);
	case SA_DENY_WRITE:
		if (strcmp(v, ".") == 0)
			return NOTE(w, true,
				    "\".\": hutch cannot make the workspace read-only; protect "
				    "the entries in it instead");
		return add_op(w, true, HUTCH_LIST_PROTECTED, v, loc);
	case SA_SOCKET:
		if (v[0] != '/' && v[0] != '~') {
			char key[256];

			return hutch_errx(w->err, EINVAL,
					  "%s: %s: \"%s\" is a relative path; an absolute path "
					  "(or ~/...) is needed",
					  loc, dotted(w, key, sizeof(key)), shown(v, q, sizeof(q)));
		}
		return add_op(w, true, HUTCH_LIST_SOCKETS, v, loc);
	case SA_NONE:
	case SA_ALLOW_DOMAIN:
	case SA_DENY_DOMAIN:
		break;
	}
	return -EINVAL;
}

static int map_domain(struct walk *w, enum srt_act act, const char *v)
{
	char loc[SRT_LOC_MAX], key[256], q[96];
	const char *why = NULL;

	where(w, false, loc, sizeof(loc));
	if (act == SA_DENY_DOMAIN && strcmp(v, "*") == 0) {
		w->deny_all = true;
		return 0; /* no network at all: mode "none", decided at the end */
	}
	if (act == SA_DENY_DOMAIN && strncmp(v, "*:", 2) == 0) {
		/* Deny-all on one port: only matters if something is allowed (checked at the end).
		 */
		if (!w->deny_port_loc[0]) {
			snprintf(w->deny_port_loc, sizeof(w->deny_port_loc), "%s", loc);
			snprintf(w->deny_port_key, sizeof(w->deny_port_key), "%s = \"%s\"",
				 dotted(w, key, sizeof(key)), shown(v, q, sizeof(q)));
		}
		return 0;
	}
	if (hutch_host_pattern_validate(v, &why) < 0)
		return hutch_errx(w->err, EINVAL,
				  "%s: %s: host pattern \"%s\" is not accepted by hutch: %s", loc,
				  dotted(w, key, sizeof(key)), shown(v, q, sizeof(q)),
				  why ? why : "invalid");
	if (act == SA_ALLOW_DOMAIN) {
		w->any_allow = true;
		return add_op(w, true, HUTCH_LIST_NET_ALLOW, v, loc);
	}
	return add_op(w, true, HUTCH_LIST_NET_DENY, v, loc);
}

static int walk_strings(struct walk *w, const struct srt_key *k, json_t *arr)
{
	size_t i;
	json_t *e;
	int r;

	json_array_foreach(arr, i, e)
	{
		w->path[w->depth++] = (struct hutch_jpath){.key = NULL, .index = i};
		if (!json_is_string(e))
			r = type_error(w, e, "a string");
		else if (k->kind == SK_DOMAINS)
			r = map_domain(w, k->act, json_string_value(e));
		else
			r = map_path(w, k->act, json_string_value(e));
		w->depth--;
		if (r < 0)
			return r;
	}
	return 0;
}

static int unknown_key(struct walk *w, const char *in, const char *const *names, size_t n,
		       const char *key)
{
	char loc[SRT_LOC_MAX], list[512], q[96];
	size_t o = 0;

	list[0] = '\0';
	for (size_t i = 0; i < n && names[i]; i++) {
		int c = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", names[i]);

		if (c < 0 || (size_t)c >= sizeof(list) - o)
			break;
		o += (size_t)c;
	}
	return hutch_errx(w->err, EINVAL,
			  "%s: unknown key \"%s\" %s (sandbox-runtime settings have: %s)",
			  where(w, true, loc, sizeof(loc)), shown(key, q, sizeof(q)), in, list);
}

/* One credentials.files[] or credentials.envVars[] entry. */
static int walk_cred(struct walk *w, json_t *e, bool file)
{
	const char *const *keys = file ? cred_file_keys : cred_env_keys;
	const char *id_key = file ? "path" : "name";
	char loc[SRT_LOC_MAX], key[256];
	const char *k, *mode;
	json_t *v, *id, *m;
	int r = 0;

	if (!json_is_object(e))
		return type_error(w, e, "an object");
	json_object_foreach(e, k, v)
	{
		if (in_list(keys, k))
			continue;
		w->path[w->depth++] = (struct hutch_jpath){.key = k};
		r = unknown_key(
			w, file ? "in a credentials.files entry" : "in a credentials.envVars entry",
			keys, 8, k);
		w->depth--;
		return r;
	}
	id = json_object_get(e, id_key);
	m = json_object_get(e, "mode");
	if (!id || !m)
		return hutch_errx(w->err, EINVAL,
				  "%s: %s: \"%s\" and \"mode\" "
				  "are required",
				  where(w, false, loc, sizeof(loc)), dotted(w, key, sizeof(key)),
				  id_key);
	w->path[w->depth++] = (struct hutch_jpath){.key = "mode"};
	if (!json_is_string(m) || (strcmp(json_string_value(m), "deny") != 0 &&
				   strcmp(json_string_value(m), "mask") != 0)) {
		r = json_is_string(m)
			    ? hutch_errx(w->err, EINVAL, "%s: %s: expected \"deny\" or \"mask\"",
					 where(w, false, loc, sizeof(loc)),
					 dotted(w, key, sizeof(key)))
			    : type_error(w, m, "\"deny\" or \"mask\"");
		w->depth--;
		return r;
	}
	w->depth--;
	mode = json_string_value(m);

	w->path[w->depth++] = (struct hutch_jpath){.key = id_key};
	if (!json_is_string(id)) {
		r = type_error(w, id, "a string");
	} else if (file) {
		r = map_path(w, SA_DENY_READ, json_string_value(id));
	} else if (!hutch_env_name_valid(json_string_value(id), strlen(json_string_value(id)))) {
		r = hutch_errx(w->err, EINVAL, "%s: %s: invalid variable name",
			       where(w, false, loc, sizeof(loc)), dotted(w, key, sizeof(key)));
	} else {
		r = add_op(w, true, HUTCH_LIST_ENV_DROP, json_string_value(id),
			   where(w, false, loc, sizeof(loc)));
	}
	w->depth--;
	if (r < 0 || strcmp(mode, "mask") != 0)
		return r;
	return NOTE(w, false,
		    file ? "mode \"mask\": hutch hides the file instead (the program cannot read "
			   "it; nothing is substituted on the way out)"
			 : "mode \"mask\": hutch drops the variable instead (nothing is "
			   "substituted on the way out)");
}

static int walk_section(struct walk *w, const struct srt_section *s, json_t *obj);

static int walk_key(struct walk *w, const struct srt_key *k, json_t *v)
{
	char loc[SRT_LOC_MAX];
	size_t i;
	json_t *e;
	int r;

	switch (k->kind) {
	case SK_SCHEMA:
		return json_is_string(v) ? 0 : type_error(w, v, "a string");
	case SK_SECTION:
		if (!json_is_object(v))
			return type_error(w, v, "an object");
		if (k->sub == &network_section) {
			w->have_network = true;
			where(w, true, w->net_loc, sizeof(w->net_loc));
		}
		return walk_section(w, k->sub, v);
	case SK_PATHS:
	case SK_DOMAINS:
		if (!json_is_array(v))
			return type_error(w, v, "an array of strings");
		if (k->act == SA_ALLOW_WRITE)
			where(w, true, w->write_loc, sizeof(w->write_loc));
		return walk_strings(w, k, v);
	case SK_BOOL:
	case SK_BOOL_FALSE:
		if (!json_is_boolean(v))
			return type_error(w, v, "true or false");
		if (json_is_true(v) == (k->kind == SK_BOOL))
			return NOTE(w, k->flags & N_WEAKER, "%s", k->note);
		return 0;
	case SK_NOTE:
	case SK_SILENT:
		if (!type_ok(v, k->type))
			return type_error(w, v, type_names[k->type]);
		if (k->kind == SK_SILENT)
			return 0;
		/* An empty list or object asks for nothing: no note. */
		if ((json_is_array(v) && json_array_size(v) == 0) ||
		    (json_is_object(v) && json_object_size(v) == 0))
			return 0;
		return NOTE(w, k->flags & N_WEAKER, "%s", k->note);
	case SK_CRED_FILES:
	case SK_CRED_ENV:
		if (!json_is_array(v))
			return type_error(w, v, "an array of objects");
		json_array_foreach(v, i, e)
		{
			w->path[w->depth++] = (struct hutch_jpath){.key = NULL, .index = i};
			r = walk_cred(w, e, k->kind == SK_CRED_FILES);
			w->depth--;
			if (r < 0)
				return r;
		}
		return 0;
	}
	return hutch_errx(w->err, EINVAL, "%s: internal error", where(w, false, loc, sizeof(loc)));
}

static int walk_section(struct walk *w, const struct srt_section *s, json_t *obj)
{
	const char *names[32];
	const char *key;
	json_t *v;

	for (size_t i = 0; i < s->n && i < ARRAY_SIZE(names); i++)
		names[i] = s->keys[i].name;
	json_object_foreach(obj, key, v)
	{
		const struct srt_key *k = NULL;
		char in[80];
		int r;

		for (size_t i = 0; i < s->n; i++)
			if (strcmp(s->keys[i].name, key) == 0)
				k = &s->keys[i];
		if (w->depth >= SRT_MAX_DEPTH - 2)
			return hutch_errx(w->err, EINVAL, "%s: nested too deep", w->name);
		w->path[w->depth++] = (struct hutch_jpath){.key = key};
		if (!k) {
			if (s->name)
				snprintf(in, sizeof(in), "in \"%s\"", s->name);
			else
				snprintf(in, sizeof(in), "at the top level");
			r = unknown_key(w, in, names, s->n < ARRAY_SIZE(names) ? s->n : 32, key);
		} else {
			r = walk_key(w, k, v);
		}
		w->depth--;
		if (r < 0)
			return r;
	}
	return 0;
}

/* Decisions that need the whole file: the network mode, writes to the workspace. */
static int finish(struct walk *w)
{
	char loc[SRT_LOC_MAX];
	bool proxy = w->any_allow && !w->deny_all;
	int r;

	snprintf(loc, sizeof(loc), "%s", w->net_loc[0] ? w->net_loc : w->name);
	if (w->deny_all) {
		/* deniedDomains "*" denies everything, whatever allowedDomains says. */
		size_t o = 0;

		for (size_t i = 0; i < w->s->n_ops; i++) {
			struct srt_op *op = &w->s->ops[i];

			if (op->is_list && op->which == HUTCH_LIST_NET_ALLOW) {
				free(op->value);
				free(op->origin);
				continue;
			}
			w->s->ops[o++] = *op;
		}
		w->s->n_ops = o;
	}
	r = add_op(w, false, HUTCH_KEY_NET_MODE, proxy ? "proxy" : "none", loc);
	if (r < 0)
		return r;
	if (w->deny_port_loc[0] && proxy) {
		r = add_note_at(w, w->deny_port_loc, w->deny_port_key, true,
				"hutch cannot deny one port on every host; the allowed domains are "
				"reachable on it");
		if (r < 0)
			return r;
	}
	if (!w->write_dot) {
		r = add_note_at(
			w, w->write_loc[0] ? w->write_loc : w->name, "filesystem.allowWrite", true,
			"\".\" is not listed, so srt keeps the current directory read-only; "
			"in hutch the workspace is always writable");
		if (r < 0)
			return r;
	}
	/* srt: allowRead wins over a denyRead of the very same path; hutch calls that a conflict.
	 */
	for (size_t i = 0; i < w->s->n_ops; i++) {
		struct srt_op *ro = &w->s->ops[i];

		if (!ro->is_list || ro->which != HUTCH_LIST_READONLY)
			continue;
		for (size_t j = 0; j < w->s->n_ops; j++) {
			struct srt_op *h = &w->s->ops[j];

			if (h->is_list && h->which == HUTCH_LIST_HIDDEN &&
			    strcmp(h->value, ro->value) == 0)
				h->which = -1; /* dropped below */
		}
	}
	{
		size_t o = 0;

		for (size_t i = 0; i < w->s->n_ops; i++) {
			struct srt_op *op = &w->s->ops[i];

			if (op->which < 0) {
				free(op->value);
				free(op->origin);
				continue;
			}
			w->s->ops[o++] = *op;
		}
		w->s->n_ops = o;
	}
	return 0;
}

void hutch_srt_free(hutch_srt *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_ops; i++) {
		free(s->ops[i].value);
		free(s->ops[i].origin);
	}
	free(s->ops);
	for (size_t i = 0; i < s->n_notes; i++)
		free(s->notes[i].text);
	free(s->notes);
	free(s);
}

static int apply_ops(const hutch_srt *s, hutch_policy *p, hutch_error *err)
{
	for (size_t i = 0; i < s->n_ops; i++) {
		const struct srt_op *op = &s->ops[i];
		int r = op->is_list ? hutch_policy_add(p, (enum hutch_list)op->which, op->value,
						       op->origin, err)
				    : hutch_policy_set(p, (enum hutch_key)op->which, op->value,
						       op->origin, err);

		if (r < 0)
			return r;
	}
	return 0;
}

int hutch_srt_parse(const char *name, const char *data, size_t len, hutch_srt **out,
		    hutch_error *err)
{
	struct walk w = {
		.name = name ? name : "<srt settings>",
		.data = (const uint8_t *)data,
		.len = len,
		.err = err,
	};
	json_error_t jerr;
	json_t *root;
	hutch_policy *check;
	int r;

	if (!out || (!data && len))
		return hutch_errx(err, EINVAL, "%s: no settings", w.name);
	if (len > HUTCH_MAX_POLICY_BYTES)
		return hutch_errx(err, EFBIG, "%s: settings file too large (%zu bytes, at most %d)",
				  w.name, len, HUTCH_MAX_POLICY_BYTES);
	root = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		for (char *c = jerr.text; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		return hutch_errx(err, EINVAL, "%s:%d:%d: invalid JSON: %s", w.name,
				  jerr.line > 0 ? jerr.line : 1, jerr.column > 0 ? jerr.column : 1,
				  jerr.text);
	}
	if (!json_is_object(root)) {
		r = hutch_errx(err, EINVAL,
			       "%s:1:1: sandbox-runtime settings must be a JSON object, not %s",
			       w.name, hutch_json_type_name(root));
		json_decref(root);
		return r;
	}
	w.s = calloc(1, sizeof(*w.s));
	if (!w.s) {
		json_decref(root);
		return hutch_err(err, ENOMEM, "%s", w.name);
	}
	r = walk_section(&w, &top_section, root);
	json_decref(root);
	if (r >= 0)
		r = finish(&w);
	if (r >= 0) {
		/* Everything mapped must be something a policy accepts: check now, with srt's
		 * lines. */
		check = hutch_policy_new();
		r = check ? apply_ops(w.s, check, err) : hutch_err(err, ENOMEM, "%s", w.name);
		hutch_policy_free(check);
	}
	if (r < 0) {
		hutch_srt_free(w.s);
		return r;
	}
	*out = w.s;
	return 0;
}

int hutch_srt_load_file(const char *path, hutch_srt **out, hutch_error *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r;

	if (!path || !*path)
		return hutch_errx(err, EINVAL, "srt settings: empty file name");
	r = hutch_read_policy_file(path, &data, &len, err);
	if (r < 0)
		return r;
	return hutch_srt_parse(path, data, len, out, err);
}

size_t hutch_srt_n_notes(const hutch_srt *s)
{
	return s ? s->n_notes : 0;
}

size_t hutch_srt_n_weaker(const hutch_srt *s)
{
	return s ? s->n_weaker : 0;
}

const char *hutch_srt_note(const hutch_srt *s, size_t i, bool *weaker)
{
	if (!s || i >= s->n_notes)
		return NULL;
	if (weaker)
		*weaker = s->notes[i].weaker;
	return s->notes[i].text;
}

int hutch_srt_apply(const hutch_srt *s, hutch_policy *p, bool allow_weaker, hutch_error *err)
{
	int r;

	if (!s || !p)
		return hutch_errx(err, EINVAL, "srt settings: nothing to apply");
	if (s->n_weaker && !allow_weaker) {
		for (size_t i = 0; i < s->n_notes; i++) {
			if (!s->notes[i].weaker)
				continue;
			r = hutch_errx(err, EPERM, "%s%s", s->notes[i].text,
				       s->n_weaker > 1 ? " (and more, see hutch policy import-srt)"
						       : "");
			hutch_err_hint(err, "hutch would enforce less than sandbox-runtime here; "
					    "convert the file with 'hutch policy import-srt FILE', "
					    "adjust it and pass it with -p");
			return r;
		}
	}
	return apply_ops(s, p, err);
}

/* ---- the equivalent policy file ---------------------------------------------------------- */

static const struct {
	const char *section, *key;
	enum hutch_list list;
} out_lists[] = {
	{"filesystem", "readOnly", HUTCH_LIST_READONLY},
	{"filesystem", "writable", HUTCH_LIST_WRITABLE},
	{"filesystem", "hidden", HUTCH_LIST_HIDDEN},
	{"filesystem", "protected", HUTCH_LIST_PROTECTED},
	{"filesystem", "sockets", HUTCH_LIST_SOCKETS},
	{"network", "allow", HUTCH_LIST_NET_ALLOW},
	{"network", "deny", HUTCH_LIST_NET_DENY},
	{"env", "drop", HUTCH_LIST_ENV_DROP},
};

static json_t *section(json_t *root, const char *name)
{
	json_t *o = json_object_get(root, name);

	if (!o) {
		o = json_object();
		json_object_set_new(root, name, o);
	}
	return o;
}

char *hutch_srt_to_json(const hutch_srt *s)
{
	json_t *root = json_object();
	char *text;

	if (!s || !root) {
		json_decref(root);
		return NULL;
	}
	/* "network.mode" first in its section, like the examples in docs/hutch-policy.5.scd. */
	for (size_t i = 0; i < s->n_ops; i++)
		if (!s->ops[i].is_list && s->ops[i].which == HUTCH_KEY_NET_MODE) {
			(void)section(root, "filesystem");
			json_object_set_new(section(root, "network"), "mode",
					    json_string(s->ops[i].value));
		}
	for (size_t l = 0; l < ARRAY_SIZE(out_lists); l++) {
		json_t *arr = NULL;

		for (size_t i = 0; i < s->n_ops; i++) {
			const struct srt_op *op = &s->ops[i];
			bool dup = false;

			if (!op->is_list || op->which != (int)out_lists[l].list)
				continue;
			if (!arr) {
				arr = json_array();
				json_object_set_new(section(root, out_lists[l].section),
						    out_lists[l].key, arr);
			}
			for (size_t k = 0; k < json_array_size(arr); k++)
				dup |= strcmp(json_string_value(json_array_get(arr, k)),
					      op->value) == 0;
			if (!dup)
				json_array_append_new(arr, json_string(op->value));
		}
	}
	/* Drop a section that ended up empty (the placeholder made to keep the order). */
	if (json_object_size(json_object_get(root, "filesystem")) == 0)
		json_object_del(root, "filesystem");
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return text;
}
