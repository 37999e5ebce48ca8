/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Persistence on the mounted workspace (docs/oci.md, "Persistence: the mounted
 * workspace"). At create, before runc runs: the host directories bound writable into
 * the container (volumes, the project; not the engine's own files) are recorded in the
 * bundle's hutch-persist with their device and inode and the time (CLOCK_REALTIME).
 * At delete, after runc delete: each one still the same directory, reached from "/"
 * without a symbolic link, is walked by the end-of-run check of hutch run
 * (audit/gitguard.c): git code, .env files and local instruction files made or changed
 * since create go to the quarantine. Each action goes to the caller and, when the
 * policy has an audit file, as a "persist" event to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/gitguard.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/file.h"
#include "base/path.h"
#include "oci/oci-int.h"

#define PERSIST_FILE HUTCH_OCI_PERSIST_FILE
#define MAX_PERSIST_BYTES (1024 * 1024)
#define MAX_ROOTS 256

#define _cleanup_json_ _cleanup_(json_decrefp)

/* Destinations whose sources are never the workload's project (docs/oci.md). */
static const char *const skipped_dests[] = {
	"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run/.containerenv", "/dev",
	"/proc",      "/sys",	       HUTCH_OCI_INIT_DEST};

static bool mount_has_option(json_t *mount, const char *opt)
{
	json_t *o;
	size_t i;

	json_array_foreach(json_object_get(mount, "options"), i, o)
	{
		if (json_is_string(o) && !strcmp(json_string_value(o), opt))
			return true;
	}
	return false;
}

static bool skipped_dest(const char *dest)
{
	if (!strcmp(dest, "/"))
		return true;
	for (size_t i = 0; i < sizeof(skipped_dests) / sizeof(skipped_dests[0]); i++)
		if (hutch_path_has_prefix(dest, skipped_dests[i]))
			return true;
	return false;
}

/* A writable bind's host directory, canonical, with its identity; NULL if none. */
static json_t *writable_root(json_t *m, const char *bundle)
{
	const char *dest = json_string_value(json_object_get(m, "destination"));
	const char *src = json_string_value(json_object_get(m, "source"));
	const char *type = json_string_value(json_object_get(m, "type"));
	bool bind = (type && !strcmp(type, "bind")) || mount_has_option(m, "bind") ||
		    mount_has_option(m, "rbind");
	_cleanup_free_ char *joined = NULL, *real = NULL;
	struct stat st;

	if (!bind || !dest || !src || dest[0] != '/' || mount_has_option(m, "ro") ||
	    skipped_dest(dest))
		return NULL;
	if (src[0] != '/') { /* relative to the bundle, as runc takes it */
		joined = hutch_path_join(bundle, src);
		if (!joined)
			return NULL;
		src = joined;
	}
	real = realpath(src, NULL);
	if (!real || lstat(real, &st) < 0 || !S_ISDIR(st.st_mode) || !strcmp(real, "/"))
		return NULL;
	return json_pack("{s:s,s:s,s:I,s:I}", "path", real, "dest", dest, "dev",
			 (json_int_t)st.st_dev, "ino", (json_int_t)st.st_ino);
}

int hutch_oci_persist_record(int dirfd, const char *bundle, json_t *config,
			     const struct hutch_policy *p, const char *quarantine_dir,
			     hutch_error *err)
{
	_cleanup_json_ json_t *rec = NULL, *roots = json_array();
	_cleanup_free_ char *text = NULL;
	struct timespec now;
	json_t *m;
	size_t i;
	int r;

	if (!roots)
		return hutch_err(err, ENOMEM, "bundle: %s", PERSIST_FILE);
	clock_gettime(CLOCK_REALTIME, &now);
	json_array_foreach(json_object_get(config, "mounts"), i, m)
	{
		json_t *root = writable_root(m, bundle);

		if (root &&
		    (json_array_size(roots) >= MAX_ROOTS || json_array_append_new(roots, root) < 0))
			return hutch_errx(err, E2BIG, "bundle: more than %d writable binds",
					  MAX_ROOTS);
	}
	if (json_array_size(roots) == 0) { /* nothing to check at delete */
		r = unlinkat(dirfd, PERSIST_FILE, 0);
		return r < 0 && errno != ENOENT ? hutch_err(err, errno, "bundle: %s", PERSIST_FILE)
						: 0;
	}
	rec = json_pack("{s:[I,I],s:O,s:s?,s:s?}", "start", (json_int_t)now.tv_sec,
			(json_int_t)now.tv_nsec, "roots", roots, "audit", p ? p->audit_file : NULL,
			"quarantine",
			quarantine_dir && quarantine_dir[0] == '/' ? quarantine_dir : NULL);
	text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	if (!text)
		return hutch_err(err, ENOMEM, "bundle: %s", PERSIST_FILE);
	r = hutch_oci_write_bundle_file(dirfd, PERSIST_FILE, text, strlen(text), 0600);
	return r < 0 ? hutch_err(err, -r, "bundle: writing %s", PERSIST_FILE) : 0;
}

struct check {
	hutch_oci_persist_fn fn;
	void *data;
	struct hutch_audit *audit;
	size_t n;
};

static void check_item(const struct hutch_persist_item *it, void *data)
{
	struct check *c = data;

	c->n++;
	hutch_audit_persist(c->audit, it);
	c->fn(it, c->data);
}

/* Is @path still the directory recorded at create, reached from "/" without a symlink? */
static int same_dir(int rootfd, const char *path, json_t *root)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = hutch_open_beneath(rootfd, path + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((json_int_t)st.st_dev != json_integer_value(json_object_get(root, "dev")) ||
	    (json_int_t)st.st_ino != json_integer_value(json_object_get(root, "ino")))
		return -ESTALE;
	return 0;
}

static int check_roots(struct check *c, json_t *rec, const struct timespec *start, const char *q,
		       hutch_error *err)
{
	json_t *roots = json_object_get(rec, "roots"), *root;
	size_t n_roots = json_array_size(roots), n = 0, i;
	_cleanup_free_ const char **paths = calloc(n_roots ? n_roots : 1, sizeof(char *));
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct hutch_gitguard_stats stats = {0};
	hutch_error e = {0};

	if (!paths || rootfd < 0)
		return hutch_err(err, paths ? errno : ENOMEM, "persistence check");
	json_array_foreach(roots, i, root)
	{
		const char *path = json_string_value(json_object_get(root, "path"));
		int r;

		if (!path || path[0] != '/')
			continue;
		r = same_dir(rootfd, path, root);
		if (r < 0) {
			struct hutch_persist_item it = {
				HUTCH_PERSIST_FAILED, path, NULL, "writable bind",
				r == -ENOENT ? "gone since create"
				: (r == -ESTALE || r == -ELOOP || r == -EXDEV || r == -ENOTDIR)
					? "not the directory bound at create (a "
					  "symbolic link or another directory): "
					  "not checked"
					: strerror(-r)};
			if (r != -ENOENT)
				check_item(&it, c);
			continue;
		}
		paths[n++] = path;
	}
	if (n && hutch_gitguard_check(paths, n, NULL, 0, start, q, NULL, check_item, c, &stats,
				      &e) < 0) {
		struct hutch_persist_item it = {HUTCH_PERSIST_FAILED, q, NULL, "quarantine", e.msg};
		check_item(&it, c);
	}
	return 0;
}

int hutch_oci_persist_check(const char *bundle, const char *id, const char *quarantine_base,
			    hutch_oci_persist_fn fn, void *data, hutch_error *err)
{
	_cleanup_close_ int dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL, *q = NULL;
	_cleanup_json_ json_t *rec = NULL;
	struct hutch_audit_sink *sink = NULL;
	struct check c = {fn, data, NULL, 0};
	const char *audit;
	struct timespec start;
	hutch_error e = {0};
	json_t *t;
	size_t len;
	int r;

	if (dirfd < 0)
		return errno == ENOENT ? 0 : hutch_err(err, errno, "bundle %s", bundle);
	r = hutch_read_file_at(dirfd, PERSIST_FILE, MAX_PERSIST_BYTES, &text, &len);
	if (r == -ENOENT)
		return 0; /* no writable bind, or not hutch's container */
	if (r < 0)
		return hutch_err(err, -r, "bundle: reading %s", PERSIST_FILE);
	rec = json_loadb(text, len, 0, NULL);
	t = json_object_get(rec, "start");
	if (!json_is_array(json_object_get(rec, "roots")) ||
	    !json_is_integer(json_array_get(t, 0)) || !json_is_integer(json_array_get(t, 1)))
		return hutch_errx(err, EINVAL, "bundle: %s: not hutch's record", PERSIST_FILE);
	start.tv_sec = (time_t)json_integer_value(json_array_get(t, 0));
	start.tv_nsec = (long)json_integer_value(json_array_get(t, 1));
	if (!id[0] || strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, ".."))
		return hutch_errx(err, EINVAL, "container id '%s': not a file name", id);
	t = json_object_get(rec, "quarantine");
	if (json_is_string(t) && json_string_value(t)[0] == '/')
		quarantine_base = json_string_value(t);
	q = hutch_path_join(quarantine_base, id);
	if (!q)
		return hutch_err(err, ENOMEM, "persistence check");
	audit = json_string_value(json_object_get(rec, "audit"));
	if (audit && hutch_audit_sink_open(audit, &sink, &e) < 0) {
		struct hutch_persist_item it = {HUTCH_PERSIST_FAILED, audit, NULL, "audit file",
						e.msg};
		check_item(&it, &c);
	}
	if (sink && hutch_audit_new_with_sink(NULL, id, sink, &c.audit) < 0)
		return hutch_err(err, ENOMEM, "audit");
	r = check_roots(&c, rec, &start, q, err);
	hutch_audit_free(c.audit);
	rmdir(q); /* empty: nothing was quarantined */
	if (r == 0)
		(void)unlinkat(dirfd, PERSIST_FILE, 0);
	return r < 0 ? r : (int)(c.n > 0);
}
