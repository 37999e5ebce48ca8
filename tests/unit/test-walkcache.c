/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The end-of-run check's walk cache: its file (walkcache.c) loads back
 * exactly, names with any byte but NUL included; a file for another root, a
 * damaged, truncated or forged one, or none at all is "no cache"; the racy
 * predicate. Then the check itself (gitguard.c) with a warm cache: what it
 * trusts is only what did not change, and every plant is still found.
 * The same attacks from inside a sandbox: tests/escape/persistence-cache.t.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/gitguard.h"
#include "audit/walkcache.h"
#include "tap.h"

static char dir[] = "/tmp/hutch-walkcache-XXXXXX";
static char cache[sizeof(dir) + 8];
static int n_moved, n_sanitized, n_failed;
static char seen[8192];

static void bail_out(const char *what, const char *detail)
{
	printf("Bail out! %s: %s\n", what, detail);
	exit(1);
}

#define must(cond)                                                                                 \
	do {                                                                                       \
		if (!(cond))                                                                       \
			bail_out("failed", #cond);                                                 \
	} while (0)

static void sh(const char *cmd)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), "D=%s; set -e; %s", dir, cmd);
	if (system(buf) != 0) // NOLINT(cert-env33-c): the test builds its tree with the shell
		bail_out("shell", cmd);
}

/* The one cache file in @d: its path in @out; with @cut truncated, with @flip a byte changed. */
static int cache_file(char *out, size_t n)
{
	DIR *dp = opendir(cache);
	struct dirent *de;
	int found = 0;

	if (!dp)
		return 0;
	while ((de = readdir(dp)))
		if (de->d_name[0] != '.') {
			snprintf(out, n, "%s/%s", cache, de->d_name);
			found++;
		}
	closedir(dp);
	return found;
}

static void test_format(void)
{
	struct hutch_walkcache c = {0}, l = {0};
	struct hutch_walk_rec r = {.dev = 8, .ino = 2, .sec = 1700000000, .nsec = 123456789};
	struct timespec saved = {1700000001, 5};
	const char *rels[] = {"", "a", "a/we ird\nname", "a/we ird\nname/x", "b"};
	const uint32_t subtree[] = {4, 2, 1, 0, 0};
	char path[512];
	int fd;

	for (size_t i = 0; i < 5; i++) {
		r.ino = 2 + i;
		r.flags = (uint32_t)i;
		r.subtree = subtree[i];
		ok(hutch_walkcache_add(&c, &r, rels[i]) == (long)i, "record %zu added", i);
	}
	is_int(hutch_walkcache_save(cache, "/some/root", &c, &saved), 0, "saved");
	is_int(hutch_walkcache_load(cache, "/some/root", &l), 0, "loads back");
	ok(l.n == 5 && l.saved.tv_sec == 1700000001 && l.saved.tv_nsec == 5,
	   "  5 records, the time");
	for (size_t i = 0; i < 5 && l.n == 5; i++) {
		ok(!strcmp(hutch_walkcache_rel(&l, i), rels[i]) && l.recs[i].ino == 2 + i &&
			   l.recs[i].flags == i && l.recs[i].subtree == subtree[i] &&
			   l.recs[i].dev == 8 && l.recs[i].sec == 1700000000 &&
			   l.recs[i].nsec == 123456789,
		   "  record %zu is what was saved", i);
		is_int((int)hutch_walkcache_find(&l, rels[i]), (int)i, "  found by its path");
	}
	is_int((int)hutch_walkcache_find(&l, "a/x"), -1, "  a path not in it: none");
	hutch_walkcache_free(&l);
	is_int(hutch_walkcache_load(cache, "/other/root", &l), -ENOENT, "another root's: no cache");
	is_int(hutch_walkcache_load(dir, "/some/root", &l), -ENOENT, "no file: no cache");
	ok(cache_file(path, sizeof(path)) == 1, "one file per root");
	{
		struct stat st;
		ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "  private to its user");
	}
	/* a damaged file: each byte changed in turn (the checksum or the structure catches it) */
	{
		struct stat st;
		int bad = 0;
		stat(path, &st);
		for (off_t i = 0; i < st.st_size; i++) {
			unsigned char b;
			fd = open(path, O_RDWR);
			must(pread(fd, &b, 1, i) == 1);
			b ^= 0x41;
			must(pwrite(fd, &b, 1, i) == 1);
			bad += hutch_walkcache_load(cache, "/some/root", &l) == 0;
			hutch_walkcache_free(&l);
			b ^= 0x41;
			must(pwrite(fd, &b, 1, i) == 1);
			close(fd);
		}
		is_int(bad, 0, "any byte changed: no cache");
		must(truncate(path, st.st_size - 1) == 0);
		is_int(hutch_walkcache_load(cache, "/some/root", &l), -ENOENT,
		       "truncated: no cache");
		must(truncate(path, 20) == 0);
		is_int(hutch_walkcache_load(cache, "/some/root", &l), -ENOENT,
		       "truncated in its header: no cache");
		fd = open(path, O_WRONLY | O_TRUNC);
		must(write(fd, "hutch-walk 1\0garbage", 20) == 20);
		close(fd);
		is_int(hutch_walkcache_load(cache, "/some/root", &l), -ENOENT, "garbage: no cache");
	}
	/* well-formed files whose records are no tree (a forger's, or a bug's) */
	{
		static const char *const forged[][3] = {
			{"", "a", "b/c"},  /* not a child of its parent */
			{"x", "x/a", ""},  /* the first is not the root */
			{"", "a", "a/.."}, /* ".." as a name */
			{"", "a", "a"},	   /* a path twice */
		};
		for (size_t k = 0; k < 4; k++) {
			struct hutch_walkcache f = {0};
			struct hutch_walk_rec fr = {.ino = 1};
			for (size_t i = 0; i < 3; i++) {
				fr.subtree = i == 0 ? 2 : (k == 0 && i == 1 ? 1 : 0);
				hutch_walkcache_add(&f, &fr, forged[k][i]);
			}
			hutch_walkcache_save(cache, "/some/root", &f, &saved);
			is_int(hutch_walkcache_load(cache, "/some/root", &l), -ENOENT,
			       "forged records (%s, %s, %s): no cache", forged[k][0], forged[k][1],
			       forged[k][2]);
			hutch_walkcache_free(&f);
		}
	}
	unlink(path);
	hutch_walkcache_free(&c);
}

static void test_racy(void)
{
	struct timespec saved = {1000, 500000000};
	long long res = 4000000; /* 4 ms: HZ=250 */

	/* the limit: saved - 2 * 4 ms - 1 ms = 1000.491 */
	ok(hutch_walkcache_racy(1000, 500000000, &saved, res), "a ctime at the save: racy");
	ok(hutch_walkcache_racy(1000, 491000000, &saved, res), "at the limit: racy");
	ok(!hutch_walkcache_racy(1000, 490999999, &saved, res), "one ns before: trusted");
	ok(hutch_walkcache_racy(1001, 0, &saved, res), "after the save: racy");
	ok(!hutch_walkcache_racy(999, 999999999, &saved, res), "a second before: trusted");
	saved = (struct timespec){1000, 1000};
	ok(hutch_walkcache_racy(999, 991001000, &saved, res), "the limit across a second: racy");
	ok(!hutch_walkcache_racy(999, 991000999, &saved, res), "  one ns before: trusted");
}

static void item(const struct hutch_persist_item *it, void *data)
{
	(void)data;
	if (it->action == HUTCH_PERSIST_FAILED)
		n_failed++;
	else if (it->action == HUTCH_PERSIST_SANITIZED)
		n_sanitized++;
	else
		n_moved++;
	snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%d %s (%s)\n", it->action,
		 it->path, it->what);
}

static bool exists(const char *base, const char *rel)
{
	char p[8192];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	return lstat(p, &st) == 0;
}

/* One end-of-run check of @ws with the cache; @start: before the "run". */
static struct hutch_gitguard_stats check(const char *ws, const struct timespec *start)
{
	const char *roots[1] = {ws};
	struct hutch_gitguard_stats st = {0};
	hutch_error err = {0};
	char q[4200];

	snprintf(q, sizeof(q), "%s/q", dir);
	n_moved = n_sanitized = n_failed = 0;
	seen[0] = '\0';
	if (hutch_gitguard_check(roots, 1, NULL, 0, start, q, cache, item, NULL, &st, &err) < 0)
		bail_out("check", err.msg);
	return st;
}

/* The cache is warm: a check now trusts every directory (older than the racy margin). */
static struct timespec warm(const char *ws)
{
	struct timespec start;
	struct hutch_gitguard_stats st;

	usleep(100000);
	clock_gettime(CLOCK_REALTIME, &start);
	check(ws, &start);
	usleep(100000);
	clock_gettime(CLOCK_REALTIME, &start);
	st = check(ws, &start);
	ok(st.dirs > 5 && st.trusted == st.dirs, "warm cache: all %llu directories trusted",
	   (unsigned long long)st.dirs);
	usleep(100000);
	clock_gettime(CLOCK_REALTIME, &start);
	return start;
}

static void test_walk(void)
{
	char ws[4200];
	struct hutch_gitguard_stats st;
	struct timespec start;

	snprintf(ws, sizeof(ws), "%s/ws", dir);
	sh("mkdir -p $D/ws/src/a/b/c/d/e $D/ws/lib/x/y $D/ws/nested/.git/hooks "
	   "$D/ws/nested/.git/objects $D/ws/nested/.git/refs $D/ws/cfg/sub;"
	   "echo 'ref: x' > $D/ws/nested/.git/HEAD; printf '[core]\\n\\tbare = false\\n' > "
	   "$D/ws/nested/.git/config; printf 'DB=1\\n' > $D/ws/cfg/.env; echo hi > "
	   "$D/ws/src/a/b/CLAUDE.local.md");

	/* 1. the user makes a new tree; the run plants a repository with a hook inside it */
	start = warm(ws);
	sh("mkdir -p $D/ws/lib/x/y/new/tree");
	clock_gettime(CLOCK_REALTIME, &start);
	sh("cd $D/ws/lib/x/y/new/tree && mkdir -p r/.git/hooks r/.git/objects r/.git/refs && echo "
	   "'ref: x' > r/.git/HEAD && echo evil > r/.git/hooks/pre-commit && printf "
	   "'[core]\\n\\tfsmonitor = evil\\n' > r/.git/config");
	st = check(ws, &start);
	ok(!exists(ws, "lib/x/y/new/tree/r/.git/hooks/pre-commit"),
	   "1. a hook planted in a tree made outside after the cache: moved");
	ok(n_sanitized == 1 && n_failed == 0, "  and its fsmonitor removed");
	ok(st.trusted > 0, "  (with the cache: %llu of %llu directories trusted)",
	   (unsigned long long)st.trusted, (unsigned long long)st.dirs);

	/* 2. in place, in unchanged directories: a .env, a nested repository's config */
	start = warm(ws);
	sh("printf 'LD_PRELOAD=/x.so\\n' >> $D/ws/cfg/.env; printf '\\tfsmonitor = evil\\n' >> "
	   "$D/ws/nested/.git/config; echo more >> $D/ws/src/a/b/CLAUDE.local.md");
	st = check(ws, &start);
	ok(n_sanitized == 2 && strstr(seen, "cfg/.env") && strstr(seen, "nested/.git/config"),
	   "2. a .env and a repository's config changed in place: sanitised");
	ok(!exists(ws, "src/a/b/CLAUDE.local.md"), "  local instructions changed in place: moved");
	ok(st.trusted > 0 && n_failed == 0, "  (%llu of %llu directories trusted)",
	   (unsigned long long)st.trusted, (unsigned long long)st.dirs);

	/* 3. deep under unchanged parents; a cached directory swapped for a symlink */
	start = warm(ws);
	sh("cd $D/ws/src/a/b/c/d/e && mkdir -p .git/hooks .git/objects .git/refs && echo 'ref: x' "
	   "> "
	   ".git/HEAD && echo evil > .git/hooks/post-checkout");
	sh("mv $D/ws/lib/x $D/ws/lib/moved && ln -s /tmp $D/ws/lib/x && mkdir -p "
	   "$D/ws/lib/moved/y/z/.git/hooks && cd $D/ws/lib/moved/y/z/.git && mkdir objects refs && "
	   "echo 'ref: x' > HEAD && echo evil > hooks/pre-push");
	st = check(ws, &start);
	ok(!exists(ws, "src/a/b/c/d/e/.git/hooks/post-checkout"),
	   "3. a hook planted six levels deep: moved");
	ok(!exists(ws, "lib/moved/y/z/.git/hooks/pre-push"),
	   "  a cached directory moved away (a symlink in its place): the plant there is moved");
	ok(exists(ws, "lib/x") && n_failed == 0, "  the symlink is not followed, nothing failed");

	/* 4. a damaged cache: everything read, the plants found */
	start = warm(ws);
	{
		char path[512];
		int fd;
		if (cache_file(path, sizeof(path)) == 1 && (fd = open(path, O_WRONLY)) >= 0) {
			must(pwrite(fd, "XX", 2, 100) == 2);
			close(fd);
		}
	}
	sh("echo evil > $D/ws/nested/.git/hooks/pre-commit");
	st = check(ws, &start);
	ok(!exists(ws, "nested/.git/hooks/pre-commit") && st.trusted == 0,
	   "4. a damaged cache: nothing trusted, the plant moved");
	st = check(ws, &start);
	ok(st.trusted > 0, "  and wrote it again: the next check trusts again");
}

int main(void)
{
	if (!mkdtemp(dir))
		bail_out("mkdtemp", dir);
	snprintf(cache, sizeof(cache), "%s/walk", dir);
	test_format();
	test_racy();
	test_walk();
	sh("rm -rf $D");
	return done_testing();
}
