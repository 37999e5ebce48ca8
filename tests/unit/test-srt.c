/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox-runtime settings -> hutch policy: a table of input settings and
 * the expected policy file, the notes (what is not honoured, and whether
 * hutch would then enforce less), the errors with file:line:column, and
 * that every produced policy is one hutch itself accepts.
 */
#include <errno.h>
#include <regex.h>
#include <string.h>

#include <jansson.h>

#include "policy/srt.h"
#include "tap.h"

struct note_want {
	const char *re; /* POSIX ERE the note must match */
	bool weaker;
};

struct mapping_case {
	const char *name;
	const char *in;
	const char *out; /* expected policy JSON (compared as JSON values) */
	struct note_want notes[6];
};

/* clang-format off */
static const struct mapping_case cases[] = {
	{
		"the README's example: domains, denyRead, allowWrite, denyWrite",
		"{\n"
		"  \"network\": {\n"
		"    \"allowedDomains\": [\"github.com\", \"*.npmjs.org\", \"api.example.com:443\"],\n"
		"    \"deniedDomains\": [\"gist.github.com\"]\n"
		"  },\n"
		"  \"filesystem\": {\n"
		"    \"denyRead\": [\"~/.ssh\"],\n"
		"    \"allowWrite\": [\".\", \"src/\", \"/tmp\"],\n"
		"    \"denyWrite\": [\".env\", \"config/production.json\"]\n"
		"  }\n"
		"}\n",
		"{\"filesystem\": {\"writable\": [\"src\"], \"hidden\": [\"~/.ssh\"],"
		" \"protected\": [\".env\", \"config/production.json\"]},"
		" \"network\": {\"mode\": \"proxy\","
		" \"allow\": [\"github.com\", \"*.npmjs.org\", \"api.example.com:443\"],"
		" \"deny\": [\"gist.github.com\"]}}",
		{ { "^t\\.json:8:[0-9]+: filesystem\\.allowWrite\\[2\\]: \"/tmp\": hutch gives the "
		    "sandbox a private, writable /tmp", false } },
	},
	{
		"empty allowedDomains: no network at all (mode none)",
		"{\"network\": {\"allowedDomains\": [], \"deniedDomains\": []},"
		" \"filesystem\": {\"denyRead\": [], \"allowWrite\": [\".\"], \"denyWrite\": []}}",
		"{\"network\": {\"mode\": \"none\"}}",
		{ { NULL, false } },
	},
	{
		"deniedDomains \"*\" denies everything, whatever is allowed",
		"{\"network\": {\"allowedDomains\": [\"github.com\"], \"deniedDomains\": [\"*\"]},"
		" \"filesystem\": {\"allowWrite\": [\".\"]}}",
		"{\"network\": {\"mode\": \"none\"}}",
		{ { NULL, false } },
	},
	{
		"no network section: no network (srt requires one; empty means none)",
		"{\"filesystem\": {\"allowWrite\": [\"./\"]}}",
		"{\"network\": {\"mode\": \"none\"}}",
		{ { NULL, false } },
	},
	{
		"globs: in denyRead not enforced (weaker), in allowWrite not opened",
		"{\"filesystem\": {\"denyRead\": [\"**/.env\", \"~/.aws\"],"
		" \"allowWrite\": [\".\", \"src/**/*.ts\"]}}",
		"{\"filesystem\": {\"hidden\": [\"~/.aws\"]}, \"network\": {\"mode\": \"none\"}}",
		{ { "filesystem\\.denyRead\\[0\\]: NOT ENFORCED: \"\\*\\*/\\.env\" is a glob", true },
		  { "filesystem\\.allowWrite\\[1\\]: \"src/\\*\\*/\\*\\.ts\" is a glob.*not opened",
		    false } },
	},
	{
		"allowWrite without \".\": srt keeps the directory read-only, hutch cannot",
		"{\"filesystem\": {\"allowWrite\": [\"src\"]}}",
		"{\"filesystem\": {\"writable\": [\"src\"]}, \"network\": {\"mode\": \"none\"}}",
		{ { "^t\\.json:1:17: filesystem\\.allowWrite: NOT ENFORCED: \"\\.\" is not listed",
		    true } },
	},
	{
		"denyWrite \".\": hutch cannot make the workspace read-only",
		"{\"filesystem\": {\"allowWrite\": [\".\"], \"denyWrite\": [\".\", \"./.env\"]}}",
		"{\"filesystem\": {\"protected\": [\".env\"]}, \"network\": {\"mode\": \"none\"}}",
		{ { "filesystem\\.denyWrite\\[0\\]: NOT ENFORCED", true } },
	},
	{
		"credentials: files hidden, variables dropped, mask reported",
		"{\"filesystem\": {\"allowWrite\": [\".\"]},"
		" \"credentials\": {"
		"  \"files\": [{\"path\": \"~/.config/tok\", \"mode\": \"deny\"},"
		"            {\"path\": \"~/.netrc2\", \"mode\": \"mask\", \"extract\": \"x(y)\"}],"
		"  \"envVars\": [{\"name\": \"MY_SECRET_X\", \"mode\": \"deny\"},"
		"              {\"name\": \"DATABASE_URL\", \"mode\": \"mask\"}],"
		"  \"allowPlaintextInject\": false}}",
		"{\"filesystem\": {\"hidden\": [\"~/.config/tok\", \"~/.netrc2\"]},"
		" \"network\": {\"mode\": \"none\"},"
		" \"env\": {\"drop\": [\"MY_SECRET_X\", \"DATABASE_URL\"]}}",
		{ { "credentials\\.files\\[1\\]: mode \"mask\": hutch hides the file", false },
		  { "credentials\\.envVars\\[1\\]: mode \"mask\": hutch drops the variable", false },
		  { "credentials\\.allowPlaintextInject: ignored", false } },
	},
	{
		"unix sockets: listed ones exposed, \"all\" reported",
		"{\"network\": {\"allowedDomains\": [], \"deniedDomains\": [],"
		" \"allowUnixSockets\": [\"/var/run/docker.sock\"], \"allowAllUnixSockets\": true,"
		" \"allowLocalBinding\": true, \"strictAllowlist\": true},"
		" \"filesystem\": {\"allowWrite\": [\".\"]}}",
		"{\"filesystem\": {\"sockets\": [\"/var/run/docker.sock\"]},"
		" \"network\": {\"mode\": \"none\"}}",
		{ { "network\\.allowAllUnixSockets: not supported", false } },
	},
	{
		"\"*:22\" in deniedDomains with something allowed: not enforced",
		"{\"network\": {\"deniedDomains\": [\"*:22\"], \"allowedDomains\": [\"github.com\"]},"
		" \"filesystem\": {\"allowWrite\": [\".\"]}}",
		"{\"network\": {\"mode\": \"proxy\", \"allow\": [\"github.com\"]}}",
		{ { "network\\.deniedDomains\\[0\\] = \"\\*:22\": NOT ENFORCED", true } },
	},
	{
		"\"*:22\" with nothing allowed: nothing to enforce",
		"{\"network\": {\"deniedDomains\": [\"*:22\"], \"allowedDomains\": []},"
		" \"filesystem\": {\"allowWrite\": [\".\"]}}",
		"{\"network\": {\"mode\": \"none\"}}",
		{ { NULL, false } },
	},
	{
		"denyRead a region, allowRead back inside it; the same path in both: allow wins",
		"{\"filesystem\": {\"denyRead\": [\"/home\", \"~/secrets\"],"
		" \"allowRead\": [\".\", \"/home/x/shared/\", \"~/secrets\"], \"allowWrite\": [\".\"]}}",
		"{\"filesystem\": {\"readOnly\": [\"/home/x/shared\", \"~/secrets\"],"
		" \"hidden\": [\"/home\"]}, \"network\": {\"mode\": \"none\"}}",
		{ { NULL, false } },
	},
	{
		"top-level switches: false ones are the defaults, true ones reported",
		"{\"filesystem\": {\"allowWrite\": [\".\"], \"allowGitConfig\": true, \"disabled\": false},"
		" \"ignoreViolations\": {\"*\": [\"/usr/bin\"]},"
		" \"enableWeakerNestedSandbox\": false, \"enableWeakerNetworkIsolation\": true,"
		" \"allowAppleEvents\": false, \"allowPty\": true, \"mandatoryDenySearchDepth\": 3,"
		" \"ripgrep\": {\"command\": \"rg\"}, \"$schema\": \"x\"}",
		"{\"network\": {\"mode\": \"none\"}}",
		{ { "filesystem\\.allowGitConfig: ignored: \\.git/config stays protected", false },
		  { "^t\\.json:1:[0-9]+: ignoreViolations: ignored", false },
		  { "enableWeakerNetworkIsolation: macOS only", false },
		  { "mandatoryDenySearchDepth: ignored", false },
		  { "ripgrep: ignored", false } },
	},
	{
		"an external MITM proxy is not used: weaker",
		"{\"network\": {\"allowedDomains\": [\"api.example.com\"],"
		" \"mitmProxy\": {\"socketPath\": \"/run/m.sock\", \"domains\": [\"api.example.com\"]},"
		" \"httpProxyPort\": 8080},"
		" \"filesystem\": {\"allowWrite\": [\".\"]}}",
		"{\"network\": {\"mode\": \"proxy\", \"allow\": [\"api.example.com\"]}}",
		{ { "network\\.mitmProxy: NOT ENFORCED", true },
		  { "network\\.httpProxyPort: not supported", false } },
	},
};

struct error_case {
	const char *name;
	const char *in;
	const char *re;
};

static const struct error_case errors[] = {
	{ "an unknown top-level key (misspelt \"network\")",
	  "{\n  \"netwrok\": {}\n}",
	  "^t\\.json:2:3: unknown key \"netwrok\" at the top level" },
	{ "an unknown key in filesystem (misspelt denyRead)",
	  "{\"filesystem\": {\n   \"denyRaed\": [\"~/.ssh\"]}}",
	  "^t\\.json:2:4: unknown key \"denyRaed\" in \"filesystem\".*denyRead" },
	{ "a string where a list is expected",
	  "{\"network\": {\"allowedDomains\": \"github.com\"}}",
	  "^t\\.json:1:[0-9]+: network\\.allowedDomains: expected an array of strings, got a string" },
	{ "a number in a list of domains",
	  "{\"network\": {\"allowedDomains\": [\"a.com\", 3]}}",
	  "network\\.allowedDomains\\[1\\]: expected a string, got a number" },
	{ "a pattern hutch refuses (too broad)",
	  "{\"network\": {\"allowedDomains\": [\"*.com\"]}}",
	  "network\\.allowedDomains\\[0\\]: host pattern \"\\*\\.com\" is not accepted" },
	{ "a credentials mode that does not exist",
	  "{\"credentials\": {\"files\": [{\"path\": \"~/x\", \"mode\": \"hide\"}]}}",
	  "credentials\\.files\\[0\\]\\.mode: expected \"deny\" or \"mask\"" },
	{ "an unknown key in a credentials entry",
	  "{\"credentials\": {\"envVars\": [{\"name\": \"A\", \"mode\": \"deny\", \"x\": 1}]}}",
	  "unknown key \"x\" in a credentials.envVars entry" },
	{ "a relative socket path",
	  "{\"network\": {\"allowUnixSockets\": [\"run/x.sock\"]}}",
	  "network\\.allowUnixSockets\\[0\\]: \"run/x\\.sock\" is a relative path" },
	{ "an empty path", "{\"filesystem\": {\"denyRead\": [\"\"]}}",
	  "filesystem\\.denyRead\\[0\\]: empty path" },
	{ "a wrong boolean", "{\"enableWeakerNestedSandbox\": \"no\"}",
	  "enableWeakerNestedSandbox: expected true or false, got a string" },
	{ "invalid JSON", "{\"network\": {,}}", "^t\\.json:1:[0-9]+: invalid JSON" },
	{ "not an object", "[1]", "must be a JSON object, not an array" },
	{ "duplicate keys", "{\"network\": {}, \"network\": {}}", "^t\\.json:1:[0-9]+: invalid JSON" },
	{ "a control character in a path",
	  "{\"filesystem\": {\"allowWrite\": [\".\", \"a\\nb\"]}}",
	  "t\\.json:1:[0-9]+: path \"a\\\\nb\" contains a control character" },
};
/* clang-format on */

static bool matches(const char *s, const char *re)
{
	regex_t rx;
	bool m;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0) {
		diag("bad regex in the test: %s", re);
		return false;
	}
	m = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return m;
}

static void check_mapping(const struct mapping_case *c)
{
	hutch_error err = {0};
	hutch_srt *s = NULL;
	json_t *got = NULL, *want;
	json_error_t je;
	size_t n_want = 0, n_weaker = 0;
	char *text;
	int r;

	r = hutch_srt_parse("t.json", c->in, strlen(c->in), &s, &err);
	if (!ok(r == 0, "%s: parses", c->name)) {
		diag("error: %s", err.msg);
		return;
	}
	text = hutch_srt_to_json(s);
	if (text)
		got = json_loads(text, 0, &je);
	want = json_loads(c->out, 0, &je);
	if (!want)
		diag("bad expected JSON in the test: %s", je.text);
	if (!ok(got && want && json_equal(got, want), "%s: the expected policy", c->name)) {
		diag("got:  %s", text ? text : "(null)");
		diag("want: %s", c->out);
	}

	/* The output is a policy file hutch accepts, unchanged. */
	{
		hutch_policy *p = hutch_policy_new();

		memset(&err, 0, sizeof(err));
		r = hutch_policy_load_data(p, "out.json", text, text ? strlen(text) : 0,
					   HUTCH_SOURCE_FILE, &err);
		if (!ok(r == 0, "%s: the output loads as a hutch policy file", c->name))
			diag("%s", err.msg);
		hutch_policy_free(p);
	}

	for (; n_want < 6 && c->notes[n_want].re; n_want++) {
		const char *note = NULL;
		bool weaker = false;

		n_weaker += c->notes[n_want].weaker;
		for (size_t i = 0; i < hutch_srt_n_notes(s); i++) {
			bool wk;
			const char *t = hutch_srt_note(s, i, &wk);

			if (matches(t, c->notes[n_want].re)) {
				note = t;
				weaker = wk;
			}
		}
		if (!ok(note != NULL, "%s: note /%s/", c->name, c->notes[n_want].re)) {
			for (size_t i = 0; i < hutch_srt_n_notes(s); i++)
				diag("note: %s", hutch_srt_note(s, i, NULL));
		} else {
			is_int(weaker, c->notes[n_want].weaker, "%s:   %s", c->name,
			       c->notes[n_want].weaker ? "marked weaker" : "not marked weaker");
		}
	}
	is_int(hutch_srt_n_notes(s), n_want, "%s: %zu note(s), no other", c->name, n_want);
	is_int(hutch_srt_n_weaker(s), n_weaker, "%s: %zu weaker", c->name, n_weaker);

	/* Applying refuses a weaker mapping unless allowed, and changes nothing then. */
	{
		hutch_policy *p = hutch_policy_new();

		memset(&err, 0, sizeof(err));
		r = hutch_srt_apply(s, p, false, &err);
		if (n_weaker) {
			ok(r == -EPERM, "%s: apply refuses it (weaker)", c->name);
			like(err.msg, "NOT ENFORCED", "%s:   naming what", c->name);
			like(err.hint, "import-srt", "%s:   with a hint", c->name);
			memset(&err, 0, sizeof(err));
			r = hutch_srt_apply(s, p, true, &err);
		}
		if (!ok(r == 0, "%s: apply%s", c->name, n_weaker ? " with allow_weaker" : ""))
			diag("%s", err.msg);
		hutch_policy_free(p);
	}
	free(text);
	json_decref(got);
	json_decref(want);
	hutch_srt_free(s);
}

static void check_error(const struct error_case *c)
{
	hutch_error err = {0};
	hutch_srt *s = NULL;
	int r = hutch_srt_parse("t.json", c->in, strlen(c->in), &s, &err);

	ok(r < 0 && s == NULL, "%s: refused", c->name);
	if (!ok(matches(err.msg, c->re), "%s: /%s/", c->name, c->re))
		diag("got: %s", err.msg);
	ok(strchr(err.msg, '\n') == NULL, "%s: one line", c->name);
	hutch_srt_free(s);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_mapping(&cases[i]);
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		check_error(&errors[i]);

	/* A mapped policy merges like a -p file: on top of a profile, and what it sets shows. */
	{
		static const char in[] = "{\"network\": {\"allowedDomains\": [\"github.com\"]},"
					 " \"filesystem\": {\"denyRead\": [\"/opt/secret\"],"
					 " \"allowWrite\": [\".\"]}}";
		hutch_error err = {0};
		hutch_srt *s = NULL;
		hutch_policy *p = hutch_policy_new();
		char *json = NULL;

		ok(hutch_policy_apply_profile(p, "default", &err) == 0, "merge: profile default");
		ok(hutch_srt_parse("s.json", in, strlen(in), &s, &err) == 0, "merge: parse");
		ok(hutch_srt_apply(s, p, false, &err) == 0, "merge: apply");
		ok(hutch_policy_finalize(p, "/nonexistent-home", &err) == 0, "merge: finalize");
		json = hutch_policy_to_json(p);
		like(json, "\"/opt/secret\"", "merge: the srt denyRead is hidden");
		like(json, "\"/nonexistent-home/.ssh\"", "merge: the profile's hidden list stays");
		like(json, "\"mode\": \"proxy\"", "merge: network mode proxy");
		like(json, "\"github.com\"", "merge: github.com allowed");
		free(json);
		hutch_srt_free(s);
		hutch_policy_free(p);
	}

	/* Files: read from disk, a missing one is an error naming it. */
	{
		hutch_error err = {0};
		hutch_srt *s = NULL;

		ok(hutch_srt_load_file("/nonexistent/srt.json", &s, &err) < 0,
		   "missing file: error");
		like(err.msg, "/nonexistent/srt.json", "missing file: named");
	}
	return done_testing();
}
