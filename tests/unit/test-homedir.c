/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Is a directory somebody's home: src/lib/base/homedir.c (shell rc placeholders, protect.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/homedir.h"
#include "tap.h"

static char tmp[] = "/tmp/hutch-test-homedir-XXXXXX";

static char *sub(const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", tmp, name) < 0)
		abort();
	return p;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static bool is_home(struct hutch_homes *h, const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && hutch_homes_is_home(h, dir, &st);
}

int main(void)
{
	struct hutch_homes h;
	char *proj, *mine, *other, *zd, *link, *passwd, *text = NULL;
	unsigned me = (unsigned)getuid();

	if (!mkdtemp(tmp))
		abort();
	proj = sub("proj");
	mine = sub("mine");
	other = sub("other");
	zd = sub("zd");
	link = sub("link");
	passwd = sub("passwd");
	mkdir(proj, 0755);
	mkdir(mine, 0755);
	mkdir(other, 0755);
	mkdir(zd, 0755);
	if (symlink(mine, link) < 0)
		abort();
	/* the caller's entry names its home through a link; another user's by its name */
	if (asprintf(&text,
		     "# a comment\nroot:x:0:0:root:/root:/bin/sh\n"
		     "me:x:%u:%u::%s:/bin/sh\n"
		     "someone:x:%u:100::%s/:/bin/sh\n"
		     "broken line\n",
		     me, me, link, me + 1, other) < 0)
		abort();
	write_file(passwd, text);

	hutch_homes_load(&h, passwd, NULL, NULL);
	ok(!is_home(&h, proj), "a project directory of the caller's is no home");
	ok(is_home(&h, mine), "the caller's home in the user database (through a link) is one");
	ok(is_home(&h, other), "another user's home, by its name (a trailing slash), is one");
	hutch_homes_free(&h);

	hutch_homes_load(&h, passwd, proj, NULL);
	ok(is_home(&h, proj), "$HOME is a home");
	hutch_homes_free(&h);
	hutch_homes_load(&h, passwd, "relative", zd);
	ok(is_home(&h, zd), "$ZDOTDIR counts as one (zsh reads its rc files there)");
	ok(!is_home(&h, proj), "  a relative $HOME is ignored");
	hutch_homes_free(&h);

	/* a database without the caller: its homes cannot be known, every directory is one */
	write_file(passwd, "root:x:0:0:root:/root:/bin/sh\n");
	hutch_homes_load(&h, passwd, NULL, NULL);
	ok(me == 0 ? !is_home(&h, proj) : is_home(&h, proj),
	   "an owner the user database does not list: on the safe side (root is listed)");
	hutch_homes_free(&h);
	hutch_homes_load(&h, "/nonexistent/passwd", NULL, NULL);
	ok(is_home(&h, proj), "no user database: every directory is a home");
	hutch_homes_free(&h);
	{
		static const char nul[] = "a:x:0:0::/x:/bin/sh\n\0b:x:1:1::/y:/bin/sh\n";
		FILE *f = fopen(passwd, "w");

		if (!f || fwrite(nul, 1, sizeof(nul) - 1, f) != sizeof(nul) - 1)
			abort();
		fclose(f);
	}
	hutch_homes_load(&h, passwd, NULL, NULL);
	ok(is_home(&h, proj),
	   "a user database with a NUL byte is not read: every directory is a home");
	hutch_homes_free(&h);

	unlink(passwd);
	unlink(link);
	rmdir(proj);
	rmdir(mine);
	rmdir(other);
	rmdir(zd);
	rmdir(tmp);
	free(text);
	free(proj);
	free(mine);
	free(other);
	free(zd);
	free(link);
	free(passwd);
	return done_testing();
}
