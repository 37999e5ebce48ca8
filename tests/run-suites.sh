#!/bin/bash
# Run the test suites with one prove, so the output ends with prove's summary.
#
#   tests/run-suites.sh BUILD_DIR all|unit|integration|escape
#
# As root, the integration and escape suites run twice: as root, and as the
# unprivileged user $HUTCH_TEST_USER (default hutchtest; created here when missing and
# removed again afterwards), from a staged copy that user can read (the repository may
# live under /root).
set -euo pipefail

build=${1:-build}
suite=${2:-all}
repo=$(cd "$(dirname "$0")/.." && pwd -P)
build=$(cd "$build" && pwd -P)
user=${HUTCH_TEST_USER:-hutchtest}

tests=()
add_unit() {
	local t
	for t in "$build"/tests/unit/test-*; do
		[ -x "$t" ] && [ -f "$t" ] && tests+=("$t")
	done
	return 0
}
add_scripts() { # DIR
	local t
	for t in "$1"/*.t; do
		[ -e "$t" ] && tests+=("$t")
	done
	return 0
}

stage=
trap 'cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A readable copy of the scripts, the binary and the helpers: for the unprivileged pass,
# and for the helper programs tests run *inside* the sandbox (a build directory under
# /tmp or /var/tmp would be invisible there: those are private tmpfs inside).
make_stage() {
	local base=/var/lib/hutch-tests
	if [ "$(id -u)" = 0 ]; then
		mkdir -p "$base" && chmod 1777 "$base"
	elif [ ! -w "$base" ]; then
		base=${XDG_CACHE_HOME:-$HOME/.cache}/hutch-tests
		mkdir -p "$base"
	fi
	stage=$(mktemp -d "$base/stage.XXXXXX")
	chmod 755 "$stage"
	mkdir -p "$stage/tests" "$stage/build/src/cli" "$stage/build/tests"
	cp -a "$repo/tests/." "$stage/tests/"
	cp -a "$build/src/cli/hutch" "$stage/build/src/cli/"
	# hutch oci finds its container init beside the program (src/oci/ of the build tree)
	mkdir -p "$stage/build/src/oci"
	cp -a "$build/src/oci/hutch-oci-init" "$stage/build/src/oci/"
	[ -d "$build/tests/helpers" ] && cp -a "$build/tests/helpers" "$stage/build/tests/"
	# The staged copy runs as $user: lib.sh re-executes each script as that user.
	sed -i "1a export HUTCH_TEST_USER=$user HUTCH=$stage/build/src/cli/hutch HUTCH_HELPERS=$stage/build/tests/helpers" \
		"$stage/tests/lib.sh"
	chmod -R a+rX "$stage"
}

# The unprivileged user: created here when it is missing (and removed again at the end), so
# that a fresh machine runs both passes. HUTCH_TEST_NO_USER=1 asks for the root pass only.
as_user=0
created_user=
remove_user() {
	[ -n "$created_user" ] || return 0
	userdel -r "$created_user" 2>/dev/null || userdel "$created_user" ||
		echo "run-suites: could not remove the test user '$created_user' (userdel $created_user)" >&2
	created_user=
}
# Subordinate ids for the user, for the rootless engines (oci-podman.t, oci-docker-rootless.t,
# oci-ctr-rootless.t): added here when it has none (after the highest range in use), removed
# again at the end.
added_subids=
add_subids() {
	local f start=100000 end
	for f in /etc/subuid /etc/subgid; do
		grep -q "^$user:" "$f" 2>/dev/null && return 0
	done
	for f in /etc/subuid /etc/subgid; do
		end=$(awk -F: '{ e = $2 + $3 } e > m { m = e } END { print m + 0 }' "$f" 2>/dev/null)
		[ "${end:-0}" -gt "$start" ] && start=$end
	done
	if usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" "$user"; then
		added_subids=$start-$((start + 65535))
		echo "# run-suites: gave '$user' the subordinate ids $added_subids (removed again at the end)"
	fi
}
remove_subids() {
	[ -n "$added_subids" ] || return 0
	[ -n "$created_user" ] && return 0 # userdel removes them
	usermod --del-subuids "$added_subids" --del-subgids "$added_subids" "$user" ||
		echo "run-suites: could not remove the subordinate ids $added_subids of '$user'" >&2
}
cleanup() {
	[ -n "$stage" ] && rm -rf "$stage"
	remove_subids
	remove_user
	return 0
}
if [ "$(id -u)" = 0 ] && [ "${HUTCH_TEST_NO_USER:-0}" != 1 ] && [ "$suite" != unit ]; then
	if id -u "$user" >/dev/null 2>&1; then
		as_user=1
	elif err=$(useradd --user-group --create-home --shell /bin/sh "$user" 2>&1); then
		created_user=$user
		as_user=1
		echo "# run-suites: created the unprivileged test user '$user' (removed again at the end)"
	elif [ "${HUTCH_MUST_WORK:-0}" = 1 ]; then
		echo "run-suites: cannot create the unprivileged test user '$user' (useradd: $err)" >&2
		exit 1
	else
		echo "run-suites: WARNING: cannot create the unprivileged test user '$user' (useradd: $err):" \
			"the unprivileged pass is SKIPPED (HUTCH_MUST_WORK=1 makes this a failure)" >&2
	fi
fi

case $suite in
integration | escape | all) make_stage ;;
esac
[ $as_user = 1 ] && [ "$suite" != escape ] && add_subids

case $suite in
unit) add_unit ;;
integration | escape | all)
	[ "$suite" = all ] && add_unit
	dirs=()
	[ "$suite" = all ] || [ "$suite" = integration ] && dirs+=(integration)
	[ "$suite" = all ] || [ "$suite" = escape ] && dirs+=(escape)
	for d in "${dirs[@]}"; do add_scripts "$repo/tests/$d"; done
	if [ $as_user = 1 ]; then
		for d in "${dirs[@]}"; do add_scripts "$stage/tests/$d"; done
	fi
	;;
*)
	echo "usage: $0 BUILD_DIR all|unit|integration|escape" >&2
	exit 2
	;;
esac

export HUTCH=${HUTCH:-$build/src/cli/hutch}
if [ -n "$stage" ]; then
	export HUTCH_HELPERS=${HUTCH_HELPERS:-$stage/build/tests/helpers}
else
	export HUTCH_HELPERS=${HUTCH_HELPERS:-$build/tests/helpers}
fi
jobs=${HUTCH_TEST_JOBS:-2}
prove --timer -j "$jobs" "${tests[@]}"
