/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libnftnl's batch for the rules of src/lib/sandbox/nft.c: its length, 0 if @size is short. */
#pragma once

#include <stddef.h>
#include <stdint.h>

size_t nft_oracle_build(char *buf, size_t size, uint16_t redirect_port, unsigned flags);
