/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Built-in profiles, as tables. A profile is a base profile (applied first),
 * list entries and scalar settings, applied with the same functions a policy
 * file uses, so a profile can never do what a file could not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cleanup.h"
#include "base/file.h"
#include "base/error.h"
#include "base/path.h"
#include "policy/profiles.h"

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
	"~/.local/share/kwalletd",
	"~/.pki/nssdb", /* client certificates of Chrome and other NSS users */
	"~/.config/sops/age",
	/* shell and REPL histories (commands typed with passwords and tokens in them) */
	"~/.bash_history",
	"~/.zsh_history",
	"~/.histfile",
	"~/.local/share/fish/fish_history",
	"~/.local/share/atuin",
	"~/.python_history",
	"~/.node_repl_history",
	"~/.psql_history",
	"~/.mysql_history",
	"~/.sqlite_history",
	"~/.rediscli_history",
	"~/.irb_history",
	/* browsers and apps with cookies and saved logins */
	"~/.mozilla",
	"~/.thunderbird",
	"~/.config/google-chrome",
	"~/.config/chromium",
	"~/.config/BraveSoftware",
	"~/.config/microsoft-edge",
	"~/.config/vivaldi",
	"~/.config/opera",
	"~/snap/firefox",
	"~/snap/chromium",
	"~/.var/app/org.mozilla.firefox",
	"~/.var/app/com.google.Chrome",
	"~/.config/Slack",
	"~/.config/discord",
	"~/.config/Signal",
	/* editors' global storage (tokens of extensions, signed-in accounts) */
	"~/.config/Code/User/globalStorage",
	"~/.config/VSCodium/User/globalStorage",
	"~/.config/Cursor/User/globalStorage",
	"~/.config/Windsurf/User/globalStorage",
	"~/.vscode-server/data/User/globalStorage",
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
	"~/.config/rclone",
	"~/.config/hcloud", /* Hetzner */
	"~/.fly",	    /* Fly.io */
	"~/.wrangler",	    /* Cloudflare */
	"~/.databrickscfg",
	"~/.boto", /* gsutil */
	"~/.mc",   /* MinIO client */
	"~/.terraformrc",
	"~/.sentryclirc",
	"~/.config/configstore", /* firebase-tools and other npm CLIs' logins */
	"~/.config/ngrok",
	"~/.dbt/profiles.yml",
	"~/.snowsql",
	"~/.cache/huggingface/token",
	"~/.cache/huggingface/stored_tokens",
	"~/.huggingface/token",
	"~/.pulumi/credentials.json",
	"~/.tsh", /* Teleport's keys and certificates */
	"~/.cloudflared",
	"~/.config/.wrangler", /* Cloudflare's wrangler 3 */
	"~/.supabase/access-token",
	"~/.local/share/com.vercel.cli",
	"~/.vercel",
	"~/.config/netlify",
	"~/.netlify",
	"~/.config/stripe",
	"~/.circleci/cli.yml",
	"~/.config/twilio-cli",
	"~/.twilio-cli",
	"~/.expo/state.json",
	"~/.ngrok2",
	"~/.kaggle/kaggle.json",
	"~/.config/kaggle",
	"~/.wakatime.cfg",
	"~/.codeium/config.json",
	"~/.influxdbv2/configs",
	"~/.jfrog",
	"~/.config/jfrog",
	/* crypto wallets and their keys */
	"~/.config/solana",
	"~/.ethereum/keystore",
	"~/.bitcoin/wallets",
	"~/.bitcoin/wallet.dat",
	"~/.electrum",
	/* git hosts and generic credentials */
	"~/.config/gh",
	"~/.config/hub",
	"~/.config/glab-cli",
	"~/.netrc",
	"~/.git-credentials",
	"~/.gitcookies", /* Gerrit's and googlesource's auth cookies */
	"~/.config/git/credentials",
	/* package registries */
	"~/.npmrc",
	"~/.yarnrc",
	"~/.yarnrc.yml",
	"~/.config/pip/pip.conf", /* an index URL with a password */
	"~/.pip/pip.conf",
	"~/.composer/auth.json",
	"~/.config/composer/auth.json",
	"~/.config/containers/auth.json",
	"~/.m2/settings.xml", /* repository passwords */
	"~/.pypirc",
	"~/.cargo/credentials",
	"~/.cargo/credentials.toml",
	"~/.gem/credentials",
	"~/.m2/settings-security.xml",
	"~/.gradle/gradle.properties",
	"~/.ivy2/.credentials",
	"~/.sbt/.credentials",
	"~/.nuget/NuGet/NuGet.Config",
	/* databases */
	"~/.pgpass",
	"~/.my.cnf",
	"~/.mylogin.cnf", /* mysql_config_editor's obfuscated passwords */
	/* the agents' own credentials (each agent profile makes its own readable) */
	"~/.claude.json",
	"~/.claude/.credentials.json",
	"~/.codex/auth.json",
	"~/.codex/.credentials.json", /* MCP OAuth tokens when no keyring */
	"~/.config/gemini",
	"~/.gemini/oauth_creds.json",
	"~/.gemini/google_accounts.json",
	"~/.gemini/mcp-oauth-tokens.json",
	"~/.gemini/a2a-oauth-tokens.json",
	"~/.gemini/.env", /* gemini loads GEMINI_API_KEY from it */
	"~/.config/github-copilot",
	"~/.aider.conf.yml",
	"~/.aider/oauth-keys.env", /* aider's OpenRouter OAuth key */
	/*
	 * Host daemons' sockets that live under $HOME (the ones under /tmp, /run and
	 * $XDG_RUNTIME_DIR are out of reach already): container engines' VMs.
	 * A read-only mount does not stop connect() on a socket, so these are hidden.
	 */
	"~/.colima",
	"~/.lima",
	"~/.rd", /* Rancher Desktop */
	"~/.orbstack",
	"~/.local/share/containers/podman/machine",
	"~/.config/containers/podman/machine",
	"~/.minikube",
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
	".git/config.worktree",
	".git/hooks", ".git/config", ".gitmodules", ".bashrc", ".bash_profile", ".zshrc",
	".zprofile",  ".profile",    ".envrc",      ".vscode", ".idea",         ".mcp.json",
	".claude",    ".codex",      ".gemini",     ".hutch.json", ".git/commondir",
	/* other agents' and editors' project files that load instructions or start programs */
	"CLAUDE.local.md", "AGENTS.override.md", ".cursor", ".cursorrules", ".windsurf",
	".windsurfrules", ".continue", ".zed", ".aider.conf.yml", ".aider.model.settings.yml",
	".aider.model.metadata.json", NULL,
};
/* clang-format on */

/*
 * Of those, the files shells read from the user's home alone (bash: ~/.bashrc,
 * ~/.bash_profile, ~/.profile; sh: ~/.profile; zsh: $ZDOTDIR/.zshrc and
 * .zprofile, ZDOTDIR defaulting to $HOME). Nothing reads them from a project
 * directory that is not a home: there a missing one needs no placeholder
 * (protect.c; docs/profiles.md says why).
 */
const char *const hutch_shell_rc_files[] = {
	".bashrc", ".bash_profile", ".zshrc", ".zprofile", ".profile", NULL,
};

bool hutch_profile_is_shell_rc(const char *entry)
{
	for (size_t i = 0; hutch_shell_rc_files[i]; i++)
		if (!strcmp(entry, hutch_shell_rc_files[i]))
			return true;
	return false;
}

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
	"*_CREDENTIAL",
	"*_CREDS",
	"*_AUTH",
	"*_TOKENS",
	"*_PAT", /* personal access tokens: GITHUB_PAT, AZURE_DEVOPS_EXT_PAT */
	"*_PASS",
	"*_PASSPHRASE",
	"*_PWD",
	"*_DSN", /* SENTRY_DSN and database DSNs carry a key or a password */
	"*_JWT*",
	"*_COOKIE",
	"DATABASE_URL",
	"*_DATABASE_URL",
	"PGPASSWORD",
	"MYSQL_PWD",
	"NPM_CONFIG__AUTH*",
	"npm_config__auth*",
	/* the same in lower case (the patterns are case-sensitive) */
	"*_token",
	"*_token_*",
	"*_tokens",
	"*_secret*",
	"*_password*",
	"*_passwd*",
	"*_pass",
	"*_passphrase",
	"*_key",
	"*_api_key",
	"*_apikey",
	"*_access_key*",
	"*_private_key*",
	"*_credentials*",
	"*_credential",
	"*_creds",
	"*_auth",
	"*_pat",
	"*_dsn",
	"*_jwt*",
	"database_url",
	"*_database_url",
	"aws_*",
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

/*
 * The agent profiles (docs/profiles.md says what each opens and why). Each
 * one is "default" plus: the agent's own API and sign-in hosts and what a
 * coding session commonly needs, through the filtering proxy; the agent's
 * state directory writable; its own credential files readable (taken out of
 * the hidden list, every other agent's stay hidden); its API key variable
 * passed by exact name (the default drop patterns remove every *_API_KEY);
 * and the files in its state directory that make it run code or follow
 * instructions later (settings with hooks and MCP servers, commands,
 * plugins, instructions) protected, so a session cannot plant something
 * that runs when the agent is next started outside the sandbox.
 */

/* What a coding session commonly needs: npm, PyPI and crates registries and the git host. */
static const char *const dev_hosts[] = {
	"registry.npmjs.org",
	"pypi.org",
	"files.pythonhosted.org",
	"crates.io",
	"static.crates.io",
	"index.crates.io",
	"github.com",
	"*.githubusercontent.com",
	NULL,
};

/* Claude Code: the API, sign-in (OAuth token exchange) and the telemetry hosts it documents. */
static const char *const claude_hosts[] = {
	"api.anthropic.com",
	"claude.ai",
	"platform.claude.com",
	"console.anthropic.com",
	"statsig.anthropic.com",
	"sentry.io",
	NULL,
};
/*
 * ~/.claude.json is not writable: Claude Code keeps a working copy of it in
 * ~/.claude (CLAUDE_CONFIG_DIR below) and hutch carries the safe part back
 * after the run (agentstate.c).
 */
static const char *const claude_state[] = {"~/.claude", NULL};
static const char *const claude_dirs[] = {"~/.claude", NULL};
static const char *const claude_creds[] = {"~/.claude.json", "~/.claude/.credentials.json", NULL};
static const char *const claude_protected[] = {
	"~/.claude/settings.json",
	"~/.claude/settings.local.json",
	"~/.claude/CLAUDE.md",
	"~/.claude/commands",
	"~/.claude/agents",
	"~/.claude/skills",
	"~/.claude/plugins",
	"~/.claude/hooks",
	"~/.claude/rules",	   /* loaded like CLAUDE.md */
	"~/.claude/output-styles", /* system prompt additions */
	"~/.claude/local",	   /* the local install of claude itself */
	"~/.claude/statusline.sh", /* the status line scripts /statusline and the docs write */
	"~/.claude/statusline-command.sh",
	NULL,
};
/*
 * Directories of the sandbox's own (docs/profiles.md, "Private directories"):
 * a Claude Code running outside at the same time re-reads what is there.
 * shell-snapshots: each session writes snapshot-<shell>-<time>-<random>.sh
 * at its start and sources it before every Bash command ("source FILE
 * 2>/dev/null || true"); ide: the IDEs' lock files (<port>.lock, with the
 * IDE's auth token) through which Claude Code connects to an IDE's MCP server.
 */
static const char *const claude_private[] = {"~/.claude/shell-snapshots", "~/.claude/ide", NULL};
static const char *const claude_env[] = {"ANTHROPIC_API_KEY", NULL};
/*
 * Claude Code refuses --dangerously-skip-permissions as root unless it is told
 * it runs in a sandbox; it does here (docs/profiles.md, "The agents' own sandboxes").
 */
static const char *const claude_set[] = {"IS_SANDBOX=1", "CLAUDE_CONFIG_DIR=~/.claude", NULL};

/* Codex CLI: the API (key), sign-in with ChatGPT and the ChatGPT backend it then uses. */
static const char *const codex_hosts[] = {"api.openai.com", "auth.openai.com", "chatgpt.com", NULL};
static const char *const codex_state[] = {"~/.codex", NULL};
static const char *const codex_dirs[] = {"~/.codex", NULL};
static const char *const codex_creds[] = {"~/.codex/auth.json", "~/.codex/.credentials.json", NULL};
static const char *const codex_protected[] = {
	"~/.codex/config.toml",
	"~/.codex/AGENTS.md",
	"~/.codex/AGENTS.override.md",
	"~/.codex/prompts",
	"~/.codex/rules",
	"~/.codex/skills",
	"~/.codex/.env",       /* loaded into Codex's environment at start */
	"~/.codex/packages",   /* binaries Codex runs (its standalone install) */
	"~/.codex/hooks.json", /* commands run on agent events */
	"~/.codex/plugins",
	NULL,
};
/*
 * Codex writes shell_snapshots/<session>.<nonce>.sh at a session's start and
 * sources it (". 'FILE'") before each command it runs; the private home links
 * its shell_snapshots to this one (agentstate-codex.c).
 */
static const char *const codex_private[] = {"~/.codex/shell_snapshots", NULL};
static const char *const codex_env[] = {"OPENAI_API_KEY", NULL};
/*
 * A private home whose config.toml is a working copy (trusting a folder
 * saves it) and everything else links to ~/.codex (agentstate-codex.c).
 */
static const char *const codex_set[] = {"CODEX_HOME=~/.codex/.hutch-home", NULL};

/* Gemini CLI: the Gemini API (key), Google sign-in and Code Assist (used after sign-in). */
static const char *const gemini_hosts[] = {
	"generativelanguage.googleapis.com",
	"oauth2.googleapis.com",
	"accounts.google.com",
	"cloudcode-pa.googleapis.com",
	NULL,
};
static const char *const gemini_state[] = {"~/.gemini", NULL};
static const char *const gemini_dirs[] = {"~/.gemini", NULL};
static const char *const gemini_creds[] = {
	"~/.gemini/oauth_creds.json",
	"~/.gemini/google_accounts.json",
	"~/.gemini/mcp-oauth-tokens.json",
	"~/.gemini/a2a-oauth-tokens.json",
	"~/.gemini/.env",
	NULL,
};
static const char *const gemini_protected[] = {
	"~/.gemini/settings.json",
	"~/.gemini/GEMINI.md",
	"~/.gemini/commands",
	"~/.gemini/extensions",
	"~/.gemini/.env",
	"~/.gemini/policies",		 /* policy engine rules: which tools run unasked */
	"~/.gemini/trustedFolders.json", /* trusted folders load their settings and .env */
	"~/.gemini/skills",
	"~/.gemini/agents",
	"~/.gemini/system.md",
	NULL,
};
static const char *const gemini_env[] = {"GEMINI_API_KEY", "GOOGLE_API_KEY", NULL};
/*
 * A private directory whose settings.json and trustedFolders.json are working
 * copies (signing in and trusting a folder save them) and everything else
 * links to ~/.gemini (agentstate-gemini.c). GEMINI_CLI_TRUSTED_FOLDERS_PATH
 * would move the trust file elsewhere: it is set to the working copy too.
 */
static const char *const gemini_set[] = {
	"GEMINI_CLI_HOME=~/.gemini/.hutch-home",
	"GEMINI_CLI_TRUSTED_FOLDERS_PATH=~/.gemini/.hutch-home/.gemini/trustedFolders.json",
	NULL,
};

/* aider: the model providers it is commonly used with (it talks to them directly). */
static const char *const aider_hosts[] = {
	"api.openai.com",   "api.anthropic.com", "generativelanguage.googleapis.com",
	"api.deepseek.com", "openrouter.ai",	 NULL,
};
static const char *const aider_state[] = {"~/.aider", NULL};
static const char *const aider_dirs[] = {"~/.aider", NULL};
static const char *const aider_creds[] = {"~/.aider.conf.yml", "~/.aider/oauth-keys.env", NULL};
/* aider loads it with python-dotenv at start: any variable, LD_PRELOAD too. */
static const char *const aider_protected[] = {"~/.aider/oauth-keys.env", NULL};
static const char *const aider_env[] = {
	"OPENAI_API_KEY",   "ANTHROPIC_API_KEY",  "GEMINI_API_KEY",
	"DEEPSEEK_API_KEY", "OPENROUTER_API_KEY", NULL,
};

/*
 * Package managers' caches. The host's own (~/.npm, ~/.cache/pip, ~/.cargo, ...)
 * stay read-only: a cache written from inside and read later by the host's tools
 * would be a way to plant code that runs outside. The agent profiles give the
 * sandbox one cache directory of its own instead, shared by all its sessions,
 * and point each tool at a subdirectory of it through the tool's own variable
 * (docs/profiles.md, "Package caches"). A "~/" in a set value is expanded at run
 * time (env.c).
 */
#define PKG_CACHE "~/.cache/hutch/pkg"
static const char *const pkg_cache_dir[] = {PKG_CACHE, NULL};
static const char *const pkg_cache_env[] = {
	"npm_config_cache=" PKG_CACHE "/npm",
	"YARN_CACHE_FOLDER=" PKG_CACHE "/yarn",
	"YARN_GLOBAL_FOLDER=" PKG_CACHE "/yarn-berry",
	"PNPM_HOME=" PKG_CACHE "/pnpm",
	"PIP_CACHE_DIR=" PKG_CACHE "/pip",
	"UV_CACHE_DIR=" PKG_CACHE "/uv",
	"POETRY_CACHE_DIR=" PKG_CACHE "/poetry",
	"CARGO_HOME=" PKG_CACHE "/cargo",
	"GOPATH=" PKG_CACHE "/go",
	"GOCACHE=" PKG_CACHE "/go-build",
	"GRADLE_USER_HOME=" PKG_CACHE "/gradle",
	"MAVEN_OPTS=-Dmaven.repo.local=" PKG_CACHE "/maven",
	"GEM_HOME=" PKG_CACHE "/gem",
	"BUNDLE_USER_HOME=" PKG_CACHE "/bundle",
	NULL,
};

#define PROFILE_MAX_LISTS 10
#define PROFILE_MAX_SETS 8
#define PROFILE_MAX_DEPTH 4

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
	/*
	 * Hidden entries this profile makes visible again (the agent's own
	 * credential files): not taken from the base, and removed when an
	 * earlier profile put them there. A hidden entry from a policy file
	 * stays (and then conflicts with a writable entry, which is an error).
	 */
	const char *const *unhide;
	/* Writable directories "~/..." created when missing (hutch_profile_prepare). */
	const char *const *state_dirs;
	/*
	 * Its private directories (HUTCH_LIST_PRIVATE), inside a state directory:
	 * created when missing too, since the mount plan refuses a missing one
	 * that the sandbox could create on the host (sandbox/mount.c).
	 */
	const char *const *private_dirs;
	/* The sandbox's own package caches (PKG_CACHE), created when missing. */
	bool pkg_cache;
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
	{
		.name = "claude-code",
		.base = "default",
		.unhide = claude_creds,
		.state_dirs = claude_dirs,
		.private_dirs = claude_private,
		.pkg_cache = true,
		.lists = {
			{ HUTCH_LIST_NET_ALLOW, claude_hosts },
			{ HUTCH_LIST_NET_ALLOW, dev_hosts },
			{ HUTCH_LIST_WRITABLE, claude_state },
			{ HUTCH_LIST_PRIVATE, claude_private },
			{ HUTCH_LIST_PROTECTED, claude_protected },
			{ HUTCH_LIST_ENV_PASS, claude_env },
			{ HUTCH_LIST_ENV_SET, claude_set },
			{ HUTCH_LIST_WRITABLE, pkg_cache_dir },
			{ HUTCH_LIST_ENV_SET, pkg_cache_env },
		},
		.sets = {
			{ HUTCH_KEY_NET_MODE, "proxy" },
		},
	},
	{
		.name = "codex",
		.base = "default",
		.unhide = codex_creds,
		.state_dirs = codex_dirs,
		.private_dirs = codex_private,
		.pkg_cache = true,
		.lists = {
			{ HUTCH_LIST_NET_ALLOW, codex_hosts },
			{ HUTCH_LIST_NET_ALLOW, dev_hosts },
			{ HUTCH_LIST_WRITABLE, codex_state },
			{ HUTCH_LIST_PRIVATE, codex_private },
			{ HUTCH_LIST_PROTECTED, codex_protected },
			{ HUTCH_LIST_ENV_PASS, codex_env },
			{ HUTCH_LIST_ENV_SET, codex_set },
			{ HUTCH_LIST_WRITABLE, pkg_cache_dir },
			{ HUTCH_LIST_ENV_SET, pkg_cache_env },
		},
		.sets = {
			{ HUTCH_KEY_NET_MODE, "proxy" },
		},
	},
	{
		.name = "gemini",
		.base = "default",
		.unhide = gemini_creds,
		.state_dirs = gemini_dirs,
		.pkg_cache = true,
		.lists = {
			{ HUTCH_LIST_NET_ALLOW, gemini_hosts },
			{ HUTCH_LIST_NET_ALLOW, dev_hosts },
			{ HUTCH_LIST_WRITABLE, gemini_state },
			{ HUTCH_LIST_PROTECTED, gemini_protected },
			{ HUTCH_LIST_ENV_PASS, gemini_env },
			{ HUTCH_LIST_ENV_SET, gemini_set },
			{ HUTCH_LIST_WRITABLE, pkg_cache_dir },
			{ HUTCH_LIST_ENV_SET, pkg_cache_env },
		},
		.sets = {
			{ HUTCH_KEY_NET_MODE, "proxy" },
		},
	},
	{
		.name = "aider",
		.base = "default",
		.unhide = aider_creds,
		.state_dirs = aider_dirs,
		.pkg_cache = true,
		.lists = {
			{ HUTCH_LIST_NET_ALLOW, aider_hosts },
			{ HUTCH_LIST_NET_ALLOW, dev_hosts },
			{ HUTCH_LIST_WRITABLE, aider_state },
			{ HUTCH_LIST_PROTECTED, aider_protected },
			{ HUTCH_LIST_ENV_PASS, aider_env },
			{ HUTCH_LIST_WRITABLE, pkg_cache_dir },
			{ HUTCH_LIST_ENV_SET, pkg_cache_env },
		},
		.sets = {
			{ HUTCH_KEY_NET_MODE, "proxy" },
		},
	},
};

/* clang-format on */

static const char *const profile_names[] = {
	"default", "strict", "claude-code", "codex", "gemini", "aider", NULL,
};

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

const char *const *hutch_profile_unhidden(const char *name)
{
	const struct profile *pr = find_profile(name);

	return pr ? pr->unhide : NULL;
}

static bool in_list(const char *const *list, const char *v)
{
	for (; list && *list; list++)
		if (strcmp(*list, v) == 0)
			return true;
	return false;
}

/* Is @v made visible by one of the profiles deriving from the one being applied? */
static bool unhidden(const char *const *const *unhide, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (in_list(unhide[i], v))
			return true;
	return false;
}

/* The settings @pr makes, as a bitmask of 1 << enum hutch_key. */
static uint32_t own_keys(const struct profile *pr)
{
	uint32_t keys = 0;

	for (size_t i = 0; i < PROFILE_MAX_SETS && pr->sets[i].value; i++)
		keys |= UINT32_C(1) << pr->sets[i].key;
	return keys;
}

_Static_assert(_HUTCH_KEY_MAX <= 32, "profile settings are a 32-bit mask");

/*
 * Apply @pr and its bases. @unhide holds the unhide lists of the profiles
 * deriving from @pr (@n of them): their entries are not added to the hidden
 * list here, so even a locked application (a system policy's "extends")
 * never hides what the derived profile opens. Likewise a setting a derived
 * profile makes (bit 1 << key in @derived_keys) is not made by its base: a
 * system policy's base would otherwise set a ceiling ("none") that the
 * derived profile's own value ("proxy") then exceeds.
 */
static int apply(struct hutch_policy *p, const struct profile *pr, const char *origin, bool system,
		 const char *const *const *unhide, size_t n, uint32_t derived_keys,
		 hutch_error *err)
{
	const char *const *chain[PROFILE_MAX_DEPTH + 1];
	char own[64];
	int r;

	if (n >= PROFILE_MAX_DEPTH)
		return hutch_errx(err, ELOOP, "profile %s: bases nest too deep", pr->name);
	if (pr->base) {
		const struct profile *base = find_profile(pr->base);

		if (!base)
			return hutch_errx(err, ENOENT, "profile %s: unknown base profile %s",
					  pr->name, pr->base);
		for (size_t i = 0; i < n; i++)
			chain[i] = unhide[i];
		chain[n] = pr->unhide;
		r = apply(p, base, origin, system, chain, n + 1, derived_keys | own_keys(pr), err);
		if (r < 0)
			return r;
	}
	if (!origin) {
		snprintf(own, sizeof(own), "profile %s", pr->name);
		origin = own;
	}
	for (size_t i = 0; i < PROFILE_MAX_LISTS && pr->lists[i].values; i++)
		for (const char *const *v = pr->lists[i].values; *v; v++) {
			if (pr->lists[i].list == HUTCH_LIST_HIDDEN && unhidden(unhide, n, *v))
				continue;
			r = hutch_policy_add_ex(p, pr->lists[i].list, *v, origin, system, err);
			if (r < 0)
				return r;
		}
	for (size_t i = 0; i < PROFILE_MAX_SETS && pr->sets[i].value; i++) {
		if (derived_keys & (UINT32_C(1) << pr->sets[i].key))
			continue;
		r = hutch_policy_set_ex(p, pr->sets[i].key, pr->sets[i].value, origin, system, err);
		if (r < 0)
			return r;
	}
	/*
	 * An earlier profile (the CLI's --profile before a file's "extends")
	 * may have hidden them: take them out again, but only entries a
	 * profile put there. The system policy's locked entries stay.
	 */
	for (const char *const *v = pr->unhide; v && *v; v++) {
		const struct hutch_rule *h = hutch_rules_find(&p->fs_hidden, *v);

		if (!h || !h->origin || strncmp(h->origin, "profile ", 8) != 0)
			continue;
		r = hutch_rules_remove(&p->fs_hidden, *v);
		if (r == -EPERM)
			return hutch_errx(err, EPERM,
					  "profile %s: cannot make %s readable: the system policy "
					  "hides it",
					  pr->name, *v);
		if (r < 0 && r != -ENOENT)
			return hutch_err(err, -r, "profile %s", pr->name);
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
		return hutch_errx(err, EINVAL, "profile: no name given");
	if (!pr) {
		list_names(names, sizeof(names));
		return hutch_errx(err, ENOENT,
				  "%s%sunknown profile \"%.64s\" (expected one of: %s)",
				  origin ? origin : "", origin ? ": " : "", name, names);
	}
	r = apply(p, pr, origin, system, NULL, 0, 0, err);
	if (r < 0)
		return r;
	copy = strdup(pr->name);
	if (!copy)
		return hutch_err(err, ENOMEM, "profile %s", name);
	free(p->profile);
	p->profile = copy;
	return 0;
}

/* mkdir of "~/NAME" in @home (its parent there already), 0 when it exists. */
static int make_home_dir(const char *home, const char *d)
{
	_cleanup_free_ char *path = NULL;

	if (strncmp(d, "~/", 2) != 0)
		return 0;
	path = hutch_path_join(home, d + 2);
	if (!path)
		return -ENOMEM;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int hutch_profile_prepare(const char *name, const char *home, hutch_error *err)
{
	const struct profile *pr = find_profile(name);
	struct stat st;

	if (!home || !*home)
		home = getenv("HOME");
	if (!pr || !pr->state_dirs || !home || home[0] != '/' || stat(home, &st) < 0 ||
	    !S_ISDIR(st.st_mode))
		return 0; /* nothing to do, or nowhere to do it */
	if (pr->pkg_cache) {
		_cleanup_free_ char *path = hutch_path_join(home, PKG_CACHE + 2);
		int r;

		if (!path)
			return hutch_err(err, ENOMEM, "profile %s", name);
		r = hutch_mkdir_p(path, 0700);
		if (r < 0)
			return hutch_err(err, -r,
					 "profile %s: cannot create the sandbox's package cache %s",
					 name, path);
	}
	for (const char *const *d = pr->state_dirs; *d; d++) {
		int r = make_home_dir(home, *d);

		if (r < 0)
			return hutch_err(err, -r,
					 "profile %s: cannot create its state directory %s", name,
					 *d);
	}
	for (const char *const *d = pr->private_dirs; d && *d; d++) {
		int r = make_home_dir(home, *d);

		if (r < 0)
			return hutch_err(err, -r,
					 "profile %s: cannot create its private directory %s", name,
					 *d);
	}
	return 0;
}

bool hutch_profile_is_pkg_cache(const char *path, const char *home)
{
	_cleanup_free_ char *joined = NULL, *real = NULL;

	if (!path || !home || home[0] != '/')
		return false;
	joined = hutch_path_join(home, PKG_CACHE + 2);
	real = joined ? realpath(joined, NULL) : NULL;
	return (joined && !strcmp(joined, path)) || (real && !strcmp(real, path));
}

bool hutch_profile_is_state_dir(const char *path, const char *home)
{
	if (!path || !home || home[0] != '/')
		return false;
	for (size_t i = 0; i <= ARRAY_SIZE(profiles); i++) {
		const char *const *dirs =
			i < ARRAY_SIZE(profiles) ? profiles[i].state_dirs : pkg_cache_dir;

		for (const char *const *d = dirs; d && *d; d++) {
			_cleanup_free_ char *joined = hutch_path_join(home, *d + 2);
			_cleanup_free_ char *real = joined ? realpath(joined, NULL) : NULL;

			if ((joined && !strcmp(joined, path)) || (real && !strcmp(real, path)))
				return true;
		}
	}
	return false;
}

/* The public form (include/hutch.h), on the model's side of the profiles. */
const char *hutch_policy_profile(const hutch_policy *p)
{
	return p->profile;
}

int hutch_policy_apply_profile(hutch_policy *p, const char *name, hutch_error *err)
{
	return hutch_profile_apply(p, name, err);
}

int hutch_profile_apply(struct hutch_policy *p, const char *name, hutch_error *err)
{
	return hutch_profile_apply_ex(p, name, NULL, false, err);
}
