/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Privileges: every capability dropped, no_new_privs, securebits locked. */
#pragma once

#include <stdbool.h>

#include "hutch.h"

/* Drop bounding, ambient, inheritable, permitted and effective sets; lock securebits. */
int hutch_caps_drop_all(hutch_error *err);
/*
 * The bounding and ambient sets alone, for a process that forks the workloads
 * but never executes anything itself (a named session's init): what it drops
 * its children inherit, and the bounding set can never grow back.
 */
int hutch_caps_drop_bounding(hutch_error *err);
/* hutch_caps_drop_all(), the bounding set left out when an ancestor emptied it already. */
int hutch_caps_drop(bool bounding_dropped, hutch_error *err);
int hutch_no_new_privs(hutch_error *err);
