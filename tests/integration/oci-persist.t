#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hutch oci: persistence on the mounted workspace (docs/oci.md, "Persistence: the mounted
# workspace"). A host git repository bound writable into a container; inside, as an
# attacker: a hook in .git/hooks and core.fsmonitor in .git/config (refused: bound
# read-only since create, oci-protect.t), a new repository with a hook, a .env with
# LD_PRELOAD. After delete, the real git on the host runs none of it, the quarantine holds
# what was planted and stderr names it; a legitimate edit stays. A container without a
# writable bind: delete says nothing. A host directory swapped for a symbolic link
# between create and delete is not followed.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/lib-oci.sh
. "$HUTCH_TESTS_DIR/lib-oci.sh"
require_sandbox
require_python
oci_require runc git

R=$T/runc-root
ID=oci-p-$$ # not hutch-*: runc names its cgroups after it
oci_cleanup() {
	local st=$? c
	for c in "$ID" "$ID-ro" "$ID-ln" "$ID-au"; do
		runc --root "$R" delete --force "$c" >/dev/null 2>&1
	done
	_t_cleanup
	return "$st"
}
trap oci_cleanup EXIT
export XDG_STATE_HOME=$T/state
Q=$XDG_STATE_HOME/hutch/quarantine

roci() {
	LAST_CMD="hutch-oci --root $R $*"
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" "$OCI_LINK" --root "$R" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

# run_to_end BUNDLE ID: create, start, wait for the workload's last line (BUNDLE/rootfs/work/done).
run_to_end() {
	roci create --bundle "$1" "$2" </dev/null
	is "$RC" 0 "create $2" || diag "$ERR"
	roci start "$2"
	is "$RC" 0 "start $2" || diag "$ERR"
	for _ in $(seq 300); do [ -e "$1/rootfs/work/done" ] && break; sleep 0.1; done
	ok "$([ -e "$1/rootfs/work/done" ] && echo 0 || echo 1)" "the workload of $2 ran to its end"
}

gitq() { git -c user.name=t -c user.email=t@example.org -c safe.directory='*' "$@"; }

M=$T/markers
mkdir -p "$M"
# the attacker's plants, as text (the container has no git: busybox)
HOOK="#!/bin/sh
touch $M/hook"
SUBHOOK="#!/bin/sh
touch $M/subhook"
FSMON="[core]
	fsmonitor = \"touch $M/fsmon; true\""

# ---- control: the plants do run git's code when nothing removes them -----------------------
CT=$T/control
mkdir -p "$CT" && gitq -C "$CT" init -q && echo a >"$CT/README" && gitq -C "$CT" add README
printf '%s\n' "$HOOK" >"$CT/.git/hooks/pre-commit" && chmod +x "$CT/.git/hooks/pre-commit"
printf '%s\n' "$FSMON" >>"$CT/.git/config"
gitq -C "$CT" status >/dev/null 2>&1
gitq -C "$CT" commit -qm c >/dev/null 2>&1
ok "$([ -e "$M/hook" ] && [ -e "$M/fsmon" ] && echo 0 || echo 1)" \
	"control: git runs a planted hook and core.fsmonitor (the test's plants work)"
rm -f "$M"/*

# ---- the project: another user's host repository bound writable; the workload is that user --
P=$T/proj
mkdir -p "$P" && gitq -C "$P" init -q && echo a >"$P/README" && gitq -C "$P" add README &&
	gitq -C "$P" commit -qm init || bail_out "git init"
chown -R 4321:4321 "$P" # another user's project, as under a rootful engine
TPL=$T/tmpl
mkdir -p "$TPL" && gitq -C "$TPL" init -q || bail_out "git init"
printf '%s\n' "$HOOK" >"$T/hook.txt"
printf '%s\n' "$SUBHOOK" >"$T/subhook.txt"
printf '%s\n' "$FSMON" >"$T/fsmon.txt"

B=$T/bundle
oci_bundle "$B" sh -c '
cd /work/proj
cp /plants/hook.txt .git/hooks/pre-commit 2>/dev/null && chmod +x .git/hooks/pre-commit && echo planted-hook
cat /plants/fsmon.txt 2>/dev/null >>.git/config && echo planted-fsmonitor
mkdir sub && cp -r /tmpl/.git sub/.git && cp /plants/subhook.txt sub/.git/hooks/pre-commit &&
	chmod +x sub/.git/hooks/pre-commit && echo planted-repo
printf "LD_PRELOAD=/tmp/evil.so\n" >.env && echo planted-env
echo b >>README
echo done >/work/done' || bail_out "bundle"
chmod 1777 "$B/rootfs/work"
mkdir -p "$T/plants" && cp "$T"/hook.txt "$T"/subhook.txt "$T"/fsmon.txt "$T/plants/"
oci_config "$B" "
c['process']['user'] = {'uid': 4321, 'gid': 4321}
c['mounts'].append({'destination': '/work/proj', 'type': 'bind', 'source': '$P', 'options': ['rbind', 'rw']})
c['mounts'].append({'destination': '/tmpl', 'type': 'bind', 'source': '$TPL', 'options': ['rbind', 'ro']})
c['mounts'].append({'destination': '/plants', 'type': 'bind', 'source': '$T/plants', 'options': ['rbind', 'ro']})
"
run_to_end "$B" "$ID"
ok "$([ -s "$B/hutch-persist" ] && echo 0 || echo 1)" "create recorded the writable binds in the bundle"
roci delete "$ID"
is "$RC" 0 "delete"
unlike "$ERR" "$P/.git/hooks|$P/.git/config" "nothing to take from the existing .git (bound read-only)"
like "$ERR" "$P/sub/.git" "stderr names the new repository's planted code"
like "$ERR" "LD_PRELOAD.*$P/.env|$P/.env" "stderr names the .env"
unlike "$ERR" "$T/tmpl|$T/plants" "read-only binds are not checked"
ok "$([ -f "$Q/$ID$P/sub/.git/hooks/pre-commit" ] && echo 0 || echo 1)" "the quarantine holds the new repository's hook"
ok "$([ -e "$P/.git/hooks/pre-commit" ] && echo 1 || echo 0)" "the hook is gone from the repository"
unlike "$(cat "$P/.git/config")" "fsmonitor *=" "core.fsmonitor is gone from .git/config"
unlike "$(cat "$P/.env" 2>/dev/null)" "LD_PRELOAD=" "LD_PRELOAD is gone from .env"
is "$(cat "$P/README")" "a
b" "a legitimate edit is left alone"
gitq -C "$P" status >/dev/null 2>&1
gitq -C "$P" commit -qam c >/dev/null 2>&1
gitq -C "$P/sub" status >/dev/null 2>&1
gitq -C "$P/sub" commit -q --allow-empty -m c >/dev/null 2>&1
is "$(ls "$M")" "" "the real git on the host runs none of the plants (status, commit, in both repositories)"
ok "$([ -e "$B/hutch-persist" ] && echo 1 || echo 0)" "the record is removed once checked"
roci state "$ID"
isnt "$RC" 0 "the container is gone"

# ---- the policy's audit file gets "persist" events; --log gets the messages ------------------
P3=$T/proj3
mkdir -p "$P3" && gitq -C "$P3" init -q || bail_out "git init"
BA=$T/bundle-audit
oci_bundle "$BA" sh -c 'mkdir /work/proj/new && cp -r /tmpl/.git /work/proj/new/.git &&
	cp /plants/hook.txt /work/proj/new/.git/hooks/post-checkout; echo done >/work/done' ||
	bail_out "bundle"
oci_config "$BA" "
c['mounts'].append({'destination': '/work/proj', 'type': 'bind', 'source': '$P3', 'options': ['rbind', 'rw']})
c['mounts'].append({'destination': '/tmpl', 'type': 'bind', 'source': '$TPL', 'options': ['rbind', 'ro']})
c['mounts'].append({'destination': '/plants', 'type': 'bind', 'source': '$T/plants', 'options': ['rbind', 'ro']})
c['annotations'] = {'dev.hutch.policy': '{\"audit\": {\"file\": \"$T/audit.jsonl\"}}'}
"
run_to_end "$BA" "$ID-au"
roci --log "$T/oci.log" --log-format json delete "$ID-au"
is "$RC" 0 "delete (an audited container)"
like "$ERR" "quarantined $P3/new/.git/hooks/post-checkout" "stderr names the hook"
is "$("$PY" -c 'import json,sys; print([(e["action"], e["path"]) for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "persist"])' "$T/audit.jsonl" 2>&1)" \
	"[('quarantine', '$P3/new/.git/hooks/post-checkout')]" "the audit file has the persist event"
like "$(cat "$T/oci.log" 2>&1)" '"level":"warning","msg":"hutch: quarantined '"$P3"'/new/.git/hooks/post-checkout' \
	"--log has the message, in runc's JSON format"

# ---- no writable bind: nothing recorded, delete says nothing ------------------------------
BR=$T/bundle-ro
oci_bundle "$BR" sh -c 'echo done >/work/done' || bail_out "bundle"
oci_config "$BR" "
c['mounts'].append({'destination': '/work/proj', 'type': 'bind', 'source': '$P', 'options': ['rbind', 'ro']})
"
run_to_end "$BR" "$ID-ro"
ok "$([ -e "$BR/hutch-persist" ] && echo 1 || echo 0)" "no writable bind: nothing recorded"
roci delete "$ID-ro"
is "$RC" 0 "delete"
is "$ERR" "" "delete prints nothing"

# ---- delete --force of a running container; the host directory swapped for a symlink -------
P2=$T/proj2
mkdir -p "$P2/.git/hooks" "$T/elsewhere/.git/hooks"
BL=$T/bundle-ln
oci_bundle "$BL" sh -c 'echo done >/work/done; exec sleep 1000' || bail_out "bundle"
oci_config "$BL" "
c['mounts'].append({'destination': '/work/proj', 'type': 'bind', 'source': '$P2', 'options': ['rbind', 'rw']})
"
run_to_end "$BL" "$ID-ln"
# as if the host path had been steered elsewhere between create and delete
printf '%s\n' "$HOOK" >"$T/elsewhere/.git/hooks/pre-commit"
mv "$P2" "$T/proj2.moved" && ln -s "$T/elsewhere" "$P2"
roci delete --force "$ID-ln"
is "$RC" 0 "delete --force of a running container"
like "$ERR" "could not check.*$P2.*not the directory bound at create" \
	"a writable bind's path that became a symbolic link is named, not followed"
ok "$([ -e "$T/elsewhere/.git/hooks/pre-commit" ] && echo 0 || echo 1)" \
	"nothing was taken from where the symbolic link points"
roci state "$ID-ln"
isnt "$RC" 0 "the container is gone"

done_testing
