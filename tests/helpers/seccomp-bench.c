/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * seccomp-bench [--ns] [--filter|--trivial] getppid|stat COUNT: make COUNT system
 * calls with hutch's seccomp filter loaded first (--filter), with a
 * one-instruction allow-all filter (--trivial: the fixed cost of having any
 * filter at all), or with none. bench/syscall.sh compares them with
 * hyperfine, and with --ns (the loop's own wall time per call, printed) in
 * interleaved rounds. no_new_privs is set in every case.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/seccomp.h"

int main(int argc, char **argv)
{
	hutch_error err = {0};
	bool filter = false, trivial = false, ns = false;
	struct timespec t0, t1;
	long count;
	struct stat st;
	int a = 1;

	if (argc > a && strcmp(argv[a], "--ns") == 0) {
		ns = true;
		a++;
	}
	if (argc > a && strcmp(argv[a], "--filter") == 0) {
		filter = true;
		a++;
	} else if (argc > a && strcmp(argv[a], "--trivial") == 0) {
		trivial = true;
		a++;
	}
	if (argc - a != 2) {
		fprintf(stderr,
			"usage: seccomp-bench [--ns] [--filter|--trivial] getppid|stat COUNT\n");
		return 2;
	}
	count = strtol(argv[a + 1], NULL, 10);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		perror("seccomp-bench: PR_SET_NO_NEW_PRIVS");
		return 1;
	}
	if (filter && hutch_seccomp_load(NULL, NULL, &err) < 0) {
		fprintf(stderr, "seccomp-bench: %s\n", err.msg);
		return 1;
	}
	if (trivial) {
		struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		struct sock_fprog prog = {.len = 1, .filter = &allow};

		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
			perror("seccomp-bench: seccomp");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (strcmp(argv[a], "getppid") == 0) {
		for (long i = 0; i < count; i++)
			syscall(SYS_getppid);
	} else if (strcmp(argv[a], "stat") == 0) {
		for (long i = 0; i < count; i++)
			if (stat("/", &st) < 0)
				return 1;
	} else {
		fprintf(stderr, "seccomp-bench: unknown call %s\n", argv[a]);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ns && count > 0)
		printf("%.1f\n",
		       ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
			       (double)count);
	return 0;
}
