/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * privs [--read FILE] [--raise]: print what this process may do, one
 * "key value" per line, for the escape suite's privilege tests:
 *
 *   ruid/euid/suid    real, effective and saved uid
 *   capeff/capprm/capbnd/capamb   capability sets (hex, from /proc/self/status)
 *   nnp               no_new_privs (0 or 1)
 *   dumpable          PR_GET_DUMPABLE
 *   core              RLIMIT_CORE soft/hard
 *   read              with --read FILE: 0 if FILE could be opened, else the errno name
 *   raise_core        with --raise: result of raising RLIMIT_CORE's hard limit
 *   capset            with --raise: result of putting CAP_SYS_ADMIN in the effective set
 *
 * Copied into the workspace and made setuid or given file capabilities, it
 * shows whether exec granted anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "UNKNOWN";
}

static void status_line(const char *key, const char *label)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	size_t klen = strlen(key);

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			char *v = line + klen + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			printf("%s %s\n", label, v);
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	uid_t r, e, s;
	struct rlimit rl;
	const char *readpath = NULL;
	int raise = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--read") && i + 1 < argc)
			readpath = argv[++i];
		else if (!strcmp(argv[i], "--raise"))
			raise = 1;
	}
	getresuid(&r, &e, &s);
	printf("ruid %u\neuid %u\nsuid %u\n", (unsigned)r, (unsigned)e, (unsigned)s);
	status_line("CapEff", "capeff");
	status_line("CapPrm", "capprm");
	status_line("CapBnd", "capbnd");
	status_line("CapAmb", "capamb");
	status_line("NoNewPrivs", "nnp");
	printf("dumpable %d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
	if (getrlimit(RLIMIT_CORE, &rl) == 0)
		printf("core %llu/%llu\n", (unsigned long long)rl.rlim_cur,
		       (unsigned long long)rl.rlim_max);
	if (readpath) {
		int fd = open(readpath, O_RDONLY | O_CLOEXEC);
		printf("read %s\n", fd >= 0 ? "0" : errname(errno));
		if (fd >= 0)
			close(fd);
	}
	if (raise) {
		struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
		struct __user_cap_data_struct data[2];

		rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
		printf("raise_core %s\n", setrlimit(RLIMIT_CORE, &rl) == 0 ? "0" : errname(errno));
		memset(data, 0, sizeof(data));
		data[0].effective = data[0].permitted = 1U << CAP_SYS_ADMIN;
		printf("capset %s\n", syscall(SYS_capset, &hdr, data) == 0 ? "0" : errname(errno));
	}
	return 0;
}
