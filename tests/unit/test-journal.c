/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Placeholder journal (src/lib/journal.c): placeholders are made, removed, and
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
#include <unistd.h>

#include "protect.h"
#include "session.h"
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
	ino_t first_vscode;
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
	hutch_placeholders_remove(ph);
	ok(ino(at(ws, ".vscode")) == 0 && ino(at(ws, ".envrc")) == 0 &&
		   ino(at(ws, "commondir")) == 0,
	   "at the end every placeholder is gone from the workspace");
	is_int(count(stash), 2, "the two directories went to the stash (not the file)");

	/* ---- second run: recycled, no new inode ---- */
	ph = make(names, 3);
	ok(ph != NULL, "placeholders made again");
	is_int(count(stash), 0, "both came from the stash");
	ok(ino(at(ws, ".vscode")) == first_vscode || ino(at(ws, ".envrc")) == first_vscode,
	   "the same directory (inode) is reused");
	is_int(mode(at(ws, ".vscode")) & 07777, 0555, "and it is read-only again");

	/* ---- a user put a file in one while it was in use: never lost, never stashed ---- */
	chmod(at(ws, ".vscode"), 0755);
	close(open(at(ws, ".vscode/settings.json"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	hutch_placeholders_remove(ph);
	ok(ino(at(ws, ".vscode/settings.json")) != 0,
	   "a placeholder the user filled stays, with the file");
	is_int(count(stash), 1, "only the empty one was stashed");

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

	chmod(at(ws, ".vscode"), 0755);
	if (hutch_remove_tree(AT_FDCWD, root) < 0)
		printf("# could not remove %s\n", root);
	return done_testing();
}
