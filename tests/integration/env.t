#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Environment: secrets dropped by pattern, the rest passes; -e NAME passes one explicitly,
# -e NAME=VALUE sets one; policy env.set / env.drop.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox

V="env-secret-value-$RANDOM$RANDOM"
SECRET_VARS="FOO_TOKEN GITHUB_TOKEN GH_TOKEN AWS_SECRET_ACCESS_KEY AWS_ACCESS_KEY_ID AWS_SESSION_TOKEN
	AWS_PROFILE OPENAI_API_KEY ANTHROPIC_API_KEY MY_KEY DB_PASSWORD MYSQL_PASSWORD_FILE
	CLIENT_SECRET_ID MY_SECRET SSH_AUTH_SOCK GPG_AGENT_INFO DBUS_SESSION_BUS_ADDRESS
	PGPASSWORD MYSQL_PWD DATABASE_URL APP_DATABASE_URL SENTRY_DSN GITHUB_PAT SMTP_PASS
	github_token aws_secret_access_key my_api_key db_password npm_config__auth"
for v in $SECRET_VARS; do
	export "$v=$V-$v"
done
export HARMLESS_VAR=harmless-value EDITOR=vi LANG=C.UTF-8

hrun run -- env
names=$(cut -d= -f1 <<<"$OUT" | sort)
for v in $SECRET_VARS; do
	unlike "$names" "^$v\$" "$v is not passed into the sandbox"
done
unlike "$OUT" "$V" "no secret value appears anywhere in the environment inside"
like "$OUT" "^HARMLESS_VAR=harmless-value\$" "an ordinary variable passes through"
like "$OUT" "^EDITOR=vi\$" "EDITOR passes through"
like "$OUT" "^PATH=$(re_quote "$PATH")\$" "PATH passes through unchanged"
like "$OUT" "^HOME=$HOME\$" "HOME passes through"
like "$OUT" "^TERM=$TERM\$" "TERM passes through"

# Credentials in URLs: a proxy keeps its address without them; anything else is dropped.
http_proxy="http://user:$V@proxy.example:3128" REDIS_CONN="redis://:$V@cache:6379" \
	GIT_REMOTE="ssh://git@github.com/o/r.git" hrun run --net none -- env
like "$OUT" "^http_proxy=http://proxy.example:3128\$" "http_proxy: user and password stripped"
unlike "$OUT" "^REDIS_CONN=" "a variable holding a URL with a password is dropped"
like "$OUT" "^GIT_REMOTE=ssh://git@github.com/o/r.git\$" "  a URL with a user name only passes"
unlike "$OUT" "$V" "  the password appears nowhere inside"

hrun run -- sh -c 'tr "\0" "\n" < /proc/self/environ'
unlike "$OUT" "$V" "/proc/self/environ inside holds no secret either"

# ---- -e ----------------------------------------------------------------------------------
hrun run -e FOO_TOKEN -- env
like "$OUT" "^FOO_TOKEN=$V-FOO_TOKEN\$" "-e FOO_TOKEN passes that one variable explicitly"
unlike "$OUT" "^GITHUB_TOKEN=" "  and only that one"
hrun run --env GH_TOKEN -- env
like "$OUT" "^GH_TOKEN=$V-GH_TOKEN\$" "--env GH_TOKEN works the same"

hrun run -e NEW_VAR=hello -e 'SPACED=a b  c' -- env
like "$OUT" "^NEW_VAR=hello\$" "-e NAME=VALUE sets a variable"
like "$OUT" "^SPACED=a b  c\$" "  values keep spaces"
hrun run -e FOO_TOKEN=overridden -- env
like "$OUT" "^FOO_TOKEN=overridden\$" "-e NAME=VALUE overrides even a secret-looking name"
hrun run -e HARMLESS_VAR=changed -- env
like "$OUT" "^HARMLESS_VAR=changed\$" "-e NAME=VALUE overrides a passed variable"

hrun run -e NOT_SET_ANYWHERE_XYZ -- env
unlike "$OUT" "^NOT_SET_ANYWHERE_XYZ=" "-e NAME of an unset variable sets nothing"

# ---- policy env ------------------------------------------------------------------------------
cat >"$T/env-set.json" <<'JSON'
{
  "env": {
    "set": { "POLICY_VAR": "from-policy" },
    "drop": ["HARMLESS_*"]
  }
}
JSON
hrun run -p "$T/env-set.json" -- env
is "$RC" 0 "a policy with env.set and env.drop is accepted"
like "$OUT" "^POLICY_VAR=from-policy\$" "policy env.set sets a variable"
unlike "$OUT" "^HARMLESS_VAR=" "policy env.drop drops a variable by pattern"
like "$OUT" "^EDITOR=vi\$" "  and leaves the others"

done_testing
