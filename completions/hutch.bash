# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for hutch(1). Installed as
# $datadir/bash-completion/completions/hutch.

# shellcheck shell=bash disable=SC2207 # COMPREPLY=($(compgen ...)): compgen prints words
_hutch_commands="run exec stop ls diff apply discard fork log check connect policy trust oci help"
_hutch_profiles="default strict claude-code codex gemini aider"
_hutch_run_opts="--workspace --policy --srt-settings --profile --net --allow --deny --host-port --ask --rw
--ro --hide --private --socket --env --ephemeral --session --name --audit --memory --pids --cpus --timeout
--stop-timeout --allow-degraded --allow-dangerous-workspace --dry-run --quiet --verbose --help -C -p -a -e -q -v -h"

# Names of named sessions, from "hutch ls" (quietly nothing if that fails).
_hutch_sessions()
{
	hutch ls 2>/dev/null | awk 'NR > 1 && $1 != "" { print $1 }'
}

_hutch_run()
{
	local cur=$1 prev=$2
	case $prev in
	-C | --workspace)
		COMPREPLY=($(compgen -d -- "$cur"))
		return 0 ;;
	-p | --policy | --srt-settings | --audit | --rw | --ro | --hide | --private | --socket)
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0 ;;
	--profile)
		COMPREPLY=($(compgen -W "$_hutch_profiles" -- "$cur"))
		return 0 ;;
	--net)
		COMPREPLY=($(compgen -W "none proxy host" -- "$cur"))
		return 0 ;;
	-e | --env)
		COMPREPLY=($(compgen -v -- "$cur"))
		return 0 ;;
	--session)
		COMPREPLY=($(compgen -W "$(_hutch_sessions)" -- "$cur"))
		return 0 ;;
	-a | --allow | --deny | --host-port | --name | --memory | --pids | --cpus | --timeout | --stop-timeout)
		return 0 ;; # free text
	esac
	return 1
}

_hutch()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd=${COMP_WORDS[1]} i dashdash=0 sub
	COMPREPLY=()

	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "$_hutch_commands --help --version" -- "$cur"))
		return 0
	fi
	case $cmd in
	run)
		for ((i = 2; i < COMP_CWORD; i++)); do
			[ "${COMP_WORDS[i]}" = -- ] && dashdash=$i
		done
		if ((dashdash)); then
			# After "--": the command, then its arguments (files).
			if ((COMP_CWORD == dashdash + 1)); then
				COMPREPLY=($(compgen -c -- "$cur"))
			else
				COMPREPLY=($(compgen -f -- "$cur"))
			fi
			return 0
		fi
		_hutch_run "$cur" "$prev" && return 0
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$_hutch_run_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -c -- "$cur"))
		fi ;;
	exec)
		if ((COMP_CWORD == 2)); then
			COMPREPLY=($(compgen -W "$(_hutch_sessions)" -- "$cur"))
		else
			COMPREPLY=($(compgen -c -- "$cur"))
		fi ;;
	stop)
		COMPREPLY=($(compgen -W "$(_hutch_sessions)" -- "$cur")) ;;
	policy)
		sub=${COMP_WORDS[2]}
		if ((COMP_CWORD == 2)); then
			COMPREPLY=($(compgen -W "validate show import-srt --help" -- "$cur"))
		elif [ "$sub" = show ]; then
			case $prev in
			--profile) COMPREPLY=($(compgen -W "$_hutch_profiles" -- "$cur")) ;;
			-C | --workspace) COMPREPLY=($(compgen -d -- "$cur")) ;;
			-p | --policy) COMPREPLY=($(compgen -f -- "$cur")) ;;
			*) COMPREPLY=($(compgen -W "--profile --policy --workspace -p -C" -- "$cur")) ;;
			esac
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi ;;
	diff | apply | discard | fork)
		if [[ $cur == -* ]]; then
			case $cmd in
			diff) COMPREPLY=($(compgen -W "--stat --name-status --json --unified --workspace" -- "$cur")) ;;
			apply) COMPREPLY=($(compgen -W "--include-protected --dry-run --workspace --quiet --verbose" -- "$cur")) ;;
			discard) COMPREPLY=($(compgen -W "--quiet" -- "$cur")) ;;
			esac
		else
			COMPREPLY=($(compgen -W "$(_hutch_sessions)" -- "$cur"))
		fi ;;
	ls)
		COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
	log)
		case $prev in
		-t | --type) COMPREPLY=($(compgen -W "start exec deny package net file limit end" -- "$cur")) ;;
		-s | --session) ;;
		*)
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W "--session --type --json" -- "$cur"))
			else
				COMPREPLY=($(compgen -f -- "$cur"))
			fi ;;
		esac ;;
	trust)
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	oci)
		COMPREPLY=($(compgen -W "--runc --hutch-policy --root --log --log-format create run start delete kill exec state ps pause resume update features --version" -- "$cur")) ;;
	help)
		COMPREPLY=($(compgen -W "$_hutch_commands" -- "$cur")) ;;
	esac
	return 0
}

complete -o bashdefault -o default -F _hutch hutch
