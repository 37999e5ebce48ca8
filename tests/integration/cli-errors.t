#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One command-line error form: "hutch CMD: <what>" and "Try 'hutch CMD --help'.", exit 125,
# nothing else (no usage dump); every subcommand refuses arguments it does not take;
# --help still prints the whole usage on stdout.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"

# usage_error CMD WHAT ARGS...: hutch ARGS fails in the one form.
usage_error() {
	local cmd=$1 what=$2
	shift 2
	hrun "$@"
	is "$RC" 125 "hutch $* -> 125"
	is "$(printf '%s\n' "$ERR" | head -1)" "hutch $cmd: $what" "  message: hutch $cmd: $what"
	is "$(printf '%s\n' "$ERR" | sed -n 2p)" "Try 'hutch $cmd --help'." "  one hint line"
	is "$(printf '%s\n' "$ERR" | grep -c .)" 2 "  and nothing more"
	is "$OUT" "" "  nothing on stdout"
}

usage_error run "unknown option '--foo'" run --foo -- true
usage_error run "unknown option '--foo'" run --foo=bar -- true
usage_error run "unknown option '-Z'" run -Z -- true
usage_error run "option '--rw' requires an argument" run --rw
usage_error run "no command given (hutch run [OPTIONS] -- COMMAND [ARG...])" run
usage_error diff "unknown option '--foo'" diff --foo
usage_error apply "unknown option '--foo'" apply --foo
usage_error discard "unknown option '--foo'" discard --foo
usage_error log "unknown option '--foo'" log --foo x
usage_error ls "unexpected argument 'foo'" ls foo
usage_error check "unexpected argument 'foo'" check foo
usage_error check "unknown option '--foo'" check --foo
usage_error stop "unexpected argument 'b'" stop a b
usage_error fork "unknown option '--foo'" fork --foo
usage_error trust "unknown option '--foo'" trust --foo
usage_error connect "unknown option '--foo'" connect --foo h 22
usage_error policy "unknown subcommand 'nope'" policy nope
usage_error "policy show" "unknown option '--foo'" policy show --foo
usage_error "policy validate" "unknown option '--foo'" policy validate --foo x.json

hrun nope
is "$RC" 125 "an unknown command -> 125"
is "$ERR" "hutch: unknown command 'nope'
Try 'hutch --help'." "  in the same form"

for c in run diff apply log ls check connect policy; do
	hrun "$c" --help
	is "$RC" 0 "hutch $c --help -> 0"
	like "$OUT" "Usage: hutch $c" "  prints the usage on stdout"
done
hrun run --help
ok "$([ "$(printf '%s\n' "$OUT" | wc -l)" -gt 25 ] && echo 0 || echo 1)" "  run --help is the full usage"
like "$OUT" "--allow-dangerous-workspace" "  and lists --allow-dangerous-workspace"

done_testing
