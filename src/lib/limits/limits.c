/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which mechanism enforces each resource limit, and what fired (limits.h).
 *
 *   limit      1st choice    2nd (as root)  otherwise
 *   memory     cgroup v2     cgroup v1      RLIMIT_DATA per process (partial)
 *   pids       cgroup v2     cgroup v1      RLIMIT_NPROC (counts the sandbox's
 *                                           user namespace; does not bind root)
 *   cpus       cgroup v2     cgroup v1      nothing (--allow-degraded: RLIMIT_CPU
 *                                           = cpus x timeout per process)
 *   timeout    hutch's clock (run.c)
 *   fileSize   RLIMIT_FSIZE
 *   openFiles  RLIMIT_NOFILE
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "limits/limit.h"

static const char *const limit_names[_HUTCH_LIMIT_MAX] = {
	[HUTCH_LIMIT_MEMORY] = "memory",      [HUTCH_LIMIT_PIDS] = "pids",
	[HUTCH_LIMIT_CPUS] = "cpus",	      [HUTCH_LIMIT_TIMEOUT] = "timeout",
	[HUTCH_LIMIT_FILE_SIZE] = "fileSize", [HUTCH_LIMIT_OPEN_FILES] = "openFiles",
};

static const char *const mech_names[] = {
	[HUTCH_MECH_NONE] = "none",
	[HUTCH_MECH_CGROUP2] = "cgroup v2",
	[HUTCH_MECH_CGROUP1] = "cgroup v1",
	[HUTCH_MECH_RLIMIT] = "rlimit",
	[HUTCH_MECH_SUPERVISOR] = "supervisor",
	[HUTCH_MECH_UNENFORCED] = "not enforced",
};

/* Limit -> the cgroup controller that enforces it (-1: none). */
static const int limit_ctrl[_HUTCH_LIMIT_MAX] = {
	[HUTCH_LIMIT_MEMORY] = HUTCH_CG_MEMORY, [HUTCH_LIMIT_PIDS] = HUTCH_CG_PIDS,
	[HUTCH_LIMIT_CPUS] = HUTCH_CG_CPU,	[HUTCH_LIMIT_TIMEOUT] = -1,
	[HUTCH_LIMIT_FILE_SIZE] = -1,		[HUTCH_LIMIT_OPEN_FILES] = -1,
};

/* The cgroup files each controller's limit is written to, for the details. */
static const char *const ctrl_files[2][_HUTCH_CG_CTRL_MAX] = {
	{"memory.limit_in_bytes, memory.memsw.limit_in_bytes", "pids.max", "cpu.cfs_quota_us"},
	{"memory.max, memory.swap.max 0", "pids.max", "cpu.max"},
};

static uint64_t limit_value(const struct hutch_limits *l, enum hutch_limit w)
{
	switch (w) {
	case HUTCH_LIMIT_MEMORY:
		return l->memory;
	case HUTCH_LIMIT_PIDS:
		return l->pids;
	case HUTCH_LIMIT_CPUS:
		return l->cpus_milli;
	case HUTCH_LIMIT_TIMEOUT:
		return l->timeout_ms;
	case HUTCH_LIMIT_FILE_SIZE:
		return l->file_size;
	case HUTCH_LIMIT_OPEN_FILES:
		return l->open_files;
	default:
		return 0;
	}
}

void hutch_limit_format(enum hutch_limit which, uint64_t v, char *buf, size_t size)
{
	static const struct {
		uint64_t ms;
		const char *unit;
	} durations[] = {{24ull * 3600000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
	static const char size_units[] = "TGMK";

	switch (which) {
	case HUTCH_LIMIT_MEMORY:
	case HUTCH_LIMIT_FILE_SIZE:
		for (int i = 0; i < 4; i++) {
			uint64_t m = 1ull << (10 * (4 - i));
			if (v && v % m == 0) {
				snprintf(buf, size, "%llu%c", (unsigned long long)(v / m),
					 size_units[i]);
				return;
			}
		}
		snprintf(buf, size, "%llu", (unsigned long long)v);
		return;
	case HUTCH_LIMIT_CPUS: {
		char frac[8];
		size_t n;
		snprintf(frac, sizeof(frac), "%03llu", (unsigned long long)(v % 1000));
		n = strlen(frac);
		while (n > 0 && frac[n - 1] == '0')
			frac[--n] = '\0';
		snprintf(buf, size, "%llu%s%s", (unsigned long long)(v / 1000), n ? "." : "", frac);
		return;
	}
	case HUTCH_LIMIT_TIMEOUT:
		for (size_t i = 0; i < ARRAY_SIZE(durations); i++)
			if (v && v % durations[i].ms == 0) {
				snprintf(buf, size, "%llu%s",
					 (unsigned long long)(v / durations[i].ms),
					 durations[i].unit);
				return;
			}
		snprintf(buf, size, "%llums", (unsigned long long)v);
		return;
	default:
		snprintf(buf, size, "%llu", (unsigned long long)v);
		return;
	}
}

/* ---- the decision ------------------------------------------------------------- */

static void decide_cgroup_limit(struct hutch_limit_info *li, enum hutch_limit w,
				const struct hutch_limits_avail *a)
{
	int c = limit_ctrl[w];
	const char *why = a->why[c] && a->why[c][0] ? a->why[c] : "no cgroup controller here";

	if (a->v2 & HUTCH_CG_BIT(c)) {
		li->mech = HUTCH_MECH_CGROUP2;
		snprintf(li->detail, sizeof(li->detail), "%s in a cgroup of its own under %s",
			 ctrl_files[1][c], a->v2_where ? a->v2_where : "the cgroup v2 tree");
		return;
	}
	if (a->v1 & HUTCH_CG_BIT(c)) {
		li->mech = HUTCH_MECH_CGROUP1;
		snprintf(li->detail, sizeof(li->detail), "%s in a cgroup of its own under %s",
			 ctrl_files[0][c], a->v1_where[c] ? a->v1_where[c] : "the cgroup v1 tree");
		return;
	}
	switch (w) {
	case HUTCH_LIMIT_MEMORY:
		li->mech = HUTCH_MECH_RLIMIT;
		li->partial = true;
		snprintf(li->detail, sizeof(li->detail),
			 "RLIMIT_DATA on each process (its heap and private mappings), not the "
			 "sandbox's total; no cgroup: %s",
			 why);
		break;
	case HUTCH_LIMIT_PIDS:
		if (a->root) {
			li->mech = HUTCH_MECH_UNENFORCED;
			snprintf(li->detail, sizeof(li->detail),
				 "RLIMIT_NPROC does not bind root, and no cgroup: %s", why);
		} else {
			li->mech = HUTCH_MECH_RLIMIT;
			snprintf(li->detail, sizeof(li->detail),
				 "RLIMIT_NPROC: this user's processes in the sandbox's user "
				 "namespace; no cgroup: %s",
				 why);
		}
		break;
	case HUTCH_LIMIT_CPUS:
	default:
		li->mech = HUTCH_MECH_UNENFORCED;
		snprintf(li->detail, sizeof(li->detail),
			 "no cgroup: %s (with --allow-degraded and a timeout, RLIMIT_CPU caps each "
			 "process at cpus x timeout of CPU time)",
			 why);
		break;
	}
}

void hutch_limits_decide(const struct hutch_limits *l, const struct hutch_limits_avail *a, bool all,
			 struct hutch_limit_info out[_HUTCH_LIMIT_MAX])
{
	for (int w = 0; w < _HUTCH_LIMIT_MAX; w++) {
		struct hutch_limit_info *li = &out[w];

		memset(li, 0, sizeof(*li));
		li->name = limit_names[w];
		li->value = l ? limit_value(l, (enum hutch_limit)w) : 0;
		li->set = li->value != 0;
		if (li->set)
			hutch_limit_format((enum hutch_limit)w, li->value, li->value_str,
					   sizeof(li->value_str));
		li->mech = HUTCH_MECH_NONE;
		if (li->set || all) {
			switch (w) {
			case HUTCH_LIMIT_MEMORY:
			case HUTCH_LIMIT_PIDS:
			case HUTCH_LIMIT_CPUS:
				decide_cgroup_limit(li, (enum hutch_limit)w, a);
				break;
			case HUTCH_LIMIT_TIMEOUT:
				li->mech = HUTCH_MECH_SUPERVISOR;
				snprintf(li->detail, sizeof(li->detail),
					 "hutch's wall clock: SIGTERM to every process, SIGKILL "
					 "after "
					 "a grace period, exit status 124");
				break;
			case HUTCH_LIMIT_FILE_SIZE:
				li->mech = HUTCH_MECH_RLIMIT;
				snprintf(li->detail, sizeof(li->detail),
					 "RLIMIT_FSIZE: no file grows past it (EFBIG, SIGXFSZ)");
				break;
			case HUTCH_LIMIT_OPEN_FILES:
				li->mech = HUTCH_MECH_RLIMIT;
				snprintf(li->detail, sizeof(li->detail),
					 "RLIMIT_NOFILE on each process");
				break;
			}
		}
		li->mech_name = mech_names[li->mech];
	}
}

int hutch_limits_check(const struct hutch_limit_info info[_HUTCH_LIMIT_MAX], bool allow_degraded,
		       hutch_error *err)
{
	for (int w = 0; w < _HUTCH_LIMIT_MAX; w++) {
		const struct hutch_limit_info *li = &info[w];

		if (!li->set || li->mech != HUTCH_MECH_UNENFORCED || allow_degraded)
			continue;
		hutch_errx(err, EOPNOTSUPP, "limit %s (%s) cannot be enforced here: %s", li->name,
			   li->value_str, li->detail);
		hutch_err_hint(err,
			       "run as root on a host with cgroups, or in a delegated cgroup "
			       "(systemd-run --user --scope -p Delegate=yes hutch run ...); or "
			       "pass --allow-degraded to run without it");
		return -EOPNOTSUPP;
	}
	return 0;
}

void hutch_limits_for_rlimits(const struct hutch_limits *l,
			      const struct hutch_limit_info info[_HUTCH_LIMIT_MAX],
			      struct hutch_limits *out)
{
	memset(out, 0, sizeof(*out));
	out->file_size = l->file_size;
	out->open_files = l->open_files;
	if (info[HUTCH_LIMIT_MEMORY].mech == HUTCH_MECH_RLIMIT)
		out->memory = l->memory;
	/* Does not bind root (UNENFORCED then), but costs nothing. */
	if (info[HUTCH_LIMIT_PIDS].mech == HUTCH_MECH_RLIMIT ||
	    info[HUTCH_LIMIT_PIDS].mech == HUTCH_MECH_UNENFORCED)
		out->pids = l->pids;
	if (info[HUTCH_LIMIT_CPUS].mech == HUTCH_MECH_UNENFORCED && l->timeout_ms) {
		out->cpus_milli = l->cpus_milli;
		out->timeout_ms = l->timeout_ms;
	}
}

/* ---- what fired ----------------------------------------------------------------- */

static struct hutch_limit_hit *add_hit(const struct hutch_limit_info info[], enum hutch_limit w,
				       struct hutch_limit_hit *out, size_t max, size_t *n)
{
	struct hutch_limit_hit *h;

	if (*n >= max)
		return NULL;
	h = &out[(*n)++];
	memset(h, 0, sizeof(*h));
	h->which = w;
	h->what = limit_names[w];
	h->value = info[w].value;
	return h;
}

size_t hutch_limits_hits(const struct hutch_limit_info info[_HUTCH_LIMIT_MAX],
			 const struct hutch_cg_events *ev, int exit_status, bool timed_out,
			 struct hutch_limit_hit *out, size_t max)
{
	const struct hutch_limit_info *mem = &info[HUTCH_LIMIT_MEMORY];
	const struct hutch_limit_info *pids = &info[HUTCH_LIMIT_PIDS];
	const struct hutch_limit_info *cpus = &info[HUTCH_LIMIT_CPUS];
	const struct hutch_limit_info *fsz = &info[HUTCH_LIMIT_FILE_SIZE];
	bool killed = !timed_out && exit_status == 128 + SIGKILL;
	struct hutch_limit_hit *h;
	size_t n = 0;

	if (timed_out && info[HUTCH_LIMIT_TIMEOUT].set &&
	    (h = add_hit(info, HUTCH_LIMIT_TIMEOUT, out, max, &n))) {
		h->count = 1;
		h->ended = true;
		snprintf(h->message, sizeof(h->message),
			 "timeout (%s) reached: the sandbox was stopped",
			 info[HUTCH_LIMIT_TIMEOUT].value_str);
	}
	if (ev && mem->set && ev->oom_kill &&
	    (h = add_hit(info, HUTCH_LIMIT_MEMORY, out, max, &n))) {
		h->count = ev->oom_kill;
		h->ended = killed;
		if (killed)
			snprintf(h->message, sizeof(h->message),
				 "memory limit (%s) reached: the command was killed (OOM)",
				 mem->value_str);
		else
			snprintf(h->message, sizeof(h->message),
				 "memory limit (%s) reached: %llu process%s killed (OOM)",
				 mem->value_str, (unsigned long long)ev->oom_kill,
				 ev->oom_kill == 1 ? "" : "es");
	}
	if (ev && pids->set && ev->pids_max &&
	    (h = add_hit(info, HUTCH_LIMIT_PIDS, out, max, &n))) {
		h->count = ev->pids_max;
		snprintf(h->message, sizeof(h->message),
			 "process limit (%s) reached: %llu fork%s refused", pids->value_str,
			 (unsigned long long)ev->pids_max, ev->pids_max == 1 ? "" : "s");
	}
	if (ev && cpus->set && ev->cpu_throttled &&
	    (h = add_hit(info, HUTCH_LIMIT_CPUS, out, max, &n))) {
		h->count = ev->cpu_throttled;
		h->quiet = true;
		snprintf(h->message, sizeof(h->message),
			 "cpu limit (%s) throttled the command %llu time%s (%llu.%01llu s in all)",
			 cpus->value_str, (unsigned long long)ev->cpu_throttled,
			 ev->cpu_throttled == 1 ? "" : "s",
			 (unsigned long long)(ev->cpu_throttled_us / 1000000),
			 (unsigned long long)(ev->cpu_throttled_us / 100000 % 10));
	}
	if (!timed_out && cpus->set && cpus->mech == HUTCH_MECH_UNENFORCED &&
	    exit_status == 128 + SIGXCPU && info[HUTCH_LIMIT_TIMEOUT].set &&
	    (h = add_hit(info, HUTCH_LIMIT_CPUS, out, max, &n))) {
		h->count = 1;
		h->ended = true;
		snprintf(h->message, sizeof(h->message),
			 "cpu time budget (cpus %s x timeout %s, RLIMIT_CPU) reached: the command "
			 "was killed",
			 cpus->value_str, info[HUTCH_LIMIT_TIMEOUT].value_str);
	}
	if (!timed_out && fsz->set && exit_status == 128 + SIGXFSZ &&
	    (h = add_hit(info, HUTCH_LIMIT_FILE_SIZE, out, max, &n))) {
		h->count = 1;
		h->ended = true;
		snprintf(h->message, sizeof(h->message),
			 "file size limit (%s) reached: the command was killed (SIGXFSZ)",
			 fsz->value_str);
	}
	return n;
}

/* ---- one session ---------------------------------------------------------------- */

struct hutch_limits_state {
	struct hutch_limit_info info[_HUTCH_LIMIT_MAX];
	struct hutch_limits rl;
	struct hutch_cgroup *cg;
	struct hutch_limit_hit hits[HUTCH_MAX_LIMIT_HITS];
	size_t n_hits;
};

static bool wants_cgroup(const struct hutch_limits *l)
{
	return l->memory || l->pids || l->cpus_milli;
}

/*
 * Is the kernel going to see us as root (uid 0 of the initial user namespace,
 * which RLIMIT_NPROC does not bind)? uid 0 of a user namespace mapped to
 * another user is bound by it. Fails towards "root" (refusing, not weakening).
 */
static bool kernel_root(void)
{
	char buf[512];
	_cleanup_fclose_ FILE *f = NULL;
	uid_t me = geteuid();

	if (me != 0)
		return false;
	f = fopen("/proc/self/uid_map", "re");
	if (!f)
		return true;
	while (fgets(buf, sizeof(buf), f)) {
		unsigned long in, out, count;
		if (sscanf(buf, "%lu %lu %lu", &in, &out, &count) == 3 && in == 0 && count > 0)
			return out == 0;
	}
	return true;
}

static void avail_from(struct hutch_limits_avail *a, const struct hutch_cg_layout *lay,
		       const struct hutch_cgroup *cg)
{
	memset(a, 0, sizeof(*a));
	a->root = kernel_root();
	if (lay) {
		a->v2_where = lay->v2_parent[0] ? lay->v2_parent : NULL;
		for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++)
			a->v1_where[c] = lay->v1_dir[c][0] ? lay->v1_dir[c] : NULL;
	}
	if (cg) {
		a->v2 = cg->v2_ctrls;
		a->v1 = cg->v1_ctrls;
		for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++)
			a->why[c] = cg->fail[c];
	} else if (lay) {
		/* A probe: what creating would most likely give. */
		a->v2 = lay->v2_parent[0] ? lay->v2_ctrls : 0;
		for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++)
			if (lay->v1_dir[c][0] && !(a->v2 & HUTCH_CG_BIT(c)))
				a->v1 |= HUTCH_CG_BIT(c);
	}
	for (int c = 0; c < _HUTCH_CG_CTRL_MAX; c++)
		if (!a->why[c] || !a->why[c][0])
			a->why[c] =
				a->root ? "no cgroup v2 or v1 hierarchy with this controller"
					: "no delegated cgroup v2 with this controller (not root)";
}

int hutch_limits_prepare(const struct hutch_policy *p, const char *id,
			 struct hutch_limits_state **out, hutch_error *err)
{
	_cleanup_free_ struct hutch_limits_state *s = calloc(1, sizeof(*s));
	_cleanup_free_ struct hutch_cg_layout *lay = NULL;
	struct hutch_limits_avail a;
	int r;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	if (wants_cgroup(&p->limits)) {
		struct hutch_cg_values v = {
			.memory = p->limits.memory,
			.pids = p->limits.pids,
			.cpus_milli = p->limits.cpus_milli,
		};
		lay = calloc(1, sizeof(*lay));
		if (!lay)
			return -ENOMEM;
		hutch_cg_detect_self(lay);
		r = hutch_cgroup_create(lay, &v, id, &s->cg);
		if (r < 0)
			return hutch_err(err, -r, "cgroup");
	}
	avail_from(&a, lay, s->cg);
	hutch_limits_decide(&p->limits, &a, false, s->info);
	r = hutch_limits_check(s->info, p->allow_degraded, err);
	if (r < 0) {
		hutch_cgroup_free(s->cg);
		return r;
	}
	hutch_limits_for_rlimits(&p->limits, s->info, &s->rl);
	*out = TAKE_PTR(s);
	return 0;
}

const struct hutch_limit_info *hutch_limits_info(const struct hutch_limits_state *s)
{
	return s->info;
}

bool hutch_limits_uses_cgroup(const struct hutch_limits_state *s)
{
	return s && s->cg && s->cg->n > 0;
}

int hutch_limits_enter(struct hutch_limits_state *s, pid_t pid, hutch_error *err)
{
	return s ? hutch_cgroup_enter(s->cg, pid, err) : 0;
}

const struct hutch_limits *hutch_limits_rlimits(const struct hutch_limits_state *s)
{
	return &s->rl;
}

size_t hutch_limits_collect(struct hutch_limits_state *s, int exit_status, bool timed_out)
{
	struct hutch_cg_events ev;

	if (!s)
		return 0;
	hutch_cgroup_events(s->cg, &ev);
	s->n_hits = hutch_limits_hits(s->info, s->cg ? &ev : NULL, exit_status, timed_out, s->hits,
				      HUTCH_MAX_LIMIT_HITS);
	return s->n_hits;
}

void hutch_limits_events(const struct hutch_limits_state *s, struct hutch_cg_events *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (s && s->cg)
		hutch_cgroup_events(s->cg, ev);
}

static uint64_t since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

size_t hutch_limits_collect_since(struct hutch_limits_state *s, const struct hutch_cg_events *then,
				  int exit_status)
{
	struct hutch_cg_events ev;

	if (!s)
		return 0;
	hutch_limits_events(s, &ev);
	ev.oom_kill = since(ev.oom_kill, then->oom_kill);
	ev.memory_max = since(ev.memory_max, then->memory_max);
	ev.pids_max = since(ev.pids_max, then->pids_max);
	ev.cpu_throttled = since(ev.cpu_throttled, then->cpu_throttled);
	ev.cpu_throttled_us = since(ev.cpu_throttled_us, then->cpu_throttled_us);
	s->n_hits = hutch_limits_hits(s->info, s->cg ? &ev : NULL, exit_status, false, s->hits,
				      HUTCH_MAX_LIMIT_HITS);
	return s->n_hits;
}

const struct hutch_limit_hit *hutch_limits_fired(const struct hutch_limits_state *s, size_t *n)
{
	*n = s ? s->n_hits : 0;
	return s ? s->hits : NULL;
}

void hutch_limits_say_plan(const struct hutch_limits_state *s, bool verbose,
			   hutch_limits_warn_fn warn, void *data)
{
	char line[512];

	for (int w = 0; s && warn && w < _HUTCH_LIMIT_MAX; w++) {
		const struct hutch_limit_info *li = &s->info[w];
		if (!li->set)
			continue;
		if (li->mech == HUTCH_MECH_UNENFORCED) {
			snprintf(line, sizeof(line), "warning: limit %s (%s) is not enforced: %s",
				 li->name, li->value_str, li->detail);
			warn(line, data);
		} else if (verbose) {
			char d[400];
			snprintf(line, sizeof(line), "limit %s",
				 hutch_limit_describe(li, d, sizeof(d)));
			warn(line, data);
		}
	}
}

void hutch_limits_say_fired(const struct hutch_limits_state *s, bool verbose,
			    hutch_limits_warn_fn warn, void *data)
{
	for (size_t i = 0; s && warn && i < s->n_hits; i++)
		if (s->hits[i].which != HUTCH_LIMIT_TIMEOUT && (!s->hits[i].quiet || verbose))
			warn(s->hits[i].message, data);
}

int hutch_limits_free(struct hutch_limits_state *s)
{
	int r;

	if (!s)
		return 0;
	r = hutch_cgroup_free(s->cg);
	free(s);
	return r;
}

/* ---- public: hutch check, --dry-run --------------------------------------------- */

void hutch_limits_probe(const hutch_policy *p, struct hutch_limit_info out[_HUTCH_LIMIT_MAX])
{
	_cleanup_free_ struct hutch_cg_layout *lay = calloc(1, sizeof(*lay));
	struct hutch_limits_avail a;

	if (lay)
		hutch_cg_detect_self(lay);
	avail_from(&a, lay, NULL);
	hutch_limits_decide(p ? &p->limits : NULL, &a, p == NULL, out);
}

const char *hutch_limit_describe(const struct hutch_limit_info *li, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s: %s%s (%s)", li->name, li->set ? " " : "",
		 li->set ? li->value_str : "", li->mech_name, li->partial ? ", partial" : "",
		 li->detail);
	return buf;
}
