/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The repository search's cache file (scancache.c): what is saved loads back
 * exactly, names with any byte but NUL included; a file for another root, a
 * damaged file or none at all is "no cache". Whether a cache still holds is
 * protect.c's business, tested in tests/integration/protected.t.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/scancache.h"
#include "tap.h"

static char dir[] = "/tmp/hutch-scancache-XXXXXX";

/* The files in @d (-1 if it cannot be read); with @cut, each one truncated to @cut bytes. */
/* The only file in @d replaced by a cache of root "/ws" with one directory record @ids. */
static int forge(const char *d, const char *ids)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	char path[512] = "", body[256];
	int len, r = -1;
	FILE *f;

	if (!dp)
		return -1;
	while ((de = readdir(dp)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			snprintf(path, sizeof(path), "%s/%s", d, de->d_name);
	closedir(dp);
	len = snprintf(body, sizeof(body), "hutch-scan 2%c/ws%cd%c%s%c.%c%c", 0, 0, 0, ids, 0, 0,
		       0);
	f = path[0] ? fopen(path, "w") : NULL;
	if (f && fwrite(body, 1, (size_t)len, f) == (size_t)len)
		r = 0;
	if (f && fclose(f) != 0)
		r = -1;
	return r;
}

static int files(const char *d, off_t cut, bool remove)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	char path[512];
	int n = 0;

	if (!dp)
		return -1;
	while ((de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d, de->d_name);
		if (cut > 0 && truncate(path, cut) < 0)
			n = -1000;
		if (remove && unlink(path) < 0)
			n = -1000;
		n++;
	}
	closedir(dp);
	return n;
}

int main(void)
{
	char cache[sizeof(dir) + 8];
	struct hutch_scan_dir dirs[3] = {
		{.rel = (char *)".",
		 .dev = 8,
		 .ino = 2,
		 .ctime = {1700000000, 123456789},
		 .read = true,
		 .has_git = true,
		 .count = 17,
		 .subdirs = (char *)"a/b c/src"},
		{.rel = (char *)"we ird\nname",
		 .dev = 8,
		 .ino = 77,
		 .ctime = {1, 0},
		 .read = true,
		 .count = 2,
		 .subdirs = (char *)""},
		{.rel = (char *)"a/deep", .dev = 9, .ino = 5, .ctime = {2, 999999999}},
	};
	char *repos[] = {(char *)"a/b c", (char *)"we ird\nname/x"};
	struct hutch_scan_cache in = {dirs, 3, repos, 2}, out;

	if (!mkdtemp(dir))
		return 1;
	snprintf(cache, sizeof(cache), "%s/scan", dir);

	is_int(hutch_scancache_load(cache, "/ws", &out), -ENOENT, "no cache yet: -ENOENT");
	is_int(hutch_scancache_load(NULL, "/ws", &out), -ENOENT, "no cache directory: -ENOENT");
	is_int(hutch_scancache_save(cache, "/ws", &in), 0, "saved");
	is_int(files(cache, 0, false), 1, "one file, no temporary left");
	is_int(hutch_scancache_load(cache, "/ws", &out), 0, "loads");
	is_int(out.n_dirs, 3, "three directories");
	is_int(out.n_repos, 2, "two repositories");
	for (size_t i = 0; i < 3 && out.n_dirs == 3; i++) {
		const struct hutch_scan_dir *a = &dirs[i], *b = &out.dirs[i];
		ok(!strcmp(a->rel, b->rel) && a->dev == b->dev && a->ino == b->ino &&
			   a->ctime.tv_sec == b->ctime.tv_sec &&
			   a->ctime.tv_nsec == b->ctime.tv_nsec && a->read == b->read &&
			   a->has_git == b->has_git && a->count == b->count &&
			   !strcmp(a->subdirs ? a->subdirs : "", b->subdirs),
		   "directory %zu round-trips exactly", i);
	}
	if (out.n_repos == 2) {
		is_str(out.repos[0], "a/b c", "repository with a space");
		is_str(out.repos[1], "we ird\nname/x", "repository with a newline");
	}
	hutch_scancache_free(&out);

	is_int(hutch_scancache_load(cache, "/other", &out), -ENOENT,
	       "another root has no cache (one file per root)");

	is_int(hutch_scancache_save(cache, "/other", &in), 0, "a second root saved");
	is_int(files(cache, 0, false), 2, "in a file of its own");
	is_int(hutch_scancache_load(cache, "/other", &out), 0, "and loads");
	hutch_scancache_free(&out);

	/* damaged: every file cut in the middle of a record */
	is_int(files(cache, 40, false), 2, "files cut short");
	is_int(hutch_scancache_load(cache, "/ws", &out), -ENOENT, "a damaged file is no cache");

	/* a directory's numbers: exactly seven decimal fields, a sign only on the ctime */
	ok(files(cache, 0, true) == 2 && hutch_scancache_save(cache, "/ws", &in) == 0,
	   "a fresh cache");
	ok(forge(cache, "18446744073709551615 2 -5 7 1 0 3") == 0 &&
		   hutch_scancache_load(cache, "/ws", &out) == 0 && out.n_dirs == 1 &&
		   out.dirs[0].dev == (dev_t)18446744073709551615ull && out.dirs[0].ino == 2 &&
		   out.dirs[0].ctime.tv_sec == -5 && out.dirs[0].ctime.tv_nsec == 7 &&
		   out.dirs[0].read && !out.dirs[0].has_git && out.dirs[0].count == 3,
	   "a record with the largest device number and a negative ctime loads");
	hutch_scancache_free(&out);
	{
		static const char *const bad[] = {
			"",
			"8 2 1 2 1 0",
			"8 2 1 2 1 0 3 4",
			"8 2 1 2 1 0 3 ",
			" 8 2 1 2 1 0 3",
			"8  2 1 2 1 0 3",
			"8 x 1 2 1 0 3",
			"-8 2 1 2 1 0 3",
			"8 2 1 2 1 -0 3",
			"8 2 +1 2 1 0 3",
			"18446744073709551616 2 1 2 1 0 3",
			"8 2 9223372036854775808 2 1 0 3",
			"8 2 1 2 1 0 3x",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ok(forge(cache, bad[i]) == 0 &&
				   hutch_scancache_load(cache, "/ws", &out) == -ENOENT,
			   "a record \"%s\" is no cache", bad[i]);
	}

	ok(files(cache, 0, true) == 1 && rmdir(cache) == 0 && rmdir(dir) == 0, "cleaned up");
	return done_testing();
}
