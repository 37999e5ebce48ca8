/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bounds of a session's files, shared by session.c, rootlayer.c and apply.c. */
#pragma once

#define HUTCH_SESSION_MAX_ID 64
#define HUTCH_SESSION_MAX_META (1024 * 1024)
#define HUTCH_SNAPSHOT_MAX_ENTRIES (2u * 1000u * 1000u)
#define HUTCH_SESSION_MAX_PROTECTED 4096
#define HUTCH_SESSION_MAX_PLACEHOLDERS 4096
#define HUTCH_SESSION_MAX_DEPTH 256
