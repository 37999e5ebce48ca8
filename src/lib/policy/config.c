/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * JSON policy files -> the policy model (docs/hutch-policy.5.scd).
 *
 * Parsing is jansson with JSON_REJECT_DUPLICATES; the walk below checks every
 * key against a table and applies values through hutch_policy_add_ex/_set_ex,
 * so a file can do nothing the CLI could not. Every error names
 * file:line:column: jansson gives it for syntax errors, and a small pure
 * locator over the raw bytes (hutch_json_locate) finds the key or element a
 * semantic error is about. On error the policy is left partly merged: callers
 * treat any error as fatal.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/escape.h"
#include "base/file.h"
#include "base/path.h"
#include "base/sha256.h"
#include "policy/env.h"
#include "policy/json.h"
#include "policy/policy.h"
#include "policy/profiles.h"

#define HUTCH_SYSTEM_POLICY "/etc/hutch/policy.json"
#define JSON_MAX_DEPTH 8 /* our schema is 3 levels deep */

/* ---- the schema, as tables -------------------------------------------------------------- */

enum kind {
	K_IGNORED,  /* "$schema" */
	K_EXTENDS,  /* profile name */
	K_REQUIRE,  /* array of layer names, replaces */
	K_SECTION,  /* object with its own fields */
	K_LIST,	    /* array of strings -> hutch_policy_add_ex */
	K_STRING,   /* string -> hutch_policy_set_ex */
	K_BOOL,	    /* true/false -> "true"/"false" */
	K_PORT,	    /* integer */
	K_SIZE,	    /* "4G" or an integer number of bytes */
	K_COUNT,    /* integer */
	K_CPUS,	    /* number or "1.5" */
	K_DURATION, /* "30s" */
	K_ENV_SET,  /* object NAME -> "VALUE" */
};

#define F_ABSOLUTE 1u /* a path that must be absolute (or start with ~ or $) */
#define F_PORTS 2u    /* K_LIST of port numbers (integers), not strings */
#define F_SINK 4u     /* with F_ABSOLUTE: "-" (stderr) and "syslog" too, as --audit takes */

struct section;

struct field {
	const char *name;
	enum kind kind;
	int target; /* enum hutch_list or enum hutch_key */
	unsigned flags;
	const struct section *sub;
};

struct section {
	const char *name; /* NULL for the top level */
	const struct field *fields;
	size_t n;
};

static const struct field fs_fields[] = {
	{"readOnly", K_LIST, HUTCH_LIST_READONLY, 0, NULL},
	{"writable", K_LIST, HUTCH_LIST_WRITABLE, 0, NULL},
	{"hidden", K_LIST, HUTCH_LIST_HIDDEN, 0, NULL},
	{"protected", K_LIST, HUTCH_LIST_PROTECTED, 0, NULL},
	/* A socket inside the workspace needs no exposing: only absolute ones make sense. */
	{"sockets", K_LIST, HUTCH_LIST_SOCKETS, F_ABSOLUTE, NULL},
	{"private", K_LIST, HUTCH_LIST_PRIVATE, 0, NULL},
};

static const struct field net_fields[] = {
	{"mode", K_STRING, HUTCH_KEY_NET_MODE, 0, NULL},
	{"allow", K_LIST, HUTCH_LIST_NET_ALLOW, 0, NULL},
	{"deny", K_LIST, HUTCH_LIST_NET_DENY, 0, NULL},
	{"allowPrivate", K_BOOL, HUTCH_KEY_ALLOW_PRIVATE, 0, NULL},
	{"httpPort", K_PORT, HUTCH_KEY_HTTP_PORT, 0, NULL},
	{"socksPort", K_PORT, HUTCH_KEY_SOCKS_PORT, 0, NULL},
	{"hostPorts", K_LIST, HUTCH_LIST_NET_HOST_PORTS, F_PORTS, NULL},
	{"transparent", K_BOOL, HUTCH_KEY_NET_TRANSPARENT, 0, NULL},
};

static const struct field cmd_fields[] = {
	{"allow", K_LIST, HUTCH_LIST_CMD_ALLOW, 0, NULL},
	{"deny", K_LIST, HUTCH_LIST_CMD_DENY, 0, NULL},
};

static const struct field env_fields[] = {
	{"pass", K_LIST, HUTCH_LIST_ENV_PASS, 0, NULL},
	{"drop", K_LIST, HUTCH_LIST_ENV_DROP, 0, NULL},
	{"set", K_ENV_SET, HUTCH_LIST_ENV_SET, 0, NULL},
};

static const struct field limit_fields[] = {
	{"memory", K_SIZE, HUTCH_KEY_MEMORY, 0, NULL},
	{"pids", K_COUNT, HUTCH_KEY_PIDS, 0, NULL},
	{"cpus", K_CPUS, HUTCH_KEY_CPUS, 0, NULL},
	{"timeout", K_DURATION, HUTCH_KEY_TIMEOUT, 0, NULL},
	{"fileSize", K_SIZE, HUTCH_KEY_FILE_SIZE, 0, NULL},
	{"openFiles", K_COUNT, HUTCH_KEY_OPEN_FILES, 0, NULL},
};

/* The audit log must not be in the workspace by accident: the sandbox could rewrite it. */
static const struct field audit_fields[] = {
	{"file", K_STRING, HUTCH_KEY_AUDIT_FILE, F_ABSOLUTE | F_SINK, NULL},
	{"maxSize", K_SIZE, HUTCH_KEY_AUDIT_MAX_SIZE, 0, NULL},
};

#define SECTION(n, f)                                                                              \
	{                                                                                          \
		n, f, ARRAY_SIZE(f)                                                                \
	}
static const struct section fs_section = SECTION("filesystem", fs_fields);
static const struct section net_section = SECTION("network", net_fields);
static const struct section cmd_section = SECTION("commands", cmd_fields);
static const struct section env_section = SECTION("env", env_fields);
static const struct section limit_section = SECTION("limits", limit_fields);
static const struct section audit_section = SECTION("audit", audit_fields);

static const struct field top_fields[] = {
	{"$schema", K_IGNORED, 0, 0, NULL},	    {"extends", K_EXTENDS, 0, 0, NULL},
	{"require", K_REQUIRE, 0, 0, NULL},	    {"filesystem", K_SECTION, 0, 0, &fs_section},
	{"network", K_SECTION, 0, 0, &net_section}, {"commands", K_SECTION, 0, 0, &cmd_section},
	{"env", K_SECTION, 0, 0, &env_section},	    {"limits", K_SECTION, 0, 0, &limit_section},
	{"audit", K_SECTION, 0, 0, &audit_section},
};
static const struct section top_section = SECTION(NULL, top_fields);

/* ---- the walk ----------------------------------------------------------------------------- */

struct walk {
	struct hutch_policy *p;
	const char *name;
	const uint8_t *data;
	size_t len;
	bool system;
	bool user; /* the user policy ($XDG_CONFIG_HOME/hutch/policy.json) */
	hutch_error *err;
	struct hutch_jpath path[JSON_MAX_DEPTH];
	size_t depth;
};

/* "file:line:col" of the current path's key (@at_key) or value, into @buf. */
static const char *where(const struct walk *w, bool at_key, char *buf, size_t size)
{
	return hutch_json_where(w->name, w->data, w->len, w->path, w->depth, at_key, buf, size);
}

/* "filesystem.hidden[2]" for the current path, into @buf. */
static const char *dotted(const struct walk *w, char *buf, size_t size)
{
	return hutch_json_dotted(w->path, w->depth, buf, size);
}

static void push_key(struct walk *w, const char *key)
{
	w->path[w->depth++] = (struct hutch_jpath){.key = key};
}

static void push_index(struct walk *w, size_t index)
{
	w->path[w->depth++] = (struct hutch_jpath){.key = NULL, .index = index};
}

static int type_error(struct walk *w, const json_t *v, const char *expected)
{
	char loc[PATH_MAX + 64], name[256];

	return hutch_errx(w->err, EINVAL, "%s: %s: expected %s, got %s",
			  where(w, false, loc, sizeof(loc)), dotted(w, name, sizeof(name)),
			  expected, hutch_json_type_name(v));
}

/* @src for a one-line message: control characters (C0, DEL, C1) escaped, cut to fit. */
static const char *shown_value(const char *src, char *buf, size_t size)
{
	return hutch_escape_str(src, buf, size, HUTCH_ESC_QUOTE);
}

static int unknown_key(struct walk *w, const struct section *s, const char *key)
{
	char loc[PATH_MAX + 64], names[256], in[80], shown[96];
	size_t o = 0;

	names[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		int n = snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "",
				 s->fields[i].name);

		if (n < 0 || (size_t)n >= sizeof(names) - o)
			break;
		o += (size_t)n;
	}
	if (s->name)
		snprintf(in, sizeof(in), "in \"%s\"", s->name);
	else
		snprintf(in, sizeof(in), "at the top level");
	/* Keep the message one printable line even for a key with control characters. */
	shown_value(key, shown, sizeof(shown));
	return hutch_errx(w->err, EINVAL, "%s: unknown key \"%s\" %s (expected one of: %s)",
			  where(w, true, loc, sizeof(loc)), shown, in, names);
}

static bool looks_absolute(const char *s)
{
	return s[0] == '/' || s[0] == '~' || s[0] == '$';
}

static int do_list(struct walk *w, const struct field *f, json_t *v)
{
	char loc[PATH_MAX + 64], name[256], num[32];
	bool ports = f->flags & F_PORTS;
	size_t i;
	json_t *e;
	int r;

	if (!json_is_array(v))
		return type_error(w, v, ports ? "an array of port numbers" : "an array of strings");
	json_array_foreach(v, i, e)
	{
		push_index(w, i);
		if (ports) {
			if (!json_is_integer(e)) {
				r = type_error(w, e, "a port number");
				w->depth--;
				return r;
			}
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(e));
			r = hutch_policy_add_ex(w->p, (enum hutch_list)f->target, num,
						where(w, false, loc, sizeof(loc)), w->system,
						w->err);
			w->depth--;
			if (r < 0)
				return r;
			continue;
		}
		if (!json_is_string(e)) {
			r = type_error(w, e, "a string");
			w->depth--;
			return r;
		}
		where(w, false, loc, sizeof(loc));
		if ((f->flags & F_ABSOLUTE) && json_string_value(e)[0] &&
		    !looks_absolute(json_string_value(e))) {
			r = hutch_errx(w->err, EINVAL,
				       "%s: %s: \"%s\" is a relative path; an absolute path (or "
				       "~/...) is needed",
				       loc, dotted(w, name, sizeof(name)),
				       hutch_escape_str(json_string_value(e), (char[300]){0}, 300,
							HUTCH_ESC_QUOTE));
			w->depth--;
			return r;
		}
		r = hutch_policy_add_ex(w->p, (enum hutch_list)f->target, json_string_value(e), loc,
					w->system, w->err);
		w->depth--;
		if (r < 0)
			return r;
	}
	return 0;
}

static int do_env_set(struct walk *w, json_t *v)
{
	char loc[PATH_MAX + 64];
	const char *key;
	json_t *val;
	int r;

	if (!json_is_object(v))
		return type_error(w, v, "an object of NAME: \"value\"");
	json_object_foreach(v, key, val)
	{
		_cleanup_free_ char *kv = NULL;

		push_key(w, key);
		if (!hutch_env_name_valid(key, strlen(key))) {
			r = hutch_errx(w->err, EINVAL,
				       "%s: env.set: invalid variable name \"%s\" (expected "
				       "letters, digits and _, not starting with a digit)",
				       where(w, true, loc, sizeof(loc)),
				       hutch_escape(key, strlen(key) > 64 ? 64 : strlen(key),
						    (char[300]){0}, 300, HUTCH_ESC_QUOTE));
			w->depth--;
			return r;
		}
		if (!json_is_string(val)) {
			r = type_error(w, val, "a string");
			w->depth--;
			return r;
		}
		if (asprintf(&kv, "%s=%s", key, json_string_value(val)) < 0) {
			kv = NULL;
			w->depth--;
			return hutch_err(w->err, ENOMEM, "%s", w->name);
		}
		r = hutch_policy_add_ex(w->p, HUTCH_LIST_ENV_SET, kv,
					where(w, true, loc, sizeof(loc)), w->system, w->err);
		w->depth--;
		if (r < 0)
			return r;
	}
	return 0;
}

static int do_scalar(struct walk *w, const struct field *f, json_t *v)
{
	char loc[PATH_MAX + 64], name[256], num[64];
	const char *s = NULL;

	switch (f->kind) {
	case K_STRING:
	case K_DURATION:
		if (!json_is_string(v))
			return type_error(w, v,
					  f->kind == K_DURATION ? "a duration like \"30s\""
								: "a string");
		s = json_string_value(v);
		if ((f->flags & F_ABSOLUTE) && s[0] && !looks_absolute(s) &&
		    !((f->flags & F_SINK) && (!strcmp(s, "-") || !strcmp(s, "syslog"))))
			return hutch_errx(
				w->err, EINVAL,
				"%s: %s: \"%s\" is a relative path; an absolute path (or "
				"~/...) is needed",
				where(w, false, loc, sizeof(loc)), dotted(w, name, sizeof(name)),
				hutch_escape_str(s, (char[300]){0}, 300, HUTCH_ESC_QUOTE));
		break;
	case K_BOOL:
		if (!json_is_boolean(v))
			return type_error(w, v, "true or false");
		s = json_is_true(v) ? "true" : "false";
		break;
	case K_PORT:
	case K_COUNT:
		if (!json_is_integer(v))
			return type_error(w, v, f->kind == K_PORT ? "a port number" : "an integer");
		if (json_integer_value(v) < 0)
			return hutch_errx(w->err, EINVAL, "%s: %s: must not be negative",
					  where(w, false, loc, sizeof(loc)),
					  dotted(w, name, sizeof(name)));
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		s = num;
		break;
	case K_SIZE:
		if (json_is_integer(v)) {
			if (json_integer_value(v) < 0)
				return hutch_errx(w->err, EINVAL, "%s: %s: must not be negative",
						  where(w, false, loc, sizeof(loc)),
						  dotted(w, name, sizeof(name)));
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
			s = num;
		} else if (json_is_string(v)) {
			s = json_string_value(v);
		} else {
			return type_error(w, v, "a size like \"4G\" or a number of bytes");
		}
		break;
	case K_CPUS:
		if (json_is_integer(v) && json_integer_value(v) >= 0) {
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
			s = num;
		} else if (json_is_real(v) && json_real_value(v) >= 0 &&
			   json_real_value(v) <= 1e6) {
			double d = json_real_value(v) * 1000.0;
			unsigned long long m = (unsigned long long)(d + 0.5);

			if (d - (double)m > 1e-6 || (double)m - d > 1e-6)
				return hutch_errx(w->err, EINVAL, "%s: %s: at most three decimals",
						  where(w, false, loc, sizeof(loc)),
						  dotted(w, name, sizeof(name)));
			snprintf(num, sizeof(num), "%llu.%03llu", m / 1000, m % 1000);
			s = num;
		} else if (json_is_string(v)) {
			s = json_string_value(v);
		} else {
			return type_error(w, v, "a number of CPUs like 2 or 0.5");
		}
		break;
	case K_IGNORED:
	case K_EXTENDS:
	case K_REQUIRE:
	case K_SECTION:
	case K_LIST:
	case K_ENV_SET:
		return -EINVAL;
	}
	return hutch_policy_set_ex(w->p, (enum hutch_key)f->target, s,
				   where(w, false, loc, sizeof(loc)), w->system, w->err);
}

static int do_require(struct walk *w, json_t *v)
{
	char loc[PATH_MAX + 64], shown[72];
	unsigned bits = 0;
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return type_error(w, v, "an array of layer names");
	json_array_foreach(v, i, e)
	{
		unsigned bit;
		int r;

		push_index(w, i);
		if (!json_is_string(e)) {
			r = type_error(w, e, "a string");
			w->depth--;
			return r;
		}
		bit = hutch_layer_from_name(json_string_value(e));
		if (!bit) {
			r = hutch_errx(w->err, EINVAL,
				       "%s: unknown layer \"%.64s\" in \"require\" (expected one "
				       "of: userns, landlock, seccomp)",
				       where(w, false, loc, sizeof(loc)),
				       shown_value(json_string_value(e), shown, sizeof(shown)));
			w->depth--;
			return r;
		}
		w->depth--;
		bits |= bit;
	}
	return hutch_policy_set_require(w->p, bits, where(w, false, loc, sizeof(loc)), w->system,
					w->err);
}

static int do_extends(struct walk *w, json_t *v)
{
	const char *const *names = hutch_profile_names();
	char loc[PATH_MAX + 64], list[256], esc[72];
	const char *name;
	size_t o = 0;

	if (!json_is_string(v))
		return type_error(w, v, "a profile name");
	name = json_string_value(v);
	for (size_t i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			/* The system policy's profile is part of the system policy: locked. */
			return hutch_profile_apply_ex(
				w->p, name, w->system ? where(w, false, loc, sizeof(loc)) : NULL,
				w->system, w->err);
	list[0] = '\0';
	for (size_t i = 0; names[i]; i++) {
		int n = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", names[i]);

		if (n < 0 || (size_t)n >= sizeof(list) - o)
			break;
		o += (size_t)n;
	}
	return hutch_errx(
		w->err, ENOENT, "%s: unknown profile \"%s\" in \"extends\" (expected one of: %s)",
		where(w, false, loc, sizeof(loc)), hutch_policy_esc(name, esc, sizeof(esc)), list);
}

/*
 * network.allow without network.mode asks for the proxy, as -a does on the
 * command line: a file that lists destinations wants them reached. An
 * explicit "none" beside a non-empty allow list reaches nothing and is
 * refused. The system policy's allow list is a ceiling (the only destinations
 * anyone may add), not a request: it implies no mode. Neither does the user
 * policy's: it is where --ask's "always" keeps hosts, which says "do not ask
 * about these again", not "give every later run a network".
 */
static int net_mode_from_allow(struct walk *w, json_t *obj)
{
	json_t *allow = json_object_get(obj, "allow"), *mode = json_object_get(obj, "mode");
	char loc[PATH_MAX + 64];
	int r;

	if (w->system || !json_is_array(allow) || json_array_size(allow) == 0)
		return 0;
	if (!mode && w->user)
		return 0;
	if (!mode) {
		push_key(w, "allow");
		where(w, true, loc, sizeof(loc));
		w->depth--;
		return hutch_policy_set_ex(w->p, HUTCH_KEY_NET_MODE, "proxy", loc, false, w->err);
	}
	if (!json_is_string(mode) || strcmp(json_string_value(mode), "none") != 0)
		return 0;
	push_key(w, "mode");
	r = hutch_errx(w->err, EINVAL,
		       "%s: network.mode is \"none\" but network.allow lists destinations: "
		       "nothing would reach them",
		       where(w, false, loc, sizeof(loc)));
	w->depth--;
	hutch_err_hint(w->err, "set network.mode to \"proxy\" (or leave it out) to reach them");
	return r;
}

static int walk_section(struct walk *w, const struct section *s, json_t *obj)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return type_error(w, obj, "an object");
	json_object_foreach(obj, key, v)
	{
		const struct field *f = NULL;
		int r = 0;

		for (size_t i = 0; i < s->n; i++)
			if (strcmp(s->fields[i].name, key) == 0)
				f = &s->fields[i];
		if (w->depth >= JSON_MAX_DEPTH - 1)
			return hutch_errx(w->err, EINVAL, "%s: nested too deep", w->name);
		push_key(w, key);
		if (!f) {
			r = unknown_key(w, s, key);
			w->depth--;
			return r;
		}
		switch (f->kind) {
		case K_IGNORED:
			if (!json_is_string(v))
				r = type_error(w, v, "a string");
			break;
		case K_EXTENDS:
			break; /* applied first, see load_json */
		case K_REQUIRE:
			r = do_require(w, v);
			break;
		case K_SECTION:
			r = walk_section(w, f->sub, v);
			break;
		case K_LIST:
			r = do_list(w, f, v);
			break;
		case K_ENV_SET:
			r = do_env_set(w, v);
			break;
		case K_STRING:
		case K_BOOL:
		case K_PORT:
		case K_SIZE:
		case K_COUNT:
		case K_CPUS:
		case K_DURATION:
			r = do_scalar(w, f, v);
			break;
		}
		w->depth--;
		if (r < 0)
			return r;
	}
	return s == &net_section ? net_mode_from_allow(w, obj) : 0;
}

/* Position of the key token ending just before @pos (jansson reports its end). */
static size_t key_start_before(const uint8_t *b, size_t len, size_t pos)
{
	size_t i = pos < len ? pos : len;

	while (i > 0 && b[i - 1] != '"')
		i--;
	if (i == 0)
		return pos;
	i--; /* the closing quote */
	while (i > 0) {
		size_t bs = 0;

		i--;
		if (b[i] != '"')
			continue;
		while (bs < i && b[i - 1 - bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			return i;
	}
	return pos;
}

int hutch_policy_load_data(hutch_policy *p, const char *name, const char *data, size_t len,
			   enum hutch_source src, hutch_error *err)
{
	struct walk w = {
		.p = p,
		.name = name ? name : "<policy>",
		.data = (const uint8_t *)data,
		.len = len,
		.system = src == HUTCH_SOURCE_SYSTEM,
		.user = src == HUTCH_SOURCE_USER,
		.err = err,
	};
	json_error_t jerr;
	json_t *root, *ext;
	int r;

	if (!p || (!data && len))
		return hutch_errx(err, EINVAL, "%s: no policy", w.name);
	if (p->finalized)
		return hutch_errx(err, EBUSY, "%s: the policy is already finalized", w.name);
	if (len > HUTCH_MAX_POLICY_BYTES)
		return hutch_errx(err, EFBIG, "%s: policy file too large (%zu bytes, at most %d)",
				  w.name, len, HUTCH_MAX_POLICY_BYTES);
	root = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		unsigned line = jerr.line > 0 ? (unsigned)jerr.line : 1;
		unsigned col = jerr.column > 0 ? (unsigned)jerr.column : 1;

		if (strncmp(jerr.text, "duplicate object key", 20) == 0) {
			size_t ks = key_start_before(w.data, len, (size_t)jerr.position);
			size_t ke = ks;

			hutch_json_linecol(w.data, len, ks, &line, &col);
			if (hutch_json_skip_string(w.data, len, &ke) < 0)
				ke = ks;
			/* the key as written (quotes included), escaped: any byte may be in it */
			return hutch_errx(err, EINVAL, "%s:%u:%u: duplicate key %s", w.name, line,
					  col,
					  hutch_escape(data + ks, ke - ks > 80 ? 80 : ke - ks,
						       (char[400]){0}, 400, 0));
		}
		/* jansson quotes the bad token: keep the message on one printable line. */
		return hutch_errx(err, EINVAL, "%s:%u:%u: invalid JSON: %s", w.name, line, col,
				  hutch_escape_str(jerr.text, (char[640]){0}, 640, 0));
	}
	if (!json_is_object(root)) {
		r = hutch_errx(err, EINVAL, "%s:1:1: a policy must be a JSON object, not %s",
			       w.name, hutch_json_type_name(root));
		json_decref(root);
		return r;
	}
	/* "extends" comes first wherever it is written: the file refines the profile. */
	ext = json_object_get(root, "extends");
	if (ext) {
		push_key(&w, "extends");
		r = do_extends(&w, ext);
		w.depth--;
		if (r < 0) {
			json_decref(root);
			return r;
		}
	}
	r = walk_section(&w, &top_section, root);
	json_decref(root);
	return r;
}

/*
 * A group-writable file is safe when its group is its owner's own: the
 * owner's primary group, with no other member listed (OpenSSH's rule for its
 * configuration files, readconf.c secure_permissions). Read from /etc/passwd
 * and /etc/group themselves, not through the name service (hutch is linked
 * statically): an owner or a group found only elsewhere (LDAP, say) is not
 * known to be private, and the file is refused.
 */
static bool owner_name(uid_t uid, gid_t gid, char *name, size_t size)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;

	while (f && (pw = fgetpwent(f)))
		if (pw->pw_uid == uid) {
			snprintf(name, size, "%s", pw->pw_name);
			return pw->pw_gid == gid;
		}
	return false;
}

static bool private_group(const struct stat *st)
{
	_cleanup_fclose_ FILE *f = NULL;
	char owner[256];
	struct group *gr;

	if (!owner_name(st->st_uid, st->st_gid, owner, sizeof(owner)))
		return false;
	f = fopen("/etc/group", "re");
	while (f && (gr = fgetgrent(f))) {
		if (gr->gr_gid != st->st_gid)
			continue;
		for (char **m = gr->gr_mem; m && *m; m++)
			if (strcmp(*m, owner) != 0)
				return false;
		return true;
	}
	return false;
}

/*
 * A policy file named on the command line (-p) decides what the sandbox may
 * do: refuse one that someone else could have written (owned by another
 * non-root user, writable by others, or by a group shared with others).
 */
static int check_policy_owner(const char *path, const struct stat *st, hutch_error *err)
{
	const char *why = NULL;
	int r;

	if (st->st_uid != 0 && st->st_uid != geteuid())
		why = "owned by another user";
	else if (st->st_mode & S_IWOTH)
		why = "writable by every user";
	else if ((st->st_mode & S_IWGRP) && !private_group(st))
		why = "writable by a group shared with other users";
	if (!why)
		return 0;
	r = hutch_errx(err, EPERM, "%s: %s; refusing to use it as a policy", path, why);
	hutch_err_hint(err, "chmod go-w %s (and check who owns it)", path);
	return r;
}

static int read_policy_file(const char *path, bool strict, char **out, size_t *out_len,
			    hutch_error *err);

/* Read a whole regular file of at most HUTCH_MAX_POLICY_BYTES. */
int hutch_read_policy_file(const char *path, char **out, size_t *out_len, hutch_error *err)
{
	return read_policy_file(path, false, out, out_len, err);
}

static int read_policy_file(const char *path, bool strict, char **out, size_t *out_len,
			    hutch_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return hutch_err(err, errno, "%s: cannot open", path);
	if (fstat(fd, &st) < 0)
		return hutch_err(err, errno, "%s: cannot stat", path);
	if (!S_ISREG(st.st_mode))
		return hutch_errx(err, EINVAL, "%s: not a regular file", path);
	if (strict && check_policy_owner(path, &st, err) < 0)
		return -EPERM;
	if (st.st_size > HUTCH_MAX_POLICY_BYTES)
		return hutch_errx(err, EFBIG, "%s: policy file too large (%lld bytes, at most %d)",
				  path, (long long)st.st_size, HUTCH_MAX_POLICY_BYTES);
	r = hutch_read_fd(fd, HUTCH_MAX_POLICY_BYTES, &buf, &len);
	if (r == -ENOMEM)
		return hutch_err(err, ENOMEM, "%s", path);
	if (r == -EFBIG)
		return hutch_errx(err, EFBIG, "%s: policy file too large (more than %d bytes)",
				  path, HUTCH_MAX_POLICY_BYTES);
	if (r < 0)
		return hutch_err(err, r, "%s: cannot read", path);
	*out = TAKE_PTR(buf);
	*out_len = len;
	return 0;
}

/* @path, absolute, when it is a symbolic link in a directory named without one; else NULL. */
static char *link_in_real_dir(const char *path)
{
	_cleanup_free_ char *cwd = NULL, *joined = NULL, *abs = NULL, *parent = NULL, *dir = NULL;
	struct stat st;
	const char *slash;

	if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode))
		return NULL;
	if (path[0] != '/') {
		cwd = getcwd(NULL, 0);
		joined = cwd ? hutch_path_join(cwd, path) : NULL;
		if (!joined)
			return NULL;
	}
	abs = hutch_path_normalize(joined ? joined : path);
	slash = abs ? strrchr(abs, '/') : NULL;
	if (!slash || slash == abs)
		return NULL;
	parent = strndup(abs, (size_t)(slash - abs));
	dir = parent ? realpath(parent, NULL) : NULL;
	if (!dir || strcmp(dir, parent) || lstat(abs, &st) < 0 || !S_ISLNK(st.st_mode))
		return NULL;
	return TAKE_PTR(abs);
}

/*
 * A policy file read for a run is protected in it (protect.c, when it lies
 * in a writable root): a run that rewrote it would loosen the next one.
 */
int hutch_policy_protect_file(hutch_policy *p, const char *path, hutch_error *err)
{
	_cleanup_free_ char *real = realpath(path, NULL), *link = NULL;
	int r;

	if (!real)
		return hutch_err(err, errno, "policy file %s", path);
	r = hutch_rules_add(&p->fs_protected, real, "policy file", false);
	/* named through a link: the link too, or the sandbox could point it elsewhere */
	link = r >= 0 ? link_in_real_dir(path) : NULL;
	if (link)
		r = hutch_rules_add(&p->fs_protected, link, "policy file", false);
	return r < 0 ? hutch_err(err, -r, "policy file %s", path) : 0;
}

int hutch_policy_load_file(hutch_policy *p, const char *path, enum hutch_source src,
			   hutch_error *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r;

	if (!path || !*path)
		return hutch_errx(err, EINVAL, "policy file: empty name");
	r = read_policy_file(path, src == HUTCH_SOURCE_FILE, &data, &len, err);
	if (r < 0)
		return r;
	r = hutch_policy_load_data(p, path, data, len, src, err);
	return r < 0 ? r : hutch_policy_protect_file(p, path, err);
}

int hutch_policy_validate_file(const char *path, const char *profile, hutch_error *err)
{
	hutch_policy *p = hutch_policy_new();
	int r;

	if (!p)
		return hutch_err(err, ENOMEM, "%s", path);
	/* As hutch run -p FILE uses it: on its profile, then resolved and checked. */
	r = hutch_policy_apply_profile(p, profile ? profile : "default", err);
	if (r >= 0)
		r = hutch_policy_load_file(p, path, HUTCH_SOURCE_FILE, err);
	if (r >= 0)
		r = hutch_policy_finalize_check(p, NULL, err);
	hutch_policy_free(p);
	return r;
}

/* ---- standard sources ---------------------------------------------------------------- */

/* Load one standard file if present; it must not be writable by anyone else. */
static int load_standard_file(hutch_policy *p, const char *path, enum hutch_source src,
			      hutch_error *err)
{
	struct stat st;
	int r;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return hutch_err(err, errno, "%s: cannot stat", path);
	}
	if ((st.st_mode & 022) || (st.st_uid != 0 && st.st_uid != geteuid())) {
		r = hutch_errx(err, EPERM,
			       "%s: writable by other users or owned by someone else; refusing to "
			       "use it",
			       path);
		hutch_err_hint(err, "chmod go-w %s (and check who owns it)", path);
		return r;
	}
	return hutch_policy_load_file(p, path, src, err);
}

int hutch_policy_load_standard(hutch_policy *p, hutch_error *err)
{
	_cleanup_free_ char *dir = NULL, *user = NULL;
	int r;

	if (!p)
		return hutch_errx(err, EINVAL, "policy: none given");
	/* No environment variable may move the administrator's policy. */
	r = load_standard_file(p, HUTCH_SYSTEM_POLICY, HUTCH_SOURCE_SYSTEM, err);
	if (r < 0)
		return r;
	dir = hutch_config_dir(NULL);
	if (!dir)
		return 0; /* no HOME, no XDG_CONFIG_HOME: no user policy */
	user = hutch_path_join(dir, "policy.json");
	if (!user)
		return hutch_err(err, ENOMEM, "policy");
	return load_standard_file(p, user, HUTCH_SOURCE_USER, err);
}

int hutch_policy_load_project(hutch_policy *p, const char *workspace, hutch_error *err)
{
	_cleanup_free_ char *cwd = NULL, *ws = NULL, *ws_real = NULL, *file = NULL;
	_cleanup_free_ char *file_real = NULL, *data = NULL;
	bool trusted = false;
	size_t len;
	int r;

	if (!p)
		return hutch_errx(err, EINVAL, "policy: none given");
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return hutch_err(err, errno, "cannot get the current directory");
	ws = hutch_path_expand(workspace ? workspace : cwd, getenv("HOME"), cwd);
	if (!ws)
		return hutch_err(err, errno, "workspace %s", workspace ? workspace : cwd);
	ws_real = realpath(ws, NULL);
	if (!ws_real)
		return hutch_err(err, errno, "workspace %s", ws);
	file = hutch_path_join(ws_real, ".hutch.json");
	if (!file)
		return hutch_err(err, ENOMEM, "policy");
	file_real = realpath(file, NULL);
	if (!file_real) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return hutch_err(err, errno, "%s", file);
	}
	{
		/* A directory here is a concurrent run's placeholder (protect.c): no policy. */
		struct stat st;
		if (lstat(file, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
	}
	/* Hash exactly the bytes we apply: no window between check and use. */
	r = hutch_read_policy_file(file_real, &data, &len, err);
	if (r < 0)
		return r;
	r = hutch_trust_check_data(file_real, data, len, &trusted, err);
	if (r < 0)
		return r;
	if (!trusted) {
		r = hutch_rules_add(&p->ignored, file, "untrusted", false);
		if (r < 0)
			return hutch_err(err, -r, "policy");
		return 0;
	}
	r = hutch_policy_load_data(p, file, data, len, HUTCH_SOURCE_PROJECT, err);
	return r < 0 ? r : hutch_policy_protect_file(p, file_real, err);
}

const char *hutch_policy_ignored(const hutch_policy *p, size_t i)
{
	if (!p || i >= p->ignored.n)
		return NULL;
	return p->ignored.v[i].value;
}
