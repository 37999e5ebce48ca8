/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The workload's environment: pass, drop (locked, exact, pattern), set, maxima. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "policy/env.h"
#include "policy/policy.h"
#include "tap.h"

static hutch_error err;

static const char *get(char **env, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static size_t count(char **env)
{
	size_t n = 0;

	while (env && env[n])
		n++;
	return n;
}

int main(void)
{
	char *fake[] = {
		"PATH=/usr/bin:/bin",
		"HOME=/home/u",
		"LANG=C.UTF-8",
		"GITHUB_TOKEN=ghp_secret",
		"NPM_TOKEN=npm_secret",
		"OPENAI_API_KEY=sk-secret",
		"ANTHROPIC_API_KEY=sk-ant",
		"AWS_REGION=eu-west-1",
		"AWS_SECRET_ACCESS_KEY=aws-secret",
		"DB_PASSWORD=hunter2",
		"SSH_AUTH_SOCK=/run/user/1000/ssh",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/bus",
		"MY_TOKEN_FILE=/x",
		"CORP_SSO=corp",
		"PATH=/evil/first/wins/not",
		"NOEQUALS",
		"1BAD=x",
		"=empty",
		"TERM=xterm",
		NULL,
	};
	hutch_policy *p = hutch_policy_new();
	char **env = NULL;

	ok(hutch_env_build(p, fake, &env, &err) == 0 && count(env) == 0,
	   "no pass rule: nothing passes (fail closed)");
	hutch_env_free(env);

	hutch_policy_apply_profile(p, "default", &err);
	ok(hutch_env_build(p, fake, &env, &err) == 0, "build with the default profile");
	is_str(get(env, "PATH"), "/usr/bin:/bin", "PATH passes, first value kept");
	is_str(get(env, "HOME"), "/home/u", "HOME passes");
	is_str(get(env, "TERM"), "xterm", "TERM passes");
	ok(!get(env, "GITHUB_TOKEN"), "GITHUB_TOKEN dropped");
	ok(!get(env, "NPM_TOKEN"), "NPM_TOKEN dropped (*_TOKEN)");
	ok(!get(env, "OPENAI_API_KEY") && !get(env, "ANTHROPIC_API_KEY"), "*_API_KEY dropped");
	ok(!get(env, "AWS_REGION") && !get(env, "AWS_SECRET_ACCESS_KEY"), "AWS_* dropped");
	ok(!get(env, "DB_PASSWORD"), "*_PASSWORD* dropped");
	ok(!get(env, "SSH_AUTH_SOCK"), "SSH_AUTH_SOCK dropped");
	ok(!get(env, "DBUS_SESSION_BUS_ADDRESS"), "DBUS_SESSION_BUS_ADDRESS dropped");
	ok(!get(env, "MY_TOKEN_FILE"), "*_TOKEN_* dropped");
	ok(!get(env, "NOEQUALS") && !get(env, "1BAD"), "malformed entries dropped");
	is_int(count(env), 5, "exactly PATH HOME LANG CORP_SSO TERM passed");
	is_str(get(env, "CORP_SSO"), "corp", "CORP_SSO passes by default");
	hutch_env_free(env);

	/* -e NAME passes one variable by exact name over a drop pattern. */
	hutch_policy_add(p, HUTCH_LIST_ENV_PASS, "ANTHROPIC_API_KEY", "-e", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_PASS, "AWS_*", "-e", &err);
	ok(hutch_env_build(p, fake, &env, &err) == 0, "build with -e ANTHROPIC_API_KEY");
	is_str(get(env, "ANTHROPIC_API_KEY"), "sk-ant", "an exact pass beats a drop pattern");
	ok(!get(env, "OPENAI_API_KEY"), "other *_API_KEY still dropped");
	ok(!get(env, "AWS_REGION"), "a pass pattern does not beat a drop pattern");
	hutch_env_free(env);

	/* An exact pass beats an unlocked exact drop (GITHUB_TOKEN is one in the default table). */
	hutch_policy_add(p, HUTCH_LIST_ENV_DROP, "ANTHROPIC_API_KEY", "x", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_PASS, "GITHUB_TOKEN", "-e", &err);
	ok(hutch_env_build(p, fake, &env, &err) == 0, "build with exact drops and passes");
	is_str(get(env, "ANTHROPIC_API_KEY"), "sk-ant", "an exact pass beats an exact drop");
	is_str(get(env, "GITHUB_TOKEN"), "ghp_secret", "-e GITHUB_TOKEN passes it");
	hutch_env_free(env);

	/* A drop locked by the system policy beats even an exact pass. */
	hutch_policy_add_ex(p, HUTCH_LIST_ENV_DROP, "CORP_*", "/etc/hutch/policy.json:1:1", true,
			    &err);
	hutch_policy_add_ex(p, HUTCH_LIST_ENV_DROP, "DB_PASSWORD", "/etc/hutch/policy.json:1:9",
			    true, &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_PASS, "CORP_SSO", "-e", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_PASS, "DB_PASSWORD", "-e", &err);
	ok(hutch_env_build(p, fake, &env, &err) == 0, "build with locked drops");
	ok(!get(env, "CORP_SSO"), "a locked drop pattern beats -e NAME");
	ok(!get(env, "DB_PASSWORD"), "a locked exact drop beats -e NAME");
	is_str(get(env, "GITHUB_TOKEN"), "ghp_secret", "an unlocked drop does not");
	hutch_env_free(env);

	/* Set entries override and add. */
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "LANG=en_GB.UTF-8", "-e", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "AWS_REGION=us-east-1", "-e", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "EMPTY=", "-e", &err);
	ok(hutch_env_build(p, fake, &env, &err) == 0, "build with set entries");
	is_str(get(env, "LANG"), "en_GB.UTF-8", "set overrides a passed variable");
	is_str(get(env, "AWS_REGION"), "us-east-1", "set adds a dropped name with the set value");
	is_str(get(env, "EMPTY"), "", "set with an empty value");

	hutch_env_free(env);

	/* "~" in a set value, as a shell expands an assignment. */
	setenv("HOME", "/h/u", 1);
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "T1=~/.cache/x", "-e", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "T2=a:~/b:~", "-e", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "T3=-Dk=~/d", "-e", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "T4=x~/y ~user ~x", "-e", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "T5=~", "-e", &err);
	ok(hutch_env_build(p, fake, &env, &err) == 0, "build with ~ in set entries");
	is_str(get(env, "T1"), "/h/u/.cache/x", "~/ at the start is the home directory");
	is_str(get(env, "T2"), "a:/h/u/b:/h/u", "~ after : (a list) too, also at the end");
	is_str(get(env, "T3"), "-Dk=/h/u/d", "~ after =");
	is_str(get(env, "T4"), "x~/y ~user ~x", "~ inside a word, ~user and ~x stay");
	is_str(get(env, "T5"), "/h/u", "a lone ~");
	hutch_env_free(env);
	env = NULL;
	setenv("HOME", "relative", 1);
	ok(hutch_env_build(p, fake, &env, &err) < 0, "~ with a relative HOME is an error");
	ok(strstr(err.msg, "HOME") != NULL, "  naming HOME");
	err = (hutch_error){0};
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "T1=plain", "-e", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "T2=plain", "-e", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "T3=plain", "-e", &err);
	hutch_policy_add(p, HUTCH_LIST_ENV_SET, "T5=plain", "-e", &err);
	ok(hutch_env_build(p, fake, &env, &err) == 0, "no ~ to expand: HOME not needed");

	is_int(hutch_env_set(&env, "HUTCH_SANDBOX", "abc"), 0, "env_set adds");
	is_str(get(env, "HUTCH_SANDBOX"), "abc", "  value");
	is_int(hutch_env_set(&env, "HUTCH_SANDBOX", "def"), 0, "env_set replaces");
	is_str(get(env, "HUTCH_SANDBOX"), "def", "  value");
	{
		size_t n = 0;

		for (size_t i = 0; env[i]; i++)
			n += strncmp(env[i], "HUTCH_SANDBOX=", 14) == 0;
		is_int(n, 1, "  only once");
	}
	is_int(hutch_env_set(&env, "BAD NAME", "x"), -EINVAL, "env_set refuses a bad name");
	is_int(hutch_env_set(&env, "", "x"), -EINVAL, "env_set refuses an empty name");
	{
		char *big = malloc(HUTCH_ENV_MAX_ENTRY + 1);

		memset(big, 'x', HUTCH_ENV_MAX_ENTRY);
		big[HUTCH_ENV_MAX_ENTRY] = '\0';
		is_int(hutch_env_set(&env, "BIG", big), -E2BIG,
		       "env_set refuses an entry > 128 KiB");
		free(big);
	}
	hutch_env_free(env);
	hutch_policy_free(p);

	/* Maxima on the input. */
	{
		size_t n = HUTCH_ENV_MAX_VARS + 2;
		char **many = calloc(n + 1, sizeof(*many));

		for (size_t i = 0; i < n; i++) {
			many[i] = malloc(32);
			snprintf(many[i], 32, "V%zu=1", i);
		}
		p = hutch_policy_new();
		hutch_policy_add(p, HUTCH_LIST_ENV_PASS, "*", "t", &err);
		env = NULL;
		memset(&err, 0, sizeof(err));
		ok(hutch_env_build(p, many, &env, &err) == -E2BIG && env == NULL,
		   "more than HUTCH_ENV_MAX_VARS variables: E2BIG");
		like(err.msg, "environment: too large to pass", "  message: %s", err.msg);
		hutch_policy_free(p);
		for (size_t i = 0; i < n; i++)
			free(many[i]);
		free(many);
	}
	/* Pattern matching agrees with fnmatch(3) (the drop list is matched by hand). */
	{
		static const char *const pats[] = {
			"*_TOKEN",
			"AWS_*",
			"*_SECRET*",
			"*",
			"A?C",
			"*A*B*",
			"**X",
			"A*",
			"*_KEY",
			"X",
			"",
			"?*",
			"[AB]*",
			"A\\*",
			"*A",
			/* ending in a literal letter, digit or '_' (a quick refusal by the last
			   one) */
			"*_1",
			"A_",
			"*A?_",
			"[XY]_",
			"A\\_",
			"*9",
			/* sorted by kind (env.c, pat_classify): exact, prefix, suffix, infix */
			"*_TOKEN_*",
			"**",
			"*X*",
			"X*",
			"*AB",
			"AB",
			"*A_*",
			"A*B",
			"*",
			"?",
		};
		static const char *const names[] = {
			"GH_TOKEN",  "TOKEN",
			"_TOKEN",    "AWS_",
			"AWS",	     "MY_SECRET_X",
			"ABC",	     "AXXC",
			"XAYBZ",     "BA",
			"X",	     "XX",
			"A_",	     "A",
			"AAB",	     "",
			"K_1",	     "K_11",
			"K_12",	     "AB_",
			"X_",	     "Y_",
			"_",	     "A9",
			"B9",	     "MY_TOKEN_FILE",
			"MY_TOKEN_", "_TOKEN_",
			"TOKEN_",    "XAB",
			"AB",	     "ABX",
			"B",
		};
		int bad = 0;

		for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
			for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
				hutch_policy *q;
				char entry[64], *one[] = {entry, NULL};
				bool dropped, want = fnmatch(pats[i], names[j], 0) == 0;

				if (!names[j][0])
					continue;
				q = hutch_policy_new();
				snprintf(entry, sizeof(entry), "%s=1", names[j]);
				hutch_policy_add(q, HUTCH_LIST_ENV_PASS, "*", "-e", &err);
				hutch_policy_add(q, HUTCH_LIST_ENV_DROP, pats[i], "x", &err);
				env = NULL;
				dropped =
					hutch_env_build(q, one, &env, &err) == 0 && count(env) == 0;
				if (dropped != want && bad++ < 5)
					printf("# pattern '%s' name '%s': dropped %d, fnmatch %d\n",
					       pats[i], names[j], dropped, want);
				hutch_env_free(env);
				hutch_policy_free(q);
			}
		}
		is_int(bad, 0, "drop patterns match as fnmatch(3) does");
	}
	/* New default patterns, lower-case forms, credentials in URLs. */
	{
		char *more[] = {
			"PGPASSWORD=pg",
			"DATABASE_URL=postgres://app@db/x",
			"APP_DATABASE_URL=mysql://db/x",
			"SENTRY_DSN=https://key@sentry.example/1",
			"GITHUB_PAT=ghp_pat",
			"AZURE_DEVOPS_EXT_PAT=pat",
			"MYSQL_PWD=pw",
			"SMTP_PASS=pw",
			"GCP_CREDENTIAL=c",
			"github_token=ghp_lower",
			"aws_secret_access_key=lower",
			"my_api_key=lower",
			"db_password=lower",
			"npm_config__auth=dXNlcjpwYXNz",
			"REDIS=redis://:hunter2@cache:6379/0",
			"MIRROR=see https://user:pw@mirror.example/simple and more",
			"CLONE=https://ghp_tok@github.com/o/r.git",
			"SSH_REMOTE=ssh://git@github.com/o/r.git",
			"HOMEPAGE=https://example.com/a@b",
			"http_proxy=http://user:pw@proxy.example:3128",
			"HTTPS_PROXY=http://tok@proxy.example:3128/",
			"ALL_PROXY=socks5://proxy.example:1080",
			"OLDPWD=/tmp",
			"KEEPER=ok",
			NULL,
		};
		static const char *const dropped[] = {
			"PGPASSWORD",
			"DATABASE_URL",
			"APP_DATABASE_URL",
			"SENTRY_DSN",
			"GITHUB_PAT",
			"AZURE_DEVOPS_EXT_PAT",
			"MYSQL_PWD",
			"SMTP_PASS",
			"GCP_CREDENTIAL",
			"github_token",
			"aws_secret_access_key",
			"my_api_key",
			"db_password",
			"npm_config__auth",
			"REDIS",
			"MIRROR",
			"CLONE",
			NULL,
		};
		hutch_policy *q = hutch_policy_new();

		hutch_policy_apply_profile(q, "default", &err);
		env = NULL;
		ok(hutch_env_build(q, more, &env, &err) == 0, "build with the extended defaults");
		for (size_t i = 0; dropped[i]; i++)
			ok(!get(env, dropped[i]), "%s dropped", dropped[i]);
		is_str(get(env, "SSH_REMOTE"), "ssh://git@github.com/o/r.git",
		       "a URL with a user name only (ssh://git@) passes");
		is_str(get(env, "HOMEPAGE"), "https://example.com/a@b",
		       "an @ in a URL's path is not user information");
		is_str(get(env, "http_proxy"), "http://proxy.example:3128",
		       "http_proxy: user and password stripped, the proxy kept");
		is_str(get(env, "HTTPS_PROXY"), "http://proxy.example:3128/",
		       "HTTPS_PROXY: a token as user stripped");
		is_str(get(env, "ALL_PROXY"), "socks5://proxy.example:1080",
		       "a proxy without credentials unchanged");
		is_str(get(env, "OLDPWD"), "/tmp", "OLDPWD is not *_PWD");
		is_str(get(env, "KEEPER"), "ok", "an ordinary variable passes");
		hutch_env_free(env);
		hutch_policy_add(q, HUTCH_LIST_ENV_PASS, "REDIS", "-e", &err);
		env = NULL;
		ok(hutch_env_build(q, more, &env, &err) == 0, "build with -e REDIS");
		is_str(get(env, "REDIS"), "redis://:hunter2@cache:6379/0",
		       "-e NAME passes a URL with credentials by exact name");
		hutch_env_free(env);
		hutch_policy_free(q);
	}
	return done_testing();
}
