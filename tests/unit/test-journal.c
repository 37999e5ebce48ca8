/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Placeholder journal (src/lib/sandbox/journal.c): placeholders are made, removed, and
 * recycled through the stash without ever losing or showing anything a user
 * put there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/protect.h"
#include "session/session.h"
#include "base/file.h"
#include "tap.h"

static char root[] = "/var/tmp/test-journal.XXXXXX";
static char state[PATH_MAX], ws[PATH_MAX], stash[PATH_MAX];

static char *at(const char *dir, const char *name)
{
	static char buf[4][PATH_MAX];
	static int k;
	char *b = buf[k++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

static ino_t ino(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? 0 : st.st_ino;
}

static mode_t mode(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? 0 : st.st_mode;
}

static int count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* A home-like directory outside the workspace, with what a placeholder clean-up could hit. */
static void make_victim(const char *home)
{
	char p[PATH_MAX];
	int fd;

	mkdir(home, 0755);
	snprintf(p, sizeof(p), "%s/.bashrc", home);
	close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	chmod(p, 0600);
	snprintf(p, sizeof(p), "%s/.claude", home);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/.vscode", home);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/.git", home);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/.git/commondir", home);
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd >= 0 && write(fd, ".\n", 2) != 2)
		printf("# write %s\n", p);
	close(fd);
}

/* Nothing of @home was touched: modes, files, directories. */
static void check_victim(const char *home, const char *what)
{
	printf("# %s\n", what);
	is_int(mode(at(home, ".bashrc")) & 07777, 0600, "  the 0600 file outside keeps its mode");
	is_int(mode(at(home, ".claude")) & 07777, 0700,
	       "  a 0700 directory outside keeps its mode");
	ok(S_ISDIR(mode(at(home, ".vscode"))), "  an empty directory outside stays where it is");
	ok(S_ISREG(mode(at(home, ".git/commondir"))), "  a file outside is not deleted");
}

static const char *const swap_names[] = {"home/.bashrc", "home/.claude", "home/.vscode",
					 "home/.git/commondir"};

/* Placeholders in @ws/@dir/home (a nested repository there). */
static struct hutch_placeholders *make_nested(const char *dir)
{
	struct hutch_placeholders *ph = NULL;
	hutch_error err = {0};
	char *missing[4], base[PATH_MAX], p[PATH_MAX];

	snprintf(base, sizeof(base), "%s/%s", ws, dir);
	mkdir(base, 0755);
	snprintf(p, sizeof(p), "%s/home", base);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/home/.git", base);
	mkdir(p, 0755);
	for (size_t i = 0; i < 4; i++)
		missing[i] = strdup(at(base, swap_names[i]));
	if (hutch_placeholders_create(state, missing, 4, NULL, 0, &ph, &err) < 0)
		printf("# create: %s\n", err.msg);
	for (size_t i = 0; i < 4; i++)
		free(missing[i]);
	return ph;
}

/* The sandbox's move: @dir away to @away, a symlink @dir -> @target in its place. */
static void swap(const char *dir, const char *away, const char *target)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "%s/%s", ws, dir);
	snprintf(b, sizeof(b), "%s/%s", ws, away);
	if (rename(a, b) < 0 || symlink(target, a) < 0)
		printf("# swap %s: %s\n", a, strerror(errno));
}

/* In STATE/placeholders: how many recycled journals (".free-*"), how many live ones. */
static void count_journals(int *n_free, int *n_live)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;

	*n_free = *n_live = 0;
	snprintf(dir, sizeof(dir), "%s/placeholders", state);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (!strncmp(de->d_name, ".free-", 6))
			(*n_free)++;
		else if (de->d_name[0] != '.')
			(*n_live)++;
	}
	if (d)
		closedir(d);
}

static void write_file(const char *path, const char *content)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		printf("# writing %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Whether @path holds exactly @content. */
static bool has(const char *path, const char *content)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(content) && !memcmp(buf, content, (size_t)n);
}

static struct hutch_placeholders *make(const char *const *names, size_t n)
{
	struct hutch_placeholders *ph = NULL;
	hutch_error err = {0};
	char *missing[8];

	for (size_t i = 0; i < n; i++)
		missing[i] = at(ws, names[i]);
	if (hutch_placeholders_create(state, missing, n, NULL, 0, &ph, &err) < 0)
		printf("# create: %s\n", err.msg);
	return ph;
}

int main(void)
{
	static const char *const names[] = {".vscode", ".envrc", "commondir"};
	struct hutch_placeholders *ph;
	ino_t first_vscode, first_commondir;
	char cmd[PATH_MAX + 16];

	if (!mkdtemp(root)) {
		printf("1..0 # skip mkdtemp: %s\n", strerror(errno));
		return 0;
	}
	snprintf(state, sizeof(state), "%s/state", root);
	snprintf(ws, sizeof(ws), "%s/ws", root);
	snprintf(stash, sizeof(stash), "%s/placeholders/.stash", state);
	mkdir(state, 0700);
	mkdir(ws, 0755);

	/* ---- first run: made with mkdir/open ---- */
	ph = make(names, 3);
	ok(ph != NULL, "placeholders created");
	ok(S_ISDIR(mode(at(ws, ".vscode"))) && (mode(at(ws, ".vscode")) & 07777) == 0555,
	   "a missing name gets an empty read-only directory");
	ok(S_ISREG(mode(at(ws, "commondir"))), "commondir gets a file");
	first_vscode = ino(at(ws, ".vscode"));
	first_commondir = ino(at(ws, "commondir"));
	hutch_placeholders_remove(ph);
	ok(ino(at(ws, ".vscode")) == 0 && ino(at(ws, ".envrc")) == 0 &&
		   ino(at(ws, "commondir")) == 0,
	   "at the end every placeholder is gone from the workspace");
	is_int(count(stash), 3, "the two directories and the file went to the stash");

	/* ---- second run: recycled, no new inode ---- */
	ph = make(names, 3);
	ok(ph != NULL, "placeholders made again");
	is_int(count(stash), 0, "all three came from the stash");
	ok(ino(at(ws, ".vscode")) == first_vscode || ino(at(ws, ".envrc")) == first_vscode,
	   "the same directory (inode) is reused");
	is_int(mode(at(ws, ".vscode")) & 07777, 0555, "and it is read-only again");
	ok(ino(at(ws, "commondir")) == first_commondir, "the same file (inode) is reused");
	ok(S_ISREG(mode(at(ws, "commondir"))) && (mode(at(ws, "commondir")) & 07777) == 0444 &&
		   has(at(ws, "commondir"), ".\n"),
	   "  read-only, holding what hutch wrote");

	/* ---- a user put a file in one while it was in use: never lost, never stashed ---- */
	chmod(at(ws, ".vscode"), 0755);
	close(open(at(ws, ".vscode/settings.json"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	hutch_placeholders_remove(ph);
	ok(ino(at(ws, ".vscode/settings.json")) != 0,
	   "a placeholder the user filled stays, with the file");
	is_int(count(stash), 2, "only the empty one was stashed (and the file)");

	/* ---- a file placeholder the user wrote to while in use: stays, never stashed ---- */
	{
		static const char *const one[] = {"commondir"};
		int before;
		ph = make(one, 1);
		before = count(stash);
		chmod(at(ws, "commondir"), 0644);
		write_file(at(ws, "commondir"), "../x\n");
		hutch_placeholders_remove(ph);
		ok(has(at(ws, "commondir"), "../x\n"),
		   "a file placeholder the user wrote to stays");
		is_int(count(stash), before, "  and nothing went to the stash");
		unlink(at(ws, "commondir"));
	}

	/* ---- a stashed file changed in the stash (content, links, mode): never used ---- */
	{
		static const char *const one[] = {"commondir"};
		static const char *const bad[] = {"f1-1-1", "f1-1-2", "f1-1-3"};
		char other[PATH_MAX];
		int before;

		write_file(at(stash, bad[0]), "..\n"); /* the length, not the content */
		chmod(at(stash, bad[0]), 0444);
		write_file(at(stash, bad[1]), ".\n"); /* the content, writable */
		write_file(at(stash, bad[2]), ".\n"); /* the content, 0444, a second link */
		chmod(at(stash, bad[2]), 0444);
		snprintf(other, sizeof(other), "%s/elsewhere", root);
		if (link(at(stash, bad[2]), other) < 0)
			printf("# link: %s\n", strerror(errno));
		before = count(stash);
		ph = make(one, 1);
		ok(ph != NULL && has(at(ws, "commondir"), ".\n") &&
			   ino(at(ws, "commondir")) != ino(at(stash, bad[0])) &&
			   ino(at(ws, "commondir")) != ino(at(stash, bad[1])) &&
			   ino(at(ws, "commondir")) != ino(other),
		   "a stashed file not as hutch left it is not used: a new one is made");
		is_int(count(stash), before, "  the changed ones stay in the stash");
		hutch_placeholders_remove(ph);
		for (size_t i = 0; i < 3; i++)
			unlink(at(stash, bad[i]));
		unlink(other);
		/* the one just stashed is used next time */
		before = count(stash);
		ph = make(one, 1);
		is_int(count(stash), before - 1, "  a file hutch stashed is used");
		hutch_placeholders_remove(ph);
	}

	/* ---- a placeholder replaced by a file of the user's: the file stays ---- */
	{
		static const char *const one[] = {".envrc"};
		int before;
		ph = make(one, 1);
		before = count(stash);
		rmdir(at(ws, ".envrc"));
		close(open(at(ws, ".envrc"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
		hutch_placeholders_remove(ph);
		ok(S_ISREG(mode(at(ws, ".envrc"))),
		   "a file the user put in a placeholder's place stays");
		is_int(count(stash), before, "  and nothing went to the stash");
		unlink(at(ws, ".envrc"));
	}

	/* ---- an entry kept aside (filled while being stashed: a dot name) is never used ---- */
	snprintf(cmd, sizeof(cmd), "%s/.kept-zz", stash);
	mkdir(cmd, 0755);
	close(open(at(cmd, "secret"), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	{
		static const char *const two[] = {".idea", ".gemini"};
		ph = make(two, 2);
	}
	ok(ph != NULL, "placeholders made with a filled entry in the stash");
	ok(ino(at(ws, ".idea/secret")) == 0 && ino(at(ws, ".gemini/secret")) == 0,
	   "no placeholder shows the filled entry's file");
	ok(ino(at(cmd, "secret")) != 0, "and the filled entry stays where it was");
	hutch_placeholders_remove(ph);

	/* ---- an existing directory of the user is never replaced or taken ---- */
	mkdir(at(ws, ".claude"), 0755);
	{
		static const char *const one[] = {".claude"};
		ino_t mine = ino(at(ws, ".claude"));
		int before = count(stash);
		ph = make(one, 1);
		ok(ino(at(ws, ".claude")) == mine, "a directory the user made is left as it is");
		is_int(count(stash), before, "  and no stash entry was used");
		hutch_placeholders_remove(ph);
	}

	/* ---- the sandbox swapped a directory for a symlink to a home: nothing done there ---- */
	{
		char victim[PATH_MAX], home[PATH_MAX];
		int before, r;

		snprintf(victim, sizeof(victim), "%s/victim", root);
		snprintf(home, sizeof(home), "%s/victim/home", root);
		mkdir(victim, 0755);
		make_victim(home);
		ph = make_nested("x");
		ok(ph != NULL && S_ISDIR(mode(at(ws, "x/home/.vscode"))),
		   "placeholders made in a nested repository");
		before = count(stash);
		swap("x", "x-away", victim);
		r = hutch_placeholders_remove(ph);
		check_victim(home, "end of run, x -> the home's parent");
		is_int(count(stash), before, "  nothing went into the stash");
		is_int(r, 4, "  the four placeholders are reported as left");
		ok(S_ISDIR(mode(at(ws, "x-away/home/.vscode"))),
		   "  and left where they are (moved away with x)");
	}

	/* ---- journals are written over, not made and unlinked each run ---- */
	{
		static const char *const two[] = {".idea", ".zed"};
		int n_free, n_live, most = 0;
		bool live_ok = true;

		for (int i = 0; i < 10; i++) {
			ph = make(two, 2);
			count_journals(&n_free, &n_live);
			live_ok = live_ok && ph && n_live == 1;
			hutch_placeholders_remove(ph);
			count_journals(&n_free, &n_live);
			live_ok = live_ok && n_live == 0;
			most = n_free > most ? n_free : most;
		}
		ok(live_ok, "ten runs: one live journal during each, none after");
		ok(n_free >= 1 && most <= 4 + 2, "finished journals kept for reuse, a bounded few");
		/* a recycled journal naming a directory of the user's is never replayed */
		{
			char path[PATH_MAX], rec[PATH_MAX + 8];
			int fd, len;

			mkdir(at(ws, ".users-own"), 0755);
			snprintf(path, sizeof(path), "%s/placeholders/.free-1-1", state);
			fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
			len = snprintf(rec, sizeof(rec), "0 0 %s", at(ws, ".users-own"));
			if (fd < 0 || write(fd, rec, (size_t)len + 1) != len + 1)
				printf("# writing %s\n", path);
			close(fd);
			hutch_placeholders_cleanup_stale(state);
			ph = make(two, 2);
			hutch_placeholders_remove(ph);
			ok(S_ISDIR(mode(at(ws, ".users-own"))),
			   "  what a recycled journal lists is left alone (it is no journal)");
			rmdir(at(ws, ".users-own"));
		}
	}

	/* ---- the same after a crash: the next run replays the journal ---- */
	{
		char victim[PATH_MAX], home[PATH_MAX];
		pid_t pid;
		int before, r;

		snprintf(victim, sizeof(victim), "%s/victim2", root);
		snprintf(home, sizeof(home), "%s/victim2/home", root);
		mkdir(victim, 0755);
		make_victim(home);
		pid = fork();
		if (pid == 0)
			_exit(make_nested("z") ? 0 : 1); /* dies with its placeholders in place */
		waitpid(pid, &r, 0);
		ok(WIFEXITED(r) && WEXITSTATUS(r) == 0 && S_ISDIR(mode(at(ws, "z/home/.claude"))),
		   "a run died with its placeholders in place");
		before = count(stash);
		swap("z", "z-away", victim);
		r = hutch_placeholders_cleanup_stale(state);
		check_victim(home, "journal replay, z -> the home's parent");
		is_int(count(stash), before, "  nothing went into the stash");
		is_int(r, 4, "  the four placeholders are reported as left");
	}

	/* ---- the stash holds what several concurrent runs put back (28 each, fresh) ---- */
	{
		static char bufs[90][PATH_MAX];
		char *many[90];
		hutch_error err = {0};
		int before = count(stash), r;

		for (int i = 0; i < 90; i++) {
			snprintf(bufs[i], sizeof(bufs[i]), "%s/.many-%d", ws, i);
			many[i] = bufs[i];
		}
		r = hutch_placeholders_create(state, many, 90, NULL, 0, &ph, &err);
		ok(r >= 0 && ph, "90 placeholders made at once");
		hutch_placeholders_remove(ph);
		is_int(count(stash), before + 90, "  all go back to the stash");
		r = hutch_placeholders_create(state, many, 90, NULL, 0, &ph, &err);
		is_int(count(stash), before, "  and all come from it next time");
		hutch_placeholders_remove(ph);
	}

	/* ---- a placeholder replaced by another empty directory: not ours, left ---- */
	{
		static const char *const one[] = {".envrc"};
		ino_t other;
		int r;

		ph = make(one, 1);
		rename(at(ws, ".envrc"), at(ws, ".envrc-ours"));
		mkdir(at(ws, ".envrc"), 0700);
		other = ino(at(ws, ".envrc"));
		r = hutch_placeholders_remove(ph);
		ok(ino(at(ws, ".envrc")) == other && (mode(at(ws, ".envrc")) & 07777) == 0700,
		   "a directory put in a placeholder's place is left as it is (mode too)");
		is_int(r, 1, "  and reported");
		rmdir(at(ws, ".envrc"));
	}

	chmod(at(ws, ".vscode"), 0755);
	if (hutch_remove_tree(AT_FDCWD, root) < 0)
		printf("# could not remove %s\n", root);
	return done_testing();
}
