/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lexical path helpers: normalise, expand, prefix, join. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/path.h"
#include "tap.h"

static void norm(const char *in, const char *want)
{
	char *got = hutch_path_normalize(in);

	is_str(got, want, "normalize \"%s\"", in);
	free(got);
}

static void expand(const char *in, const char *home, const char *base, const char *want)
{
	char *got = hutch_path_expand(in, home, base);

	is_str(got, want, "expand \"%s\"", in);
	free(got);
}

static void expand_fails(const char *in, const char *home, const char *base, int want_errno,
			 const char *want_bad)
{
	char bad[64];
	char *got;

	errno = 0;
	got = hutch_path_expand(in, home, base);
	ok(!got && errno == want_errno, "expand \"%s\" fails with %s", in,
	   want_errno == EINVAL ? "EINVAL" : "ENAMETOOLONG");
	free(got);
	if (want_bad) {
		got = hutch_path_expand_vars(in, home, bad, sizeof(bad));
		ok(!got, "expand_vars \"%s\" fails", in);
		is_str(bad, want_bad, "and names \"%s\"", want_bad);
		free(got);
	}
}

int main(void)
{
	char *s, big[5000];

	norm("/", "/");
	norm("//", "/");
	norm("/a//b/", "/a/b");
	norm("/a/./b/.", "/a/b");
	norm("/a/b/../c", "/a/c");
	norm("/a/b/../../..", "/");
	norm("/..", "/");
	norm("/../a", "/a");
	norm("a/b", "a/b");
	norm("./a/", "a");
	norm(".", ".");
	norm("./", ".");
	norm("a/..", ".");
	norm("a/../..", "..");
	norm("../../a", "../../a");
	norm("../a/../b", "../b");
	norm(".git/hooks/", ".git/hooks");
	norm("/a/...", "/a/...");
	norm("/a/..b/c", "/a/..b/c");
	errno = 0;
	ok(hutch_path_normalize("") == NULL && errno == EINVAL, "normalize \"\" is EINVAL");
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	errno = 0;
	ok(hutch_path_normalize(big) == NULL && errno == ENAMETOOLONG, "too long: ENAMETOOLONG");

	setenv("HUTCH_T_DIR", "/data/x", 1);
	setenv("HUTCH_T_EMPTY", "", 1);
	unsetenv("HUTCH_T_UNSET");
	expand("~", "/home/u", NULL, "/home/u");
	expand("~/", "/home/u", NULL, "/home/u");
	expand("~/.ssh", "/home/u", NULL, "/home/u/.ssh");
	expand("~/.ssh/../.aws", "/home/u", NULL, "/home/u/.aws");
	expand("$HOME/.aws", "/home/u", NULL, "/home/u/.aws");
	expand("${HOME}/.aws", "/home/u", NULL, "/home/u/.aws");
	expand("$HUTCH_T_DIR/y", "/home/u", NULL, "/data/x/y");
	expand("${HUTCH_T_DIR}y", "/home/u", NULL, "/data/xy");
	expand("/a/$HUTCH_T_EMPTY/b", "/home/u", NULL, "/a/b");
	expand("/cost/$5", "/home/u", NULL, "/cost/$5");
	expand("/a$", "/home/u", NULL, "/a$");
	expand("a/~/b", "/home/u", "/ws", "/ws/a/~/b");
	expand("build", "/home/u", "/ws", "/ws/build");
	expand("./build/../out", "/home/u", "/ws", "/ws/out");
	expand("../sibling", "/home/u", "/ws/p", "/ws/sibling");
	expand_fails("$HUTCH_T_UNSET/x", "/home/u", "/ws", EINVAL, "HUTCH_T_UNSET");
	expand_fails("${HUTCH_T_UNSET}", "/home/u", "/ws", EINVAL, "HUTCH_T_UNSET");
	expand_fails("${HUTCH_T_DIR", "/home/u", "/ws", EINVAL, "${HUTCH_T_DIR");
	expand_fails("${}", "/home/u", "/ws", EINVAL, "${}");
	expand_fails("~root/x", "/home/u", "/ws", EINVAL, "~root");
	expand_fails("~/x", NULL, "/ws", EINVAL, "HOME");
	expand_fails("", "/home/u", "/ws", EINVAL, NULL);
	expand_fails("$HUTCH_T_EMPTY", "/home/u", "/ws", EINVAL, NULL);
	expand_fails("relative", "/home/u", NULL, EINVAL, NULL);
	expand_fails(big, "/home/u", NULL, ENAMETOOLONG, NULL);
	s = hutch_path_expand_vars("rel/$HUTCH_T_DIR", "/h", NULL, 0);
	is_str(s, "rel//data/x", "expand_vars keeps relative results and does not normalise");
	free(s);

	ok(hutch_path_has_prefix("/a/b", "/a"), "/a/b under /a");
	ok(hutch_path_has_prefix("/a", "/a"), "/a under /a");
	ok(!hutch_path_has_prefix("/ab", "/a"), "/ab not under /a");
	ok(!hutch_path_has_prefix("/a", "/a/b"), "/a not under /a/b");
	ok(hutch_path_has_prefix("/x", "/"), "everything absolute is under /");
	ok(!hutch_path_has_prefix("x", "/"), "relative is not under /");
	ok(!hutch_path_has_prefix("/a", ""), "empty prefix matches nothing");

	ok(hutch_path_has_dotdot("a/../b"), "a/../b has ..");
	ok(hutch_path_has_dotdot(".."), ".. has ..");
	ok(hutch_path_has_dotdot("/x/.."), "/x/.. has ..");
	ok(!hutch_path_has_dotdot("a/..b/c..d"), "..b is not ..");

	s = hutch_path_join("/", "x");
	is_str(s, "/x", "join / x");
	free(s);
	s = hutch_path_join("/a/", "/x");
	is_str(s, "/a/x", "join /a/ /x");
	free(s);
	s = hutch_path_join("/a", "");
	is_str(s, "/a", "join /a \"\"");
	free(s);
	s = hutch_path_join("", "x");
	is_str(s, "x", "join \"\" x");
	free(s);

	{
		char buf[PATH_MAX], small[3];
		int fd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
		int rfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

		ok(fd >= 0 && rfd >= 0, "opened /proc/self and /");
		is_int(hutch_fd_path(rfd, buf, sizeof(buf)), 1, "fd_path of / is 1 long");
		is_str(buf, "/", "  and is /");
		ok(hutch_fd_path(fd, buf, sizeof(buf)) > 0 && !strncmp(buf, "/proc/", 6),
		   "fd_path of /proc/self: %s", buf);
		is_int(hutch_fd_path(fd, small, sizeof(small)), -ENAMETOOLONG,
		       "a path that does not fit: -ENAMETOOLONG");
		is_str(small, "", "  and the buffer is empty");
		is_int(hutch_fd_path(-1, buf, sizeof(buf)), -ENOENT, "no such descriptor: -ENOENT");
		is_str(buf, "", "  and the buffer is empty");
		close(fd);
		close(rfd);
	}
	return done_testing();
}
