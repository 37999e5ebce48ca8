/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hutch's state directories and the names in them: src/lib/base/statedir.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/statedir.h"
#include "session/named.h"
#include "session/session.h"
#include "tap.h"

static void test_dir(void)
{
	char *d;

	setenv("XDG_STATE_HOME", "/x/state", 1);
	setenv("HOME", "/h", 1);
	d = hutch_state_dir("sessions");
	is_str(d, "/x/state/hutch/sessions", "XDG_STATE_HOME first");
	free(d);
	setenv("XDG_STATE_HOME", "relative", 1);
	d = hutch_state_dir("named");
	is_str(d, "/h/.local/state/hutch/named", "a relative XDG_STATE_HOME: HOME's");
	free(d);
	d = hutch_named_dir();
	is_str(d, "/h/.local/state/hutch/named", "  the named sessions' directory");
	free(d);
	d = hutch_sessions_dir();
	is_str(d, "/h/.local/state/hutch/sessions", "  the sessions' directory");
	free(d);
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "h", 1);
	ok(hutch_state_dir("named") == NULL, "neither absolute: NULL");
	unsetenv("HOME");
	ok(hutch_state_dir("named") == NULL, "neither set: NULL");
}

static void test_name(void)
{
	static const char *good[] = {"a", "Z9", "my-session_1.2", "x-"};
	static const char *bad[] = {"", ".hidden", "-flag", "a/b", "a b", "..", "é"};
	char longest[65], too_long[66];
	hutch_error err = {0};

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		is_int(hutch_state_check_name(good[i], 64, NULL), 0, "a good name");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		is_int(hutch_state_check_name(bad[i], 64, NULL), -EINVAL, "a bad name");
	memset(longest, 'a', 64);
	longest[64] = '\0';
	memset(too_long, 'a', 65);
	too_long[65] = '\0';
	is_int(hutch_session_check_id(longest, NULL), 0, "64 characters: a session's longest");
	is_int(hutch_named_check_name(too_long, &err), -EINVAL, "65: too long for a named one");
	is_str(err.msg,
	       "invalid session name "
	       "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': "
	       "use 1-64 letters, digits, '.', '_' or '-', not starting with '.' or '-'",
	       "  the message says what a name may be");
}

int main(void)
{
	test_dir();
	test_name();
	return done_testing();
}
