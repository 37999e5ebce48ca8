#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Dangerous workspaces and writable paths are refused ($HOME, above it, /, system
# directories; compared by canonical path), with one line of reason and the flag that
# overrides it; settings that would silently do nothing are refused too. Each refusal is
# checked on the HOST: the command did not run, nothing was written.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox

REASON="refusing to make it writable"
PLANT='echo planted > ~/.gitconfig-planted; mkdir -p ~/.config/autostart && echo x > ~/.config/autostart/planted.desktop'

# refused ARGS...: hutch run ARGS -- (plant in $HOME) exits 125 with the reason and the hint,
# and nothing reached the host's home.
refused() {
	local what=$1
	shift
	hrun run "$@" -- sh -c "$PLANT"
	is "$RC" 125 "$what -> 125"
	like "$ERR" "$REASON" "  with the reason"
	like "$ERR" "--allow-dangerous-workspace" "  and the flag that overrides it"
	is "$(printf '%s\n' "$ERR" | grep -c .)" 2 "  in one line and one hint"
	check "  nothing was written to the home directory" \
		test ! -e "$HOME/.gitconfig-planted" -a ! -e "$HOME/.config/autostart/planted.desktop"
}

# ---- $HOME itself, however it is spelt ----------------------------------------------------
cd "$HOME" || bail_out "cd $HOME"
refused "a workspace of \$HOME (cd ~ && hutch run)"
cd "$WS" || bail_out "cd $WS"
refused "-C \$HOME" -C "$HOME"
refused "-C \$HOME/ (trailing slash)" -C "$HOME/"
refused "-C ~/project/.. (canonical path)" -C "$WS/../home/."
ln -s "$HOME" "$T/home-link"
refused "-C a symlink to \$HOME" -C "$T/home-link"
refused "--rw \$HOME" --rw "$HOME"
refused "--rw ~ (expanded)" --rw '~'

# ---- above $HOME, /, system directories --------------------------------------------------
refused "-C an ancestor of \$HOME" -C "$T"
refused "-C /" -C /
refused "--rw /" --rw /
for d in /etc /usr /var /usr/local/bin; do
	refused "-C $d" -C "$d"
done
ln -s /etc "$T/etc-link"
refused "--rw a symlink to /etc" --rw "$T/etc-link"
hrun run --rw / --dry-run
is "$RC" 125 "--rw / is refused by --dry-run as well (not shown as writable)"

cat >"$T/writable-home.json" <<'JSON'
{ "filesystem": { "writable": ["~"] } }
JSON
refused "a policy file's filesystem.writable [\"~\"]" -p "$T/writable-home.json"
hrun policy validate "$T/writable-home.json"
is "$RC" 125 "  policy validate refuses the same file"
like "$ERR" "writable path .* is the home directory" "  for the same reason"

# ---- what stays allowed -------------------------------------------------------------------
mkdir -p "$HOME/project" "$T/sub/dir"
hrun run -C "$HOME/project" -- sh -c 'echo ok > in-project'
is "$RC" 0 "a directory under \$HOME is a fine workspace"
check "  and it was writable" test -s "$HOME/project/in-project"
hrun run --rw "$T/sub" -- sh -c "echo ok > '$T/sub/dir/f'"
is "$RC" 0 "a directory beneath /var (the test tree) is a fine --rw path"
check "  and it was writable" test -s "$T/sub/dir/f"

# ---- the override -------------------------------------------------------------------------
cd "$HOME" || bail_out "cd $HOME"
hrun run --allow-dangerous-workspace -- sh -c 'echo ok > ~/overridden'
is "$RC" 0 "--allow-dangerous-workspace: a workspace of \$HOME runs"
cd "$WS" || bail_out "cd $WS"
check "  and \$HOME was writable, as asked" test -s "$HOME/overridden"
rm -f "$HOME/overridden"

# ---- network settings that would do nothing are refused ----------------------------------
noop() {
	local what=$1 needle=$2
	shift 2
	hrun run "$@" -- sh -c "touch '$T/ran'"
	is "$RC" 125 "$what -> 125"
	like "$ERR" "$needle" "  saying why"
	check "  the command did not run" test ! -e "$T/ran"
}
noop "--net host --deny 127.0.0.1" "host\" cannot filter destinations" --net host --deny 127.0.0.1
noop "--net host -a example.com" "host\" cannot filter destinations" --net host -a example.com
noop "--profile claude-code --net host" "profile claude-code allows" --profile claude-code --net host
hrun run --profile claude-code --net host --dry-run
is "$RC" 125 "  --dry-run refuses it too (it no longer shows an allowlist that is not applied)"
noop "--net none -a example.com" "--net none" --net none -a example.com
like "$ERR" "--net proxy" "  the hint names --net proxy"

cat >"$T/allow-no-mode.json" <<'JSON'
{ "network": { "allow": ["example.com"] } }
JSON
hrun run -p "$T/allow-no-mode.json" --dry-run
like "$OUT" '"mode": "proxy"' "network.allow without a mode: the proxy (like -a)"
hrun policy validate "$T/allow-no-mode.json"
is "$RC" 0 "  and policy validate agrees"
cat >"$T/allow-none.json" <<'JSON'
{ "network": { "mode": "none", "allow": ["example.com"] } }
JSON
hrun policy validate "$T/allow-none.json"
is "$RC" 125 "network.mode none with an allow list: policy validate refuses"
hrun run -p "$T/allow-none.json" -- true
is "$RC" 125 "  and so does run"

# ---- policy validate and run agree ----------------------------------------------------------
cat >"$T/port.json" <<'JSON'
{ "network": { "mode": "proxy", "allow": ["example.com:99999"] } }
JSON
hrun policy validate "$T/port.json"
is "$RC" 125 "a port 99999 in network.allow: policy validate refuses"
like "$ERR" "port\\.json:1:[0-9]+: network\\.allow \"example\\.com:99999\": invalid port" \
	"  with file:line:column"
hrun run -p "$T/port.json" -- true
is "$RC" 125 "  run refuses it the same way"
{
	printf '{"filesystem": {"hidden": ['
	for i in $(seq 1 4090); do printf '"/nonexistent/h%d",' "$i"; done
	printf '"/nonexistent/last"]}}\n'
} >"$T/many.json"
hrun policy validate "$T/many.json"
is "$RC" 125 "4091 hidden paths (over the limit with the profile's): validate refuses"
like "$ERR" "too many entries" "  saying why"
hrun run -p "$T/many.json" -- true
is "$RC" 125 "  and so does run"

done_testing
