#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Paths named through a symbolic link: an --rw (or --ro) path is its real path once the
# policy is finalized (the run does not refuse, writes land in the target, --dry-run shows
# the target), and a hidden path through a symlink stays hidden by either name.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox

# a repository: its protected paths (.git/hooks, .vscode...) get placeholders under the link
make_git_repo "$T/target" >/dev/null
mkdir -p "$T/ro-target"
ln -s "$T/target" "$HOME/link-to-dir"
echo "read me" >"$T/ro-target/f"
ln -s "$T/ro-target" "$HOME/link-ro"

hrun run --rw "$HOME/link-to-dir" -- sh -c 'echo through-link >"$1/f"' sh "$HOME/link-to-dir"
is "$RC" 0 "--rw through a symlink: the run starts and the write succeeds"
[ "$RC" = 0 ] || diag "stderr: $ERR"
is "$(cat "$T/target/f" 2>&1)" "through-link" "  the write landed in the target, on the host"
hrun run --rw "$HOME/link-to-dir" -- sh -c 'echo direct >"$1/g"' sh "$T/target"
is "$(cat "$T/target/g" 2>&1)" "direct" "  the target is writable by its real name too"
hrun run --rw "$HOME/link-to-dir" --dry-run -- true
like "$OUT" "$(re_quote "$T/target")" "  --dry-run shows the target"

hrun run --ro "$HOME/link-ro" -- sh -c 'cat "$1/f"; echo x >"$1/f"' sh "$HOME/link-ro"
like "$OUT" "read me" "--ro through a symlink: readable"
is "$(cat "$T/ro-target/f")" "read me" "  and not written (the target is read-only inside)"

# hidden: the secret directory named by a link; neither name shows it inside
mkdir -p "$T/secret-dir"
echo "$SECRET_MARK" >"$T/secret-dir/key"
ln -s "$T/secret-dir" "$HOME/link-secret"
hrun run --hide "$HOME/link-secret" -- sh -c 'cat "$1/key"; cat "$2/key"; ls "$2"; true' \
	sh "$HOME/link-secret" "$T/secret-dir"
is "$RC" 0 "--hide through a symlink: the run starts"
unlike "$OUT" "$SECRET_MARK" "  the secret is not readable through the link nor by its real name"
unlike "$OUT" "key" "  its directory is not listed"

rm -f "$HOME/link-to-dir" "$HOME/link-ro" "$HOME/link-secret"
done_testing
