/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hutch command line: one file per subcommand, only the public API. */
#pragma once

#include <stdbool.h>

#include "hutch.h"

extern const char *cli_prog;
extern int cli_verbose;
extern bool cli_quiet;

/* Print "hutch: <msg>" and the hint line, return err->status (or 125). */
int cli_error(const hutch_error *err);
/* Print "hutch: <fmt>" for usage errors and return 125. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_trust(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_stop(int argc, char **argv);
