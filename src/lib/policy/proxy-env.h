/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The workload's proxy variables under --net proxy (proxy-env.c); the proxy is net/proxy.c. */
#pragma once

#include "hutch.h"

struct hutch_policy;

/* The proxy's ports when the policy names none. */
#define HUTCH_PROXY_DEFAULT_HTTP_PORT 3128
#define HUTCH_PROXY_DEFAULT_SOCKS_PORT 1080
/* Where the run sequence (run/) makes the hutch binary visible (read-only) inside the sandbox. */
#define HUTCH_PROXY_CONNECT_BIN "/run/hutch/hutch"

/*
 * Add the variables that send programs through hutch's proxy to @env (hutch_env_set):
 * HTTP(S)_PROXY, ALL_PROXY, NO_PROXY in both cases, npm/yarn/pip/Java/Node
 * specific ones and GIT_SSH_COMMAND with a ProxyCommand served by
 * `hutch connect`. Ports come from @p (defaults 3128/1080).
 */
int hutch_proxy_env(char ***env, const struct hutch_policy *p);

/*
 * The variables of hutch_proxy_env() that env.set (-e NAME=VALUE) or an
 * exact-name env.pass (-e NAME) may not give under --net proxy: they would
 * be overwritten, since the only way out is hutch's proxy. NO_PROXY and its
 * kin are not among them: a value given is appended to hutch's own
 * (localhost,127.0.0.1,::1,[::1]). 0 or -EINVAL with the message.
 */
int hutch_proxy_env_check(const struct hutch_policy *p, hutch_error *err);
