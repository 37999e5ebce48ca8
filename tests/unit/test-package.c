/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recognising package installs from argv. */
#include <string.h>

#include "audit/package.h"
#include "tap.h"

#define A(...) ((const char *const[]){__VA_ARGS__, NULL})

static struct hutch_package pk;

static bool det(const char *prog, const char *const *argv)
{
	size_t n = 0;

	while (argv[n])
		n++;
	return hutch_package_detect(prog, argv, n, &pk);
}

/* names joined by ',' */
static const char *names(void)
{
	static char b[512];
	size_t o = 0;

	b[0] = '\0';
	for (size_t i = 0; i < pk.n_names; i++)
		o += (size_t)snprintf(b + o, sizeof(b) - o, "%s%s", i ? "," : "", pk.names[i]);
	return b;
}

#define IS(prog_, argv_, mgr_, act_, want_)                                                        \
	do {                                                                                       \
		bool _d = det(prog_, argv_);                                                       \
		ok(_d, "%s: recognised", #argv_);                                                  \
		is_str(_d ? pk.manager : NULL, mgr_, "  manager");                                 \
		is_str(_d ? pk.action : NULL, act_, "  action");                                   \
		is_str(_d ? names() : NULL, want_, "  names");                                     \
	} while (0)

#define NOT(prog, argv) ok(!det(prog, argv), "%s: not an install", #argv)

int main(void)
{
	IS("npm", A("npm", "install", "left-pad"), "npm", "install", "left-pad");
	IS("npm", A("npm", "i", "-D", "typescript@5", "@types/node"), "npm", "install",
	   "typescript@5,@types/node");
	IS("npm", A("npm", "--prefix", "/x", "install", "--registry", "http://r", "a"), "npm",
	   "install", "a");
	IS("npm", A("npm", "install", "--registry=http://r", "b"), "npm", "install", "b");
	IS("npm", A("npm", "ci"), "npm", "install", "");
	ok(pk.from_manifest, "  npm ci installs from the manifest");
	IS("npx", A("npx", "-y", "cowsay", "hello"), "npm", "run", "cowsay");
	IS("npx", A("npx", "-p", "typescript", "tsc", "--version"), "npm", "run", "typescript");
	IS("npm", A("npm", "exec", "--", "prettier", "x.js"), "npm", "run", "prettier");
	NOT("npm", A("npm", "test"));
	NOT("npm", A("npm", "run", "install"));
	NOT("npx", A("npx"));
	IS("pnpm", A("pnpm", "add", "zod"), "pnpm", "install", "zod");
	IS("pnpm", A("pnpm", "dlx", "create-vite", "app"), "pnpm", "run", "create-vite");
	IS("yarn", A("yarn", "add", "react", "react-dom"), "yarn", "install", "react,react-dom");
	IS("yarn", A("yarn", "global", "add", "serve"), "yarn", "install", "serve");
	IS("bun", A("bun", "add", "hono"), "bun", "install", "hono");
	IS("bunx", A("bunx", "cowsay"), "bun", "run", "cowsay");

	IS("pip", A("pip", "install", "requests"), "pip", "install", "requests");
	IS("pip3", A("pip3", "install", "-U", "requests==2.31", "flask>=3"), "pip", "install",
	   "requests==2.31,flask>=3");
	IS("pip3.11", A("pip3.11", "install", "x"), "pip", "install", "x");
	IS("pip", A("pip", "--quiet", "install", "-i", "https://idx", "--target", "t", "numpy"),
	   "pip", "install", "numpy");
	IS("pip", A("pip", "install", "-r", "requirements.txt"), "pip", "install", "");
	is_int(pk.n_files, 1, "  -r FILE recorded as a file");
	is_str(pk.n_files ? pk.files[0] : NULL, "requirements.txt", "  its name");
	ok(!pk.from_manifest, "  not 'from manifest' (a requirements file was named)");
	IS("pip", A("pip", "install", "-rreq.txt", "-e", "."), "pip", "install", ".");
	is_str(pk.n_files ? pk.files[0] : NULL, "req.txt", "  -rFILE attached form");
	IS("python3", A("python3", "-m", "pip", "install", "requests"), "pip", "install",
	   "requests");
	IS("python3.11", A("python3.11", "-m", "pip", "install", "rich"), "pip", "install", "rich");
	NOT("python3", A("python3", "-m", "venv", "install"));
	NOT("python3", A("python3", "-c", "install"));
	NOT("pip", A("pip", "list"));
	NOT("pip", A("pip", "download", "x"));
	IS("uv", A("uv", "pip", "install", "httpx"), "uv", "install", "httpx");
	IS("uv", A("uv", "add", "ruff"), "uv", "install", "ruff");
	IS("uv", A("uv", "tool", "install", "black"), "uv", "install", "black");
	IS("uvx", A("uvx", "pycowsay", "hi"), "uv", "run", "pycowsay");
	NOT("uv", A("uv", "run", "pytest"));
	IS("poetry", A("poetry", "add", "pendulum"), "poetry", "install", "pendulum");
	IS("pipx", A("pipx", "install", "httpie"), "pipx", "install", "httpie");

	IS("cargo", A("cargo", "install", "ripgrep"), "cargo", "install", "ripgrep");
	IS("cargo", A("cargo", "+nightly", "add", "serde", "--features", "derive"), "cargo",
	   "install", "serde");
	NOT("cargo", A("cargo", "build"));
	IS("go", A("go", "install", "golang.org/x/tools/gopls@latest"), "go", "install",
	   "golang.org/x/tools/gopls@latest");
	IS("go", A("go", "get", "-u", "github.com/pkg/errors"), "go", "install",
	   "github.com/pkg/errors");
	NOT("go", A("go", "build", "./..."));
	IS("gem", A("gem", "install", "rails", "-v", "7.1"), "gem", "install", "rails");
	IS("composer", A("composer", "require", "monolog/monolog"), "composer", "install",
	   "monolog/monolog");
	IS("composer", A("composer", "global", "require", "phpunit/phpunit"), "composer", "install",
	   "phpunit/phpunit");
	IS("apt-get", A("apt-get", "-y", "-o", "Dpkg::Options=x", "install", "curl", "jq"), "apt",
	   "install", "curl,jq");
	IS("apt", A("apt", "install", "--no-install-recommends", "git"), "apt", "install", "git");
	NOT("apt-get", A("apt-get", "update"));
	NOT("apt", A("apt", "search", "install"));
	NOT("ls", A("ls", "install", "x"));
	NOT("npm", A("npm"));
	{
		const char *argv[HUTCH_PACKAGE_MAX_NAMES + 10];
		argv[0] = "npm";
		argv[1] = "install";
		for (size_t i = 2; i < HUTCH_PACKAGE_MAX_NAMES + 9; i++)
			argv[i] = "p";
		argv[HUTCH_PACKAGE_MAX_NAMES + 9] = NULL;
		ok(det("npm", argv) && pk.n_names == HUTCH_PACKAGE_MAX_NAMES && pk.more,
		   "more names than kept: capped and flagged");
	}
	return done_testing();
}
