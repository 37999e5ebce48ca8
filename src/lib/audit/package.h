/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Recognising package installs from an exec's program and argv (pure, a
 * table in package.c): npm/npx, pnpm, yarn, bun, pip/pip3/python -m pip, uv,
 * poetry, pipx, cargo, go, gem, composer, apt/apt-get/aptitude.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HUTCH_PACKAGE_MAX_NAMES 64
#define HUTCH_PACKAGE_MAX_FILES 8

struct hutch_package {
	const char *manager; /* "npm", "pip", "cargo", ... */
	const char *action;  /* "install" (into the project or system) or "run" (npx, uvx, ...) */
	size_t n_names;
	const char
		*names[HUTCH_PACKAGE_MAX_NAMES]; /* as written: "left-pad@1.3.0", "requests>=2" */
	size_t n_files;
	const char *files[HUTCH_PACKAGE_MAX_FILES]; /* requirement files: pip -r FILE, -c FILE */
	bool more;				    /* more names or files than kept */
	bool from_manifest; /* no names: installs what the project's manifest lists */
};

/*
 * Is the exec of @prog (the executable's basename) with @argv[0..argc) a
 * package install? Fills @pk (pointers into @argv) and returns true if so.
 */
bool hutch_package_detect(const char *prog, const char *const *argv, size_t argc,
			  struct hutch_package *pk);
