#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# schema/hutch-policy.schema.json describes exactly what src/lib/policy/config.c accepts: for every
# policy file of the test suite, every policy import-srt produces, and a table of small valid
# and invalid policies, the schema's verdict equals `hutch policy validate`'s. Validated with
# python3's jsonschema module when it is installed, else with a small structural validator
# (the keywords the schema uses) written below.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_python

SCHEMA=$HUTCH_REPO/schema/hutch-policy.schema.json
[ -f "$SCHEMA" ] || skip_all "no schema/ next to these tests (the unprivileged pass runs a staged copy)"
[ -x "$HUTCH" ] || skip_all "hutch binary not found at $HUTCH"

cat >"$T/validate.py" <<'EOF'
# validate.py SCHEMA FILE...: one line per file, "valid" or "invalid: why".
import json, re, sys

schema = json.load(open(sys.argv[1]))

def mini(inst, s, path="$"):
    """The JSON Schema keywords hutch-policy.schema.json uses, nothing more."""
    if "$ref" in s:
        ref = s["$ref"]
        assert ref.startswith("#/$defs/"), ref
        return mini(inst, schema["$defs"][ref[len("#/$defs/"):]], path)
    if "oneOf" in s:
        ok = [sub for sub in s["oneOf"] if mini(inst, sub, path) is None]
        if len(ok) != 1:
            return "%s: matches %d of oneOf" % (path, len(ok))
    if "enum" in s and inst not in s["enum"]:
        return "%s: not one of %s" % (path, s["enum"])
    t = s.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    if t == "integer":
        if not isinstance(inst, int) or isinstance(inst, bool):
            return "%s: not an integer" % path
    elif t == "number":
        if not isinstance(inst, (int, float)) or isinstance(inst, bool):
            return "%s: not a number" % path
    elif t is not None and not isinstance(inst, types[t]):
        return "%s: not %s" % (path, t)
    if isinstance(inst, (int, float)) and not isinstance(inst, bool):
        if "minimum" in s and inst < s["minimum"]: return "%s: < minimum" % path
        if "maximum" in s and inst > s["maximum"]: return "%s: > maximum" % path
        if "exclusiveMinimum" in s and inst <= s["exclusiveMinimum"]: return "%s: <= exclusiveMinimum" % path
    if isinstance(inst, str):
        if len(inst) < s.get("minLength", 0): return "%s: too short" % path
        if "maxLength" in s and len(inst) > s["maxLength"]: return "%s: too long" % path
        if "pattern" in s and not re.search(s["pattern"], inst): return "%s: does not match %s" % (path, s["pattern"])
    if isinstance(inst, dict):
        props = s.get("properties", {})
        for k, v in inst.items():
            if "propertyNames" in s:
                e = mini(k, s["propertyNames"], path + "." + k)
                if e: return e
            if k in props:
                e = mini(v, props[k], path + "." + k)
            elif s.get("additionalProperties") is False:
                e = "%s: unknown key %s" % (path, k)
            elif isinstance(s.get("additionalProperties"), dict):
                e = mini(v, s["additionalProperties"], path + "." + k)
            else:
                e = None
            if e: return e
    if isinstance(inst, list) and "items" in s:
        for i, v in enumerate(inst):
            e = mini(v, s["items"], "%s[%d]" % (path, i))
            if e: return e
    return None

try:
    import jsonschema
    validator = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    how = "jsonschema"
    def check(inst):
        errs = sorted(validator.iter_errors(inst), key=lambda e: e.path)
        return errs[0].message if errs else None
except ImportError:
    how = "structural"
    check = lambda inst: mini(inst, schema)

for f in sys.argv[2:]:
    try:
        inst = json.load(open(f))
    except ValueError as e:
        print("invalid: not JSON (%s)" % e)
        continue
    why = check(inst)
    print("valid" if why is None else "invalid: " + why.replace("\n", " ")[:200])
print("validator: " + how, file=sys.stderr)
EOF

# A python3 with the jsonschema module if there is one (the system's or the one on PATH).
VPY=$PY
for c in "$PY" python3; do
	if command -v "$c" >/dev/null && "$c" -c 'import jsonschema' 2>/dev/null; then
		VPY=$(command -v "$c")
		break
	fi
done

P=$T/p
mkdir "$P"
n=0
# case VERDICT JSON: a small policy and what hutch says about it (checked too).
case_() {
	n=$((n + 1))
	printf '%s\n' "$2" >"$P/case$n.json"
	echo "$1" >"$P/case$n.want"
}
case_ valid '{}'
case_ valid '{"extends": "claude-code"}'
case_ invalid '{"extends": "nope"}'
case_ valid '{"require": ["userns", "seccomp"]}'
case_ invalid '{"require": ["userns", "teleport"]}'
case_ invalid '{"filesystem": {"hiden": ["~/.ssh"]}}'
case_ invalid '{"filesystem": {"hidden": "~/.ssh"}}'
case_ invalid '{"filesystem": {"hidden": [""]}}'
case_ invalid '{"filesystem": {"hidden": ["a\u0001b"]}}'
case_ valid '{"filesystem": {"sockets": ["/run/x.sock", "~/y.sock"]}}'
case_ invalid '{"filesystem": {"sockets": ["run/x.sock"]}}'
case_ invalid '{"network": {"mode": "open"}}'
case_ valid '{"network": {"mode": "host", "allowPrivate": true}}'
case_ invalid '{"network": {"allowPrivate": "yes"}}'
case_ invalid '{"network": {"httpPort": 0}}'
case_ invalid '{"network": {"httpPort": 65536}}'
case_ valid '{"network": {"httpPort": 8080, "socksPort": 1081}}'
case_ invalid '{"network": {"socksPort": "1080"}}'
case_ invalid '{"network": {"allow": ["a b.com"]}}'
case_ valid '{"network": {"allow": ["github.com", "*.npmjs.org", "registry.npmjs.org:443"]}}'
case_ valid '{"env": {"pass": ["LANG", "LC_*"], "drop": ["CORP_*"], "set": {"CI": "1"}}}'
case_ invalid '{"env": {"set": {"1A": "x"}}}'
case_ invalid '{"env": {"set": {"A": 1}}}'
case_ invalid '{"env": {"pass": ["A=B"]}}'
case_ invalid '{"env": {"drop": ["A B"]}}'
case_ invalid '{"limits": {"pids": 0}}'
case_ invalid '{"limits": {"pids": -1}}'
case_ invalid '{"limits": {"pids": "10"}}'
case_ invalid '{"limits": {"openFiles": 4294967296}}'
case_ valid '{"limits": {"pids": 4294967295}}'
case_ valid '{"limits": {"memory": "4G", "fileSize": 1024}}'
case_ invalid '{"limits": {"memory": "4X"}}'
case_ invalid '{"limits": {"memory": "0"}}'
case_ invalid '{"limits": {"memory": 0}}'
case_ valid '{"limits": {"cpus": 0.5}}'
case_ valid '{"limits": {"cpus": "1.25"}}'
case_ invalid '{"limits": {"cpus": 0}}'
case_ invalid '{"limits": {"cpus": true}}'
case_ valid '{"limits": {"timeout": "1h30m"}}'
case_ invalid '{"limits": {"timeout": "30"}}'
case_ invalid '{"limits": {"timeout": "0s"}}'
case_ invalid '{"limits": {"timeout": 30}}'
case_ valid '{"audit": {"file": "~/a.jsonl"}}'
case_ invalid '{"audit": {"file": "rel.jsonl"}}'
case_ invalid '{"audit": {"path": "/x"}}'
case_ valid '{"commands": {"allow": ["git *"], "deny": ["sudo *"]}}'
case_ invalid '{"commands": {"deny": [""]}}'
case_ invalid '{"$schema": 1}'
case_ invalid '[]'

# Every policy file of the test suite, and what import-srt makes of sandbox-runtime settings.
files=()
for f in "$HUTCH_REPO"/tests/unit/data/*.json "$HUTCH_REPO"/tests/fuzz/corpus/fuzz-policy/*.json; do
	[ -f "$f" ] && files+=("$f")
done
cat >"$T/srt.json" <<'EOF'
{"network": {"allowedDomains": ["github.com"], "deniedDomains": ["x.github.com"],
  "allowUnixSockets": ["/run/a.sock"]},
 "filesystem": {"denyRead": ["~/.ssh"], "allowRead": ["~/.ssh/config"], "allowWrite": [".", "out"],
  "denyWrite": [".env"]},
 "credentials": {"envVars": [{"name": "TOKEN_X", "mode": "deny"}]}}
EOF
"$HUTCH" policy import-srt "$T/srt.json" >"$P/from-srt.json" 2>/dev/null
files+=("$P/from-srt.json" "$P"/case*.json)

verdicts=$("$VPY" "$T/validate.py" "$SCHEMA" "${files[@]}" 2>"$T/how")
note "$(cat "$T/how")"
i=0
while IFS= read -r v; do
	f=${files[i]}
	i=$((i + 1))
	if "$HUTCH" policy validate "$f" >/dev/null 2>"$T/herr"; then hv=valid; else hv=invalid; fi
	if [ -f "${f%.json}.want" ]; then
		want=$(cat "${f%.json}.want")
		is "$hv" "$want" "hutch policy validate: $(head -c 70 "$f" | tr -d '\n') is $want" ||
			diag "$(cat "$T/herr")"
	fi
	is "${v%%:*}" "$hv" "schema agrees with hutch on $(basename "$f") ($hv)" ||
		diag "schema: $v; hutch: $(cat "$T/herr"); file: $(head -c 300 "$f")"
done <<<"$verdicts"
is "$i" "${#files[@]}" "every file got a verdict"

# Where hutch is stricter than a JSON Schema can say (checked here so the list stays true):
# ".." in a relative protected path; more than three decimals in a CPU count (JSON Schema's
# multipleOf is unreliable on binary floats: 0.1 would fail it); a key written twice (JSON
# parsers keep one of them, hutch refuses the file).
known() {
	printf '%s\n' "$2" >"$T/stricter.json"
	v=$("$VPY" "$T/validate.py" "$SCHEMA" "$T/stricter.json" 2>/dev/null)
	is "$v" "valid" "known difference, $1: the schema accepts $2"
	"$HUTCH" policy validate "$T/stricter.json" >/dev/null 2>&1
	isnt "$?" 0 "  and hutch refuses it"
}
known "relative protected path with .." '{"filesystem": {"protected": ["../outside"]}}'
known "four decimals" '{"limits": {"cpus": 0.0005}}'
known "duplicate key" '{"network": {}, "network": {}}'

done_testing
