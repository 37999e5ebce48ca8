/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Probing what this machine offers. Features are probed by trying them,
 * never inferred from version numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/file.h"
#include "hutch.h"
#include "sandbox/landlock.h"
#include "sandbox/nft.h"
#include "sandbox/ns.h"
#include "sandbox/seccomp.h"

static int read_int_file(const char *path, long *out)
{
	char buf[32];
	ssize_t n = hutch_read_small_at(AT_FDCWD, path, buf, sizeof(buf));

	*out = 0;
	if (n <= 0)
		return n < 0 ? (int)n : -EIO;
	*out = strtol(buf, NULL, 10);
	return 0;
}

/* Run @fn in a forked child; true if it exited 0. */
static bool try_in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return false;
	if (pid == 0)
		_exit(fn() == 0 ? 0 : 1);
	if (waitpid(pid, &st, 0) < 0)
		return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int child_userns(void)
{
	return unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET) < 0 ? -1 : 0;
}

static int child_overlay(void)
{
	char dir[] = "/tmp/hutch-probe-XXXXXX";
	char lower[64], upper[64], work[64], merged[64], opts[300];
	int ok;

	uid_t uid = getuid();
	gid_t gid = getgid();

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return -1;
	if (hutch_ns_write_id_maps(uid, gid, NULL) < 0)
		return -1;
	if (!mkdtemp(dir))
		return -1;
	snprintf(lower, sizeof(lower), "%s/l", dir);
	snprintf(upper, sizeof(upper), "%s/u", dir);
	snprintf(work, sizeof(work), "%s/w", dir);
	snprintf(merged, sizeof(merged), "%s/m", dir);
	mkdir(lower, 0700);
	mkdir(upper, 0700);
	mkdir(work, 0700);
	mkdir(merged, 0700);
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	ok = mount("overlay", merged, "overlay", 0, opts) == 0;
	if (ok)
		umount2(merged, MNT_DETACH);
	/* work/ may hold a "work" subdirectory created by overlayfs */
	snprintf(opts, sizeof(opts), "%s/work", work);
	rmdir(opts);
	rmdir(lower);
	rmdir(upper);
	rmdir(work);
	rmdir(merged);
	rmdir(dir);
	return ok ? 0 : -1;
}

static void probe_userns(struct hutch_feature_info *fi)
{
	long v;

	fi->available = try_in_child(child_userns);
	if (fi->available) {
		snprintf(fi->detail, sizeof(fi->detail), "unprivileged user namespaces work");
		return;
	}
	if (read_int_file("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &v) == 0 &&
	    v == 1) {
		snprintf(fi->detail, sizeof(fi->detail),
			 "AppArmor restricts unprivileged user namespaces");
		fi->fix = "install hutch's AppArmor profile (make install puts it in "
			  "/etc/apparmor.d/hutch), or: sudo sysctl "
			  "kernel.apparmor_restrict_unprivileged_userns=0";
	} else if (read_int_file("/proc/sys/kernel/unprivileged_userns_clone", &v) == 0 && v == 0) {
		snprintf(fi->detail, sizeof(fi->detail), "kernel.unprivileged_userns_clone is 0");
		fi->fix = "sudo sysctl kernel.unprivileged_userns_clone=1";
	} else if (read_int_file("/proc/sys/user/max_user_namespaces", &v) == 0 && v == 0) {
		snprintf(fi->detail, sizeof(fi->detail), "user.max_user_namespaces is 0");
		fi->fix = "sudo sysctl user.max_user_namespaces=15000";
	} else {
		snprintf(fi->detail, sizeof(fi->detail), "creating a user namespace failed");
		fi->fix = "run outside of a container that forbids namespaces";
	}
}

static void probe_cgroup(struct hutch_feature_info *fi)
{
	char path[512], line[512];
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	_cleanup_fclose_ FILE *c = NULL;

	fi->fix = "run under a systemd user session with delegation "
		  "(systemd-run --user -p Delegate=yes --shell), or let hutch use rlimits";
	if (!f) {
		snprintf(fi->detail, sizeof(fi->detail), "no /proc/self/cgroup");
		return;
	}
	path[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cgroup.controllers",
				 line + 3);
		}
	if (!path[0]) {
		snprintf(fi->detail, sizeof(fi->detail), "no cgroup v2 hierarchy");
		return;
	}
	c = fopen(path, "re");
	if (!c || !fgets(line, sizeof(line), c) || line[0] == '\n') {
		snprintf(fi->detail, sizeof(fi->detail),
			 "cgroup v2 present, no controllers delegated");
		return;
	}
	line[strcspn(line, "\n")] = '\0';
	path[strlen(path) - strlen("/cgroup.controllers")] = '\0';
	if (access(path, W_OK) < 0) {
		snprintf(fi->detail, sizeof(fi->detail), "cgroup v2 (%s) not writable by this user",
			 line);
		return;
	}
	fi->available = true;
	fi->fix = NULL;
	snprintf(fi->detail, sizeof(fi->detail), "controllers: %s", line);
}

void hutch_probe(enum hutch_feature f, struct hutch_feature_info *fi)
{
	static const char *const names[_HUTCH_FEAT_MAX] = {
		[HUTCH_FEAT_USERNS] = "userns",
		[HUTCH_FEAT_LANDLOCK] = "landlock",
		[HUTCH_FEAT_SECCOMP] = "seccomp",
		[HUTCH_FEAT_SECCOMP_NOTIFY] = "seccomp-notify",
		[HUTCH_FEAT_OVERLAY_USERNS] = "overlayfs-userns",
		[HUTCH_FEAT_CGROUP_V2] = "cgroup-v2",
		[HUTCH_FEAT_MOUNT_API] = "mount-api",
		[HUTCH_FEAT_TRANSPARENT] = "transparent-egress",
	};
	bool filter = false, notify = false;
	int abi;

	memset(fi, 0, sizeof(*fi));
	fi->name = f < _HUTCH_FEAT_MAX ? names[f] : "?";
	switch (f) {
	case HUTCH_FEAT_USERNS:
		probe_userns(fi);
		break;
	case HUTCH_FEAT_LANDLOCK:
		abi = hutch_landlock_abi();
		fi->available = abi > 0;
		fi->version = abi > 0 ? abi : 0;
		if (abi > 0) {
			struct hutch_landlock_report rep = {
				.abi = abi > 7 ? 7 : abi,
				.kernel_abi = abi,
				.handled_fs = hutch_landlock_fs_mask(abi > 7 ? 7 : abi),
				.handled_net = hutch_landlock_net_mask(abi > 7 ? 7 : abi),
				.scoped = hutch_landlock_scope_mask(abi > 7 ? 7 : abi),
			};
			char desc[sizeof(fi->detail)];
			hutch_landlock_describe(&rep, desc, sizeof(desc));
			snprintf(fi->detail, sizeof(fi->detail), "ABI %d (%s)", abi, desc);
		} else if (abi == -EOPNOTSUPP) {
			snprintf(fi->detail, sizeof(fi->detail),
				 "built in but not enabled at boot");
			fi->fix = "add landlock to the lsm= kernel parameter (e.g. "
				  "lsm=landlock,lockdown,yama,apparmor) and reboot";
		} else {
			snprintf(fi->detail, sizeof(fi->detail), "not supported by this kernel");
			fi->fix = "use a kernel >= 5.13 with CONFIG_SECURITY_LANDLOCK=y";
		}
		break;
	case HUTCH_FEAT_SECCOMP:
	case HUTCH_FEAT_SECCOMP_NOTIFY:
		hutch_seccomp_probe(&filter, &notify);
		fi->available = f == HUTCH_FEAT_SECCOMP ? filter : notify;
		snprintf(fi->detail, sizeof(fi->detail), "%s",
			 fi->available ? "works" : "not supported by this kernel");
		if (!fi->available)
			fi->fix = f == HUTCH_FEAT_SECCOMP
					  ? "use a kernel with CONFIG_SECCOMP_FILTER=y"
					  : "use a kernel >= 5.5 and libseccomp >= 2.5";
		break;
	case HUTCH_FEAT_OVERLAY_USERNS:
		fi->available = try_in_child(child_overlay);
		snprintf(fi->detail, sizeof(fi->detail), "%s",
			 fi->available ? "overlayfs mounts in a user namespace"
				       : "overlayfs cannot be mounted in a user namespace");
		if (!fi->available)
			fi->fix = "use a kernel >= 5.11 (needed only for --ephemeral)";
		break;
	case HUTCH_FEAT_CGROUP_V2:
		probe_cgroup(fi);
		break;
	case HUTCH_FEAT_MOUNT_API: {
		int fd = open_tree(AT_FDCWD, "/", OPEN_TREE_CLOEXEC);
		fi->available = fd >= 0 || errno != ENOSYS;
		if (fd >= 0)
			close(fd);
		snprintf(fi->detail, sizeof(fi->detail), "%s",
			 fi->available ? "open_tree, move_mount, mount_setattr"
				       : "the new mount API is missing");
		if (!fi->available)
			fi->fix = "use a kernel >= 5.12";
		break;
	}
	case HUTCH_FEAT_TRANSPARENT: {
		hutch_error e = {0};

		fi->available = hutch_nft_probe(&e) == 0;
		snprintf(fi->detail, sizeof(fi->detail), "%s%s",
			 fi->available ? "nf_tables rules in the sandbox's network namespace: "
					 "every program's TCP goes through the allowlist"
				       : "--net proxy serves only programs that use the proxy "
					 "variables: ",
			 fi->available ? "" : e.msg);
		if (!fi->available)
			fi->fix = "load the nf_tables, nft_redir and nf_nat modules (modprobe "
				  "nft_redir), and allow unprivileged user namespaces";
		break;
	}
	default:
		break;
	}
}
