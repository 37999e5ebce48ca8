/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Trusted project policies: `hutch trust FILE` pins the real path and the
 * SHA-256 of the content of a .hutch.json in $XDG_CONFIG_HOME/hutch/trusted,
 * one "sha256 path" per line. A project policy is applied only while both
 * match, so any change to the file makes it untrusted again. The store is
 * written atomically (temporary file, fsync, rename) with mode 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/file.h"
#include "base/error.h"
#include "base/path.h"
#include "base/sha256.h"
#include "policy/policy.h"

#define TRUST_MAX_BYTES (1024 * 1024)

char *hutch_config_dir(const char *home)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	_cleanup_free_ char *base = NULL;

	/* The XDG spec says relative values are invalid and must be ignored. */
	if (xdg && xdg[0] == '/')
		return hutch_path_join(xdg, "hutch");
	if (!home || !*home)
		home = getenv("HOME");
	if (!home || home[0] != '/') {
		errno = ENOENT;
		return NULL;
	}
	base = hutch_path_join(home, ".config");
	if (!base)
		return NULL;
	return hutch_path_join(base, "hutch");
}

char *hutch_trust_store_path(void)
{
	_cleanup_free_ char *dir = hutch_config_dir(NULL);

	if (!dir)
		return NULL;
	return hutch_path_join(dir, "trusted");
}

/* Read the store; a missing store is empty. */
static int read_store(const char *path, char **out, size_t *len, hutch_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t n = 0;
	int r;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if (fd < 0)
		return hutch_err(err, errno, "trust store %s", path);
	if (fstat(fd, &st) < 0)
		return hutch_err(err, errno, "trust store %s", path);
	if (!S_ISREG(st.st_mode) || st.st_size > TRUST_MAX_BYTES)
		return hutch_errx(err, EINVAL,
				  "trust store %s: not a regular file of at most %d bytes", path,
				  TRUST_MAX_BYTES);
	if ((st.st_mode & 022) || (st.st_uid != geteuid() && st.st_uid != 0)) {
		r = hutch_errx(err, EPERM,
			       "trust store %s: writable by other users or owned by someone "
			       "else; refusing to use it",
			       path);
		hutch_err_hint(err, "chmod 600 %s", path);
		return r;
	}
	r = hutch_read_fd(fd, TRUST_MAX_BYTES, &buf, &n);
	if (r == -EFBIG)
		return hutch_errx(err, EINVAL,
				  "trust store %s: not a regular file of at most %d bytes", path,
				  TRUST_MAX_BYTES);
	if (r < 0)
		return hutch_err(err, r, "trust store %s", path);
	*out = TAKE_PTR(buf);
	*len = n;
	return 0;
}

/* Does the store text contain exactly the line "@hex @path"? */
static bool store_has(const char *store, size_t len, const char *hex, const char *path)
{
	size_t plen = strlen(path);

	for (size_t i = 0; i < len;) {
		const char *line = store + i, *nl = memchr(line, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - line) : len - i;

		if (ll == 64 + 1 + plen && memcmp(line, hex, 64) == 0 && line[64] == ' ' &&
		    memcmp(line + 65, path, plen) == 0)
			return true;
		i += ll + 1;
	}
	return false;
}

int hutch_trust_check_data(const char *realpath_, const void *data, size_t len, bool *trusted,
			   hutch_error *err)
{
	_cleanup_free_ char *store_path = NULL, *store = NULL;
	char hex[65];
	size_t slen;
	int r;

	*trusted = false;
	store_path = hutch_trust_store_path();
	if (!store_path)
		return 0; /* no configuration directory: nothing is trusted */
	r = read_store(store_path, &store, &slen, err);
	if (r < 0)
		return r;
	if (!store)
		return 0;
	hutch_sha256_hex(data, len, hex);
	*trusted = store_has(store, slen, hex, realpath_);
	return 0;
}

int hutch_trust_check(const char *path, bool *trusted, hutch_error *err)
{
	_cleanup_free_ char *rp = NULL, *data = NULL;
	size_t len;
	int r;

	if (!trusted)
		return hutch_errx(err, EINVAL, "trust check: no result");
	*trusted = false;
	rp = realpath(path, NULL);
	if (!rp)
		return hutch_err(err, errno, "%s", path);
	r = hutch_read_policy_file(rp, &data, &len, err);
	if (r < 0)
		return r;
	return hutch_trust_check_data(rp, data, len, trusted, err);
}

int hutch_trust_add(const char *path, char sha256_hex[65], hutch_error *err)
{
	_cleanup_free_ char *rp = NULL, *data = NULL, *dir = NULL, *store_path = NULL;
	_cleanup_free_ char *store = NULL, *text = NULL;
	char hex[65];
	size_t len, slen, plen, tlen = 0;
	int r;

	if (!path || !*path)
		return hutch_errx(err, EINVAL, "trust: no file given");
	rp = realpath(path, NULL);
	if (!rp)
		return hutch_err(err, errno, "cannot trust %s", path);
	if (strchr(rp, '\n'))
		return hutch_errx(err, EINVAL, "cannot trust %s: its path contains a newline",
				  path);
	r = hutch_read_policy_file(rp, &data, &len, err);
	if (r < 0)
		return r;
	hutch_sha256_hex(data, len, hex);

	dir = hutch_config_dir(NULL);
	if (!dir)
		return hutch_errx(err, ENOENT,
				  "cannot trust %s: neither XDG_CONFIG_HOME nor HOME is set", path);
	store_path = hutch_path_join(dir, "trusted");
	if (!store_path)
		return hutch_err(err, ENOMEM, "trust");
	r = hutch_mkdir_p(dir, 0700);
	if (r < 0)
		return hutch_err(err, r, "cannot create %s", dir);
	r = read_store(store_path, &store, &slen, err);
	if (r < 0)
		return r;

	/* Keep every other entry; replace the one for this path. */
	plen = strlen(rp);
	{
		_cleanup_fclose_ FILE *f = open_memstream(&text, &tlen);

		if (!f)
			return hutch_err(err, ENOMEM, "trust");
		for (size_t i = 0; store && i < slen;) {
			const char *line = store + i, *nl = memchr(line, '\n', slen - i);
			size_t ll = nl ? (size_t)(nl - line) : slen - i;

			if (ll > 65 && !(ll == 65 + plen && memcmp(line + 65, rp, plen) == 0))
				fprintf(f, "%.*s\n", (int)ll, line);
			i += ll + 1;
		}
		fprintf(f, "%s %s\n", hex, rp);
		if (fclose(TAKE_PTR(f)) != 0)
			return hutch_err(err, ENOMEM, "trust");
	}
	r = hutch_write_file_atomic(store_path, text, tlen, 0600);
	if (r < 0)
		return hutch_err(err, r, "cannot replace %s", store_path);
	if (sha256_hex)
		memcpy(sha256_hex, hex, 65);
	return 0;
}
