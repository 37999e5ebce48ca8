/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sandbox's network namespace: only lo, up. */
#pragma once

#include "hutch.h"

int hutch_net_loopback_up(hutch_error *err);
