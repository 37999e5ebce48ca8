/* TEMPORARY: weak shims until the policy engineer lands env.c/config.c/cmd-policy.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "env.h"

__attribute__((weak)) int cmd_policy(int argc, char **argv) { (void)argc; (void)argv; return 125; }
__attribute__((weak)) int cmd_trust(int argc, char **argv) { (void)argc; (void)argv; return 125; }
__attribute__((weak)) int hutch_env_build(const struct hutch_policy *p, char *const *env, char ***out, hutch_error *err)
{
	size_t n = 0; (void)p; (void)err;
	while (env[n]) n++;
	char **v = calloc(n + 8, sizeof(char *));
	for (size_t i = 0; i < n; i++) v[i] = strdup(env[i]);
	*out = v; return 0;
}
__attribute__((weak)) int hutch_env_set(char ***env, const char *name, const char *value) { (void)env; (void)name; (void)value; return 0; }
__attribute__((weak)) void hutch_env_free(char **env) { if (!env) return; for (size_t i = 0; env[i]; i++) free(env[i]); free(env); }
