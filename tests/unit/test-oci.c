/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hutch_oci_prepare() (src/lib/oci/oci.c) on bundles written here: which of the engine's
 * mounts become writable in the layers file, the rewritten config.json (init first, two
 * read-only binds, Landlock's calls allowed in the engine's profile), config.json.orig,
 * a second create of the same bundle, the policies refused, the exec helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "hutch.h"
#include "oci/layers.h"
#include "tap.h"

static char dir[] = "/tmp/hutch-test-oci.XXXXXX";

static void write_config(const char *json)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/config.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/config.json.orig", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (hutch_write_file_atomic(path, json, strlen(json), 0644) < 0)
		abort();
}

static json_t *read_json(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return json_load_file(path, 0, NULL);
}

/* The layers file's paths with their access, as "path=hex;..." */
/* @v as JSON text, in a buffer of the test's (so that like() gets no allocation to leak). */
static const char *dumps(const json_t *v)
{
	static char buf[65536];
	char *t = json_dumps(v, 0);

	snprintf(buf, sizeof(buf), "%s", t ? t : "");
	free(t);
	return buf;
}

static void layers_paths(char *out, size_t size, uint32_t *flags)
{
	char path[256], *data = NULL;
	size_t len, off, used = 0;
	struct hutch_oci_layers_head h;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/hutch-layers", dir);
	if (hutch_read_file_at(AT_FDCWD, path, 1 << 20, &data, &len) < 0 || len < sizeof(h))
		return;
	memcpy(&h, data, sizeof(h));
	*flags = h.flags;
	off = sizeof(h);
	for (uint32_t i = 0; i < h.n_paths && off < len; i++) {
		struct hutch_oci_layers_path e;

		memcpy(&e, data + off, sizeof(e));
		off += sizeof(e);
		used += (size_t)snprintf(out + used, size - used, "%.*s=%llx;", (int)e.path_len,
					 data + off, (unsigned long long)e.access);
		off += e.path_len;
	}
	free(data);
}

#define BASE                                                                                       \
	"{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/work\"},"             \
	"\"root\":{\"path\":\"rootfs\"},"

int main(void)
{
	struct hutch_oci_opts o = {.bundle = dir, .init_path = "/usr/libexec/hutch/hutch-oci-init"};
	hutch_error err = {0};
	char paths[4096];
	uint32_t flags = 0;
	json_t *c;
	int r;

	if (!mkdtemp(dir))
		return 1;
	/* a runtime-wide policy of the test's own, so that this machine's /etc does not count */
	{
		static char pol[256];

		snprintf(pol, sizeof(pol), "%s/oci.json", dir);
		if (hutch_write_file_atomic(pol, "{}", 2, 0644) < 0)
			abort();
		o.policy_file = pol;
	}

	/* ---- writable places from the engine's mounts ---- */
	write_config(BASE "\"mounts\":["
			  "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
			  "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/x\","
			  "\"options\":[\"rbind\"]},"
			  "{\"destination\":\"/ro\",\"type\":\"bind\",\"source\":\"/y\","
			  "\"options\":[\"rbind\",\"ro\"]},"
			  "{\"destination\":\"/cache\",\"type\":\"none\",\"source\":\"/z\","
			  "\"options\":[\"bind\"]},"
			  "{\"destination\":\"/scratch\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
			  "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/h\"},"
			  "{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"/s\"}"
			  "],\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\"}}}");
	r = hutch_oci_prepare(&o, &err);
	is_int(r, 0, "prepare a bundle (%s)", err.msg);
	layers_paths(paths, sizeof(paths), &flags);
	like(paths, "/=d;", "/ is read and execute (0xd)");
	like(paths, "/dev=800e;", "/dev: read, write, read_dir, ioctl_dev");
	like(paths, "/tmp=ffff;", "/tmp is writable");
	like(paths, "/work=ffff;", "the working directory is writable");
	like(paths, "/data=ffff;", "an rbind volume is writable");
	like(paths, "/cache=ffff;", "a bind given by option is writable");
	like(paths, "/scratch=ffff;", "a tmpfs is writable");
	ok(!strstr(paths, "/ro="), "a read-only bind is not");
	ok(!strstr(paths, "/etc/hosts"), "the engine's /etc/hosts is not");
	ok(!strstr(paths, "/proc"), "/proc is not");
	ok(flags == (HUTCH_OCI_LANDLOCK | HUTCH_OCI_SECCOMP), "Landlock and seccomp, required");

	c = read_json("config.json");
	ok(c != NULL, "config.json is JSON");
	is_str(json_string_value(
		       json_array_get(json_object_get(json_object_get(c, "process"), "args"), 0)),
	       HUTCH_OCI_INIT_DEST, "the init runs first");
	is_str(json_string_value(
		       json_array_get(json_object_get(json_object_get(c, "process"), "args"), 1)),
	       "sh", "then the workload's arguments");
	{
		json_t *m = json_object_get(c, "mounts");
		json_t *last = json_array_get(m, json_array_size(m) - 1);
		json_t *init = json_array_get(m, json_array_size(m) - 2);

		is_str(json_string_value(json_object_get(init, "destination")), HUTCH_OCI_INIT_DEST,
		       "a bind of the init");
		is_str(json_string_value(json_object_get(init, "source")), o.init_path,
		       "  from the host's init");
		is_str(json_string_value(json_object_get(last, "destination")),
		       HUTCH_OCI_LAYERS_DEST, "a bind of the layers file");
		like(dumps(json_object_get(last, "options")), "\"ro\"", "  read-only");
	}
	like(dumps(json_object_get(json_object_get(c, "linux"), "seccomp")),
	     "landlock_restrict_self", "the engine's seccomp profile allows Landlock's calls");
	json_decref(c);
	c = read_json("config.json.orig");
	ok(c && json_array_size(json_object_get(json_object_get(c, "process"), "args")) == 1,
	   "config.json.orig is the engine's");
	json_decref(c);

	/* a second create of the same bundle: from the engine's copy, not wrapped twice */
	is_int(hutch_oci_prepare(&o, &err), 0, "prepare the same bundle again");
	c = read_json("config.json");
	is_int((int)json_array_size(json_object_get(json_object_get(c, "process"), "args")), 2,
	       "the init is not put in front twice");
	json_decref(c);

	/* ---- policies ---- */
	write_config(BASE "\"annotations\":{\"dev.hutch.policy\":"
			  "\"{\\\"network\\\":{\\\"allow\\\":[\\\"example.com\\\"]}}\"}}");
	is_int(hutch_oci_prepare(&o, &err), 0, "a network allowlist (%s)", err.msg);
	is_int(hutch_oci_bundle_netd(o.bundle), 1, "  the container needs its network daemon");
	c = read_json("config.json");
	like(dumps(json_object_get(json_object_get(c, "process"), "env")),
	     "\"HTTPS_PROXY=http://127.0.0.1:3128\"", "  the proxy variables are set");
	ok(!strstr(dumps(json_object_get(json_object_get(c, "process"), "env")), "GIT_SSH_COMMAND"),
	   "  but not GIT_SSH_COMMAND (no hutch connect in a container)");
	like(dumps(json_object_get(c, "mounts")),
	     "{\"destination\": \"/etc/resolv.conf\", \"type\": \"bind\", \"source\": ",
	     "  hutch's resolv.conf over the engine's");
	like(dumps(json_object_get(c, "mounts")), "/hutch-resolv.conf\"", "  from the bundle");
	json_decref(c);
	write_config(BASE "\"annotations\":{\"dev.hutch.policy\":"
			  "\"{\\\"audit\\\":{\\\"file\\\":\\\"/tmp/a.jsonl\\\"}}\"}}");
	is_int(hutch_oci_prepare(&o, &err), 0, "an audit file (%s)", err.msg);
	layers_paths(paths, sizeof(paths), &flags);
	ok(flags & HUTCH_OCI_AUDIT_EXEC, "  the init hands its exec listener over");
	is_int(hutch_oci_bundle_netd(o.bundle), 1, "  the container needs its daemon");
	c = read_json("config.json");
	like(dumps(json_object_get(c, "mounts")),
	     "{\"destination\": \"" HUTCH_OCI_CTL_DEST "\", \"type\": \"bind\"",
	     "  the daemon's socket directory is bound in");
	json_decref(c);
	write_config(BASE "\"annotations\":{}}");
	is_int(hutch_oci_prepare(&o, &err), 0, "the same bundle without it");
	is_int(hutch_oci_bundle_netd(o.bundle), 0, "  needs no network daemon");

	write_config(BASE "\"annotations\":{\"dev.hutch.policy\":"
			  "\"{\\\"network\\\":{\\\"mode\\\":\\\"host\\\",\\\"allow\\\":["
			  "\\\"example.com\\\"]}}\"}}");
	is_int(hutch_oci_prepare(&o, &err), -ENOTSUP,
	       "an allowlist with network mode host is refused");
	like(err.msg, "network.allow needs network.mode \"proxy\"", "  said so");
	c = read_json("config.json");
	is_int((int)json_array_size(json_object_get(json_object_get(c, "process"), "args")), 1,
	       "  and config.json is left as the engine wrote it");
	json_decref(c);

	write_config(BASE "\"annotations\":{\"dev.hutch.policy\":"
			  "\"{\\\"filesystem\\\":{\\\"writable\\\":[\\\"~/x\\\"]}}\"}}");
	is_int(hutch_oci_prepare(&o, &err), -EINVAL, "a writable path that is not absolute");
	like(err.msg, "not an absolute path in the container", "  said so");

	write_config(BASE "\"annotations\":{\"dev.hutch.policy\":"
			  "\"{\\\"filesystem\\\":{\\\"hidden\\\":[\\\"/secret\\\"]}}\"}}");
	is_int(hutch_oci_prepare(&o, &err), -ENOTSUP, "hidden paths are refused");
	like(err.msg, "filesystem.hidden is not supported", "  said so");

	write_config(BASE "\"annotations\":{\"dev.hutch.policy\":"
			  "\"{\\\"filesystem\\\":{\\\"private\\\":[\\\"/scratch\\\"]}}\"}}");
	is_int(hutch_oci_prepare(&o, &err), -ENOTSUP, "private paths are refused");
	like(err.msg, "filesystem.private is not supported", "  said so");

	write_config(BASE "\"annotations\":{\"dev.hutch.policy\":"
			  "\"{\\\"network\\\":{\\\"mode\\\":\\\"host\\\"},"
			  "\\\"filesystem\\\":{\\\"writable\\\":[\\\"/srv\\\"]}}\"}}");
	is_int(hutch_oci_prepare(&o, &err), 0, "network host and a writable path (%s)", err.msg);
	layers_paths(paths, sizeof(paths), &flags);
	like(paths, "/srv=ffff;", "the policy's writable path");

	write_config(BASE "\"annotations\":{\"dev.hutch.profile\":\"default\"}}");
	is_int(hutch_oci_prepare(&o, &err), -ENOTSUP,
	       "an unknown dev.hutch. annotation is refused");
	write_config(BASE "\"annotations\":{\"org.example\":\"x\"}}");
	is_int(hutch_oci_prepare(&o, &err), 0, "other annotations are not hutch's business");

	write_config("{\"process\":");
	ok(hutch_oci_prepare(&o, &err) < 0, "config.json that is not JSON");
	like(err.msg, "config.json:", "  names the file");

	/* ---- exec ---- */
	{
		char *bundle = NULL;
		const char *state = "{\"id\":\"x\",\"bundle\":\"/b/x\",\"status\":\"running\"}";

		is_int(hutch_oci_state_bundle(state, strlen(state), &bundle, &err), 0,
		       "the bundle of runc state");
		is_str(bundle, "/b/x", "  is its \"bundle\"");
		free(bundle);
		is_int(hutch_oci_bundle_wrapped(dir), 1, "a bundle hutch prepared is recognised");
		is_int(hutch_oci_bundle_wrapped("/"), 0, "  another is not");
	}
	{
		char path[256];
		const char *proc = "{\"args\":[\"id\",\"-u\"],\"cwd\":\"/\"}";

		snprintf(path, sizeof(path), "%s/process.json", dir);
		if (hutch_write_file_atomic(path, proc, strlen(proc), 0600) < 0)
			abort();
		is_int(hutch_oci_wrap_process_file(path, &err), 0, "wrap an exec's process file");
		c = read_json("process.json");
		is_str(json_string_value(json_array_get(json_object_get(c, "args"), 0)),
		       HUTCH_OCI_INIT_DEST, "  the init first");
		is_str(json_string_value(json_array_get(json_object_get(c, "args"), 2)), "-u",
		       "  then the arguments");
		json_decref(c);
	}

	hutch_remove_tree(AT_FDCWD, dir);
	return done_testing();
}
