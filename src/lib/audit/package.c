/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recognising package installs: one table, one walk over argv (see package.h). */
#include <string.h>

#include "base/cleanup.h"
#include "audit/cmdrules.h"
#include "audit/package.h"

#define W(...) ((const char *const[]){__VA_ARGS__, NULL})

struct pm {
	const char *const *progs; /* globs on the executable's basename */
	const char *const *pre;	  /* literal words before the subcommand ("-m", "pip") */
	const char *const *subs;  /* the subcommands; NULL: none (npx PACKAGE) */
	const char *manager;
	const char *action;	       /* "install" or "run" */
	const char *const *value_opts; /* options that take a separate value (skipped) */
	const char *const *name_opts;  /* options whose value is a package */
	const char *const *file_opts;  /* options whose value is a requirements file */
	bool first_only; /* only the first word is a package, the rest its arguments */
	bool plus_words; /* "+toolchain" words are options (cargo) */
};

/* Options with a separate value, per family (unknown options are taken as flags). */
#define NPM_VALUE_OPTS                                                                             \
	W("--registry", "--prefix", "--tag", "--omit", "--include", "--cache", "--userconfig",     \
	  "--globalconfig", "--loglevel", "--install-strategy", "-w", "--workspace", "-C",         \
	  "--before", "--otp", "--scope", "--save-prefix", "--script-shell", "--location",         \
	  "--filter", "-F", "--dir", "--store-dir", "--reporter", "--virtual-store-dir", "--cwd",  \
	  "--modules-folder", "--cache-folder", "--network-timeout", "--mutex", "--backend",       \
	  "--cache-dir", "--config", "-c", "--shell")
#define PIP_VALUE_OPTS                                                                             \
	W("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-t", "--target",        \
	  "--prefix", "--root", "--platform", "--python-version", "--implementation", "--abi",     \
	  "--src", "--upgrade-strategy", "--progress-bar", "--log", "--proxy", "--retries",        \
	  "--timeout", "--exists-action", "--trusted-host", "--cert", "--client-cert",             \
	  "--cache-dir", "--no-binary", "--only-binary", "--config-settings", "-C",                \
	  "--global-option", "--report", "--python", "-p", "--keyring-provider",                   \
	  "--root-user-action", "--use-feature", "--use-deprecated", "--index", "--default-index", \
	  "--index-strategy", "--resolution", "--prerelease", "--directory", "--project",          \
	  "--group", "--extra", "--optional", "--dev-dependency", "--rev", "--tag", "--branch",    \
	  "--with", "--from", "--source", "--lock", "--python-platform", "--exclude-newer")
#define PIP_NAME_OPTS W("-e", "--editable", "--with")
#define PIP_FILE_OPTS W("-r", "--requirement", "-c", "--constraint", "--with-requirements")
#define CARGO_VALUE_OPTS                                                                           \
	W("--version", "--vers", "--git", "--branch", "--tag", "--rev", "--path", "--root",        \
	  "--registry", "--index", "-j", "--jobs", "--target", "-F", "--features", "--profile",    \
	  "--target-dir", "--bin", "--example", "--config", "-Z", "-p", "--package",               \
	  "--manifest-path", "--rename", "--color")
#define GO_VALUE_OPTS                                                                              \
	W("-o", "-modfile", "-tags", "-ldflags", "-gcflags", "-asmflags", "-p", "-mod", "-pkgdir", \
	  "-overlay", "-pgo", "-exec", "-toolexec", "-C", "-buildmode", "-compiler",               \
	  "-installsuffix")
#define GEM_VALUE_OPTS                                                                             \
	W("-v", "--version", "-i", "--install-dir", "-n", "--bindir", "-s", "--source",            \
	  "--platform", "-P", "--trust-policy", "-g", "--file", "--document")
#define COMPOSER_VALUE_OPTS W("-d", "--working-dir")
#define APT_VALUE_OPTS W("-o", "--option", "-c", "--config-file", "-t", "--target-release")

#define NPM_INSTALL                                                                                \
	W("install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal",       \
	  "isntall", "add", "ci", "clean-install", "install-test", "it", "install-ci-test",        \
	  "install-clean")
#define PYTHONS W("python", "python3", "python2", "python3.*", "python2.*", "pypy", "pypy3")

static const struct pm table[] = {
	{W("npm"), NULL, NPM_INSTALL, "npm", "install", NPM_VALUE_OPTS, NULL, NULL, false, false},
	{W("npm"), NULL, W("exec", "x"), "npm", "run", NPM_VALUE_OPTS, W("-p", "--package"), NULL,
	 true, false},
	{W("npx"), NULL, NULL, "npm", "run", NPM_VALUE_OPTS, W("-p", "--package"), NULL, true,
	 false},
	{W("pnpm"), NULL, W("add", "install", "i"), "pnpm", "install", NPM_VALUE_OPTS, NULL, NULL,
	 false, false},
	{W("pnpm"), NULL, W("dlx"), "pnpm", "run", NPM_VALUE_OPTS, NULL, NULL, true, false},
	{W("pnpx"), NULL, NULL, "pnpm", "run", NPM_VALUE_OPTS, NULL, NULL, true, false},
	{W("yarn"), NULL, W("add", "install"), "yarn", "install", NPM_VALUE_OPTS, NULL, NULL, false,
	 false},
	{W("yarn"), W("global"), W("add"), "yarn", "install", NPM_VALUE_OPTS, NULL, NULL, false,
	 false},
	{W("yarn"), NULL, W("dlx"), "yarn", "run", NPM_VALUE_OPTS, W("-p", "--package"), NULL, true,
	 false},
	{W("bun"), NULL, W("add", "a", "install", "i"), "bun", "install", NPM_VALUE_OPTS, NULL,
	 NULL, false, false},
	{W("bun"), NULL, W("x"), "bun", "run", NPM_VALUE_OPTS, NULL, NULL, true, false},
	{W("bunx"), NULL, NULL, "bun", "run", NPM_VALUE_OPTS, NULL, NULL, true, false},
	{W("pip", "pip2", "pip3", "pip3.*"), NULL, W("install"), "pip", "install", PIP_VALUE_OPTS,
	 PIP_NAME_OPTS, PIP_FILE_OPTS, false, false},
	{PYTHONS, W("-m", "pip"), W("install"), "pip", "install", PIP_VALUE_OPTS, PIP_NAME_OPTS,
	 PIP_FILE_OPTS, false, false},
	{W("uv"), W("pip"), W("install"), "uv", "install", PIP_VALUE_OPTS, PIP_NAME_OPTS,
	 PIP_FILE_OPTS, false, false},
	{W("uv"), NULL, W("add"), "uv", "install", PIP_VALUE_OPTS, PIP_NAME_OPTS, PIP_FILE_OPTS,
	 false, false},
	{W("uv"), W("tool"), W("install"), "uv", "install", PIP_VALUE_OPTS, PIP_NAME_OPTS,
	 PIP_FILE_OPTS, false, false},
	{W("uv"), W("tool"), W("run"), "uv", "run", PIP_VALUE_OPTS, PIP_NAME_OPTS, NULL, true,
	 false},
	{W("uvx"), NULL, NULL, "uv", "run", PIP_VALUE_OPTS, PIP_NAME_OPTS, NULL, true, false},
	{W("poetry"), NULL, W("add", "install"), "poetry", "install", PIP_VALUE_OPTS, NULL, NULL,
	 false, false},
	{W("pipx"), NULL, W("install"), "pipx", "install", PIP_VALUE_OPTS, NULL, NULL, false,
	 false},
	{W("pipx"), NULL, W("run"), "pipx", "run", PIP_VALUE_OPTS, NULL, NULL, true, false},
	{W("cargo"), NULL, W("install", "add"), "cargo", "install", CARGO_VALUE_OPTS, NULL, NULL,
	 false, true},
	{W("go"), NULL, W("get", "install"), "go", "install", GO_VALUE_OPTS, NULL, NULL, false,
	 false},
	{W("gem"), NULL, W("install", "i"), "gem", "install", GEM_VALUE_OPTS, NULL, NULL, false,
	 false},
	{W("composer"), NULL, W("require", "req", "install", "i"), "composer", "install",
	 COMPOSER_VALUE_OPTS, NULL, NULL, false, false},
	{W("composer"), W("global"), W("require", "req"), "composer", "install",
	 COMPOSER_VALUE_OPTS, NULL, NULL, false, false},
	{W("apt", "apt-get", "aptitude"), NULL, W("install"), "apt", "install", APT_VALUE_OPTS,
	 NULL, NULL, false, false},
};

static bool in_list(const char *const *list, const char *s, size_t n)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0)
			return true;
	return false;
}

static bool prog_matches(const struct pm *m, const char *prog)
{
	for (size_t i = 0; m->progs[i]; i++)
		if (hutch_glob(m->progs[i], strlen(m->progs[i]), prog, strlen(prog)))
			return true;
	return false;
}

static void add(const char **v, size_t *n, size_t max, bool *more, const char *s)
{
	if (!s || !*s)
		return;
	if (*n < max)
		v[(*n)++] = s;
	else
		*more = true;
}

enum stage { PRE, SUB, NAMES };

static bool try_row(const struct pm *m, const char *const *argv, size_t argc,
		    struct hutch_package *pk)
{
	enum stage st = m->pre ? PRE : m->subs ? SUB : NAMES;
	size_t k = 0;
	bool dashdash = false;

	memset(pk, 0, sizeof(*pk));
	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (st == PRE && strcmp(a, m->pre[k]) == 0) {
			if (!m->pre[++k])
				st = m->subs ? SUB : NAMES;
			continue;
		}
		if (!dashdash && strcmp(a, "--") == 0) {
			dashdash = true;
			continue;
		}
		if (!dashdash && a[0] == '-' && a[1]) {
			const char *eq = strchr(a, '=');
			size_t on = eq ? (size_t)(eq - a) : strlen(a);
			const char *value = eq ? eq + 1 : NULL;
			bool is_name = in_list(m->name_opts, a, on);
			bool is_file = in_list(m->file_opts, a, on);
			bool takes = is_name || is_file || in_list(m->value_opts, a, on);

			/* "-rFILE": a short option with its value attached */
			if (!eq && a[1] != '-' && on > 2) {
				if (in_list(m->name_opts, a, 2) || in_list(m->file_opts, a, 2)) {
					is_name = in_list(m->name_opts, a, 2);
					is_file = !is_name;
					value = a + 2;
					takes = false;
				}
			}
			if (takes && !eq) {
				if (i + 1 >= argc)
					break;
				value = argv[++i];
			}
			if (st == NAMES && is_name)
				add(pk->names, &pk->n_names, HUTCH_PACKAGE_MAX_NAMES, &pk->more,
				    value);
			else if (st == NAMES && is_file)
				add(pk->files, &pk->n_files, HUTCH_PACKAGE_MAX_FILES, &pk->more,
				    value);
			continue;
		}
		if (!dashdash && m->plus_words && a[0] == '+')
			continue;
		/* a word */
		if (st == PRE)
			return false;
		if (st == SUB) {
			if (!in_list(m->subs, a, strlen(a)))
				return false;
			st = NAMES;
			continue;
		}
		/* npx -p PKG CMD: the word is the command, PKG the package */
		if (m->first_only && pk->n_names > 0)
			break;
		add(pk->names, &pk->n_names, HUTCH_PACKAGE_MAX_NAMES, &pk->more, a);
		if (m->first_only)
			break;
	}
	if (st != NAMES)
		return false;
	pk->manager = m->manager;
	pk->action = m->action;
	pk->from_manifest = pk->n_names == 0 && pk->n_files == 0;
	/* Running a package needs a package. */
	if (strcmp(m->action, "run") == 0 && pk->n_names == 0)
		return false;
	return true;
}

bool hutch_package_detect(const char *prog, const char *const *argv, size_t argc,
			  struct hutch_package *pk)
{
	if (!prog || !argv || argc == 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (prog_matches(&table[i], prog) && try_row(&table[i], argv, argc, pk))
			return true;
	memset(pk, 0, sizeof(*pk));
	return false;
}
