/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Anthropic sandbox-runtime ("srt") settings files -> the hutch policy
 * (docs/hutch-policy.5.scd, SANDBOX-RUNTIME SETTINGS), so people can switch without
 * rewriting their policy.
 *
 * The mapping is a table in srt.c. Every srt key is either honoured
 * (mapped onto hutch's policy), or reported in a note that says why it
 * is not. A note is "weaker" when hutch enforces less than srt would
 * (e.g. a glob in denyRead, which hutch cannot hide): hutch_srt_apply()
 * refuses those unless asked, so `hutch run --srt-settings` fails closed.
 * Keys srt does not define are an error with file:line:column, like in
 * hutch's own policy files: a misspelt "denyRaed" must not silently hide
 * nothing.
 *
 * The interface is public: include/hutch.h ("sandbox-runtime settings").
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "hutch.h"
