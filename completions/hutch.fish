# SPDX-License-Identifier: LGPL-2.1-or-later
# fish completion for hutch(1). Installed as $datadir/fish/vendor_completions.d/hutch.fish.

set -l commands run exec stop ls diff apply discard fork log check connect policy trust oci help

function __hutch_sessions
    hutch ls 2>/dev/null | awk 'NR > 1 && $1 != "" { print $1 }'
end

complete -c hutch -f
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -l help -d 'show help'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -l version -d 'show the version'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a run -d 'run a command in a sandbox'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a exec -d 'run another command in a named session'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a stop -d 'end a named session'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a ls -d 'list sessions'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a diff -d 'show what an ephemeral session changed'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a apply -d "apply an ephemeral session's changes"
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a discard -d 'throw an ephemeral session away'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a fork -d 'start a new session from another'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a log -d 'show an audit log'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a check -d 'show what this machine supports'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a connect -d 'tunnel stdin/stdout to HOST PORT through the sandbox proxy'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a policy -d 'validate, show or import a policy'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a trust -d 'pin a project policy by its hash'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a oci -d 'a runc-compatible runtime for container engines'
complete -c hutch -n "not __fish_seen_subcommand_from $commands" -a help -d 'help on a command'

# hutch run [OPTIONS] [--] COMMAND [ARG...]
set -l run "__fish_seen_subcommand_from run"
complete -c hutch -n $run -s C -l workspace -xa '(__fish_complete_directories)' -d 'writable project root'
complete -c hutch -n $run -s p -l policy -rF -d 'policy file, merged in order'
complete -c hutch -n $run -l srt-settings -rF -d 'Anthropic sandbox-runtime settings'
complete -c hutch -n $run -l profile -xa 'default strict claude-code codex gemini aider' -d 'built-in profile'
complete -c hutch -n $run -l net -xa 'none proxy host' -d 'network mode'
complete -c hutch -n $run -s a -l allow -x -d 'allow a destination'
complete -c hutch -n $run -l deny -x -d 'deny a destination'
complete -c hutch -n $run -l host-port -x -d "reach a port of the host's loopback"
complete -c hutch -n $run -l ask -d 'ask on the terminal before refusing a destination'
complete -c hutch -n $run -l rw -rF -d 'extra writable path'
complete -c hutch -n $run -l ro -rF -d 'extra read-only path'
complete -c hutch -n $run -l hide -rF -d 'make a path invisible'
complete -c hutch -n $run -l private -rF -d 'an empty writable directory of its own over a path'
complete -c hutch -n $run -l socket -rF -d 'expose one host Unix socket'
complete -c hutch -n $run -s e -l env -xa '(set -n)' -d 'pass or set a variable'
complete -c hutch -n $run -l ephemeral -d 'writes go to a session layer'
complete -c hutch -n $run -l session -xa '(__hutch_sessions)' -d 'continue in an ephemeral session'
complete -c hutch -n $run -l name -x -d 'keep the sandbox as a named session'
complete -c hutch -n $run -l audit -rF -d 'append JSON Lines audit events to FILE'
complete -c hutch -n $run -l memory -x -d 'memory limit (512M, 4G)'
complete -c hutch -n $run -l pids -x -d 'process limit'
complete -c hutch -n $run -l cpus -x -d 'CPU limit (2, 0.5)'
complete -c hutch -n $run -l timeout -x -d 'wall-clock limit (30s, 10m)'
complete -c hutch -n $run -l stop-timeout -x -d 'grace period before SIGKILL when stopping (10s)'
complete -c hutch -n $run -l allow-degraded -d 'run with the layers this machine has'
complete -c hutch -n $run -l allow-dangerous-workspace -d 'let the workspace or an --rw path be $HOME, above it or a system directory'
complete -c hutch -n $run -l dry-run -d 'print the effective policy, run nothing'
complete -c hutch -n $run -s q -l quiet -d 'quiet'
complete -c hutch -n $run -s v -l verbose -d 'verbose'
complete -c hutch -n $run -s h -l help -d 'show help'
complete -c hutch -n $run -a '(__fish_complete_command)' -d 'command'

complete -c hutch -n "__fish_seen_subcommand_from exec stop" -xa '(__hutch_sessions)'
complete -c hutch -n "__fish_seen_subcommand_from diff apply discard fork" -xa '(__hutch_sessions)'
complete -c hutch -n "__fish_seen_subcommand_from diff" -l stat -l name-status -l json
complete -c hutch -n "__fish_seen_subcommand_from apply" -l include-protected -l dry-run
complete -c hutch -n "__fish_seen_subcommand_from ls" -l json
complete -c hutch -n "__fish_seen_subcommand_from log" -rF
complete -c hutch -n "__fish_seen_subcommand_from log" -s t -l type -xa 'start exec deny package net file limit end'
complete -c hutch -n "__fish_seen_subcommand_from trust" -rF

# hutch policy validate FILE | show | import-srt FILE
set -l policy "__fish_seen_subcommand_from policy"
complete -c hutch -n "$policy; and not __fish_seen_subcommand_from validate show import-srt" -xa 'validate show import-srt'
complete -c hutch -n "$policy; and __fish_seen_subcommand_from validate import-srt" -rF
complete -c hutch -n "$policy; and __fish_seen_subcommand_from show" -l profile -xa 'default strict claude-code codex gemini aider'
complete -c hutch -n "$policy; and __fish_seen_subcommand_from show" -s p -l policy -rF
complete -c hutch -n "$policy; and __fish_seen_subcommand_from show" -s C -l workspace -xa '(__fish_complete_directories)'

complete -c hutch -n "__fish_seen_subcommand_from help" -xa "$commands"
