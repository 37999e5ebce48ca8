/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgroup.c and limits.c: the parsers, detection and file writing against fake
 * directory trees, the decision table, the rlimit set, what-fired messages.
 * The real hierarchies are exercised by tests/integration/limits.t.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "limits/cgroup.h"
#include "limits/limit.h"
#include "limits/rlimit.h"
#include "tap.h"

#define U(s) (const uint8_t *)(s), strlen(s)

static char tmp[PATH_MAX];

static void put(const char *rel, const char *content)
{
	char p[PATH_MAX * 2];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	f = fopen(p, "w");
	if (!f) {
		diag("cannot write %s", p);
		exit(1);
	}
	fputs(content, f);
	fclose(f);
}

static void mkdirs(const char *rel)
{
	char p[PATH_MAX * 2], *s;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	for (s = p + strlen(tmp) + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

static char *slurp(const char *rel)
{
	static char buf[4096];
	char p[PATH_MAX * 2];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	f = fopen(p, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static bool exists(const char *rel)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	return access(p, F_OK) == 0;
}

static void test_parse_proc(void)
{
	char v2[PATH_MAX], v1[_HUTCH_CG_CTRL_MAX][PATH_MAX];
	const char *hybrid = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n"
			     "2:cpu,cpuacct:/x:y\n0::/\n";
	char big[HUTCH_CG_MAX_PROC_LINES * 8 + 64] = "";

	is_int(hutch_cg_parse_proc(U(hybrid), v2, v1), 0, "hybrid /proc/self/cgroup parses");
	is_str(v2, "/", "  v2 path from the 0:: line");
	is_str(v1[HUTCH_CG_MEMORY], "/process_api/abc", "  memory's v1 path");
	is_str(v1[HUTCH_CG_PIDS], "/", "  pids' v1 path");
	is_str(v1[HUTCH_CG_CPU], "/x:y", "  cpu co-mounted with cpuacct; ':' in a path kept");

	is_int(hutch_cg_parse_proc(U("0::/user.slice/user-1000.slice/session-2.scope\n"), v2, v1),
	       0, "pure v2 parses");
	is_str(v2, "/user.slice/user-1000.slice/session-2.scope", "  its path");
	is_str(v1[HUTCH_CG_MEMORY], "", "  no v1 memory");
	is_int(hutch_cg_parse_proc(U("0::/a"), v2, v1), 0, "no final newline is fine");
	is_str(v2, "/a", "  path read to the end");

	is_int(hutch_cg_parse_proc(U("garbage\n"), v2, v1), -EINVAL,
	       "a line without ':' is refused");
	is_int(hutch_cg_parse_proc(U("0::relative\n"), v2, v1), -EINVAL,
	       "a relative path is refused");
	is_int(hutch_cg_parse_proc(U("4:memory\n"), v2, v1), -EINVAL, "a missing field is refused");
	for (int i = 0; i <= HUTCH_CG_MAX_PROC_LINES; i++)
		memcpy(big + i * 6, "1:x:/\n", 7);
	is_int(hutch_cg_parse_proc(U(big), v2, v1), -EINVAL,
	       "more lines than the maximum: refused");
	is_int(hutch_cg_parse_proc((const uint8_t *)"0::/a\0b\n", 8, v2, v1), -EINVAL,
	       "a NUL byte in a path is refused");
}

static void test_keyed(void)
{
	const char *ev = "low 0\nhigh 0\nmax 17\noom 2\noom_kill 3\noom_group_kill 0\n";
	uint64_t v = 99;

	is_int(hutch_cg_keyed(U(ev), "oom_kill", &v), 0, "memory.events: oom_kill found");
	is_int(v, 3, "  value 3 (not oom_group_kill, not oom)");
	is_int(hutch_cg_keyed(U(ev), "max", &v), 0, "  max found");
	is_int(v, 17, "  value 17");
	is_int(hutch_cg_keyed(U(ev), "oom_k", &v), -ENOENT, "a key prefix does not match");
	is_int(hutch_cg_keyed(U("oom_kill_disable 0\nunder_oom 0\noom_kill 1"), "oom_kill", &v), 0,
	       "v1 memory.oom_control: oom_kill after oom_kill_disable");
	is_int(v, 1, "  value 1");
	is_int(hutch_cg_keyed(U("max x\n"), "max", &v), -EINVAL, "a non-number is refused");
	is_int(hutch_cg_keyed(U("max 99999999999999999999999\n"), "max", &v), -ERANGE,
	       "an overflowing number is refused");
	is_int(hutch_cg_keyed(U("max \n"), "max", &v), -EINVAL, "an empty value is refused");

	is_int(hutch_cg_parse_controllers(U("cpuset cpu io memory hugetlb pids rdma misc\n")),
	       HUTCH_CG_BIT(HUTCH_CG_MEMORY) | HUTCH_CG_BIT(HUTCH_CG_PIDS) |
		       HUTCH_CG_BIT(HUTCH_CG_CPU),
	       "cgroup.controllers: memory, pids, cpu (not cpuset)");
	is_int(hutch_cg_parse_controllers(U("hugetlb\n")), 0, "only hugetlb: nothing for us");
	is_int(hutch_cg_parse_controllers(U("")), 0, "empty: nothing");
}

static void test_detect(void)
{
	struct hutch_cg_layout *l = calloc(1, sizeof(*l));
	char want[PATH_MAX * 2];

	/* A hybrid tree like this machine's: v2 at unified/ with no controllers, v1 beside it. */
	mkdirs("hy/unified");
	put("hy/unified/cgroup.controllers", "hugetlb\n");
	put("hy/unified/cgroup.subtree_control", "");
	mkdirs("hy/memory/process_api/abc");
	mkdirs("hy/pids");
	snprintf(want, sizeof(want), "%s/hy", tmp);
	hutch_cg_detect(want, U("8:pids:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n"), 0, false,
			l);
	snprintf(want, sizeof(want), "%s/hy/unified", tmp);
	is_str(l->v2_mount, want, "hybrid: the cgroup2 mount at unified/");
	is_int(l->v2_ctrls, 0, "  with none of our controllers");
	snprintf(want, sizeof(want), "%s/hy/memory/process_api/abc", tmp);
	is_str(l->v1_dir[HUTCH_CG_MEMORY], want, "  v1 memory: our cgroup in that hierarchy");
	snprintf(want, sizeof(want), "%s/hy/pids", tmp);
	is_str(l->v1_dir[HUTCH_CG_PIDS], want, "  v1 pids at the hierarchy's root");
	is_str(l->v1_dir[HUTCH_CG_CPU], "", "  no cpu hierarchy: none");

	/* Pure v2, at the root of our namespace (a container): children of the root. */
	mkdirs("v2");
	put("v2/cgroup.controllers", "cpuset cpu io memory pids\n");
	put("v2/cgroup.subtree_control", "");
	snprintf(want, sizeof(want), "%s/v2", tmp);
	hutch_cg_detect(want, U("0::/\n"), 1000, false, l);
	is_str(l->v2_parent, want, "v2 namespace root: the sandbox's cgroup goes right under it");
	is_int(l->v2_how, HUTCH_CG_V2_DIRECT, "  directly");
	is_int(l->v2_ctrls, 7, "  memory, pids and cpu available");

	/* Root elsewhere in a v2 tree: hutch's own slice under the root. */
	mkdirs("v2/user.slice/s.scope");
	hutch_cg_detect(want, U("0::/user.slice/s.scope\n"), 0, false, l);
	snprintf(want, sizeof(want), "%s/v2/hutch", tmp);
	is_str(l->v2_parent, want, "root in a scope: parent is <root>/hutch");
	is_int(l->v2_how, HUTCH_CG_V2_SLICE, "  made on first use");

	/* Not root, in a (writable: the test runs as its owner) delegated cgroup. */
	put("v2/user.slice/s.scope/cgroup.controllers", "memory pids\n");
	put("v2/user.slice/s.scope/cgroup.subtree_control", "");
	put("v2/user.slice/s.scope/cgroup.procs", "");
	snprintf(want, sizeof(want), "%s/v2", tmp);
	hutch_cg_detect(want, U("0::/user.slice/s.scope\n"), 1000, false, l);
	snprintf(want, sizeof(want), "%s/v2/user.slice/s.scope", tmp);
	is_str(l->v2_parent, want, "delegated: our own cgroup is the parent");
	is_int(l->v2_how, HUTCH_CG_V2_MOVE_SELF, "  once hutch moved itself into a leaf");
	is_int(l->v2_ctrls, HUTCH_CG_BIT(HUTCH_CG_MEMORY) | HUTCH_CG_BIT(HUTCH_CG_PIDS),
	       "  with the delegated controllers");

	snprintf(want, sizeof(want), "%s/v2", tmp);
	hutch_cg_detect(want, U("nonsense"), 0, false, l);
	is_str(l->v2_parent, "", "unparsable /proc/self/cgroup: no cgroup at all");
	free(l);
}

static void test_write_and_events(void)
{
	struct hutch_cg_values v = {.memory = 128u << 20, .pids = 64, .cpus_milli = 500};
	struct hutch_cg_events ev = {0};
	hutch_error e = {0};
	char p[PATH_MAX * 2];
	int fd;
	unsigned all = HUTCH_CG_BIT(HUTCH_CG_MEMORY) | HUTCH_CG_BIT(HUTCH_CG_PIDS) |
		       HUTCH_CG_BIT(HUTCH_CG_CPU);

	mkdirs("w2");
	put("w2/memory.max", "");
	put("w2/memory.swap.max", "");
	put("w2/pids.max", "");
	put("w2/cpu.max", "");
	snprintf(p, sizeof(p), "%s/w2", tmp);
	fd = open(p, O_RDONLY | O_DIRECTORY);
	is_int(hutch_cg_write_limits(fd, 2, all, &v, &e), 0, "v2: limits written");
	is_str(slurp("w2/memory.max"), "134217728", "  memory.max in bytes");
	is_str(slurp("w2/memory.swap.max"), "0", "  memory.swap.max 0: no swap past the limit");
	is_str(slurp("w2/pids.max"), "64", "  pids.max");
	is_str(slurp("w2/cpu.max"), "50000 100000", "  cpu.max: 0.5 CPU = 50 ms per 100 ms");
	put("w2/memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n");
	put("w2/memory.peak", "134213632\n");
	put("w2/pids.events", "max 181\n");
	put("w2/cpu.stat",
	    "usage_usec 9\nnr_periods 30\nnr_throttled 20\nthrottled_usec 1500000\n");
	hutch_cg_read_dir_events(fd, 2, all, &ev);
	is_int(ev.oom_kill, 1, "v2 events: oom_kill");
	is_int(ev.memory_max, 12, "  memory max hits");
	is_int(ev.memory_peak, 134213632, "  memory.peak");
	is_int(ev.pids_max, 181, "  pids.events max");
	is_int(ev.cpu_throttled, 20, "  cpu nr_throttled");
	is_int(ev.cpu_throttled_us, 1500000, "  cpu throttled_usec");
	close(fd);

	/* v2 without swap accounting: memory.swap.max absent is fine. */
	mkdirs("w2b");
	put("w2b/memory.max", "");
	snprintf(p, sizeof(p), "%s/w2b", tmp);
	fd = open(p, O_RDONLY | O_DIRECTORY);
	is_int(hutch_cg_write_limits(fd, 2, HUTCH_CG_BIT(HUTCH_CG_MEMORY), &v, &e), 0,
	       "v2 without memory.swap.max: fine");
	is_int(hutch_cg_write_limits(fd, 2, HUTCH_CG_BIT(HUTCH_CG_PIDS), &v, &e), -ENOENT,
	       "a missing pids.max is an error");
	like(e.msg, "pids.max", "  naming the file");
	close(fd);

	mkdirs("w1");
	put("w1/memory.limit_in_bytes", "");
	put("w1/memory.memsw.limit_in_bytes", "");
	put("w1/pids.max", "");
	put("w1/cpu.cfs_period_us", "");
	put("w1/cpu.cfs_quota_us", "");
	snprintf(p, sizeof(p), "%s/w1", tmp);
	fd = open(p, O_RDONLY | O_DIRECTORY);
	v.cpus_milli = 1;
	is_int(hutch_cg_write_limits(fd, 1, all, &v, &e), 0, "v1: limits written");
	is_str(slurp("w1/memory.limit_in_bytes"), "134217728", "  memory.limit_in_bytes");
	is_str(slurp("w1/memory.memsw.limit_in_bytes"), "134217728",
	       "  memsw the same: no swap past the limit");
	is_str(slurp("w1/cpu.cfs_period_us"), "100000", "  cfs period 100 ms");
	is_str(slurp("w1/cpu.cfs_quota_us"), "1000", "  0.001 CPU: the kernel's minimum quota");
	put("w1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	put("w1/memory.failcnt", "40\n");
	put("w1/memory.max_usage_in_bytes", "134217728\n");
	put("w1/pids.events", "max 7\n");
	put("w1/cpu.stat", "nr_periods 3\nnr_throttled 2\nthrottled_time 3000000000\n");
	memset(&ev, 0, sizeof(ev));
	hutch_cg_read_dir_events(fd, 1, all, &ev);
	is_int(ev.oom_kill, 2, "v1 events: oom_kill from memory.oom_control");
	is_int(ev.memory_max, 40, "  failcnt");
	is_int(ev.pids_max, 7, "  pids.events");
	is_int(ev.cpu_throttled_us, 3000000, "  throttled_time ns -> us");
	close(fd);
}

static void test_create_fallback_and_stale(void)
{
	struct hutch_cg_layout *l = calloc(1, sizeof(*l));
	struct hutch_cg_values v = {.memory = 1 << 20};
	struct hutch_cgroup *cg = NULL;
	struct stat st;
	char name[128], dead[128], live[128];
	pid_t pid;

	/* A v1 "hierarchy" where mkdir works but the limit files do not appear. */
	mkdirs("c1/memory");
	snprintf(l->v1_dir[HUTCH_CG_MEMORY], PATH_MAX, "%s/c1/memory", tmp);
	is_int(hutch_cgroup_create(l, &v, "0123456789abcdef", &cg), 0, "create: no error");
	ok(cg && cg->v1_ctrls == 0 && cg->n == 0, "  but memory is not enforced by it");
	like(cg ? cg->fail[HUTCH_CG_MEMORY] : NULL, "memory.limit_in_bytes",
	     "  and it says why (the file it could not write)");
	snprintf(name, sizeof(name), "c1/memory/%s", cg ? cg->name : "?");
	ok(!exists(name), "  the half-made cgroup was removed");
	is_int(hutch_cgroup_free(cg), 0, "  freeing it is fine");

	/* Stale cgroups: the one of a dead supervisor goes, a live one and others stay. */
	stat("/proc/self/ns/pid", &st);
	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	snprintf(dead, sizeof(dead), "c1/memory/hutch-%ld-%ld-00112233445566ff", (long)st.st_ino,
		 (long)pid);
	snprintf(live, sizeof(live), "c1/memory/hutch-%ld-%ld-00112233445566ff", (long)st.st_ino,
		 (long)getppid());
	mkdirs(dead);
	mkdirs(live);
	mkdirs("c1/memory/hutch-1-1-zz");
	mkdirs("c1/memory/hutch-999-1-00112233445566ff"); /* another pid namespace's */
	{
		char p[PATH_MAX * 2];
		int fd;
		snprintf(p, sizeof(p), "%s/c1/memory", tmp);
		fd = open(p, O_RDONLY | O_DIRECTORY);
		is_int(hutch_cg_remove_stale(fd, 1), 1, "remove_stale: one removed");
		close(fd);
	}
	ok(!exists(dead), "  the dead supervisor's cgroup");
	ok(exists(live), "  not the one of a live process");
	ok(exists("c1/memory/hutch-1-1-zz"), "  not a name that is not ours");
	ok(exists("c1/memory/hutch-999-1-00112233445566ff"), "  not one of another pid namespace");
	free(l);
}

static void test_decide(void)
{
	struct hutch_limits l = {.memory = 128u << 20,
				 .pids = 64,
				 .cpus_milli = 1500,
				 .timeout_ms = 2000,
				 .file_size = 1 << 20,
				 .open_files = 256};
	struct hutch_limits_avail a = {0};
	struct hutch_limit_info info[_HUTCH_LIMIT_MAX];
	struct hutch_limits rl;
	hutch_error e = {0};
	char buf[512];

	/* Everything in cgroup v2. */
	a.v2 = 7;
	a.v2_where = "/sys/fs/cgroup/hutch";
	hutch_limits_decide(&l, &a, false, info);
	is_int(info[HUTCH_LIMIT_MEMORY].mech, HUTCH_MECH_CGROUP2, "v2: memory by cgroup v2");
	is_int(info[HUTCH_LIMIT_PIDS].mech, HUTCH_MECH_CGROUP2, "  pids");
	is_int(info[HUTCH_LIMIT_CPUS].mech, HUTCH_MECH_CGROUP2, "  cpus");
	is_int(info[HUTCH_LIMIT_TIMEOUT].mech, HUTCH_MECH_SUPERVISOR, "  timeout by hutch's clock");
	is_int(info[HUTCH_LIMIT_FILE_SIZE].mech, HUTCH_MECH_RLIMIT, "  fileSize by rlimit");
	is_int(info[HUTCH_LIMIT_OPEN_FILES].mech, HUTCH_MECH_RLIMIT, "  openFiles by rlimit");
	is_str(info[HUTCH_LIMIT_MEMORY].value_str, "128M", "  value shown as 128M");
	is_str(info[HUTCH_LIMIT_CPUS].value_str, "1.5", "  cpus shown as 1.5");
	like(hutch_limit_describe(&info[HUTCH_LIMIT_MEMORY], buf, sizeof(buf)),
	     "memory 128M: cgroup v2 (memory.max", "  described with its file");
	is_int(hutch_limits_check(info, false, &e), 0, "  all enforceable");
	hutch_limits_for_rlimits(&l, info, &rl);
	ok(rl.memory == 0 && rl.pids == 0 && rl.cpus_milli == 0,
	   "  rlimits leave memory, pids and cpu to the cgroup");
	ok(rl.file_size == l.file_size && rl.open_files == l.open_files,
	   "  and take fileSize and openFiles");

	/* Root on a hybrid host: memory and pids by v1, cpu by v1 too. */
	memset(&a, 0, sizeof(a));
	a.root = true;
	a.v1 = 7;
	hutch_limits_decide(&l, &a, false, info);
	is_int(info[HUTCH_LIMIT_MEMORY].mech, HUTCH_MECH_CGROUP1, "v1: memory by cgroup v1");
	is_int(info[HUTCH_LIMIT_PIDS].mech, HUTCH_MECH_CGROUP1, "  pids by cgroup v1");

	/* Not root, no cgroup: memory and pids by rlimits, cpus refused. */
	memset(&a, 0, sizeof(a));
	hutch_limits_decide(&l, &a, false, info);
	is_int(info[HUTCH_LIMIT_MEMORY].mech, HUTCH_MECH_RLIMIT,
	       "no cgroup: memory by RLIMIT_DATA");
	ok(info[HUTCH_LIMIT_MEMORY].partial, "  marked partial (per process)");
	like(info[HUTCH_LIMIT_MEMORY].detail, "RLIMIT_DATA", "  named");
	is_int(info[HUTCH_LIMIT_PIDS].mech, HUTCH_MECH_RLIMIT, "  pids by RLIMIT_NPROC (not root)");
	is_int(info[HUTCH_LIMIT_CPUS].mech, HUTCH_MECH_UNENFORCED, "  cpus: nothing");
	is_int(hutch_limits_check(info, false, &e), -EOPNOTSUPP, "  which refuses the run");
	is_int(e.status, HUTCH_EXIT_ERROR, "  exit status 125");
	like(e.msg, "limit cpus (1.5) cannot be enforced here", "  naming the limit");
	like(e.hint, "--allow-degraded", "  and the way out");
	is_int(hutch_limits_check(info, true, &e), 0, "  unless --allow-degraded");
	hutch_limits_for_rlimits(&l, info, &rl);
	ok(rl.memory == l.memory && rl.pids == l.pids, "  rlimits take memory and pids");
	ok(rl.cpus_milli == 1500 && rl.timeout_ms == 2000,
	   "  and a CPU-time budget from cpus x timeout");
	is_int(hutch_rlimit_cpu_seconds(&rl), 3, "  of 3 s");

	/* Root without cgroups: RLIMIT_NPROC does not bind root. */
	a.root = true;
	l.cpus_milli = 0;
	hutch_limits_decide(&l, &a, false, info);
	is_int(info[HUTCH_LIMIT_PIDS].mech, HUTCH_MECH_UNENFORCED,
	       "root, no cgroup: pids unenforced");
	like(info[HUTCH_LIMIT_PIDS].detail, "does not bind root", "  says why");
	is_int(hutch_limits_check(info, false, &e), -EOPNOTSUPP, "  refused");
	like(e.msg, "limit pids (64)", "  naming pids");

	/* Nothing set: nothing decided; with "all" (hutch check) everything described. */
	memset(&l, 0, sizeof(l));
	hutch_limits_decide(&l, &a, false, info);
	is_int(info[HUTCH_LIMIT_MEMORY].mech, HUTCH_MECH_NONE, "no limits: mechanism none");
	is_str(info[HUTCH_LIMIT_MEMORY].mech_name, "none", "  named none");
	hutch_limits_decide(NULL, &a, true, info);
	is_int(info[HUTCH_LIMIT_MEMORY].mech, HUTCH_MECH_RLIMIT, "check: memory would be rlimit");
	ok(!info[HUTCH_LIMIT_MEMORY].set, "  while not set");
}

static void test_hits(void)
{
	struct hutch_limits l = {.memory = 128u << 20,
				 .pids = 64,
				 .cpus_milli = 500,
				 .timeout_ms = 2000,
				 .file_size = 1 << 20};
	struct hutch_limits_avail a = {.v1 = 7, .root = true};
	struct hutch_limit_info info[_HUTCH_LIMIT_MAX];
	struct hutch_cg_events ev = {0};
	struct hutch_limit_hit h[HUTCH_MAX_LIMIT_HITS];
	size_t n;

	hutch_limits_decide(&l, &a, false, info);
	n = hutch_limits_hits(info, &ev, 0, false, h, HUTCH_MAX_LIMIT_HITS);
	is_int(n, 0, "nothing fired: no hit");

	ev.oom_kill = 1;
	n = hutch_limits_hits(info, &ev, 137, false, h, HUTCH_MAX_LIMIT_HITS);
	is_int(n, 1, "OOM kill of the command: one hit");
	is_str(h[0].message, "memory limit (128M) reached: the command was killed (OOM)",
	       "  the message");
	is_str(h[0].what, "memory", "  audit limit \"memory\"");
	ok(h[0].ended, "  it ended the command");
	n = hutch_limits_hits(info, &ev, 1, false, h, HUTCH_MAX_LIMIT_HITS);
	is_str(h[0].message, "memory limit (128M) reached: 1 process killed (OOM)",
	       "OOM kill of a child the command survived");
	ok(!h[0].ended, "  not ended");

	memset(&ev, 0, sizeof(ev));
	ev.pids_max = 181;
	n = hutch_limits_hits(info, &ev, 124, true, h, HUTCH_MAX_LIMIT_HITS);
	is_int(n, 2, "fork bomb stopped by the timeout: two hits");
	is_str(h[0].what, "timeout", "  the timeout");
	is_str(h[0].message, "timeout (2s) reached: the sandbox was stopped", "  its message");
	is_str(h[1].message, "process limit (64) reached: 181 forks refused", "  and the pids");
	is_int(h[1].count, 181, "  with the count");

	memset(&ev, 0, sizeof(ev));
	ev.cpu_throttled = 3;
	ev.cpu_throttled_us = 250000;
	n = hutch_limits_hits(info, &ev, 0, false, h, HUTCH_MAX_LIMIT_HITS);
	is_int(n, 1, "cpu throttling: a hit");
	ok(h[0].quiet, "  quiet (shown with -v)");
	is_str(h[0].message, "cpu limit (0.5) throttled the command 3 times (0.2 s in all)",
	       "  the message");

	memset(&ev, 0, sizeof(ev));
	n = hutch_limits_hits(info, &ev, 128 + SIGXFSZ, false, h, HUTCH_MAX_LIMIT_HITS);
	is_int(n, 1, "SIGXFSZ: a fileSize hit");
	is_str(h[0].message, "file size limit (1M) reached: the command was killed (SIGXFSZ)",
	       "  the message");
	n = hutch_limits_hits(info, NULL, 137, false, h, HUTCH_MAX_LIMIT_HITS);
	is_int(n, 0, "no cgroup events: a SIGKILL is not blamed on memory");
	n = hutch_limits_hits(info, &ev, 137, false, h, 0);
	is_int(n, 0, "bounded by max");
}

static void test_format(void)
{
	char b[32];

	hutch_limit_format(HUTCH_LIMIT_MEMORY, 1536ull << 20, b, sizeof(b));
	is_str(b, "1536M", "1.5G is 1536M");
	hutch_limit_format(HUTCH_LIMIT_MEMORY, 4ull << 30, b, sizeof(b));
	is_str(b, "4G", "4G");
	hutch_limit_format(HUTCH_LIMIT_MEMORY, 1000, b, sizeof(b));
	is_str(b, "1000", "bytes");
	hutch_limit_format(HUTCH_LIMIT_CPUS, 250, b, sizeof(b));
	is_str(b, "0.25", "0.25 CPU");
	hutch_limit_format(HUTCH_LIMIT_CPUS, 2000, b, sizeof(b));
	is_str(b, "2", "2 CPUs");
	hutch_limit_format(HUTCH_LIMIT_TIMEOUT, 90000, b, sizeof(b));
	is_str(b, "90s", "90 s");
	hutch_limit_format(HUTCH_LIMIT_TIMEOUT, 7200000, b, sizeof(b));
	is_str(b, "2h", "2 h");
	hutch_limit_format(HUTCH_LIMIT_TIMEOUT, 1500, b, sizeof(b));
	is_str(b, "1500ms", "1500 ms");
	{
		struct hutch_limits l = {.cpus_milli = 1, .timeout_ms = 1};
		is_int(hutch_rlimit_cpu_seconds(&l), 1, "RLIMIT_CPU budget rounds up to 1 s");
		l.timeout_ms = 0;
		is_int(hutch_rlimit_cpu_seconds(&l), 0, "  none without a timeout");
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/test-cgroup-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_parse_proc();
	test_keyed();
	test_detect();
	test_write_and_events();
	test_create_fallback_and_stale();
	test_decide();
	test_hits();
	test_format();
	if (nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		diag("could not remove %s", tmp);
	return done_testing();
}
