/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "hutch.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "hutch %s: not yet\n", HUTCH_VERSION);
	return 125;
}
