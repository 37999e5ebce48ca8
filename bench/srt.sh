#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hutch against Anthropic's sandbox-runtime (`srt`, npm @anthropic-ai/sandbox-runtime) and
# bubblewrap on this machine (not part of make check or CI: srt comes from npm).
#   1. start-up of `true`, one hyperfine run, no shell in between (-N):
#        bare true | bwrap (as bench/startup.sh) | hutch run --net none | hutch run -a (proxy
#        started) | srt with a settings file allowing no domain (srt always starts its proxy)
#   2. proxy throughput: a SIZE (default 1 GiB) download from a local sendfile HTTP server
#      on 127.0.0.1 (file on tmpfs), curl to /dev/null: direct, curl inside `hutch run -a
#      127.0.0.1`, and curl inside `srt` whose settings allow the literal 127.0.0.1:PORT
#      (srt's documented way to reach a local server: its resolved-address check refuses
#      loopback for host names, not for an allow-listed IP literal). Inside srt, curl uses
#      the HTTP_PROXY / FTP_PROXY (socks5h) that srt sets; `--noproxy ''` because srt's
#      NO_PROXY lists 127.0.0.1 and the sandbox has no network of its own. ROUNDS (default 5)
#      interleaved rounds, medians.
# Appends one entry under "## sandbox-runtime (srt)" in bench/RESULTS.md (only that section
# is edited). Raw exports go to BUILD_DIR/bench/.
#
#   bench/srt.sh [BUILD_DIR]       (default: build; HUTCH=/path/to/hutch, SRT=/path/to/srt)
#   SIZE=1073741824 ROUNDS=5 RUNS=100 NO_RECORD=1 bench/srt.sh
# srt: `npm install @anthropic-ai/sandbox-runtime` (needs nodejs, npm, bubblewrap, socat,
# ripgrep); found as $SRT, else `srt` on PATH, else node_modules/.bin/srt here.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$repo"
build=$repo/${1:-build}
hutch=${HUTCH:-$build/src/cli/hutch}
size=${SIZE:-1073741824}
rounds=${ROUNDS:-5}
runs=${RUNS:-100}
out=$build/bench
mkdir -p "$out"
srt=${SRT:-$(type -P srt || echo "$repo/node_modules/.bin/srt")}
for t in hyperfine bwrap python3 curl node socat rg; do
	command -v "$t" >/dev/null || { echo "srt.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
[ -x "$srt" ] || { echo "srt.sh: no srt (npm install @anthropic-ai/sandbox-runtime, or SRT=...)" >&2; exit 1; }
[ -x "$hutch" ] || { echo "srt.sh: no hutch binary at $hutch" >&2; exit 1; }
srt_version=$("$srt" --version)

work=$(mktemp -d /dev/shm/hutch-bench-srt.XXXXXX 2>/dev/null || mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# srt settings: no domain; the workspace (the current directory) writable as in hutch.
cat >"$out/srt-none.json" <<'JSON'
{"network": {"allowedDomains": [], "deniedDomains": []},
 "filesystem": {"denyRead": [], "allowWrite": ["."], "denyWrite": []}}
JSON
"$srt" -s "$out/srt-none.json" true || { echo "srt.sh: srt -s $out/srt-none.json true failed" >&2; exit 1; }
"$hutch" run --net none -- true || { echo "srt.sh: hutch run does not work here" >&2; exit 1; }

# 1. start-up
true_cmd=$(type -P true)
bwrap_cmd="bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent $true_cmd"
args=(-N --warmup 5 --runs "$runs" --export-json "$out/srt-startup.json"
	-n true "$true_cmd" -n bwrap "$bwrap_cmd" -n hutch "$hutch run --net none -- $true_cmd"
	-n "hutch -a" "$hutch run -a example.com -- $true_cmd"
	-n srt "$srt -s $out/srt-none.json $true_cmd")
load_startup=$(cut -d' ' -f1-3 /proc/loadavg)
hyperfine "${args[@]}"
startup_cmdline="hyperfine ${args[*]//$repo\//}"

# 2. proxy throughput
head -c "$size" /dev/zero >"$work/blob"
cat >"$work/server.py" <<'PY'
import os, socket, sys, threading
blob = sys.argv[1]
size = os.path.getsize(blob)
def http(c):
    try:
        while True:
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
            with open(blob, "rb") as f:
                c.sendfile(f)
    except OSError:
        pass
    finally:
        c.close()
a = socket.socket(); a.bind(("127.0.0.1", 0)); a.listen(64)
print(a.getsockname()[1], flush=True)
while True:
    c, _ = a.accept()
    threading.Thread(target=http, args=(c,), daemon=True).start()
PY
python3 "$work/server.py" "$work/blob" >"$work/server.port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/server.port" ] && break; sleep 0.05; done
read -r port <"$work/server.port"
url=http://127.0.0.1:$port/blob
cat >"$out/srt-loopback.json" <<JSON
{"network": {"allowedDomains": ["127.0.0.1:$port"], "deniedDomains": []},
 "filesystem": {"denyRead": [], "allowWrite": ["."], "denyWrite": []}}
JSON
cfmt='%{speed_download}'
c="curl --noproxy '' -sS -o /dev/null --max-time 600 -w '$cfmt'"
declare -A cmd=(
	[direct]="$c $url"
	[hutch-http]="$hutch run -q -a 127.0.0.1 -- $c $url"
	[hutch-connect]="$hutch run -q -a 127.0.0.1 -- $c -p $url"
	[srt-http]="$srt -s $out/srt-loopback.json -c \"$c $url\""
	[srt-connect]="$srt -s $out/srt-loopback.json -c \"$c -p $url\""
	[srt-socks5]="$srt -s $out/srt-loopback.json -c \"$c -x \\\$FTP_PROXY $url\""
)
modes=(direct hutch-http hutch-connect srt-http srt-connect srt-socks5)
: >"$work/rates"
: >"$work/failures"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$rounds"); do
	for m in "${modes[@]}"; do
		for try in 1 2 3; do # a failed transfer is recorded, then tried again (3 tries)
			v=$(eval "${cmd[$m]}" 2>"$work/err") && rc=0 || rc=$?
			[[ $rc = 0 && $v =~ ^[0-9]+$ && $v -gt 0 ]] && break
			echo "$m round $r try $try: exit $rc, rate '$v': $(tr '\n' ' ' <"$work/err")" |
				tee -a "$work/failures" >&2
			[ "$try" = 3 ] && { echo "srt.sh: $m failed 3 times: ${cmd[$m]}" >&2; exit 1; }
		done
		echo "$m $v" >>"$work/rates"
		echo "round $r $m: $(python3 -c "print(f'{$v/1e6:.0f} MB/s')")" >&2
	done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
cp "$work/rates" "$out/srt-rates.txt"
cp "$work/failures" "$out/srt-failures.txt"
{ for m in "${modes[@]}"; do printf '%s: %s\n' "$m" "${cmd[$m]//$repo\/}"; done; } | sed 's/\\\$/$/g' >"$work/cmds"

[ "${NO_RECORD:-0}" = 1 ] && exit 0
python3 - "$out/srt-startup.json" "$work/rates" "$work/cmds" "$work/failures" "$repo/bench/RESULTS.md" \
	"$startup_cmdline" "$(nproc)" "$(uname -r)" "$(date -u +%Y-%m-%dT%H:%MZ)" \
	"$(git -C "$repo" rev-parse --short HEAD)" \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
	"$load_startup" "$load0" "$load1" "$size" "$rounds" "$srt_version" "$(node --version)" \
	"$(bwrap --version)" "$(socat -V | sed -n 's/^socat version \([^ ]*\).*/\1/p')" <<'PY'
import json, os, statistics, sys
(jpath, rates, cmds, fails, rpath, cmdline, nproc, kernel, date, commit, cpu, load_s, load0, load1,
 size, rounds, srtv, nodev, bwrapv, socatv) = sys.argv[1:21]
res = {r["command"]: r for r in json.load(open(jpath))["results"]}
names = ("true", "bwrap", "hutch", "hutch -a", "srt")
med = {k: res[k]["median"] * 1000 for k in names}
mad = {k: (sorted(abs(t - res[k]["median"]) for t in res[k]["times"])[len(res[k]["times"]) // 2])
       * 1000 for k in names}
label = {"true": "bare `true`", "bwrap": "bwrap --unshare-all",
         "hutch": "hutch run --net none", "hutch -a": "hutch run -a example.com (proxy up)",
         "srt": "srt, no domain allowed (proxy up)"}
entry = [f"### {date} (commit {commit})", "",
         f"Machine: {nproc} CPUs ({cpu}), kernel {kernel}. sandbox-runtime {srtv} "
         f"(Node.js {nodev}), {bwrapv}, socat {socatv}. Everything as root.", "",
         f"Start-up of `true`, one hyperfine run ({len(res['true']['times'])} runs each); "
         f"load average before {load_s}:", "",
         "| command | median | MAD | vs true | vs bwrap | vs hutch |",
         "|---|---:|---:|---:|---:|---:|"]
for k in names:
    entry.append(f"| {label[k]} | {med[k]:.2f} ms | {mad[k]:.2f} ms | {med[k] / med['true']:.1f}x "
                 f"| {med[k] / med['bwrap']:.2f}x | {med[k] / med['hutch']:.2f}x |")
entry += ["", f"srt/hutch = {med['srt'] / med['hutch']:.0f}x (--net none), "
          f"{med['srt'] / med['hutch -a']:.0f}x (both with their proxy up); "
          f"srt/bwrap = {med['srt'] / med['bwrap']:.0f}x.", "", "```", cmdline, "```", ""]
v = {}
for line in open(rates):
    m, x = line.split()
    v.setdefault(m, []).append(float(x))
pm = {m: statistics.median(x) for m, x in v.items()}
plabel = {"direct": "direct (no proxy, no sandbox)",
          "hutch-http": "`hutch run`, absolute-form HTTP", "hutch-connect": "`hutch run`, CONNECT",
          "srt-http": "`srt`, absolute-form HTTP", "srt-connect": "`srt`, CONNECT",
          "srt-socks5": "`srt`, SOCKS5 (`-x $FTP_PROXY`, socks5h)"}
entry += [f"Proxy throughput: {int(size) >> 20} MiB download from a local sendfile HTTP server on "
          f"127.0.0.1 (file on tmpfs), curl inside the sandbox to /dev/null, {rounds} "
          f"interleaved rounds; load average {load0} before, {load1} after:", "",
          "| path | median | min | max | vs direct | vs hutch (same request form) |",
          "|---|---:|---:|---:|---:|---:|"]
for m in ("direct", "hutch-http", "hutch-connect", "srt-http", "srt-connect", "srt-socks5"):
    ref = {"srt-http": "hutch-http", "srt-connect": "hutch-connect", "srt-socks5": "hutch-connect"}
    vs = f"{pm[m] / pm[ref[m]]:.2f}x" if m in ref else ""
    entry.append(f"| {plabel[m]} | {pm[m] / 1e6:.0f} MB/s | {min(v[m]) / 1e6:.0f} MB/s "
                 f"| {max(v[m]) / 1e6:.0f} MB/s | {100 * pm[m] / pm['direct']:.0f}% | {vs} |")
entry += ["", "(SOCKS5 compared with hutch's CONNECT: hutch run has no SOCKS5 row here.)", ""]
fl = open(fails).read().splitlines()
entry += ([f"Failed transfers, each tried again (not in the rates above): {len(fl)}", "", "```"]
          + fl + ["```", ""] if fl else ["No transfer failed.", ""])
entry += ["Commands:", "",
          "```"] + open(cmds).read().splitlines() + ["```", ""]
sys.path.insert(0, os.path.dirname(rpath))
from results import append_entry
append_entry(rpath, 'sandbox-runtime (srt)', entry)
PY
