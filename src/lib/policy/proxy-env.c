/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The proxy environment inside the sandbox (docs/network.md). A table, not
 * code: every variable that makes a common tool use the proxy.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "policy/env.h"
#include "policy/model.h"
#include "policy/proxy-env.h"

/* What a value is built from. */
enum val { V_HTTP, V_SOCKS, V_NO_PROXY, V_ONE, V_HOSTPORT, V_GIT_SSH };

static const struct {
	const char *name;
	enum val val;
} proxy_vars[] = {
	/* the conventional variables, in both cases (curl, wget, Python, Go, Ruby, git, ...) */
	{"HTTP_PROXY", V_HTTP},
	{"HTTPS_PROXY", V_HTTP},
	{"http_proxy", V_HTTP},
	{"https_proxy", V_HTTP},
	{"ALL_PROXY", V_SOCKS},
	{"all_proxy", V_SOCKS},
	{"NO_PROXY", V_NO_PROXY},
	{"no_proxy", V_NO_PROXY},
	/* npm (and yarn 1, pnpm, which read npm_config_*) */
	{"npm_config_proxy", V_HTTP},
	{"npm_config_https_proxy", V_HTTP},
	{"npm_config_noproxy", V_NO_PROXY},
	/* yarn 2+ (no YARN_NO_PROXY: yarn refuses unknown settings) */
	{"YARN_HTTP_PROXY", V_HTTP},
	{"YARN_HTTPS_PROXY", V_HTTP},
	/* pip */
	{"PIP_PROXY", V_HTTP},
	/* cargo */
	{"CARGO_HTTP_PROXY", V_HTTP},
	/* Node >= 24 honours HTTP(S)_PROXY only with this; global-agent users */
	{"NODE_USE_ENV_PROXY", V_ONE},
	{"GLOBAL_AGENT_HTTP_PROXY", V_HTTP},
	{"GLOBAL_AGENT_NO_PROXY", V_NO_PROXY},
	/* rsync's daemon protocol through CONNECT */
	{"RSYNC_PROXY", V_HOSTPORT},
	/* git over ssh: ssh's ProxyCommand is hutch itself, no netcat needed */
	{"GIT_SSH_COMMAND", V_GIT_SSH},
};

/* "[::1]" too: Python's urllib compares the bracketed host of http://[::1]:PORT/ as written */
#define NO_PROXY_LIST "localhost,127.0.0.1,::1,[::1]"

/* Java has no variable of its own: system properties through JAVA_TOOL_OPTIONS. */
static int java_options(char ***env, unsigned hport)
{
	char opts[512], *merged = NULL;
	const char *old = NULL;
	size_t nl = strlen("JAVA_TOOL_OPTIONS=");
	int r;

	snprintf(opts, sizeof(opts),
		 "-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=%u "
		 "-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=%u "
		 "-Dhttp.nonProxyHosts=localhost|127.0.0.1|[::1]",
		 hport, hport);
	for (char **e = *env; e && *e; e++)
		if (strncmp(*e, "JAVA_TOOL_OPTIONS=", nl) == 0)
			old = *e + nl;
	if (old && *old) {
		size_t len = strlen(old) + 1 + strlen(opts) + 1;

		merged = malloc(len);
		if (!merged)
			return -ENOMEM;
		snprintf(merged, len, "%s %s", old, opts);
	}
	r = hutch_env_set(env, "JAVA_TOOL_OPTIONS", merged ? merged : opts);
	free(merged);
	return r;
}

/* The value env.set gives @name ("NAME=VALUE"), or NULL. */
static const char *env_set_value(const struct hutch_policy *p, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < p->env_set.n; i++) {
		const char *v = p->env_set.v[i].value;

		if (strncmp(v, name, nl) == 0 && v[nl] == '=')
			return v + nl + 1;
	}
	return NULL;
}

int hutch_proxy_env_check(const struct hutch_policy *p, hutch_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(proxy_vars); i++) {
		const char *name = proxy_vars[i].name, *origin = NULL;
		size_t nl = strlen(name);
		int r;

		if (proxy_vars[i].val == V_NO_PROXY)
			continue;
		for (size_t k = 0; k < p->env_set.n && !origin; k++) {
			const char *v = p->env_set.v[k].value;

			if (strncmp(v, name, nl) == 0 && v[nl] == '=' &&
			    !(proxy_vars[i].val == V_ONE && strcmp(v + nl + 1, "1") == 0))
				origin = p->env_set.v[k].origin;
		}
		for (size_t k = 0; k < p->env_pass.n && !origin; k++)
			if (strcmp(p->env_pass.v[k].value, name) == 0)
				origin = p->env_pass.v[k].origin;
		if (!origin)
			continue;
		r = hutch_errx(err, EINVAL,
			       "%s: %s cannot be given with --net proxy: hutch sets it to its own "
			       "proxy, the only way out of the sandbox",
			       origin[0] ? origin : "policy", name);
		hutch_err_hint(err, "leave it out (destinations are chosen with --allow); a host "
				    "service on 127.0.0.1 is reached with --host-port PORT");
		return r;
	}
	return 0;
}

int hutch_proxy_env(char ***env, const struct hutch_policy *p)
{
	unsigned hport = p->http_port ? p->http_port : HUTCH_PROXY_DEFAULT_HTTP_PORT;
	unsigned sport = p->socks_port ? p->socks_port : HUTCH_PROXY_DEFAULT_SOCKS_PORT;
	char http[64], socks[64], hostport[64], git_ssh[256];

	snprintf(http, sizeof(http), "http://127.0.0.1:%u", hport);
	snprintf(socks, sizeof(socks), "socks5h://127.0.0.1:%u", sport);
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%u", hport);
	snprintf(git_ssh, sizeof(git_ssh),
		 "ssh -o ProxyCommand='%s connect --proxy 127.0.0.1:%u %%h %%p'",
		 HUTCH_PROXY_CONNECT_BIN, hport);
	for (size_t i = 0; i < ARRAY_SIZE(proxy_vars); i++) {
		_cleanup_free_ char *joined = NULL;
		const char *v = NULL, *given;
		int r;

		switch (proxy_vars[i].val) {
		case V_HTTP:
			v = http;
			break;
		case V_SOCKS:
			v = socks;
			break;
		case V_NO_PROXY:
			/* -e NO_PROXY=VALUE: its entries after hutch's own */
			given = env_set_value(p, proxy_vars[i].name);
			if (given && *given) {
				if (asprintf(&joined, "%s,%s", NO_PROXY_LIST, given) < 0) {
					joined = NULL;
					return -ENOMEM;
				}
				v = joined;
			} else {
				v = NO_PROXY_LIST;
			}
			break;
		case V_ONE:
			v = "1";
			break;
		case V_HOSTPORT:
			v = hostport;
			break;
		case V_GIT_SSH:
			v = git_ssh;
			break;
		}
		r = hutch_env_set(env, proxy_vars[i].name, v);
		if (r < 0)
			return r;
	}
	return java_options(env, hport);
}
