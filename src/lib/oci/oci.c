/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `hutch oci create|run`, the host side (docs/oci.md): runc sets the container up, hutch
 * puts its layers in front of the workload. From the bundle's config.json and the policy
 * (an annotation dev.hutch.policy, the runtime-wide file, or hutch's default) this
 * compiles the layers file (layers.h: Landlock rules in the container's paths, the
 * seccomp program) and rewrites config.json so that runc starts the static init
 * (src/oci/oci-init.c) with the workload's arguments: two read-only binds (the init, the
 * layers) and the init prepended to process.args. The engine's config.json is kept as
 * config.json.orig.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/atomic.h"
#include "base/file.h"
#include "base/uapi/landlock.h"
#include "oci/layers.h"
#include "oci/oci-int.h"
#include "policy/env.h"
#include "policy/proxy-env.h"
#include "policy/model.h"
#include "policy/policy.h"
#include "sandbox/landlock.h"
#include "sandbox/seccomp.h"

#define CONFIG "config.json"
#define CONFIG_ORIG "config.json.orig"
#define LAYERS_FILE "hutch-layers"
#define MAX_CONFIG_BYTES (4 * 1024 * 1024)
#define ANNOTATION_PREFIX "dev.hutch."
#define ANNOTATION_POLICY "dev.hutch.policy"

/* What a device tree gets: use what is there, make and remove nothing. */
#define DEV_ACCESS                                                                                 \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |                            \
	 LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* Writable in every container (missing ones are skipped by the init). */
static const char *const scratch_dirs[] = {"/tmp", "/var/tmp", "/dev/shm"};

/* Binds the engines add for the container's own name and resolver: kept read-only. */
static const char *const engine_files[] = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf",
					   "/run/.containerenv"};

struct rule {
	const char *path; /* points into the config's JSON or a policy rule */
	uint64_t access;
};

struct plan {
	struct rule rules[HUTCH_OCI_MAX_PATHS];
	size_t n;
	uint32_t flags;
	bool deny_inet;
	bool proxy; /* network allowlist: served by the container's daemon (netd.c) */
	bool audit; /* the audit of execs: written by the container's daemon */
};

/* jansson's own json_decrefp() */
#define _cleanup_json_ _cleanup_(json_decrefp)

static void policy_freep(hutch_policy **p)
{
	hutch_policy_free(*p);
}

static int add_rule(struct plan *pl, const char *path, uint64_t access, hutch_error *err)
{
	if (!path || path[0] != '/')
		return hutch_errx(err, EINVAL, "path '%s': not an absolute path in the container",
				  path ? path : "");
	if (strlen(path) > HUTCH_OCI_MAX_PATH_LEN)
		return hutch_errx(err, ENAMETOOLONG, "path '%.64s...': too long", path);
	for (size_t i = 0; i < pl->n; i++)
		if (!strcmp(pl->rules[i].path, path)) {
			pl->rules[i].access |= access;
			return 0;
		}
	if (pl->n >= HUTCH_OCI_MAX_PATHS)
		return hutch_errx(err, E2BIG, "more than %d Landlock paths", HUTCH_OCI_MAX_PATHS);
	pl->rules[pl->n++] = (struct rule){path, access};
	return 0;
}

static bool has_option(json_t *mount, const char *opt)
{
	json_t *opts = json_object_get(mount, "options"), *o;
	size_t i;

	json_array_foreach(opts, i, o) if (json_is_string(o) &&
					   !strcmp(json_string_value(o), opt)) return true;
	return false;
}

static bool is_engine_file(const char *dest)
{
	for (size_t i = 0; i < sizeof(engine_files) / sizeof(engine_files[0]); i++)
		if (!strcmp(dest, engine_files[i]))
			return true;
	return false;
}

static bool is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

/*
 * The container's own writable places: the binds and tmpfs mounts the engine made
 * writable (volumes, the workspace), except its files for name and resolver and the
 * kernel's trees.
 */
static int plan_mounts(struct plan *pl, json_t *config, hutch_error *err)
{
	json_t *mounts = json_object_get(config, "mounts"), *m;
	size_t i;

	json_array_foreach(mounts, i, m)
	{
		const char *dest = json_string_value(json_object_get(m, "destination"));
		const char *type = json_string_value(json_object_get(m, "type"));
		bool bind = (type && !strcmp(type, "bind")) || has_option(m, "bind") ||
			    has_option(m, "rbind");
		bool tmpfs = type && !strcmp(type, "tmpfs");
		int r;

		if (!dest || dest[0] != '/' || has_option(m, "ro") || (!bind && !tmpfs))
			continue;
		if (is_engine_file(dest) || is_under(dest, "/dev") || is_under(dest, "/proc") ||
		    is_under(dest, "/sys") || !strcmp(dest, "/"))
			continue;
		r = add_rule(pl, dest, HUTCH_LANDLOCK_FS_ALL, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int plan_policy_paths(struct plan *pl, const struct hutch_policy *p, hutch_error *err)
{
	int r;

	for (size_t i = 0; i < p->fs_writable.n; i++) {
		r = add_rule(pl, p->fs_writable.v[i].value, HUTCH_LANDLOCK_FS_ALL, err);
		if (r < 0) {
			hutch_err_prefix(err, "filesystem.writable (%s)",
					 p->fs_writable.v[i].origin);
			return r;
		}
	}
	for (size_t i = 0; i < p->fs_readonly.n; i++)
		if (p->fs_readonly.v[i].value[0] != '/')
			return hutch_errx(err, EINVAL,
					  "filesystem.readOnly (%s): '%s' is not an absolute path "
					  "in the container",
					  p->fs_readonly.v[i].origin, p->fs_readonly.v[i].value);
	if (p->workspace) {
		r = add_rule(pl, p->workspace, HUTCH_LANDLOCK_FS_ALL, err);
		if (r < 0) {
			hutch_err_prefix(err, "workspace");
			return r;
		}
	}
	return 0;
}

static int plan_landlock(struct plan *pl, json_t *config, const struct hutch_policy *p,
			 hutch_error *err)
{
	const char *cwd =
		json_string_value(json_object_get(json_object_get(config, "process"), "cwd"));
	int r;

	r = add_rule(pl, "/", HUTCH_LANDLOCK_READ_EXEC, err);
	if (r == 0)
		r = add_rule(pl, "/dev", DEV_ACCESS, err);
	for (size_t i = 0; r == 0 && i < sizeof(scratch_dirs) / sizeof(scratch_dirs[0]); i++)
		r = add_rule(pl, scratch_dirs[i], HUTCH_LANDLOCK_FS_ALL, err);
	/* The working directory is the workspace, unless it is the root. */
	if (r == 0 && cwd && strcmp(cwd, "/") != 0)
		r = add_rule(pl, cwd, HUTCH_LANDLOCK_FS_ALL, err);
	if (r == 0)
		r = plan_mounts(pl, config, err);
	if (r == 0)
		r = plan_policy_paths(pl, p, err);
	return r;
}

/* ---- the policy ---------------------------------------------------------------------- */

struct unsupported {
	const char *key;
	bool (*set)(const struct hutch_policy *p);
};

static bool has_hidden(const struct hutch_policy *p)
{
	return p->fs_hidden.n > 0;
}
static bool has_private(const struct hutch_policy *p)
{
	return p->fs_private.n > 0;
}
static bool has_protected(const struct hutch_policy *p)
{
	return p->fs_protected.n > 0;
}
static bool has_sockets(const struct hutch_policy *p)
{
	return p->fs_sockets.n > 0;
}
static bool has_net_deny(const struct hutch_policy *p)
{
	return p->net_deny.n > 0;
}
static bool has_host_ports(const struct hutch_policy *p)
{
	return p->net_host_ports.n > 0;
}
static bool has_commands(const struct hutch_policy *p)
{
	return p->cmd_allow.n > 0 || p->cmd_deny.n > 0;
}
static bool has_env(const struct hutch_policy *p)
{
	return p->env_pass.n > 0 || p->env_drop.n > 0 || p->env_set.n > 0;
}
static bool has_limits(const struct hutch_policy *p)
{
	const struct hutch_limits *l = &p->limits;

	return l->memory || l->pids || l->cpus_milli || l->timeout_ms || l->file_size ||
	       l->open_files;
}
/* Keys a container cannot have yet: refused rather than ignored (docs/oci.md). */
static const struct unsupported unsupported[] = {
	{"filesystem.hidden", has_hidden},
	{"filesystem.protected", has_protected},
	{"filesystem.private", has_private},
	{"filesystem.sockets", has_sockets},
	{"network.deny", has_net_deny},
	{"network.hostPorts", has_host_ports},
	{"commands", has_commands},
	{"env", has_env},
	{"limits (use the engine's --memory, --pids-limit, --cpus, --ulimit)", has_limits},
};

static int check_policy(const struct hutch_policy *p, struct plan *pl, hutch_error *err)
{
	pl->proxy = hutch_oci_policy_proxy(p);
	if (!pl->proxy && p->net_allow.n > 0) {
		hutch_errx(err, ENOTSUP,
			   "network.allow needs network.mode \"proxy\" in a container");
		hutch_err_hint(err, "drop \"mode\", or set it to \"proxy\"");
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (unsupported[i].set(p)) {
			hutch_errx(err, ENOTSUP, "policy key %s is not supported by hutch oci yet",
				   unsupported[i].key);
			hutch_err_hint(err, "remove it from the container's policy (docs/oci.md "
					    "lists what hutch oci enforces)");
			return -ENOTSUP;
		}
	pl->deny_inet = p->net_mode == HUTCH_NET_NONE && !pl->proxy;
	pl->flags = HUTCH_OCI_LANDLOCK | HUTCH_OCI_SECCOMP;
	pl->audit = p->audit_file != NULL;
	if (pl->audit)
		pl->flags |= HUTCH_OCI_AUDIT_EXEC;
	if (p->allow_degraded && !(p->require & HUTCH_LAYER_LANDLOCK))
		pl->flags |= HUTCH_OCI_LANDLOCK_OPTIONAL;
	if (pl->proxy)
		pl->flags |= HUTCH_OCI_DROP_NET_CAPS;
	return 0;
}

/* The annotations under dev.hutch.: the policy, and nothing else yet. */
static int annotation_policy(json_t *config, const char **policy, hutch_error *err)
{
	json_t *ann = json_object_get(config, "annotations"), *v;
	const char *key;

	*policy = NULL;
	json_object_foreach(ann, key, v)
	{
		if (strncmp(key, ANNOTATION_PREFIX, strlen(ANNOTATION_PREFIX)) != 0)
			continue;
		if (strcmp(key, ANNOTATION_POLICY) != 0) {
			hutch_errx(err, ENOTSUP, "annotation %s: not supported by hutch oci", key);
			hutch_err_hint(err, "the only annotation hutch oci reads is "
					    "dev.hutch.policy (a JSON policy)");
			return -ENOTSUP;
		}
		if (!json_is_string(v))
			return hutch_errx(err, EINVAL, "annotation %s: not a string", key);
		*policy = json_string_value(v);
	}
	return 0;
}

static int load_policy_file(hutch_policy *p, const char *file, hutch_error *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = hutch_read_policy_file(file, &data, &len, err);

	return r < 0 ? r : hutch_policy_load_data(p, file, data, len, HUTCH_SOURCE_SYSTEM, err);
}

int hutch_oci_load_policy(const struct hutch_oci_opts *o, json_t *config, hutch_policy **out,
			  hutch_error *err)
{
	hutch_policy *p = hutch_policy_new();
	const char *file = o->policy_file, *inline_policy;
	int r;

	if (!p)
		return hutch_err(err, ENOMEM, "policy");
	/* The runtime's option, as hutch run's: a policy's "require" still wins. */
	if (o->allow_degraded &&
	    hutch_policy_set(p, HUTCH_KEY_ALLOW_DEGRADED, "true", "--allow-degraded", err) < 0) {
		hutch_policy_free(p);
		return -EINVAL;
	}
	if (!file && access(HUTCH_OCI_DEFAULT_POLICY, F_OK) == 0)
		file = HUTCH_OCI_DEFAULT_POLICY;
	/*
	 * The runtime-wide file is the administrator's: the annotation cannot loosen it. Read
	 * as data: hutch run's protection of the policy file it read is about the host's
	 * files, which a container does not see.
	 */
	r = file ? load_policy_file(p, file, err) : 0;
	if (r == 0)
		r = annotation_policy(config, &inline_policy, err);
	if (r == 0 && inline_policy)
		r = hutch_policy_load_data(p, "annotation " ANNOTATION_POLICY, inline_policy,
					   strlen(inline_policy), HUTCH_SOURCE_FILE, err);
	if (r < 0) {
		hutch_policy_free(p);
		return r;
	}
	*out = p;
	return 0;
}

/*
 * Replace @name beneath @dirfd atomically, without fsync: the bundle is the engine's
 * state of a running container (runc writes its own without fsync either), and the
 * three files of a create would cost three disk flushes on every container start.
 */
int hutch_oci_write_bundle_file(int dirfd, const char *name, const void *data, size_t len,
				mode_t mode)
{
	_cleanup_atomic_ struct hutch_atomic a = HUTCH_ATOMIC_INIT;
	int r = hutch_atomic_begin(&a, dirfd, name, NULL, mode);

	if (r == 0)
		r = hutch_write_all(a.fd, data, len);
	if (r == 0)
		r = hutch_atomic_commit(&a, 0);
	return r;
}

/* ---- the layers file ----------------------------------------------------------------- */

static int write_layers(int dirfd, const struct plan *pl, hutch_error *err)
{
	struct hutch_seccomp_opts so = {.deny_inet = pl->deny_inet, .notify_exec = pl->audit};
	const struct hutch_seccomp_bpf *bpf =
		&hutch_seccomp_precompiled[hutch_seccomp_variant(&so)];
	struct hutch_oci_layers_head head = {.version = HUTCH_OCI_LAYERS_VERSION,
					     .flags = pl->flags,
					     .n_paths = (uint32_t)pl->n,
					     .bpf_len = (uint32_t)bpf->size};
	_cleanup_free_ char *buf = NULL;
	size_t len = sizeof(head) + bpf->size, off = 0;
	int r;

	memcpy(head.magic, HUTCH_OCI_LAYERS_MAGIC, sizeof(head.magic));
	for (size_t i = 0; i < pl->n; i++)
		len += sizeof(struct hutch_oci_layers_path) + strlen(pl->rules[i].path);
	buf = malloc(len);
	if (!buf)
		return hutch_err(err, ENOMEM, "layers file");
	memcpy(buf, &head, sizeof(head));
	off = sizeof(head);
	for (size_t i = 0; i < pl->n; i++) {
		struct hutch_oci_layers_path e = {.access = pl->rules[i].access,
						  .path_len = (uint32_t)strlen(pl->rules[i].path)};

		memcpy(buf + off, &e, sizeof(e));
		off += sizeof(e);
		memcpy(buf + off, pl->rules[i].path, e.path_len);
		off += e.path_len;
	}
	memcpy(buf + off, bpf->insns, bpf->size);
	r = hutch_oci_write_bundle_file(dirfd, LAYERS_FILE, buf, len, 0644);
	if (r < 0)
		return hutch_err(err, -r, "bundle: writing %s", LAYERS_FILE);
	return 0;
}

/* ---- config.json --------------------------------------------------------------------- */

static json_t *bind_mount(const char *dest, const char *source)
{
	return json_pack("{s:s, s:s, s:s, s:[s,s,s,s]}", "destination", dest, "type", "bind",
			 "source", source, "options", "bind", "ro", "nosuid", "nodev");
}

/* The engine's seccomp profile may predate Landlock: its three calls only ever restrict. */
static int allow_landlock_calls(json_t *config)
{
	json_t *seccomp = json_object_get(json_object_get(config, "linux"), "seccomp");
	json_t *syscalls, *rule;

	if (!json_is_object(seccomp))
		return 0;
	syscalls = json_object_get(seccomp, "syscalls");
	if (!syscalls) {
		syscalls = json_array();
		if (!syscalls || json_object_set_new(seccomp, "syscalls", syscalls) < 0)
			return -ENOMEM;
	}
	if (!json_is_array(syscalls))
		return -EINVAL;
	rule = json_pack("{s:[s,s,s], s:s}", "names", "landlock_create_ruleset",
			 "landlock_add_rule", "landlock_restrict_self", "action", "SCMP_ACT_ALLOW");
	if (!rule || json_array_append_new(syscalls, rule) < 0)
		return -ENOMEM;
	return 0;
}

static int prepend_init(json_t *process)
{
	json_t *args = json_object_get(process, "args");

	if (!json_is_array(args) || json_array_size(args) == 0)
		return -EINVAL;
	return json_array_insert_new(args, 0, json_string(HUTCH_OCI_INIT_DEST)) < 0 ? -ENOMEM : 0;
}

/* process.env without @name's entries ("NAME=..."). */
static void env_drop(json_t *env, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = json_array_size(env); i-- > 0;) {
		const char *e = json_string_value(json_array_get(env, i));

		if (e && !strncmp(e, name, n) && e[n] == '=')
			json_array_remove(env, i);
	}
}

/*
 * A container behind hutch's proxy (netd.c serves it): the proxy variables in its
 * environment, over the engine's, and hutch's resolver (127.0.0.53, in the container's
 * network namespace) as its /etc/resolv.conf. GIT_SSH_COMMAND is left out: it names
 * hutch's binary where hutch run shows it, and a container has none.
 */
static int plan_proxy(int dirfd, json_t *config, const char *bundle, const struct hutch_policy *p,
		      hutch_error *err)
{
	static const char resolv[] = "nameserver 127.0.0.53\noptions ndots:0\n";
	json_t *process = json_object_get(config, "process"), *env, *mounts;
	_cleanup_free_ char *src = NULL;
	char **vars = NULL;
	int r;

	if (!p) {
		(void)unlinkat(dirfd, HUTCH_OCI_RESOLV_FILE, 0);
		return 0;
	}
	env = json_object_get(process, "env");
	if (!env) {
		env = json_array();
		if (!env || json_object_set_new(process, "env", env) < 0)
			return hutch_err(err, ENOMEM, "config.json");
	}
	if (!json_is_array(env))
		return hutch_errx(err, EINVAL, "config.json: \"process.env\" is not an array");
	r = hutch_proxy_env(&vars, p);
	for (size_t i = 0; r >= 0 && vars && vars[i]; i++) {
		char name[128];
		size_t n = strcspn(vars[i], "=");

		if (n >= sizeof(name) || !strncmp(vars[i], "GIT_SSH_COMMAND=", 16))
			continue;
		memcpy(name, vars[i], n);
		name[n] = '\0';
		env_drop(env, name);
		if (json_array_append_new(env, json_string(vars[i])) < 0)
			r = -ENOMEM;
	}
	hutch_env_free(vars);
	if (r < 0)
		return hutch_err(err, -r, "config.json: the proxy variables");
	r = hutch_oci_write_bundle_file(dirfd, HUTCH_OCI_RESOLV_FILE, resolv, sizeof(resolv) - 1,
					0644);
	if (r < 0)
		return hutch_err(err, -r, "bundle: writing %s", HUTCH_OCI_RESOLV_FILE);
	if (asprintf(&src, "%s/%s", bundle, HUTCH_OCI_RESOLV_FILE) < 0) {
		src = NULL;
		return hutch_err(err, ENOMEM, "config.json");
	}
	mounts = json_object_get(config, "mounts");
	if (json_array_append_new(mounts, bind_mount("/etc/resolv.conf", src)) < 0)
		return hutch_err(err, ENOMEM, "config.json");
	return 0;
}

/*
 * The audit of execs: the directory of the daemon's control socket, bound read-only at
 * /.hutch/ctl (the daemon makes the socket after create; a bind of the directory shows it).
 */
static int plan_ctl(int dirfd, json_t *config, const char *bundle, bool audit, hutch_error *err)
{
	_cleanup_free_ char *src = NULL;

	if (!audit) {
		(void)unlinkat(dirfd, HUTCH_OCI_CTL_DIR "/" HUTCH_OCI_CTL_SOCK, 0);
		(void)unlinkat(dirfd, HUTCH_OCI_CTL_DIR, AT_REMOVEDIR);
		return 0;
	}
	if (mkdirat(dirfd, HUTCH_OCI_CTL_DIR, 0755) < 0 && errno != EEXIST)
		return hutch_err(err, errno, "bundle: %s", HUTCH_OCI_CTL_DIR);
	if (asprintf(&src, "%s/%s", bundle, HUTCH_OCI_CTL_DIR) < 0) {
		src = NULL;
		return hutch_err(err, ENOMEM, "config.json");
	}
	if (json_array_append_new(json_object_get(config, "mounts"),
				  bind_mount(HUTCH_OCI_CTL_DEST, src)) < 0)
		return hutch_err(err, ENOMEM, "config.json");
	return 0;
}

static int rewrite_config(int dirfd, json_t *config, const char *bundle, const char *init_path,
			  const struct hutch_policy *proxy, bool audit, hutch_error *err)
{
	json_t *mounts = json_object_get(config, "mounts");
	_cleanup_free_ char *layers = NULL, *text = NULL;
	int r;

	if (asprintf(&layers, "%s/%s", bundle, LAYERS_FILE) < 0) {
		layers = NULL;
		return hutch_err(err, ENOMEM, "config.json");
	}
	if (!mounts) {
		mounts = json_array();
		if (!mounts || json_object_set_new(config, "mounts", mounts) < 0)
			return hutch_err(err, ENOMEM, "config.json");
	}
	if (!json_is_array(mounts))
		return hutch_errx(err, EINVAL, "config.json: \"mounts\" is not an array");
	if (json_array_append_new(mounts, bind_mount(HUTCH_OCI_INIT_DEST, init_path)) < 0 ||
	    json_array_append_new(mounts, bind_mount(HUTCH_OCI_LAYERS_DEST, layers)) < 0)
		return hutch_err(err, ENOMEM, "config.json");
	r = prepend_init(json_object_get(config, "process"));
	if (r == 0)
		r = allow_landlock_calls(config);
	if (r < 0)
		return hutch_err(err, -r, "config.json: adding hutch's init");
	r = plan_proxy(dirfd, config, bundle, proxy, err);
	if (r == 0)
		r = plan_ctl(dirfd, config, bundle, audit, err);
	if (r < 0)
		return r;
	text = json_dumps(config, JSON_COMPACT);
	if (!text)
		return hutch_err(err, ENOMEM, "config.json");
	r = hutch_oci_write_bundle_file(dirfd, CONFIG, text, strlen(text), 0644);
	if (r < 0)
		return hutch_err(err, -r, "bundle: writing config.json");
	return 0;
}

static int parse_config(const char *name, const char *data, size_t len, json_t **out,
			hutch_error *err)
{
	json_error_t jerr;

	*out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out)
		return hutch_errx(err, EINVAL, "bundle: %s:%d:%d: %s", name, jerr.line, jerr.column,
				  jerr.text);
	if (!json_is_object(*out) || !json_is_object(json_object_get(*out, "process")))
		return hutch_errx(err, EINVAL, "bundle: %s: no \"process\" object", name);
	return 0;
}

/* Whether rewrite_config() made @config: hutch's init first, its layers mounted. */
static bool config_wrapped(json_t *config)
{
	json_t *args = json_object_get(json_object_get(config, "process"), "args");
	const char *first = json_string_value(json_array_get(args, 0));
	json_t *m;
	size_t i;

	if (!first || strcmp(first, HUTCH_OCI_INIT_DEST) != 0)
		return false;
	json_array_foreach(json_object_get(config, "mounts"), i, m)
	{
		const char *dest = json_string_value(json_object_get(m, "destination"));

		if (dest && !strcmp(dest, HUTCH_OCI_LAYERS_DEST))
			return true;
	}
	return false;
}

/*
 * The engine's config.json, kept as config.json.orig; when config.json is already
 * hutch's (a second create of the same bundle), the one kept.
 */
int hutch_oci_read_config(int dirfd, json_t **out, hutch_error *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = hutch_read_file_at(dirfd, CONFIG, MAX_CONFIG_BYTES, &data, &len);

	if (r < 0)
		return hutch_err(err, -r, "bundle: reading %s", CONFIG);
	r = parse_config(CONFIG, data, len, out, err);
	if (r < 0)
		return r;
	if (!config_wrapped(*out)) {
		r = hutch_oci_write_bundle_file(dirfd, CONFIG_ORIG, data, len, 0600);
		return r < 0 ? hutch_err(err, -r, "bundle: writing %s", CONFIG_ORIG) : 0;
	}
	json_decref(*out);
	*out = NULL;
	free(data);
	data = NULL;
	r = hutch_read_file_at(dirfd, CONFIG_ORIG, MAX_CONFIG_BYTES, &data, &len);
	if (r < 0)
		return hutch_err(err, -r, "bundle: config.json is hutch's already; reading %s",
				 CONFIG_ORIG);
	return parse_config(CONFIG_ORIG, data, len, out, err);
}

static int check_landlock(const struct plan *pl, hutch_error *err)
{
	int abi = hutch_landlock_abi();

	if (abi > 0 || (pl->flags & HUTCH_OCI_LANDLOCK_OPTIONAL))
		return 0;
	hutch_errx(err, ENOTSUP, "Landlock is not available on this kernel (%s)",
		   strerror(abi < 0 ? -abi : ENOTSUP));
	hutch_err_hint(err, "enable Landlock (lsm=...,landlock), or give hutch oci "
			    "--allow-degraded to run containers without it");
	return -ENOTSUP;
}

int hutch_oci_prepare(const struct hutch_oci_opts *o, hutch_error *err)
{
	_cleanup_close_ int dirfd = -1;
	_cleanup_free_ char *bundle = NULL;
	_cleanup_json_ json_t *config = NULL;
	_cleanup_(policy_freep) hutch_policy *p = NULL;
	_cleanup_free_ struct plan *pl = calloc(1, sizeof(*pl));
	int r;

	if (!pl)
		return hutch_err(err, ENOMEM, "oci");
	bundle = realpath(o->bundle ? o->bundle : ".", NULL);
	if (!bundle)
		return hutch_err(err, errno, "bundle %s", o->bundle ? o->bundle : ".");
	dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return hutch_err(err, errno, "bundle %s", bundle);
	r = hutch_oci_read_config(dirfd, &config, err);
	if (r < 0)
		return r;
	r = hutch_oci_load_policy(o, config, &p, err);
	if (r < 0 || !p)
		return r < 0 ? r : -ENOMEM;
	r = check_policy(p, pl, err);
	/* a pod's namespace behind hutch's proxy: no container of it may undo the rules */
	if (r == 0 && hutch_oci_podnet_served(config))
		pl->flags |= HUTCH_OCI_DROP_NET_CAPS;
	if (r == 0)
		r = plan_landlock(pl, config, p, err);
	if (r == 0)
		r = check_landlock(pl, err);
	if (r == 0)
		r = write_layers(dirfd, pl, err);
	if (r == 0)
		r = hutch_oci_persist_record(dirfd, bundle, config, p, o->quarantine_dir, err);
	if (r == 0)
		r = rewrite_config(dirfd, config, bundle, o->init_path, pl->proxy ? p : NULL,
				   pl->audit, err);
	return r;
}

/* ---- exec ---------------------------------------------------------------------------- */

int hutch_oci_state_bundle(const char *json, size_t len, char **bundle, hutch_error *err)
{
	_cleanup_json_ json_t *state = json_loadb(json, len, 0, NULL);
	const char *b = json_string_value(json_object_get(state, "bundle"));

	if (!b)
		return hutch_errx(err, EINVAL, "runc state: no \"bundle\" in its output");
	*bundle = strdup(b);
	return *bundle ? 0 : hutch_err(err, ENOMEM, "runc state");
}

int hutch_oci_bundle_wrapped(const char *bundle)
{
	_cleanup_close_ int dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (dirfd < 0)
		return -errno;
	if (fstatat(dirfd, LAYERS_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return S_ISREG(st.st_mode) ? 1 : 0;
}

int hutch_oci_wrap_process_file(const char *path, hutch_error *err)
{
	_cleanup_free_ char *data = NULL, *text = NULL;
	_cleanup_json_ json_t *process = NULL;
	json_error_t jerr;
	size_t len;
	int r = hutch_read_file_at(AT_FDCWD, path, MAX_CONFIG_BYTES, &data, &len);

	if (r < 0)
		return hutch_err(err, -r, "exec: reading the process file %s", path);
	process = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(process))
		return hutch_errx(err, EINVAL, "exec: %s:%d:%d: %s", path, jerr.line, jerr.column,
				  process ? "not an object" : jerr.text);
	r = prepend_init(process);
	if (r < 0)
		return hutch_err(err, -r, "exec: %s: no \"args\" to run", path);
	text = json_dumps(process, JSON_COMPACT);
	if (!text)
		return hutch_err(err, ENOMEM, "exec");
	r = hutch_oci_write_bundle_file(AT_FDCWD, path, text, strlen(text), 0600);
	if (r < 0)
		return hutch_err(err, -r, "exec: writing the process file %s", path);
	return 0;
}
