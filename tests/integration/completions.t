#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Shell completions (completions/): every command of `hutch --help`, every option of
# `hutch run --help` and every built-in profile is known to the bash, zsh and fish
# completions (so they cannot drift from the binary), and each shell really completes:
# bash through its completion function, zsh through a pseudo-terminal (zpty), fish with
# `complete -C`. A shell that is not installed is skipped with the reason.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"

C=$HUTCH_REPO/completions
[ -d "$C" ] || skip_all "no completions/ next to these tests (the unprivileged pass runs a staged copy)"
[ -x "$HUTCH" ] || skip_all "hutch binary not found at $HUTCH"
BIN=$(dirname "$HUTCH")

commands=$("$HUTCH" --help | awk '/^Commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }')
run_opts=$("$HUTCH" run --help | grep -oE -- '--[a-z][a-z-]+' | sort -u)
profiles=$("$HUTCH" policy --help | sed -n 's/.*built-in profile: *//p' | tr ' ,' '\n\n' | sed '/^$/d')
isnt "$commands" "" "hutch --help lists commands"
like "$run_opts" "--profile" "hutch run --help lists options"
like "$profiles" "claude-code" "hutch policy --help lists the profiles"

for f in hutch.bash _hutch hutch.fish; do
	missing=
	for c in $commands; do
		grep -qE -- "(^|[^a-z-])$c([^a-z-]|$)" "$C/$f" || missing="$missing $c"
	done
	is "$missing" "" "$f knows every command of hutch --help"
	missing=
	for o in $run_opts; do
		case $f in
		hutch.fish) grep -qE -- "-l ${o#--}( |$)" "$C/$f" || missing="$missing $o" ;;
		*) grep -qE -- "$o([^a-z-]|$)" "$C/$f" || missing="$missing $o" ;;
		esac
	done
	is "$missing" "" "$f knows every option of hutch run --help"
	missing=
	for p in $profiles; do
		grep -qE -- "(^|[^a-z-])$p([^a-z-]|$)" "$C/$f" || missing="$missing $p"
	done
	is "$missing" "" "$f knows every built-in profile"
done

# ---- bash ------------------------------------------------------------------------------------
comp_bash() { # WORDS...: what _hutch offers for the last word
	PATH=$BIN:$PATH bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_hutch; printf "%s\n" "${COMPREPLY[@]}" | sort -u | tr "\n" " "' bash "$C/hutch.bash" "$@"
}
is "$(comp_bash hutch ru)" "run " "bash: hutch ru<TAB> -> run"
is "$(comp_bash hutch run --prof)" "--profile " "bash: hutch run --prof<TAB> -> --profile"
is "$(comp_bash hutch run --profile c)" "claude-code codex " "bash: --profile c<TAB> -> claude-code codex"
is "$(comp_bash hutch run --net '')" "host none proxy " "bash: --net <TAB> -> the modes"
is "$(comp_bash hutch policy i)" "import-srt " "bash: hutch policy i<TAB> -> import-srt"
like "$(comp_bash hutch run -- ech)" "(^| )echo " "bash: a command after --"

# ---- zsh (through a pseudo-terminal: zsh completes only interactively) -------------------------
if command -v zsh >/dev/null; then
	comp_zsh() { # LINE: the candidates zsh offers after LINE<TAB>
		local out=$T/zsh.out
		rm -f "$out"
		PATH=$BIN:$PATH timeout 20 zsh -f -c '
			zmodload zsh/zpty
			zpty z zsh -f -i
			zpty -w z "PS1=; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
			zpty -w z "compprefuncs=( _cap ); _cap() { compadd() { builtin compadd -O __h \"\$@\"; builtin compadd \"\$@\"; print -l -- CAP:\${^__h} >>$2; }; }"
			zpty -w z "$3"$'"'"'\t'"'"'
			for i in {1..150}; do [[ -s $2 ]] && break; sleep 0.1; done
			sleep 0.3
			zpty -d z' zsh "$C" "$out" "$1" >/dev/null 2>&1
		sed -n 's/^CAP://p' "$out" 2>/dev/null | sort -u | tr '\n' ' '
	}
	like "$(comp_zsh 'hutch ')" "(^| )run .*trust|(^| )policy " "zsh: hutch <TAB> offers the commands"
	is "$(comp_zsh 'hutch run --profile=')" "aider claude-code codex default gemini strict " \
		"zsh: --profile=<TAB> offers the profiles"
	like "$(comp_zsh 'hutch run --srt')" "--srt-settings" "zsh: --srt<TAB> -> --srt-settings"
else
	skip "zsh is not installed (apt-get install zsh)" 3
fi

# ---- fish ------------------------------------------------------------------------------------
if command -v fish >/dev/null; then
	comp_fish() {
		PATH=$BIN:$PATH fish -c 'source $argv[1]; complete -C $argv[2]' "$C/hutch.fish" "$1" |
			cut -f1 | sort -u | tr '\n' ' '
	}
	like "$(comp_fish 'hutch ')" "run .*trust" "fish: hutch <TAB> offers the commands"
	is "$(comp_fish 'hutch run --profile ')" "aider claude-code codex default gemini strict " \
		"fish: --profile <TAB> offers the profiles"
	is "$(comp_fish 'hutch policy ')" "import-srt show validate " "fish: policy <TAB> offers its subcommands"
else
	skip "fish is not installed (apt-get install fish)" 3
fi

done_testing
