#!/bin/bash
# --ephemeral=root: besides the workspace, the rest of the filesystem (/usr, /etc, /var, ...)
# is under a layer of the session. Writes there work inside (as uid 0 inside: the user's own
# ids mapped to 0 when unprivileged), are seen by the next run of the same session, never
# reach the host, are never diffed or applied, and go with hutch discard. A local .deb
# installs with apt-get and a wheel with pip, as root and unprivileged. Secrets stay hidden,
# protected paths read-only, no capability survives exec; kill -9 leaves nothing.
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

STATE=$XDG_STATE_HOME/hutch/sessions
sid_of() { sed -n 's/.*session \([^ ]*\) keeps the changes.*/\1/p' <<<"$1" | tail -1; }
MARK=hutch-root-$$-$RANDOM # unique names: the root and the unprivileged pass run in parallel
PKG=hutch-test-$$-$RANDOM
if [ "$(id -u)" = 0 ]; then AS=root; else AS=unprivileged; fi
note "running as $AS"
# package installs take seconds; on a loaded machine more
HUTCH_TEST_TIMEOUT=$((HUTCH_TEST_TIMEOUT < 120 ? 120 : HUTCH_TEST_TIMEOUT))

printf '# original hook\n' >"$WS/.git/hooks/post-checkout"
chmod 755 "$WS/.git/hooks/post-checkout"
git -C "$WS" add -A >/dev/null 2>&1
passwd_before=$(sha256sum /etc/passwd)

# ---- writes outside the workspace -------------------------------------------------------------
hrun run --ephemeral=root -- sh -c "printf '#!/bin/sh\necho bin\n' > /usr/local/bin/$MARK &&
	chmod 755 /usr/local/bin/$MARK && echo etc > /etc/$MARK && mkdir -p /opt/$MARK/sub &&
	echo opt > /opt/$MARK/sub/f && echo ws > ws.txt && $MARK && cat /etc/$MARK /opt/$MARK/sub/f &&
	id -u && id -g"
is "$RC" 0 "run --ephemeral=root: writes to /usr/local/bin, /etc, /opt work inside"
is "$OUT" "bin
etc
opt
0
0" "  the command sees them, and runs as uid 0, gid 0 inside ($AS)"
SID=$(sid_of "$ERR")
like "$SID" '^[0-9a-f]{8}$' "the session id is reported ($SID)"
like "$ERR" "root layer.*never applied" "  with a word on the root layer"
check "nothing reached the host's /usr/local/bin" test ! -e "/usr/local/bin/$MARK"
check "nothing reached the host's /etc" test ! -e "/etc/$MARK"
check "nothing reached the host's /opt" test ! -e "/opt/$MARK"
check "the writes are in the session's root layer" test -f "$STATE/$SID/root/upper/etc/$MARK"
is "$(stat -c %a "$STATE/$SID")" 700 "the session directory is mode 0700"

hrun ls
like "$OUT" "^$SID +ephemeral +stopped .*\(root layer\)" "hutch ls shows the root layer"
hrun ls --json
is "$("$PY" -c 'import json,sys; d=json.load(sys.stdin); print([x["mode"] for x in d if x["id"] == sys.argv[1]])' "$SID" <<<"$OUT")" \
	"['root']" "hutch ls --json: mode root"
hrun diff "$SID" --name-status
is "$OUT" "A	ws.txt" "hutch diff shows the workspace only"

# ---- the same session, another run ----------------------------------------------------------
hrun run --session "$SID" -- sh -c "$MARK; cat /etc/$MARK"
is "$RC" 0 "run --session ID of a root session"
is "$OUT" "bin
etc" "  sees the earlier run's writes"

# ---- fork: the root layer goes with it -----------------------------------------------------------
hrun fork "$SID"
is "$RC" 0 "hutch fork of a root session"
FID=$(grep -oE '[0-9a-f]{8}' <<<"$OUT$ERR" | grep -v "^$SID$" | head -1)
like "$FID" '^[0-9a-f]{8}$' "  gives a new session ($FID)"
hrun run --session "$FID" -- sh -c "$MARK; cat /etc/$MARK; echo fork-only > /etc/$MARK-fork; id -u"
is "$RC" 0 "  a run in the fork"
is "$OUT" "bin
etc
0" "  sees the origin's root layer (files, modes: the copied script still runs)"
hrun run --session "$SID" -- sh -c "test -e /etc/$MARK-fork && echo leaked || echo apart"
is "$OUT" "apart" "  and what the fork writes stays in the fork"
if [ "$(id -u)" = 0 ]; then
	is "$(stat -c %u:%g "$STATE/$FID/root/upper/etc/$MARK")" \
		"$(stat -c %u:%g "$STATE/$SID/root/upper/etc/$MARK")" "  owners are kept (as root)"
fi
hrun ls
like "$OUT" "^$FID +ephemeral +stopped .*\(root layer\)" "  hutch ls shows the fork's root layer"
hrun discard "$FID"
is "$RC" 0 "  the fork is discarded"
check "  with its root layer" test ! -e "$STATE/$FID"

# ---- what stays protected ---------------------------------------------------------------------
hrun run --session "$SID" -- sh -c 'cat ~/.ssh/id_ed25519 ~/.aws/credentials 2>/dev/null;
	ls -A ~/.ssh; echo listed'
is "$OUT" "listed" "secrets stay hidden (~/.ssh, ~/.aws)"
hrun run --session "$SID" -- sh -c 'echo EVIL >> .git/hooks/post-checkout && echo wrote-hook;
	printf "#!/bin/sh\necho EVIL\n" > .git/hooks/pre-commit && echo wrote-new-hook;
	echo "[core] hooksPath = /x" >> .git/config && echo wrote-config; true'
is "$OUT" "" "protected paths stay read-only (.git/hooks, .git/config)"
is "$(cat "$WS/.git/hooks/post-checkout")" "# original hook" "  the real hook is untouched"
hrun run --session "$SID" -- sh -c 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status'
is "$(awk '{print $2}' <<<"$OUT" | tr '\n' ' ')" "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000 1 2 " \
	"uid 0 inside, yet no capability, no_new_privs, seccomp"
hrun run --session "$SID" -- sh -c 'mount -t tmpfs none /mnt 2>/dev/null && echo mounted;
	unshare -r true 2>/dev/null && echo userns; true'
is "$OUT" "" "  no mount, no nested user namespace"

# ---- a root-owned file of the host ------------------------------------------------------------
hrun run --session "$SID" -- sh -c 'echo "x:x:9999:9999::/:/bin/false" >> /etc/passwd && echo appended'
if [ "$AS" = root ]; then
	is "$OUT" "appended" "as root: an existing system file can be changed inside (copied up)"
else
	is "$OUT" "" "unprivileged: files owned by the real root stay read-only inside (documented)"
fi
is "$(sha256sum /etc/passwd)" "$passwd_before" "  the host's /etc/passwd is unchanged"

# ---- packages ---------------------------------------------------------------------------------
if ! command -v dpkg-deb >/dev/null || ! command -v apt-get >/dev/null; then
	skip "no dpkg-deb or apt-get on this machine: cannot test a package install" 5
else
	mkdir -p "$T/pkg/deb/DEBIAN" "$T/pkg/deb/usr/bin"
	printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: hutch tests <t@example.invalid>\nDescription: hutch test package\n' \
		"$PKG" >"$T/pkg/deb/DEBIAN/control"
	printf '#!/bin/sh\necho hello from %s\n' "$PKG" >"$T/pkg/deb/usr/bin/$PKG"
	chmod 755 "$T/pkg/deb/usr/bin/$PKG"
	dpkg-deb --root-owner-group -b "$T/pkg/deb" "$T/pkg/$PKG.deb" >/dev/null
	# No capability inside: apt cannot switch to its _apt user; the layer's
	# /etc/apt/apt.conf.d/00hutch-sandbox tells it not to try (no option needed).
	hrun run --session "$SID" -- sh -c "apt-get install -y -q -o Dpkg::Use-Pty=0 '$T/pkg/$PKG.deb' >/tmp/apt.log 2>&1; echo apt=\$?; $PKG;
		dpkg-query -W -f='\${Status}\n' $PKG; cat /tmp/apt.log >&2"
	is "$OUT" "apt=0
hello from $PKG
install ok installed" "apt-get install of a local .deb works inside ($AS)" ||
		diag "apt-get said: $ERR"
	check "  the package is not on the host" test ! -e "/usr/bin/$PKG"
	check "  nor in the host's dpkg database" sh -c "! dpkg-query -W $PKG 2>/dev/null"
	hrun run --session "$SID" -- sh -c "$PKG"
	is "$OUT" "hello from $PKG" "  the next run of the session still has it"
	check "  and its files are in the root layer" test -f "$STATE/$SID/root/upper/usr/bin/$PKG"
fi

if ! "$PY" -m pip --version >/dev/null 2>&1; then
	skip "no pip for $PY on this machine" 2
else
	"$PY" - "$T/pkg" "${PKG//-/_}" <<'EOF'
import base64, hashlib, sys, zipfile
out, name = sys.argv[1], sys.argv[2]
files = {
    f"{name}/__init__.py": "def hello():\n    print('hello from the wheel')\n",
    f"{name}-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
    f"{name}-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: hutch-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    f"{name}-1.0.dist-info/entry_points.txt": f"[console_scripts]\n{name} = {name}:hello\n",
}
record = []
with zipfile.ZipFile(f"{out}/{name}-1.0-py3-none-any.whl", "w") as z:
    for n, c in files.items():
        z.writestr(n, c)
        d = base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{n},sha256={d},{len(c)}")
    record.append(f"{name}-1.0.dist-info/RECORD,,")
    z.writestr(f"{name}-1.0.dist-info/RECORD", "\n".join(record) + "\n")
EOF
	hrun run --session "$SID" -- sh -c "$PY -m pip install -q --no-index --no-deps --no-cache-dir \
		--break-system-packages '$T/pkg/${PKG//-/_}-1.0-py3-none-any.whl' >/dev/null 2>&1;
		echo pip=\$?; ${PKG//-/_}"
	is "$OUT" "pip=0
hello from the wheel" "pip install of a wheel into the system works inside ($AS)"
	check "  nothing of it on the host" sh -c "! ls /usr/local/bin/${PKG//-/_} /usr/local/lib/python3*/dist-packages/${PKG//-/_} 2>/dev/null"
fi

# ---- discard ----------------------------------------------------------------------------------
hrun discard "$SID"
is "$RC" 0 "hutch discard of a root session (its layer holds read-only directories)"
check "  removes the session directory, root layer included" test ! -e "$STATE/$SID"
check "  and leaves no trash behind" sh -c "! ls -A '$STATE' | grep -q trash"

# ---- no changes: no session -------------------------------------------------------------------
hrun run -v --ephemeral=root -- sh -c "cat /etc/hostname >/dev/null; ls /usr/local/bin >/dev/null"
is "$RC" 0 "a root session that only reads"
like "$ERR" "no changes: session [0-9a-f]+ discarded" "  is discarded at once"
if [ "$AS" = unprivileged ]; then
	like "$ERR" "note: --ephemeral=root as an unprivileged user" "  -v says what works unprivileged"
else
	pass "  (as root: no note about unprivileged limits)"
fi

# ---- --session ID --ephemeral=root adds the layer to a workspace session -----------------------
hrun run --ephemeral -- sh -c 'echo w > w.txt'
SID2=$(sid_of "$ERR")
hrun run --session "$SID2" --ephemeral=root -- sh -c "echo r > /etc/$MARK-2 && cat w.txt /etc/$MARK-2"
is "$OUT" "w
r" "--session ID --ephemeral=root: the workspace layer stays, a root layer is added"
check "  nothing on the host" test ! -e "/etc/$MARK-2"
"$HUTCH" discard -q "$SID2"

hrun run --ephemeral=bogus -- true
is "$RC" 125 "--ephemeral=MODE: an unknown mode is refused"
like "$ERR" "unknown mode" "  saying so"

# ---- kill -9: nothing left --------------------------------------------------------------------
marker=hutch-ephroot-$$-$RANDOM
hrun_bg run --ephemeral=root -- bash -c "echo k > /etc/$MARK-k;
	(exec -a sleeper-$marker sleep 300) & exec -a sleeper2-$marker sleep 301"
f=
for _ in $(seq 200); do
	f=$(find "$STATE" -mindepth 5 -maxdepth 5 -path "*/root/upper/etc/$MARK-k" 2>/dev/null | head -1)
	[ -n "$f" ] && pgrep -f "^sleeper2-$marker" >/dev/null && break
	sleep 0.05
done
SID=$(basename "$(dirname "$(dirname "$(dirname "$(dirname "$f")")")")")
check "the sandbox runs ($SID)" sh -c "pgrep -f '^sleeper2-$marker' >/dev/null"
kill -KILL "$HPID"
wait_hutch 5
is "$RC" 137 "hutch died of SIGKILL"
check "no process of the sandbox is left" wait_no_process "^sleeper2?-$marker" 5
check "no mount of the session is left anywhere" \
	sh -c "! grep -qs '$SID' /proc/self/mountinfo /proc/[0-9]*/mountinfo"
hrun ls
like "$OUT" "^$SID +ephemeral +interrupted" "ls: interrupted"
hrun run --session "$SID" -- cat "/etc/$MARK-k"
is "$OUT" "k" "the root layer survived the kill: the next run sees it"
hrun discard "$SID"
is "$RC" 0 "discard after kill -9"
check "  removes it" test ! -e "$STATE/$SID"

done_testing
