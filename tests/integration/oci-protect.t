#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hutch oci: the protected paths of a writable bind are read-only from the workload's first
# instruction (docs/oci.md, "Persistence: the mounted workspace"). After runc create, hutch
# binds .git/hooks, .git/config (and the rest of hutch run's list) read-only in the
# container's mount namespace. Inside, the first action (writing a hook, appending
# core.fsmonitor) fails with EROFS; while the container still runs, the real git on the
# host runs no plant. A symbolic .git/hooks pointing into the volume: its target is
# read-only too, and the link cannot be replaced. A second container sharing the volume
# that keeps swapping a protected path for a symbolic link cannot steer a bind out of the
# volume. A bind with shared propagation is refused with no container left. runc run
# with a writable bind is refused. No mount is left on the host.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/lib-oci.sh
. "$HUTCH_TESTS_DIR/lib-oci.sh"
require_sandbox
require_python
oci_require runc git

R=$T/runc-root
ID=oci-pr-$$ # not hutch-*: runc names its cgroups after it
oci_cleanup() {
	local st=$? c
	[ -n "${SWAPPER:-}" ] && kill "$SWAPPER" 2>/dev/null
	for c in "$ID" "$ID-ln" "$ID-sw" "$ID-sh" "$ID-run"; do
		runc --root "$R" delete --force "$c" >/dev/null 2>&1
	done
	for c in $(seq 20); do runc --root "$R" delete --force "$ID-r$c" >/dev/null 2>&1; done
	_t_cleanup
	return "$st"
}
trap oci_cleanup EXIT
export XDG_STATE_HOME=$T/state

roci() {
	LAST_CMD="hutch-oci --root $R $*"
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" "$OCI_LINK" --root "$R" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

# wait_for FILE: until the workload wrote it.
wait_for() {
	for _ in $(seq 300); do [ -e "$1" ] && return 0; sleep 0.1; done
	return 1
}

gitq() { git -c user.name=t -c user.email=t@example.org -c safe.directory='*' "$@"; }
# the mounts on the host under the test's directory (field 5: the mount point)
host_mounts() { awk -v p="$T/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort; }
MNT_BEFORE=$(host_mounts)

M=$T/markers
mkdir -p "$M"
mkdir -p "$T/plants"
printf '#!/bin/sh\ntouch %s/hook\n' "$M" >"$T/plants/hook.txt"
printf '\tfsmonitor = "touch %s/fsmon; true"\n' "$M" >"$T/plants/fsmon.txt"

# ---- the first action of the workload: a hook and core.fsmonitor, refused -----------------
P=$T/proj
mkdir -p "$P" && gitq -C "$P" init -q && echo a >"$P/README" && gitq -C "$P" add README &&
	gitq -C "$P" commit -qm init || bail_out "git init"
mkdir -p "$P/.vscode" && echo '{}' >"$P/.vscode/settings.json"
mkdir -p "$P/lib" && gitq -C "$P/lib" init -q || bail_out "git init" # a nested repository
CONFIG_BEFORE=$(cat "$P/.git/config")
B=$T/bundle
oci_bundle "$B" sh -c '
cd /work/proj
cp /plants/hook.txt .git/hooks/pre-commit 2>>/work/proj/log.txt || echo hook-refused >>/work/proj/log.txt
cat /plants/fsmon.txt 2>>/work/proj/log.txt >>.git/config || echo config-refused >>/work/proj/log.txt
echo x >.vscode/tasks.json 2>/dev/null || echo vscode-refused >>/work/proj/log.txt
cp /plants/hook.txt lib/.git/hooks/pre-commit 2>/dev/null || echo nested-refused >>/work/proj/log.txt
mv .git .git-old 2>/dev/null || echo rename-refused >>/work/proj/log.txt
umount /work/proj/.git/hooks 2>/dev/null || echo umount-refused >>/work/proj/log.txt
echo b >>README && echo edited >>/work/proj/log.txt
echo done >/work/proj/done.txt
exec sleep 1000' || bail_out "bundle"
oci_config "$B" "
c['mounts'].append({'destination': '/work/proj', 'type': 'bind', 'source': '$P', 'options': ['rbind', 'rw']})
c['mounts'].append({'destination': '/plants', 'type': 'bind', 'source': '$T/plants', 'options': ['rbind', 'ro']})
"
roci create --bundle "$B" --pid-file "$T/c.pid" "$ID" </dev/null
is "$RC" 0 "create" || diag "$ERR"
pid=$(cat "$T/c.pid")
is "$(awk '$5 == "/work/proj/.git/hooks" || $5 == "/work/proj/.git/config" { split($6, o, ","); print $5, o[1] }' "/proc/$pid/mountinfo" 2>&1 | sort | tr '\n' ' ')" \
	"/work/proj/.git/config ro /work/proj/.git/hooks ro " \
	"before start: .git/hooks and .git/config are read-only mounts in the container"
roci start "$ID"
is "$RC" 0 "start" || diag "$ERR"
wait_for "$P/done.txt"
LOG=$(cat "$P/log.txt" 2>&1)
like "$LOG" "hook-refused" "the workload's first action, writing .git/hooks/pre-commit, fails"
like "$LOG" "Read-only file system" "  with EROFS"
like "$LOG" "config-refused" "appending core.fsmonitor to .git/config fails"
like "$LOG" "vscode-refused" "another protected path (.vscode) is read-only"
like "$LOG" "nested-refused" "a nested repository's .git/hooks is read-only"
like "$LOG" "rename-refused" "the repository's .git cannot be renamed (pinned)"
like "$LOG" "umount-refused" "the workload cannot unmount them"
like "$LOG" "edited" "a source file stays writable"
is "$(cat "$P/.git/config")" "$CONFIG_BEFORE" ".git/config is unchanged on the host"
# while the container still runs: the developer's git on the host
gitq -C "$P" status >/dev/null 2>&1
gitq -C "$P" commit -qam c >/dev/null 2>&1
is "$(ls "$M")" "" "while the container runs, the host's git status and commit run no plant"
is "$(host_mounts)" "$MNT_BEFORE" "while the container runs, no mount of hutch's on the host"
roci delete --force "$ID"
is "$RC" 0 "delete --force"
is "$(host_mounts)" "$MNT_BEFORE" "after delete, no mount left on the host"

# ---- a symbolic .git/hooks pointing into the volume ----------------------------------------
P2=$T/proj-ln
mkdir -p "$P2" && gitq -C "$P2" init -q || bail_out "git init"
mkdir -p "$P2/shared-hooks" && rm -rf "$P2/.git/hooks" && ln -s ../shared-hooks "$P2/.git/hooks"
BL=$T/bundle-ln
oci_bundle "$BL" sh -c '
cd /work/proj
cp /plants/hook.txt shared-hooks/pre-commit 2>/dev/null || echo target-refused >>/work/proj/log.txt
rm .git/hooks 2>/dev/null || echo link-kept >>/work/proj/log.txt
echo done >/work/proj/done.txt' || bail_out "bundle"
oci_config "$BL" "
c['mounts'].append({'destination': '/work/proj', 'type': 'bind', 'source': '$P2', 'options': ['rbind', 'rw']})
c['mounts'].append({'destination': '/plants', 'type': 'bind', 'source': '$T/plants', 'options': ['rbind', 'ro']})
"
roci create --bundle "$BL" "$ID-ln" </dev/null
is "$RC" 0 "create (a symbolic .git/hooks)" || diag "$ERR"
roci start "$ID-ln"
wait_for "$P2/done.txt"
LOG=$(cat "$P2/log.txt" 2>&1)
like "$LOG" "target-refused" "what the symbolic .git/hooks points to in the volume is read-only"
like "$LOG" "link-kept" "the link itself cannot be removed"
ok "$([ -e "$P2/shared-hooks/pre-commit" ] && echo 1 || echo 0)" "no hook on the host"
roci delete --force "$ID-ln"
is "$(host_mounts)" "$MNT_BEFORE" "after delete, no mount left on the host"

# ---- a second container sharing the volume swaps .git/hooks for a symbolic link -------------
# The swapper (plain runc, nothing of hutch) keeps replacing .git/hooks by a link to a
# directory out of the volume and back; each create either fails (a path that changed under
# it) or binds what lay in the volume at that path: never the directory out of the volume.
P3=$T/proj-sw
mkdir -p "$P3" && gitq -C "$P3" init -q || bail_out "git init"
mkdir -p "$T/outside"
BS=$T/bundle-sw
oci_bundle "$BS" sh -c '
cd /work/proj/.git
while :; do
	mv hooks hooks.d 2>/dev/null; ln -s /outside hooks 2>/dev/null; usleep 2000
	rm -f hooks 2>/dev/null; mv hooks.d hooks 2>/dev/null; usleep 2000
done' || bail_out "bundle"
oci_config "$BS" "
c['mounts'].append({'destination': '/work/proj', 'type': 'bind', 'source': '$P3', 'options': ['rbind', 'rw']})
c['mounts'].append({'destination': '/outside', 'type': 'bind', 'source': '$T/outside', 'options': ['rbind', 'rw']})
"
runc --root "$R" run -d --bundle "$BS" "$ID-sw" </dev/null >/dev/null 2>&1
links=0 dirs=0
for _ in $(seq 20000); do
	if [ -L "$P3/.git/hooks" ]; then links=$((links + 1)); elif [ -d "$P3/.git/hooks" ]; then dirs=$((dirs + 1)); fi
	[ "$links" -gt 0 ] && [ "$dirs" -gt 0 ] && break
done
ok "$([ "$links" -gt 0 ] && [ "$dirs" -gt 0 ] && echo 0 || echo 1)" "the swapper swaps .git/hooks (seen as a link and as a directory)"
BR=$T/bundle-race
oci_bundle "$BR" sleep 1000 || bail_out "bundle"
oci_config "$BR" "
c['mounts'].append({'destination': '/work/proj', 'type': 'bind', 'source': '$P3', 'options': ['rbind', 'rw']})
"
created=0 refused=0 bad=
for i in $(seq 20); do
	roci create --bundle "$BR" "$ID-r$i" </dev/null
	if [ "$RC" = 0 ]; then
		created=$((created + 1))
		pid=$(runc --root "$R" state "$ID-r$i" 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
		# every mount hutch made under the volume shows a root inside the volume's source
		while read -r root mp; do
			case $root in "$P3"/*) ;; *) bad+=" $mp:$root" ;; esac
		done < <(awk 'index($5, "/work/proj/") == 1 { print $4, $5 }' "/proc/$pid/mountinfo")
	elif [[ $ERR == *"changed while hutch protected it"* || $ERR == *"protect:"* ]]; then
		refused=$((refused + 1))
	else
		bad+=" unexpected:$ERR"
	fi
	runc --root "$R" delete --force "$ID-r$i" >/dev/null 2>&1
done
is "$bad" "" "20 creates racing the swapper: every bind lies in the volume ($created created, $refused refused)"
ok "$([ -z "$(ls "$T/outside")" ] && echo 0 || echo 1)" "nothing was written out of the volume"
runc --root "$R" delete --force "$ID-sw" >/dev/null 2>&1
is "$(host_mounts)" "$MNT_BEFORE" "after the race, no mount left on the host"

# ---- a bind with shared propagation: refused, no container left ----------------------------
P4=$T/proj-sh
mkdir -p "$P4" && gitq -C "$P4" init -q || bail_out "git init"
BH=$T/bundle-sh
oci_bundle "$BH" sleep 1000 || bail_out "bundle"
oci_config "$BH" "
c['mounts'].append({'destination': '/work/proj', 'type': 'bind', 'source': '$P4', 'options': ['rbind', 'rw', 'rshared']})
"
roci --log "$T/sh.log" --log-format json create --bundle "$BH" "$ID-sh" </dev/null
isnt "$RC" 0 "a writable bind with shared propagation: create fails"
like "$ERR" "hutch: protect: /work/proj/.git.* shared propagation" "  with hutch's message on stderr"
like "$ERR" "hint: give the volume private or slave propagation" "  and its hint"
like "$(cat "$T/sh.log" 2>&1)" '"level":"error","msg":"hutch: protect: ' "  and in --log"
runc --root "$R" state "$ID-sh" >/dev/null 2>&1
isnt "$?" 0 "  no container left"
is "$(host_mounts)" "$MNT_BEFORE" "  no mount left on the host"
# the same with nothing to protect (no repository, no protected file): it runs
P5=$T/proj-plain
mkdir -p "$P5"
BH2=$T/bundle-sh2
oci_bundle "$BH2" sleep 1000 || bail_out "bundle"
oci_config "$BH2" "
c['mounts'].append({'destination': '/work/proj', 'type': 'bind', 'source': '$P5', 'options': ['rbind', 'rw', 'rshared']})
"
roci create --bundle "$BH2" "$ID-sh" </dev/null
is "$RC" 0 "shared propagation with nothing to protect: create succeeds" || diag "$ERR"
runc --root "$R" delete --force "$ID-sh" >/dev/null 2>&1

# ---- runc run with a writable bind: refused -----------------------------------------------
roci run --bundle "$B" "$ID-run" </dev/null
isnt "$RC" 0 "runc run with a writable bind is refused"
like "$ERR" "needs create and start" "  saying why"
runc --root "$R" state "$ID-run" >/dev/null 2>&1
isnt "$?" 0 "  no container left"

done_testing
