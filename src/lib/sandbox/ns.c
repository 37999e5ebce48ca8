/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "sandbox/ns.h"

unsigned long hutch_ns_clone_flags(bool new_net)
{
	unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
			      CLONE_NEWUTS | CLONE_NEWCGROUP;

	if (new_net)
		flags |= CLONE_NEWNET;
	return flags;
}

static int write_file(const char *path, const char *data, hutch_error *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(data);

	if (fd < 0)
		return hutch_err(err, errno, "userns: opening %s", path);
	if (write(fd, data, len) != (ssize_t)len)
		return hutch_err(err, errno, "userns: writing %s", path);
	return 0;
}

int hutch_ns_write_maps(pid_t pid, const struct hutch_id_map *m, hutch_error *err)
{
	char proc[32], path[64], line[64];
	int r;

	if (pid > 0)
		snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	else
		snprintf(proc, sizeof(proc), "/proc/self");
	snprintf(path, sizeof(path), "%s/setgroups", proc);
	r = write_file(path, "deny", err);
	if (r < 0)
		return r;
	snprintf(line, sizeof(line), "%u %u %u\n", (unsigned)m->inside_uid, (unsigned)m->uid,
		 m->count);
	snprintf(path, sizeof(path), "%s/uid_map", proc);
	r = write_file(path, line, err);
	if (r < 0)
		return r;
	snprintf(line, sizeof(line), "%u %u %u\n", (unsigned)m->inside_gid, (unsigned)m->gid,
		 m->count);
	snprintf(path, sizeof(path), "%s/gid_map", proc);
	return write_file(path, line, err);
}

int hutch_ns_write_id_maps(uid_t uid, gid_t gid, hutch_error *err)
{
	struct hutch_id_map m = {uid, uid, gid, gid, 1};

	return hutch_ns_write_maps(0, &m, err);
}
