/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Built-in profiles and the merge rules: an agent profile takes its own
 * credential files out of the hidden list, but never a hide that came from
 * a policy file, and never one the system policy locked (that fails closed).
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/agentstate.h"
#include "policy/policy.h"
#include "policy/profiles.h"
#include "tap.h"

#define HOME "/nonexistent-home"

static hutch_error err;

static bool hidden(const struct hutch_policy *p, const char *path)
{
	return hutch_rules_contains(&p->fs_hidden, path);
}

static char notes[2048];

static void note(const char *msg, void *data)
{
	(void)data;
	size_t o = strlen(notes);

	snprintf(notes + o, sizeof(notes) - o, "%s|", msg);
}

/* Merge @inside into @host for workspace /ws; the host's JSON after, compact with sorted keys. */
static char *merged(const char *host, const char *inside, int *changes)
{
	json_t *h = json_loads(host, 0, NULL), *in = json_loads(inside, 0, NULL);
	char *out;

	notes[0] = '\0';
	*changes = hutch_agentstate_merge_claude(h, in, "/ws", note, NULL);
	out = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(h);
	json_decref(in);
	return out;
}

static int load(struct hutch_policy *p, const char *text, enum hutch_source src)
{
	memset(&err, 0, sizeof(err));
	return hutch_policy_load_data(p, "t.json", text, strlen(text), src, &err);
}

int main(void)
{
	const char *const *names = hutch_profile_names();
	size_t n = 0;

	for (; names[n]; n++)
		;
	is_int(n, 6, "six built-in profiles");
	is_str(names[2], "claude-code", "claude-code");
	is_str(names[5], "aider", "aider");

	/* Every profile applies and finalizes on its own. */
	for (size_t i = 0; names[i]; i++) {
		struct hutch_policy *p = hutch_policy_new();

		memset(&err, 0, sizeof(err));
		ok(hutch_profile_apply(p, names[i], &err) == 0 &&
			   hutch_policy_finalize(p, HOME, &err) == 0,
		   "%s applies and finalizes", names[i]);
		if (err.msg[0])
			diag("%s", err.msg);
		hutch_policy_free(p);
	}

	ok(hutch_profile_unhidden("default") == NULL, "default unhides nothing");
	ok(hutch_profile_unhidden("claude-code") != NULL, "claude-code unhides its credentials");
	ok(hutch_profile_unhidden("nope") == NULL, "unknown profile: nothing");

	/* claude-code alone: its credentials visible, codex's hidden, key passed by name. */
	{
		struct hutch_policy *p = hutch_policy_new();

		ok(hutch_profile_apply(p, "claude-code", &err) == 0, "claude-code");
		ok(!hidden(p, "~/.claude.json") && !hidden(p, "~/.claude/.credentials.json"),
		   "  its credential files are not hidden");
		ok(hidden(p, "~/.codex/auth.json") && hidden(p, "~/.gemini/oauth_creds.json") &&
			   hidden(p, "~/.aider.conf.yml"),
		   "  the other agents' are");
		ok(hutch_rules_contains(&p->env_pass, "ANTHROPIC_API_KEY"),
		   "  ANTHROPIC_API_KEY passed by exact name");
		ok(!hutch_rules_contains(&p->env_pass, "OPENAI_API_KEY"),
		   "  OPENAI_API_KEY is not");
		is_int(p->net_mode, HUTCH_NET_PROXY, "  network mode proxy");
		hutch_policy_free(p);
	}

	/* The agents' private directories (files re-read and run by a copy outside), and
	 * hutch_profile_prepare() making them in a fresh home, inside the state directory. */
	{
		struct hutch_policy *p = hutch_policy_new();
		char home[] = "/tmp/hutch-test-profiles-XXXXXX", path[PATH_MAX];
		struct stat st;

		ok(hutch_profile_apply(p, "claude-code", &err) == 0 &&
			   hutch_rules_contains(&p->fs_private, "~/.claude/shell-snapshots") &&
			   hutch_rules_contains(&p->fs_private, "~/.claude/ide") &&
			   p->fs_private.n == 2,
		   "claude-code: ~/.claude/shell-snapshots and ~/.claude/ide are private");
		hutch_policy_free(p);
		p = hutch_policy_new();
		ok(hutch_profile_apply(p, "codex", &err) == 0 &&
			   hutch_rules_contains(&p->fs_private, "~/.codex/shell_snapshots") &&
			   p->fs_private.n == 1,
		   "codex: ~/.codex/shell_snapshots is private");
		hutch_policy_free(p);
		p = hutch_policy_new();
		ok(hutch_profile_apply(p, "default", &err) == 0 && p->fs_private.n == 0,
		   "default: nothing private");
		hutch_policy_free(p);

		if (!mkdtemp(home))
			abort();
		memset(&err, 0, sizeof(err));
		ok(hutch_profile_prepare("claude-code", home, &err) == 0,
		   "prepare claude-code (%s)", err.msg);
		snprintf(path, sizeof(path), "%s/.claude/shell-snapshots", home);
		ok(lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700,
		   "  made ~/.claude/shell-snapshots (0700)");
		rmdir(path);
		snprintf(path, sizeof(path), "%s/.claude/ide", home);
		ok(lstat(path, &st) == 0 && S_ISDIR(st.st_mode), "  made ~/.claude/ide");
		rmdir(path);
		ok(hutch_profile_prepare("codex", home, &err) == 0, "prepare codex");
		snprintf(path, sizeof(path), "%s/.codex/shell_snapshots", home);
		ok(lstat(path, &st) == 0 && S_ISDIR(st.st_mode), "  made ~/.codex/shell_snapshots");
		rmdir(path);
		snprintf(path, sizeof(path), "%s/.codex", home);
		rmdir(path);
		snprintf(path, sizeof(path), "%s/.claude", home);
		rmdir(path);
		snprintf(path, sizeof(path), "%s/.cache/hutch/pkg", home);
		rmdir(path);
		snprintf(path, sizeof(path), "%s/.cache/hutch", home);
		rmdir(path);
		snprintf(path, sizeof(path), "%s/.cache", home);
		rmdir(path);
		ok(rmdir(home) == 0, "  nothing else made there");
	}

	/* The CLI's default profile, then a file's "extends": the profile's hides are undone. */
	{
		struct hutch_policy *p = hutch_policy_new();

		ok(hutch_profile_apply(p, "default", &err) == 0, "default first");
		ok(hidden(p, "~/.codex/auth.json"), "  hides ~/.codex/auth.json");
		ok(load(p, "{\"extends\": \"codex\"}", HUTCH_SOURCE_FILE) == 0,
		   "  then a file extending codex");
		ok(!hidden(p, "~/.codex/auth.json"), "  ~/.codex/auth.json no longer hidden");
		ok(hidden(p, "~/.claude.json"), "  ~/.claude.json still hidden");
		ok(hutch_policy_finalize(p, HOME, &err) == 0, "  finalizes");
		hutch_policy_free(p);
	}

	/* A hide from a policy file is not undone by a later profile: it conflicts instead. */
	{
		struct hutch_policy *p = hutch_policy_new();

		ok(load(p, "{\"filesystem\": {\"hidden\": [\"~/.codex/auth.json\"]}}",
			HUTCH_SOURCE_USER) == 0,
		   "a user policy hides ~/.codex/auth.json");
		ok(load(p,
			"{\"extends\": \"codex\", \"filesystem\": {\"writable\": "
			"[\"~/.codex/auth.json\"]}}",
			HUTCH_SOURCE_FILE) == 0,
		   "  a later file extends codex (and makes the file writable)");
		ok(hidden(p, "~/.codex/auth.json"), "  the user's hide stays");
		memset(&err, 0, sizeof(err));
		ok(hutch_policy_finalize(p, HOME, &err) < 0, "  finalize refuses the conflict");
		like(err.msg, "both writable and hidden", "  saying so");
		hutch_policy_free(p);
	}

	/* A system policy extending an agent profile: locked defaults, minus its credentials. */
	{
		struct hutch_policy *p = hutch_policy_new();
		const struct hutch_rule *r;

		ok(load(p, "{\"extends\": \"gemini\"}", HUTCH_SOURCE_SYSTEM) == 0,
		   "system policy extends gemini");
		ok(!hidden(p, "~/.gemini/oauth_creds.json"), "  gemini's credentials not hidden");
		r = hutch_rules_find(&p->fs_hidden, "~/.claude.json");
		ok(r && r->locked, "  ~/.claude.json hidden and locked");
		ok(hutch_policy_finalize(p, HOME, &err) == 0, "  finalizes");
		hutch_policy_free(p);
	}

	/* The system policy hides what the profile opens: fail closed, never silently open. */
	{
		struct hutch_policy *p = hutch_policy_new();

		hutch_agentstate *st = NULL;

		ok(hutch_profile_apply(p, "claude-code", &err) == 0, "--profile claude-code");
		ok(load(p, "{\"extends\": \"default\"}", HUTCH_SOURCE_SYSTEM) == 0,
		   "  then a system policy extending default");
		ok(hidden(p, "~/.claude.json"), "  ~/.claude.json is hidden again (locked)");
		memset(&err, 0, sizeof(err));
		ok(hutch_policy_finalize(p, HOME, &err) == 0 &&
			   hutch_agentstate_begin(p, HOME, &st, &err) < 0 && !st,
		   "  the run is refused: the profile copies it into ~/.claude, the system hides "
		   "it");
		like(err.msg, ".claude.json is hidden", "  message: %s", err.msg);
		hutch_policy_free(p);
	}
	{
		struct hutch_policy *p = hutch_policy_new();
		hutch_agentstate *st = NULL;
		int r1, r2;

		r1 = load(p, "{\"filesystem\": {\"hidden\": [\"~/.claude.json\"]}}",
			  HUTCH_SOURCE_SYSTEM);
		r2 = load(p, "{\"extends\": \"claude-code\"}", HUTCH_SOURCE_FILE);
		ok(r1 == 0 && r2 == 0, "system hides ~/.claude.json, a file extends claude-code");
		ok(hidden(p, "~/.claude.json"), "  the system policy's hide stays");
		memset(&err, 0, sizeof(err));
		ok(hutch_policy_finalize(p, HOME, &err) == 0 &&
			   hutch_agentstate_begin(p, HOME, &st, &err) < 0 && !st,
		   "  and the run is refused");
		hutch_policy_free(p);
	}
	/* Agent state directories get no relative (project) protected entries (protect.c). */
	ok(hutch_profile_is_state_dir("/h/.claude", "/h") &&
		   hutch_profile_is_state_dir("/h/.codex", "/h") &&
		   hutch_profile_is_state_dir("/h/.gemini", "/h") &&
		   hutch_profile_is_state_dir("/h/.aider", "/h") &&
		   hutch_profile_is_state_dir("/h/.cache/hutch/pkg", "/h"),
	   "every agent's state directory and the package cache are state directories");
	ok(!hutch_profile_is_state_dir("/h/proj", "/h") &&
		   !hutch_profile_is_state_dir("/h", "/h") &&
		   !hutch_profile_is_state_dir("/h/.claude/x", "/h") &&
		   !hutch_profile_is_state_dir("/h/.claude", NULL),
	   "  a project, $HOME, a directory inside one are not");

	/* ~/.claude.json: what is carried back from the working copy (agentstate.c). */
	{
		int c;
		char *m;

		m = merged("{\"a\":1,\"mcpServers\":{}}",
			   "{\"a\":2,\"hasCompletedOnboarding\":true,\"mcpServers\":{\"x\":{}},"
			   "\"oauthAccount\":{\"e\":\"u\"},\"newMcpGateway\":1,\"fooCounter\":3,"
			   "\"hooks\":{},\"statusLine\":{},\"env\":{}}",
			   &c);
		is_str(m,
		       "{\"a\":2,\"fooCounter\":3,\"hasCompletedOnboarding\":true,\"mcpServers\":{}"
		       ","
		       "\"oauthAccount\":{\"e\":\"u\"}}",
		       "merge: safe and unknown-but-harmless keys carried, the rest refused");
		is_int(c, 4, "  four changes carried");
		is_str(notes, "mcpServers|newMcpGateway|",
		       "  every refusal reported, an unknown key with 'mcp' in its name too; empty "
		       "defaults ({} where the host had none) are not carried and not reported");
		free(m);
		m = merged(
			"{}",
			"{\"hooks\":{\"PreToolUse\":[]},\"env\":{\"A\":\"1\"},\"allowedTools\":[],"
			"\"officialMarketplaceAutoInstallAttempted\":true,"
			"\"officialMarketplaceAutoInstallCount\":2}",
			&c);
		is_str(m,
		       "{\"officialMarketplaceAutoInstallAttempted\":true,"
		       "\"officialMarketplaceAutoInstallCount\":2}",
		       "merge: Claude Code's marketplace bookkeeping is carried back");
		is_str(notes, "hooks|env|",
		       "  a refused key with a value is reported, an empty one not");
		free(m);
		m = merged("{\"projects\":{\"/ws\":{\"allowedTools\":[\"Read\"]}}}",
			   "{\"projects\":{\"/ws\":{\"allowedTools\":[\"Bash\"],"
			   "\"hasTrustDialogAccepted\":true,\"lastCost\":1},"
			   "\"/ws/sub\":{\"hasTrustDialogAccepted\":true},"
			   "\"/wsx\":{\"hasTrustDialogAccepted\":true,\"history\":[]},"
			   "\"/other\":{\"mcpServers\":{\"x\":{}}}}}",
			   &c);
		is_str(m,
		       "{\"projects\":{\"/ws\":{\"allowedTools\":[\"Read\"],"
		       "\"hasTrustDialogAccepted\":true,\"lastCost\":1},"
		       "\"/ws/sub\":{\"hasTrustDialogAccepted\":true},\"/wsx\":{\"history\":[]}}}",
		       "merge: per project, trust only inside the workspace, no tools or servers");
		is_str(notes,
		       "projects[\"/ws\"].allowedTools|projects[\"/wsx\"].hasTrustDialogAccepted|"
		       "projects[\"/other\"].mcpServers|",
		       "  the refusals named with their project");
		free(m);
		m = merged("{\"projects\":[]}", "{\"projects\":{\"/ws\":{}}}", &c);
		is_str(notes, "projects|", "merge: projects of another type on the host: refused");
		free(m);
		m = merged("{\"mcpServers\":{\"x\":{}}}", "{}", &c);
		is_str(m, "{\"mcpServers\":{\"x\":{}}}",
		       "merge: a key removed inside stays on the host");
		is_str(notes, "", "  nothing reported for what was not written");
		free(m);
	}
	return done_testing();
}
