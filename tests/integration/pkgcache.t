#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Package caches under the agent profiles: each tool is pointed, through its own variable,
# at the sandbox's own cache (~/.cache/hutch/pkg/TOOL), which is writable inside and shared
# between sessions, while the host's caches (~/.npm, ~/.cache/pip, ~/.cargo, ...) stay
# read-only and untouched: a cache written inside and read later by the host's own tools
# would be a way to plant code. `npm install` of a local package works inside the profile
# (it failed with "ENOENT mkdir ~/.npm" before), and nothing lands in the host's caches.
# shellcheck source=tests/lib.sh disable=SC2016,SC2088
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

PKG=$HOME/.cache/hutch/pkg
PROFILES="claude-code codex gemini aider"
declare -A VARS=(
	[npm_config_cache]=npm [YARN_CACHE_FOLDER]=yarn [YARN_GLOBAL_FOLDER]=yarn-berry
	[PNPM_HOME]=pnpm [PIP_CACHE_DIR]=pip [UV_CACHE_DIR]=uv [POETRY_CACHE_DIR]=poetry
	[CARGO_HOME]=cargo [GOPATH]=go [GOCACHE]=go-build [GRADLE_USER_HOME]=gradle
	[GEM_HOME]=gem [BUNDLE_USER_HOME]=bundle
)

# ---- every agent profile: the variables, the directory, and nothing else writable ------
for p in $PROFILES; do
	rm -rf "$HOME/.cache/hutch"
	# Host values that point at the host's caches are replaced inside.
	npm_config_cache=$HOME/.npm hrun run --profile "$p" -- sh -c \
		'env | sort; touch ~/.cache/hutch/pkg/w-ok && echo W-OK;
		 touch ~/.cache/hutch/w-bad 2>/dev/null && echo W-BAD; true'
	is "$RC" 0 "$p: runs"
	bad=
	for v in "${!VARS[@]}"; do
		grep -qxF "$v=$PKG/${VARS[$v]}" <<<"$OUT" || bad="$bad $v"
	done
	is "$bad" "" "$p: every cache variable points at ~/.cache/hutch/pkg/TOOL"
	like "$OUT" "MAVEN_OPTS=-Dmaven.repo.local=$PKG/maven" "  maven's local repository too"
	like "$OUT" "W-OK" "  the sandbox's package cache is writable"
	unlike "$OUT" "W-BAD" "  hutch's own cache directory is not"
	check "  the package cache was created on the host" test -d "$PKG"
	is "$(stat -c %a "$PKG")" 700 "  its mode is 0700"
done

# A user's -e replaces the profile's value (and "~" is expanded as in a shell).
hrun run --profile claude-code -e 'npm_config_cache=~/.cache/other' -e 'HX=a:~/b:~' \
	-e 'HY=x~/y' -- sh -c 'echo "C=$npm_config_cache"; echo "X=$HX"; echo "Y=$HY"'
like "$OUT" "C=$HOME/.cache/other" "-e replaces a profile's cache variable, with ~ expanded"
like "$OUT" "X=a:$HOME/b:$HOME" "  ~ after : and at the end of a list is expanded"
like "$OUT" 'Y=x~/y' "  a ~ inside a word is not"

# The default profile (no network) does not change any tool's configuration.
hrun run -- sh -c 'echo "C=${npm_config_cache:-unset} P=${PIP_CACHE_DIR:-unset}"'
is "$OUT" "C=unset P=unset" "default: no cache variables"

# The end-of-run git check does not walk the package cache (only sandboxes use it; go keeps
# bare repositories there): a repository in it is left as it is, and says nothing.
hrun run --profile claude-code -- sh -c 'd=~/.cache/hutch/pkg/go/pkg/mod/cache/vcs/x &&
	git init -q --bare "$d" && printf "#!/bin/sh\n" >"$d/hooks/post-update" && echo ok'
is "$OUT" "ok" "a bare repository with a hook made in the package cache"
check "  is left there (the cache is not walked at the end)" \
	test -f "$PKG/go/pkg/mod/cache/vcs/x/hooks/post-update"
unlike "$ERR" "quarantined" "  and nothing is reported"

# ---- npm install of a local package inside the profile ---------------------------------
if command -v npm >/dev/null && command -v node >/dev/null; then
	mkdir -p "$T/npkg"
	printf '{"name":"hutch-cache-demo","version":"1.0.0","main":"index.js"}\n' >"$T/npkg/package.json"
	echo 'module.exports = "from-the-package";' >"$T/npkg/index.js"
	(cd "$T/npkg" && npm pack --silent >/dev/null 2>&1) || bail_out "npm pack failed"
	cp "$T/npkg/hutch-cache-demo-1.0.0.tgz" "$WS/"
	rm -rf "$HOME/.npm" "$PKG"
	HUTCH_TEST_TIMEOUT=120
	hrun run --profile claude-code -e npm_config_update_notifier=false -- sh -c \
		'npm install --no-audit --no-fund --offline ./hutch-cache-demo-1.0.0.tgz &&
		 node -e "console.log(require(\"hutch-cache-demo\"))"'
	is "$RC" 0 "npm install of a local package works under --profile claude-code"
	like "$OUT" "from-the-package" "  and the package is usable"
	check "  npm's cache is the sandbox's (~/.cache/hutch/pkg/npm)" test -d "$PKG/npm/_cacache"
	check "  the host's ~/.npm was not created or written" test ! -e "$HOME/.npm"
	# The same cache serves the next session.
	rm -rf "$WS/node_modules" "$WS/package.json" "$WS/package-lock.json"
	hrun run --profile codex -e npm_config_update_notifier=false -- sh -c \
		'npm cache ls 2>/dev/null; npm cache verify >/dev/null && echo VERIFIED'
	like "$OUT" "VERIFIED" "  a later session (another profile) uses the same cache"
else
	skip "npm install: node and npm not installed (apt-get install nodejs npm)" 6
fi

# ---- pip: its cache and a local install -------------------------------------------------
if "$PY" -m pip --version >/dev/null 2>&1; then
	mkdir -p "$WS/pypkg/hutchdemo"
	printf 'def hi():\n    return "hi-from-pip"\n' >"$WS/pypkg/hutchdemo/__init__.py"
	printf '[build-system]\nrequires=["setuptools"]\nbuild-backend="setuptools.build_meta"\n[project]\nname="hutchdemo"\nversion="1.0"\n' \
		>"$WS/pypkg/pyproject.toml"
	rm -rf "$HOME/.cache/pip"
	hrun run --profile aider -- sh -c "$PY -m pip cache dir;
		$PY -m pip install -q --no-index --no-build-isolation --target site ./pypkg 2>&1 &&
		PYTHONPATH=site $PY -c 'import hutchdemo; print(hutchdemo.hi())'"
	like "$OUT" "^$PKG/pip" "pip's cache directory is the sandbox's"
	like "$OUT" "hi-from-pip" "pip install of a local package works under --profile aider"
	check "  the host's ~/.cache/pip was not written" test ! -e "$HOME/.cache/pip"
else
	skip "pip: $PY -m pip is not installed (apt-get install python3-pip)" 3
fi

done_testing
