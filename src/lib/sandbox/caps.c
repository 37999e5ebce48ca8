/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/error.h"
#include "sandbox/caps.h"

/*
 * Without any capability (degraded mode, unprivileged: no user namespace) the
 * bounding set and securebits cannot be changed, and need not be:
 * no_new_privs keeps exec from granting any.
 */
static bool caps_none(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct cur[2] = {{0}};

	return syscall(SYS_capget, &hdr, cur) == 0 && !cur[0].permitted && !cur[1].permitted &&
	       !cur[0].effective && !cur[1].effective;
}

static int clear_ambient(hutch_error *err)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return hutch_err(err, errno, "capabilities: clearing the ambient set");
	return 0;
}

static int drop_bounding(hutch_error *err)
{
	/* Drop until the kernel says the capability does not exist. */
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			return hutch_err(err, errno,
					 "capabilities: dropping %d from the bounding set", cap);
		}
	}
	return clear_ambient(err);
}

int hutch_caps_drop_bounding(hutch_error *err)
{
	if (caps_none())
		return clear_ambient(err);
	return drop_bounding(err);
}

int hutch_caps_drop(bool bounding_dropped, hutch_error *err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};
	int ret;

	if (caps_none())
		return clear_ambient(err);
	ret = bounding_dropped ? clear_ambient(err) : drop_bounding(err);
	if (ret < 0)
		return ret;
	/* A uid 0 inside must not regain capabilities on exec. */
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
			  SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
		  0, 0, 0) < 0)
		return hutch_err(err, errno, "capabilities: locking securebits");
	if (syscall(SYS_capset, &hdr, data) < 0)
		return hutch_err(err, errno, "capabilities: clearing the capability sets");
	return 0;
}

int hutch_caps_drop_all(hutch_error *err)
{
	return hutch_caps_drop(false, err);
}

int hutch_no_new_privs(hutch_error *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hutch_err(err, errno, "no_new_privs");
	return 0;
}
