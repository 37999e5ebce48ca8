/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mount plan builder (src/lib/sandbox/mount.c, hutch_mount_plan_build): what
 * the sandbox's filesystem view is made of, computed from a policy without
 * mounting anything.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "sandbox/mount.h"
#include "tap.h"

static hutch_error err;

static const struct hutch_mount_op *find(const struct hutch_mount_plan *plan, const char *path,
					 enum hutch_mount_kind kind)
{
	for (size_t i = 0; plan && i < plan->n; i++)
		if (plan->ops[i].kind == kind && !strcmp(plan->ops[i].path, path))
			return &plan->ops[i];
	return NULL;
}

static size_t count(const struct hutch_mount_plan *plan, const char *path)
{
	size_t n = 0;

	for (size_t i = 0; plan && i < plan->n; i++)
		n += !strcmp(plan->ops[i].path, path);
	return n;
}

static hutch_policy *policy(const char *workspace)
{
	hutch_policy *p = hutch_policy_new();

	if (p)
		p->workspace = strdup(workspace);
	return p;
}

static void test_base(void)
{
	hutch_policy *p = policy("/home/u/proj");
	struct hutch_mount_env env = {.home = "/home/u", .cwd = "/home/u/proj/src", .uid = 1000};
	struct hutch_mount_plan *plan = NULL;
	const struct hutch_mount_op *op;

	p->limits.memory = 1u << 30;
	ok(hutch_mount_plan_build(p, &env, &plan, &err) == 0, "plan built");
	op = find(plan, "/", MOUNT_BASE);
	ok(op && op->source && !strcmp(op->source, "/"), "the host's / is the base");
	op = find(plan, "/home/u/proj", MOUNT_BIND_RW);
	ok(op && !strcmp(op->source, "/home/u/proj") && !op->optional,
	   "the workspace is a writable bind of itself, not optional");
	is_int(count(plan, "/home/u/proj"), 1, "the workspace is planned once");
	is_str(plan->workspace, "/home/u/proj", "plan->workspace");
	is_str(plan->cwd, "/home/u/proj/src", "the cwd inside the workspace is kept");
	ok(plan->tmpfs_size == 1u << 30, "private tmpfs sized by --memory");
	ok(find(plan, "/dev", MOUNT_TMPFS) != NULL, "/dev is a fresh tmpfs");
	ok(find(plan, "/dev/null", MOUNT_BIND_DEV) != NULL, "/dev/null bound from the host");
	ok(find(plan, "/dev/pts", MOUNT_DEVPTS) != NULL, "/dev/pts is a fresh devpts");
	op = find(plan, "/dev/shm", MOUNT_TMPFS);
	ok(op && op->mode == 01777, "/dev/shm: tmpfs 1777");
	ok(find(plan, "/proc", MOUNT_PROC) != NULL, "/proc is the sandbox's own procfs");
	ok(find(plan, "/proc/sys", MOUNT_REBIND_RO) != NULL, "/proc/sys read-only");
	ok(!find(plan, "/sys", MOUNT_BIND_RO), "/sys comes with the base (no root layer)");
	op = find(plan, "/tmp", MOUNT_TMPFS);
	ok(op && op->mode == 01777 && !op->optional, "/tmp: private tmpfs 1777");
	ok(find(plan, "/run", MOUNT_TMPFS) != NULL, "/run: private tmpfs");
	hutch_mount_plan_free(plan);
	hutch_policy_free(p);
}

static void test_cwd_outside(void)
{
	hutch_policy *p = policy("/home/u/proj");
	struct hutch_mount_env env = {.home = "/home/u", .cwd = "/etc", .uid = 1000};
	struct hutch_mount_plan *plan = NULL;

	ok(hutch_mount_plan_build(p, &env, &plan, &err) == 0, "plan built, cwd outside");
	is_str(plan ? plan->cwd : NULL, "/home/u/proj",
	       "a cwd outside the workspace: the workspace");
	hutch_mount_plan_free(plan);
	hutch_policy_free(p);
}

static void test_overlay(void)
{
	hutch_policy *p = policy("/w");
	struct hutch_mount_env env = {.home = "/root", .cwd = "/w", .overlay = "/w\n/s/up\n/s/wk"};
	struct hutch_mount_plan *plan = NULL;
	const struct hutch_mount_op *op;

	ok(hutch_mount_plan_build(p, &env, &plan, &err) == 0, "plan built, --ephemeral");
	op = find(plan, "/w", MOUNT_OVERLAY);
	ok(op && !strcmp(op->source, "/w\n/s/up\n/s/wk"), "the workspace is the session's overlay");
	ok(!find(plan, "/w", MOUNT_BIND_RW), "and not a writable bind");
	hutch_mount_plan_free(plan);
	hutch_policy_free(p);
}

static void test_rules(void)
{
	hutch_policy *p = policy("/w");
	struct hutch_mount_env env = {.home = "/root", .cwd = "/w"};
	struct hutch_mount_plan *plan = NULL;
	const struct hutch_mount_op *op;

	hutch_rules_add(&p->fs_readonly, "/opt/tools", "--ro", false);
	hutch_rules_add(&p->fs_readonly, "/opt/cfg", "/etc/hutch/policy.json:3:5", false);
	hutch_rules_add(&p->fs_writable, "/srv/cache", "--rw", false);
	hutch_rules_add(&p->fs_hidden, "/home/u/.ssh", "--hide", false);
	hutch_rules_add(&p->fs_readonly, ".env", "profile", false);
	ok(hutch_mount_plan_build(p, &env, &plan, &err) == 0, "plan built with rules");
	op = find(plan, "/opt/tools", MOUNT_BIND_RO);
	ok(op && !strcmp(op->source, "/opt/tools") && !op->optional,
	   "--ro PATH: read-only bind, required (a missing path is an error)");
	op = find(plan, "/opt/cfg", MOUNT_BIND_RO);
	ok(op && op->optional, "a file's read-only path: optional");
	ok(find(plan, "/srv/cache", MOUNT_BIND_RW) != NULL, "--rw PATH: writable bind");
	ok(find(plan, "/home/u/.ssh", MOUNT_HIDE) != NULL, "--hide PATH: hidden");
	is_int(count(plan, ".env"), 0, "relative entries are left to protect.c");
	hutch_mount_plan_free(plan);
	hutch_policy_free(p);
}

static void test_locked_hidden(void)
{
	hutch_policy *p = policy("/w");
	struct hutch_mount_env env = {.home = "/root", .cwd = "/w"};
	struct hutch_mount_plan *plan = NULL;

	hutch_rules_add(&p->fs_hidden, "/secret", "/etc/hutch/policy.json:2:3", true);
	hutch_rules_add(&p->fs_writable, "/secret/inner", "--rw", false);
	memset(&err, 0, sizeof(err));
	is_int(hutch_mount_plan_build(p, &env, &plan, &err), -EPERM,
	       "a path inside one the system policy hides: refused");
	ok(plan == NULL, "no plan on error");
	like(err.msg, "hidden by the system policy", "the message says why: %s", err.msg);
	like(err.msg, "/secret/inner (--rw)", "and names the path and where it came from");
	hutch_policy_free(p);
}

static void test_xdg_runtime(void)
{
	hutch_policy *p = policy("/w");
	struct hutch_mount_env env = {
		.home = "/root", .cwd = "/w", .xdg_runtime_dir = "/run/user/7"};
	struct hutch_mount_plan *plan = NULL;
	const struct hutch_mount_op *op;

	ok(hutch_mount_plan_build(p, &env, &plan, &err) == 0,
	   "plan built, XDG_RUNTIME_DIR in /run");
	op = find(plan, "/run/user/7", MOUNT_DIR);
	ok(op && op->mode == 0700, "XDG_RUNTIME_DIR under /run: an empty 0700 directory");
	hutch_mount_plan_free(plan);
	plan = NULL;
	env.xdg_runtime_dir = "/var/xdg";
	ok(hutch_mount_plan_build(p, &env, &plan, &err) == 0,
	   "plan built, XDG_RUNTIME_DIR elsewhere");
	op = find(plan, "/var/xdg", MOUNT_TMPFS);
	ok(op && op->mode == 0700 && op->optional, "elsewhere: a private 0700 tmpfs, optional");
	hutch_mount_plan_free(plan);
	plan = NULL;
	env.xdg_runtime_dir = "relative";
	ok(hutch_mount_plan_build(p, &env, &plan, &err) == 0,
	   "plan built, relative XDG_RUNTIME_DIR");
	is_int(count(plan, "relative"), 0, "a relative XDG_RUNTIME_DIR is ignored");
	hutch_mount_plan_free(plan);
	hutch_policy_free(p);
}

int main(void)
{
	test_base();
	test_cwd_outside();
	test_overlay();
	test_rules();
	test_locked_hidden();
	test_xdg_runtime();
	return done_testing();
}
