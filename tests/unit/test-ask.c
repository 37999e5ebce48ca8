/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hutch run --ask, the terminal side (src/cli/ask.c), driven through a
 * pseudo-terminal: the question, each answer (a word and Enter), keys typed
 * before the question or as it appears, a key without Enter, "always" only
 * after "yes" to a second question, the timeout, a cancel, the terminal
 * settings restored, no terminal = deny; and
 * "always" written to the user policy atomically (created, kept, not
 * duplicated, an invalid file left alone, concurrent writers).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../../src/cli/ask.c"
#include "policy/policy.h"
#include "tap.h"

static char dir[] = "/tmp/hutch-test-ask.XXXXXX";
static char policy[512];

struct result {
	int decision;
	int had_tty;
	int termios_restored;
	char pad[4];
};

/* Read from @fd into @buf (appending) until @needle shows up or @ms pass. */
static bool wait_for(int fd, char *buf, size_t size, const char *needle, int ms)
{
	size_t len = strlen(buf);

	while (!strstr(buf, needle)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, ms) <= 0)
			return false;
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
	}
	return true;
}

#define PROMPT "then Enter: "
#define CONFIRM_PROMPT "type yes and Enter to save: "
#define SETTLE_MS 100

/* Extra knobs of ask_on_pty(). */
struct ask_how {
	const char *confirm; /* typed once the "always" confirmation shows */
	const char *rushed;  /* typed the moment the question shows (within settle_ms) */
	unsigned settle_ms;  /* 0: SETTLE_MS */
	int cancel_after_ms; /* > 0: the cancel fd becomes readable then */
};

/*
 * Ask about @host:@port in a child whose controlling terminal is a new pty.
 * @ahead is typed before the question is asked, @keys once it shows (after
 * the settle time); the terminal output is left in @out.
 */
static struct result ask_on_pty_how(const char *host, uint16_t port, const char *ahead,
				    const char *keys, unsigned timeout_ms, char *out,
				    size_t out_size, const struct ask_how *how)
{
	unsigned settle = how->settle_ms ? how->settle_ms : SETTLE_MS;
	int cancel[2];
	struct result res = {.decision = -1};
	int master, slave, rp[2], go[2];
	pid_t pid;

	out[0] = '\0';
	/* posix_openpt: no <pty.h> (openpty), no -lutil */
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
		abort();
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	if (slave < 0 || pipe(rp) < 0 || pipe(go) < 0 || pipe(cancel) < 0)
		abort();
	pid = fork();
	if (pid == 0) {
		struct cli_ask a;
		struct termios before, after;
		char c;

		close(master);
		close(rp[0]);
		close(go[1]);
		close(cancel[1]);
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
		cli_ask_init(&a, policy);
		a.timeout_ms = timeout_ms;
		a.settle_ms = settle;
		res.had_tty = a.tty >= 0;
		tcgetattr(0, &before);
		if (read(go[0], &c, 1) != 1) /* the parent typed ahead */
			_exit(2);
		res.decision = cli_ask(host, port, cancel[0], &a);
		tcgetattr(0, &after);
		res.termios_restored =
			before.c_lflag == after.c_lflag && before.c_cc[VMIN] == after.c_cc[VMIN];
		cli_ask_done(&a);
		if (write(rp[1], &res, sizeof(res)) != sizeof(res))
			_exit(3);
		_exit(0);
	}
	close(slave);
	close(rp[1]);
	close(go[0]);
	close(cancel[0]);
	if (ahead && write(master, ahead, strlen(ahead)) < 0)
		abort();
	usleep(50 * 1000); /* let it reach the terminal's input queue */
	if (write(go[1], "g", 1) != 1)
		abort();
	if (how->cancel_after_ms > 0) {
		wait_for(master, out, out_size, PROMPT, 5000);
		usleep((useconds_t)how->cancel_after_ms * 1000);
		if (write(cancel[1], "c", 1) != 1)
			abort();
	}
	if (keys || how->rushed) {
		if (wait_for(master, out, out_size, PROMPT, 5000)) {
			if (how->rushed && write(master, how->rushed, strlen(how->rushed)) < 0)
				abort();
			usleep((settle + 300) * 1000);
			if (keys && write(master, keys, strlen(keys)) < 0)
				abort();
		}
	}
	if (how->confirm && wait_for(master, out, out_size, CONFIRM_PROMPT, 5000)) {
		usleep((settle + 300) * 1000);
		if (write(master, how->confirm, strlen(how->confirm)) < 0)
			abort();
	}
	if (read(rp[0], &res, sizeof(res)) != sizeof(res))
		res.decision = -2;
	/* The rest of what was written to the terminal (the answer line). */
	wait_for(master, out, out_size, "\r\n\r\n-never-", 200);
	waitpid(pid, NULL, 0);
	close(master);
	close(rp[0]);
	close(go[1]);
	close(cancel[1]);
	return res;
}

static struct result ask_on_pty(const char *host, uint16_t port, const char *ahead,
				const char *keys, unsigned timeout_ms, char *out, size_t out_size)
{
	struct ask_how how = {0};

	return ask_on_pty_how(host, port, ahead, keys, timeout_ms, out, out_size, &how);
}

static char *slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len;

	if (fd < 0)
		return NULL;
	if (hutch_read_fd(fd, 1 << 20, &buf, &len) < 0)
		buf = NULL;
	close(fd);
	return buf;
}

static void spit(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

int main(void)
{
	static const struct {
		const char *keys;
		int want;
		const char *said;
	} answers[] = {
		{"o\r", HUTCH_ASK_ONCE, "allowed once"},
		{"once\r", HUTCH_ASK_ONCE, "allowed once"},
		{"s\r", HUTCH_ASK_SESSION, "allowed for this session"},
		{"Session\n", HUTCH_ASK_SESSION, "allowed for this session"},
		{"d\r", HUTCH_ASK_DENY, "denied"},
		{"\x03", HUTCH_ASK_DENY, "denied"},
		{"\r", HUTCH_ASK_DENY, "no answer: denied"}, /* Enter alone: asked on */
		{"xq\rsx\x7f\r", HUTCH_ASK_SESSION,
		 "type o, s, a or d"}, /* other words: asked on */
	};
	char out[4096], why[256];
	struct result res;
	char *text;
	struct stat st;

	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir))
		abort();
	snprintf(policy, sizeof(policy), "%s/config/hutch/policy.json", dir);

	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		res = ask_on_pty("example.com", 443, NULL, answers[i].keys, 2000, out, sizeof(out));
		ok(res.had_tty, "key %zu: /dev/tty opened (stdin is a terminal)", i);
		like(out,
		     "allow a connection to example.com:443? [o]nce, [s]ession, [a]lways, "
		     "[d]eny, then Enter",
		     "key %zu: the question names host and port and the four answers", i);
		is_int(res.decision, answers[i].want, "key %zu: the answer", i);
		like(out, answers[i].said, "key %zu: the answer is shown", i);
		ok(res.termios_restored, "key %zu: the terminal settings are restored", i);
	}
	ok(stat(policy, &st) < 0, "once/session/deny do not write the policy file");

	/* A single key without Enter is not an answer (here: none before the timeout). */
	res = ask_on_pty("single.example.com", 443, NULL, "a", 1500, out, sizeof(out));
	is_int(res.decision, HUTCH_ASK_DENY, "'a' without Enter: no answer, denied");
	ok(stat(policy, &st) < 0, "  and nothing saved");

	/* "always" without "yes" to the confirmation: this session only, nothing saved. */
	{
		struct ask_how how = {.confirm = "y\r"};

		res = ask_on_pty_how("unconfirmed.example.com", 443, NULL, "a\r", 5000, out,
				     sizeof(out), &how);
		like(out, "policy.json for every future run? type yes",
		     "always: a second question before saving");
		is_int(res.decision, HUTCH_ASK_SESSION,
		       "  'y' is not 'yes': allowed for this session");
		like(out, "not saved", "  and says it was not saved");
		ok(stat(policy, &st) < 0, "  the policy file is not written");
	}
	{
		struct ask_how how = {.confirm = "\r"};

		res = ask_on_pty_how("unconfirmed.example.com", 443, NULL, "always\r", 5000, out,
				     sizeof(out), &how);
		is_int(res.decision, HUTCH_ASK_SESSION, "always, then Enter alone: not saved");
		ok(stat(policy, &st) < 0, "  the policy file is not written");
	}

	/* "always": saved to the user policy, created 0600 in a 0700 directory. */
	{
		struct ask_how how = {.confirm = "yes\r"};

		res = ask_on_pty_how("registry.example.org", 8443, NULL, "a\r", 5000, out,
				     sizeof(out), &how);
	}
	is_int(res.decision, HUTCH_ASK_ALWAYS, "a: always");
	like(out, "allowed always (added to ", "a: says where it was saved");
	text = slurp(policy);
	like(text, "\"registry.example.org:8443\"", "a: the policy file has the host:port");
	ok(stat(policy, &st) == 0 && (st.st_mode & 0777) == 0600, "a: the file is mode 0600");
	{
		char d[600];

		snprintf(d, sizeof(d), "%s/config/hutch", dir);
		ok(stat(d, &st) == 0 && (st.st_mode & 0777) == 0700, "a: its directory is 0700");
	}
	{
		hutch_policy *p = hutch_policy_new();
		hutch_error err = {0};

		ok(hutch_policy_load_file(p, policy, HUTCH_SOURCE_USER, &err) == 0,
		   "a: the file is a valid policy");
		if (err.msg[0])
			diag("%s", err.msg);
		hutch_policy_free(p);
	}
	free(text);

	/* Typed before the question: discarded, not taken as the answer. */
	res = ask_on_pty("typeahead.example.com", 443, "a\ryes\r", "d\r", 5000, out, sizeof(out));
	is_int(res.decision, HUTCH_ASK_DENY,
	       "type-ahead 'a', Enter, 'yes' is not an answer ('d' is)");
	text = slurp(policy);
	ok(text && !strstr(text, "typeahead"), "  and nothing was saved");
	free(text);

	/* Typed just as the question appears (the user was typing): discarded too. */
	{
		struct ask_how how = {.rushed = "o\r", .settle_ms = 1500};

		res = ask_on_pty_how("rushed.example.com", 443, NULL, "d\r", 8000, out, sizeof(out),
				     &how);
		is_int(res.decision, HUTCH_ASK_DENY,
		       "'o' and Enter typed as the question shows are discarded ('d' answers)");
	}

	/* Cancelled (the sandbox is stopping): denied at once, said so. */
	{
		struct ask_how how = {.cancel_after_ms = 300};

		res = ask_on_pty_how("cancel.example.com", 443, NULL, NULL, 20000, out, sizeof(out),
				     &how);
		is_int(res.decision, HUTCH_ASK_DENY, "a cancelled question: denied");
		like(out, "cancelled: denied", "  and says so");
		ok(res.termios_restored, "  the terminal settings are restored");
	}

	/* No answer: deny after the timeout. */
	res = ask_on_pty("slow.example.com", 443, NULL, "", 600, out, sizeof(out));
	is_int(res.decision, HUTCH_ASK_DENY, "no answer within the timeout: deny");
	like(out, "no answer: denied", "  and says so");

	/* IPv6 literal: bracketed. A host with odd bytes: denied without a question. */
	res = ask_on_pty("2001:db8::1", 443, NULL, "o\r", 5000, out, sizeof(out));
	like(out, "[2001:db8::1]:443?", "an IPv6 literal is shown in brackets");
	res = ask_on_pty("evil\x1b]0;x\x07.com", 443, NULL, NULL, 5000, out, sizeof(out));
	is_int(res.decision, HUTCH_ASK_DENY, "a host with control bytes: denied");
	ok(!strstr(out, "allow a connection"), "  without a question");

	/* Not a terminal: no /dev/tty, and cli_ask denies. */
	{
		pid_t pid = fork();
		int st2 = 0;

		if (pid == 0) {
			struct cli_ask a;
			int fd = open("/dev/null", O_RDONLY);

			setsid(); /* no controlling terminal */
			dup2(fd, 0);
			cli_ask_init(&a, policy);
			_exit(a.tty < 0 && cli_ask("example.com", 443, -1, &a) == HUTCH_ASK_DENY
				      ? 0
				      : 1);
		}
		waitpid(pid, &st2, 0);
		ok(WIFEXITED(st2) && WEXITSTATUS(st2) == 0,
		   "stdin not a terminal: nothing to ask on, denied");
	}

	/* The file writer on its own. */
	spit(policy, "{\n  \"extends\": \"default\",\n  \"network\": {\"mode\": \"proxy\", "
		     "\"allow\": [\"a.example\"]},\n  \"limits\": {\"pids\": 100}\n}\n");
	chmod(policy, 0640);
	ok(cli_policy_allow_append(policy, "b.example:443", why, sizeof(why)) == 0, "append");
	text = slurp(policy);
	like(text, "\"allow\": [\n      \"a.example\",\n      \"b.example:443\"\n    ]",
	     "  added after the existing entry");
	ok(text && strstr(text, "\"extends\"") < strstr(text, "\"network\"") &&
		   strstr(text, "\"network\"") < strstr(text, "\"limits\""),
	   "  the other keys kept, in their order");
	ok(stat(policy, &st) == 0 && (st.st_mode & 0777) == 0640, "  its mode kept");
	free(text);
	ok(cli_policy_allow_append(policy, "b.example:443", why, sizeof(why)) == 0,
	   "appending it again");
	text = slurp(policy);
	{
		const char *first = text ? strstr(text, "b.example:443") : NULL;

		ok(first && !strstr(first + 1, "b.example:443"), "  does not duplicate it");
	}
	free(text);

	spit(policy, "{\"network\": {\"allow\": [\"x\"],}}");
	ok(cli_policy_allow_append(policy, "c.example:443", why, sizeof(why)) == -EINVAL,
	   "an invalid file: error");
	like(why, "left unchanged", "  saying it is left unchanged");
	text = slurp(policy);
	is_str(text, "{\"network\": {\"allow\": [\"x\"],}}", "  and it is");
	free(text);
	spit(policy, "{\"network\": [1]}");
	ok(cli_policy_allow_append(policy, "c.example:443", why, sizeof(why)) == -EINVAL,
	   "\"network\" not an object: error");

	/* Concurrent writers lose nothing. */
	unlink(policy);
	for (int i = 0; i < 8; i++) {
		if (fork() == 0) {
			char pat[64];

			snprintf(pat, sizeof(pat), "host%d.example:443", i);
			_exit(cli_policy_allow_append(policy, pat, why, sizeof(why)) == 0 ? 0 : 1);
		}
	}
	{
		int bad = 0, st3;

		while (wait(&st3) > 0)
			bad += !WIFEXITED(st3) || WEXITSTATUS(st3) != 0;
		is_int(bad, 0, "8 concurrent appends succeed");
	}
	text = slurp(policy);
	{
		int found = 0;

		for (int i = 0; i < 8; i++) {
			char pat[64];

			snprintf(pat, sizeof(pat), "\"host%d.example:443\"", i);
			found += text && strstr(text, pat) != NULL;
		}
		is_int(found, 8, "  and every entry is there");
	}
	free(text);
	{
		char d[600], f[700];
		DIR *dh;
		struct dirent *e;
		int others = 0;

		snprintf(d, sizeof(d), "%s/config/hutch", dir);
		dh = opendir(d);
		while (dh && (e = readdir(dh))) {
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
			    strcmp(e->d_name, "policy.json")) {
				others++;
				diag("left: %s", e->d_name);
			}
		}
		if (dh)
			closedir(dh);
		is_int(others, 0, "no temporary file left behind");
		/* clean up: the file, then the directories */
		snprintf(f, sizeof(f), "%s/policy.json", d);
		unlink(f);
		rmdir(d);
		snprintf(d, sizeof(d), "%s/config", dir);
		rmdir(d);
		rmdir(dir);
	}
	return done_testing();
}
