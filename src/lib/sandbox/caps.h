/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Privileges: every capability dropped, no_new_privs, securebits locked. */
#pragma once

#include "hutch.h"

/* Drop bounding, ambient, inheritable, permitted and effective sets; lock securebits. */
int hutch_caps_drop_all(hutch_error *err);
int hutch_no_new_privs(hutch_error *err);
