#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Default hidden paths: the fake $HOME's credentials are invisible inside (a hidden
# directory appears empty and unwritable, a hidden file reads as empty), /etc/shadow too;
# the marker in the fake secrets never shows up in any output. Policy "hidden" and the
# strict profile.
# shellcheck source=tests/lib.sh disable=SC2016,SC2088
. "$(dirname "$0")/../lib.sh"
require_sandbox

# Not vacuous: $HOME itself is there and readable.
hrun run -- cat "$HOME/notes.txt"
is "$OUT" "hutch-visible-note" "\$HOME is visible inside (a plain file in it is readable)"

# ---- hidden directories -----------------------------------------------------------------
for d in .ssh .aws .gnupg .config/gh .config/gcloud .azure .kube .docker .terraform.d .config/gemini; do
	hrun run -- sh -c "test -d ~/$d && echo dir; ls -A ~/$d"
	is "$RC:$OUT" "0:dir" "~/$d appears as an empty directory"
done
hrun run -- cat "$HOME/.ssh/id_ed25519"
like "$ERR" "No such file or directory" "~/.ssh/id_ed25519 cannot be read (No such file or directory)"
hrun run -- sh -c 'echo "ssh-ed25519 AAAA evil" > ~/.ssh/authorized_keys'
# Any refusal will do ("unwritable"); dash says "Directory nonexistent" for ENOENT.
like "$ERR" "Read-only file system|Permission denied|Directory nonexistent" "~/.ssh is not writable"
check "  nothing written to the host's ~/.ssh" test ! -e "$HOME/.ssh/authorized_keys"

# ---- hidden files -----------------------------------------------------------------------
for f in .netrc .git-credentials .npmrc .pypirc .vault-token .claude.json \
	.cargo/credentials.toml .claude/.credentials.json .codex/auth.json; do
	hrun run -- sh -c "wc -c < ~/$f"
	is "$RC:$OUT" "0:0" "~/$f reads as empty"
done
# Inside a hidden directory: not there at all, or empty.
hrun run -- sh -c 'wc -c < ~/.aws/credentials'
like "$RC:$OUT $ERR" "^0:0 $|No such file|Permission denied" "~/.aws/credentials is unreadable or empty"
hrun run -- sh -c 'echo "machine evil login x password y" > ~/.netrc'
like "$ERR" "Read-only file system|Permission denied" "a hidden file (~/.netrc) is not writable"

# ---- every default secret path, from the default profile itself -------------------------------
# Each hidden entry under $HOME that lib.sh did not create becomes a file with the marker
# (histories, ~/.pgpass, rclone, ~/.m2/settings.xml, browser profiles, keyrings, ...); the
# checks below then cover the whole table, whatever it grows to.
hrun policy show --profile default
mapfile -t ALL_HIDDEN < <(sed -n '/"hidden": \[/,/\]/p' <<<"$OUT" | grep -o "\"$HOME/[^\"]*\"" | tr -d '"')
like "${#ALL_HIDDEN[@]}" "^[1-9][0-9][0-9]+$" "the default profile hides more than 100 paths under \$HOME"
for h in "${ALL_HIDDEN[@]}"; do
	[ -e "$h" ] && continue
	mkdir -p "$(dirname "$h")"
	printf '%s %s\n' "$SECRET_MARK" "$h" >"$h"
done
for h in .bash_history .zsh_history .pgpass .my.cnf .m2/settings.xml .config/rclone \
	.cache/huggingface/token .config/op .password-store .local/share/keyrings .mozilla \
	.config/google-chrome .config/Code/User/globalStorage .gradle/gradle.properties; do
	like "${ALL_HIDDEN[*]}" "(^| )$HOME/$(re_quote "$h")( |$)" "~/$h is in the default hidden list"
done
hrun run -- sh -c 'for f in "$@"; do cat "$f" 2>/dev/null; done; echo done' sh "${ALL_HIDDEN[@]}"
is "$RC:$OUT" "0:done" "every default hidden path under \$HOME reads as empty or not at all"

# ---- everything at once, by content --------------------------------------------------------
# The pattern is a part of the marker only, so that the command line carries no full marker.
hrun run -- sh -c 'grep -rl "hutch-fake-secret" ~ 2>/dev/null; find ~ -type f -exec cat {} + 2>/dev/null'
unlike "$OUT" "${SECRET_MARK}" "no fake secret is readable anywhere under \$HOME (grep -r, find | cat)"
unlike "$OUT" "hutch-fake-secret" "  not even a file containing one is listed"

# Through a symlink from the workspace.
ln -s "$HOME/.ssh/id_ed25519" ssh-key-link
ln -s "$HOME/.aws" aws-link
hrun run -- sh -c 'cat ssh-key-link; cat aws-link/credentials'
unlike "$OUT" "$SECRET_MARK" "symlinks from the workspace to hidden paths lead nowhere"
rm ssh-key-link aws-link

# ---- /etc/shadow ---------------------------------------------------------------------------
hrun run -- sh -c 'wc -c < /etc/shadow; wc -c < /etc/gshadow'
is "$(words "$OUT")" "0 0" "/etc/shadow and /etc/gshadow read as empty"

# ---- policy "hidden", --hide, strict profile ----------------------------------------------
cat >"$T/hide-notes.json" <<EOF
{ "filesystem": { "hidden": ["~/notes.txt"] } }
EOF
hrun run -p "$T/hide-notes.json" -- sh -c 'wc -c < ~/notes.txt'
is "$RC:$OUT" "0:0" "policy filesystem.hidden with ~: the file reads as empty"

hrun run --profile strict -- sh -c 'cat ~/notes.txt 2>&1; ls -A ~'
unlike "$OUT" "hutch-visible-note" "--profile strict: nothing of \$HOME is readable"
hrun run --profile strict -- sh -c 'echo ws-ok > strict.txt && cat strict.txt'
is "$OUT" "ws-ok" "--profile strict: the workspace is still writable"

# A workspace under $HOME stays visible and writable with strict.
mkdir -p "$HOME/projects/app"
hrun run --profile strict -C "$HOME/projects/app" -- sh -c 'echo in-home > f && cat f; cat ~/notes.txt 2>&1'
like "$OUT" "^in-home$" "--profile strict with a workspace under \$HOME: the workspace works"
unlike "$OUT" "hutch-visible-note" "  and the rest of \$HOME stays hidden"

done_testing
