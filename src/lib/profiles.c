/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Built-in profiles, as tables. A profile is a base profile (applied first),
 * list entries and scalar settings, applied with the same functions a policy
 * file uses, so a profile can never do what a file could not.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "profiles.h"

/*
 * Secrets outside the workspace: credentials of shells, clouds, package
 * registries and the agents themselves. Hidden = an empty, unwritable
 * directory or an empty file in the sandbox.
 */
const char *const hutch_default_hidden[] = {
	/* ssh, gpg, password managers, keyrings */
	"~/.ssh",
	"~/.gnupg",
	"~/.password-store",
	"~/.local/share/keyrings",
	"~/.config/op", /* 1Password CLI */
	/* cloud and cluster CLIs */
	"~/.aws",
	"~/.config/gcloud",
	"~/.azure",
	"~/.kube",
	"~/.docker",
	"~/.terraform.d",
	"~/.vault-token",
	"~/.s3cfg",
	"~/.config/doctl", /* DigitalOcean */
	"~/.oci",	   /* Oracle Cloud */
	/* git hosts and generic credentials */
	"~/.config/gh",
	"~/.config/hub",
	"~/.config/glab-cli",
	"~/.netrc",
	"~/.git-credentials",
	"~/.config/git/credentials",
	/* package registries */
	"~/.npmrc",
	"~/.yarnrc.yml",
	"~/.pypirc",
	"~/.cargo/credentials",
	"~/.cargo/credentials.toml",
	"~/.gem/credentials",
	"~/.m2/settings-security.xml",
	"~/.gradle/gradle.properties",
	"~/.nuget/NuGet/NuGet.Config",
	/* databases */
	"~/.pgpass",
	"~/.my.cnf",
	/* the agents' own credentials */
	"~/.claude.json",
	"~/.claude/.credentials.json",
	"~/.codex/auth.json",
	"~/.config/gemini",
	"~/.gemini/oauth_creds.json",
	"~/.config/github-copilot",
	"~/.aider.conf.yml",
	/* system secrets (only files that are secret; /etc/sudoers is 0440 already) */
	"/etc/shadow",
	"/etc/gshadow",
	"/etc/shadow-",
	"/etc/gshadow-",
	"/etc/ssh/ssh_host_rsa_key",
	"/etc/ssh/ssh_host_ecdsa_key",
	"/etc/ssh/ssh_host_ed25519_key",
	NULL,
};

/*
 * Paths that run code later, outside the sandbox (persistence). Relative
 * entries apply at the workspace root and in each git repository under it.
 */
/* clang-format off */
const char *const hutch_default_protected[] = {
	".git/hooks", ".git/config", ".gitmodules", ".bashrc", ".bash_profile", ".zshrc",
	".zprofile",  ".profile",    ".envrc",      ".vscode", ".idea",         ".mcp.json",
	".claude",    ".codex",      ".gemini",     ".hutch.json", NULL,
};
/* clang-format on */

/* Environment variables that carry secrets (fnmatch patterns). */
const char *const hutch_default_env_drop[] = {
	"*_TOKEN",
	"*_TOKEN_*",
	"*_SECRET*",
	"*_PASSWORD*",
	"*_PASSWD*",
	"*_KEY",
	"*_API_KEY",
	"*_APIKEY",
	"*_ACCESS_KEY*",
	"*_PRIVATE_KEY*",
	"*_CREDENTIALS*",
	"*_AUTH",
	"AWS_*",
	"AZURE_*",
	"GITHUB_TOKEN",
	"GH_TOKEN",
	"GITLAB_TOKEN",
	"NPM_TOKEN",
	"SSH_AUTH_SOCK",
	"SSH_AGENT_PID",
	"GPG_AGENT_INFO",
	"DBUS_SESSION_BUS_ADDRESS",
	"GOOGLE_APPLICATION_CREDENTIALS",
	"CLOUDSDK_AUTH_*",
	"KUBECONFIG",
	"DOCKER_AUTH_CONFIG",
	"VAULT_TOKEN",
	"OP_SESSION_*",
	NULL,
};

static const char *const all_layers[] = {"userns", "landlock", "seccomp", NULL};
static const char *const pass_all[] = {"*", NULL};
static const char *const hide_home[] = {"~", NULL};

#define PROFILE_MAX_LISTS 8
#define PROFILE_MAX_SETS 8

struct profile_list {
	enum hutch_list list;
	const char *const *values; /* NULL-terminated */
};

struct profile_set {
	enum hutch_key key;
	const char *value;
};

struct profile {
	const char *name;
	const char *base; /* applied first, or NULL */
	struct profile_list lists[PROFILE_MAX_LISTS];
	struct profile_set sets[PROFILE_MAX_SETS];
};

/* clang-format off */
static const struct profile profiles[] = {
	{
		.name = "default",
		.lists = {
			{ HUTCH_LIST_REQUIRE, all_layers },
			{ HUTCH_LIST_HIDDEN, hutch_default_hidden },
			{ HUTCH_LIST_PROTECTED, hutch_default_protected },
			{ HUTCH_LIST_ENV_PASS, pass_all },
			{ HUTCH_LIST_ENV_DROP, hutch_default_env_drop },
		},
		.sets = {
			{ HUTCH_KEY_NET_MODE, "none" },
		},
	},
	{
		/* default + all of $HOME hidden; the workspace and writable roots
		 * inside it are re-exposed by the mount code. */
		.name = "strict",
		.base = "default",
		.lists = {
			{ HUTCH_LIST_HIDDEN, hide_home },
		},
	},
};

/* clang-format on */

static const char *const profile_names[] = {"default", "strict", NULL};

const char *const *hutch_profile_names(void)
{
	return profile_names;
}

static const struct profile *find_profile(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(profiles); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

static int apply(struct hutch_policy *p, const struct profile *pr, const char *origin, bool system,
		 unsigned depth, hutch_error *err)
{
	char own[64];
	int r;

	if (depth > 4)
		return hutch_errx(err, ELOOP, HUTCH_EXIT_ERROR, "profile %s: bases nest too deep",
				  pr->name);
	if (pr->base) {
		const struct profile *base = find_profile(pr->base);

		if (!base)
			return hutch_errx(err, ENOENT, HUTCH_EXIT_ERROR,
					  "profile %s: unknown base profile %s", pr->name,
					  pr->base);
		r = apply(p, base, origin, system, depth + 1, err);
		if (r < 0)
			return r;
	}
	if (!origin) {
		snprintf(own, sizeof(own), "profile %s", pr->name);
		origin = own;
	}
	for (size_t i = 0; i < PROFILE_MAX_LISTS && pr->lists[i].values; i++)
		for (const char *const *v = pr->lists[i].values; *v; v++) {
			r = hutch_policy_add_ex(p, pr->lists[i].list, *v, origin, system, err);
			if (r < 0)
				return r;
		}
	for (size_t i = 0; i < PROFILE_MAX_SETS && pr->sets[i].value; i++) {
		r = hutch_policy_set_ex(p, pr->sets[i].key, pr->sets[i].value, origin, system, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static void list_names(char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; profile_names[i]; i++) {
		int w = snprintf(buf + o, size - o, "%s%s", i ? ", " : "", profile_names[i]);

		if (w < 0 || (size_t)w >= size - o)
			break;
		o += (size_t)w;
	}
}

int hutch_profile_apply_ex(struct hutch_policy *p, const char *name, const char *origin,
			   bool system, hutch_error *err)
{
	const struct profile *pr = find_profile(name);
	char names[256];
	char *copy;
	int r;

	if (!p || !name)
		return hutch_errx(err, EINVAL, HUTCH_EXIT_ERROR, "profile: no name given");
	if (!pr) {
		list_names(names, sizeof(names));
		return hutch_errx(err, ENOENT, HUTCH_EXIT_ERROR,
				  "%s%sunknown profile \"%.64s\" (expected one of: %s)",
				  origin ? origin : "", origin ? ": " : "", name, names);
	}
	r = apply(p, pr, origin, system, 0, err);
	if (r < 0)
		return r;
	copy = strdup(pr->name);
	if (!copy)
		return hutch_err(err, ENOMEM, HUTCH_EXIT_ERROR, "profile %s", name);
	free(p->profile);
	p->profile = copy;
	return 0;
}

int hutch_profile_apply(struct hutch_policy *p, const char *name, hutch_error *err)
{
	return hutch_profile_apply_ex(p, name, NULL, false, err);
}
