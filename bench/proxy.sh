#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Proxy data path (docs/network.md, Data path and limits):
#   1. a SIZE (default 1 GiB) download from a local HTTP server (sendfile, file on tmpfs),
#      direct and through the proxy (absolute-form HTTP, CONNECT tunnel, SOCKS5) and,
#      for reference, through one socat hop -- interleaved rounds in the same run, medians;
#   2. TUNNELS (default 1000) concurrent CONNECT tunnels, each carrying PER (default 1 MiB)
#      once all are open: the proxy's resident memory idle, with all tunnels open, and at peak;
#   3. transparent egress (docs/network.md): the same download by a client that ignores the
#      proxy variables (curl --noproxy '*' to http://localhost.:PORT/, which the sandbox's
#      resolver maps to a pool address and nftables redirects to the supervisor), in the same
#      interleaved rounds; and SHORT (default 1000) short connections one after the other
#      (connect, 2 bytes back, close): set-up latency direct and through the transparent path;
#   4. the same download direct, in the sandbox without the proxy (--net host), through the
#      CONNECT path and the transparent path, in one hyperfine run (wall times, medians).
# Appends the results under "## proxy throughput" in bench/RESULTS.md (only that section
# is edited). Two ways through the proxy, both allowing 127.0.0.1:
#   - the engine alone (`test-proxy --serve`: the code the supervisor runs, in a process
#     of its own, so its CPU time per GiB can be read);
#   - end to end, `hutch run -a 127.0.0.1 -- curl ...` (curl inside the sandbox, the proxy in
#     hutch's supervisor), and the tunnels test inside the sandbox with the supervisor's
#     resident memory read from outside. Skipped if hutch run cannot do it here.
#
#   bench/proxy.sh [BUILD_DIR]     (default: build; HUTCH=/path/to/hutch)
#   SIZE=1073741824 ROUNDS=5 TUNNELS=1000 PER=1048576 NO_RECORD=1 bench/proxy.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$repo"
build=$repo/${1:-build}
serve=$build/tests/unit/test-proxy
hutch=${HUTCH:-$build/src/cli/hutch}
size=${SIZE:-1073741824}
rounds=${ROUNDS:-5}
tunnels=${TUNNELS:-1000}
per=${PER:-1048576}
short=${SHORT:-1000}
for t in python3 curl; do
	command -v "$t" >/dev/null || { echo "proxy.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
[ -x "$serve" ] || { echo "proxy.sh: no $serve (ninja -C $build)" >&2; exit 1; }

work=$(mktemp -d /dev/shm/hutch-bench-proxy.XXXXXX 2>/dev/null || mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
head -c "$size" /dev/zero >"$work/blob"

# A small threaded HTTP/1.1 server answering every request with the blob (sendfile),
# and streaming PER bytes on raw connections after a one-byte trigger (for the tunnels).
cat >"$work/server.py" <<'PY'
import os, socket, sys, threading
blob, per = sys.argv[1], int(sys.argv[2])
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
def stream(c):
    try:
        if c.recv(1):
            chunk = b"x" * 65536
            left = per
            while left:
                left -= c.send(chunk[:min(left, 65536)])
    except OSError:
        pass
    finally:
        c.close()
def short(c):
    try:
        c.sendall(b"ok")
    except OSError:
        pass
    finally:
        c.close()
def serve(sock, fn):
    while True:
        c, _ = sock.accept()
        threading.Thread(target=fn, args=(c,), daemon=True).start()
a = socket.socket(); a.bind(("127.0.0.1", 0)); a.listen(4096)
b = socket.socket(); b.bind(("127.0.0.1", 0)); b.listen(4096)
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4096)
print(a.getsockname()[1], b.getsockname()[1], s.getsockname()[1], flush=True)
threading.Thread(target=serve, args=(b, stream), daemon=True).start()
threading.Thread(target=serve, args=(s, short), daemon=True).start()
serve(a, http)
PY
python3 "$work/server.py" "$work/blob" "$per" >"$work/server.ports" &
pids+=($!)
# 4x: at most a quarter of the connections may go to one destination (max_per_dest)
"$serve" --serve --allow 127.0.0.1 --max-conns $((4 * tunnels + 64)) >"$work/proxy.ports" &
proxy_pid=$!
pids+=("$proxy_pid")
for _ in $(seq 100); do
	[ -s "$work/server.ports" ] && grep -q SOCKS_PORT "$work/proxy.ports" && break
	sleep 0.05
done
read -r http_port stream_port short_port <"$work/server.ports"
hp=$(sed -n 's/^HTTP_PORT=//p' "$work/proxy.ports")
sp=$(sed -n 's/^SOCKS_PORT=//p' "$work/proxy.ports")
url=http://127.0.0.1:$http_port/blob

socat_port=
if command -v socat >/dev/null; then
	socat_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	socat TCP-LISTEN:"$socat_port",bind=127.0.0.1,reuseaddr,fork TCP:127.0.0.1:"$http_port" &
	pids+=($!)
	sleep 0.3
fi

rate() { # curl args... -> bytes/s
	curl -s -o /dev/null -w '%{speed_download}' --max-time 600 "$@"
}
proxy_ticks() { # user+system clock ticks of the proxy so far
	awk '{print $14 + $15}' "/proc/$proxy_pid/stat"
}
modes=(direct http connect socks5)
[ -n "$socat_port" ] && modes+=(socat)
# end to end through hutch run (curl inside: --noproxy '' so 127.0.0.1 goes to the proxy)
hrun=()
if [ -x "$hutch" ] && [ "$("$hutch" run -q -a 127.0.0.1 -- curl --noproxy '' -s -o /dev/null \
	-w '%{http_code}' --max-time 20 "$url" 2>/dev/null)" = 200 ]; then
	hrun=("$hutch" run -q -a 127.0.0.1 --)
	modes+=(run-http run-connect)
else
	echo "proxy.sh: hutch run --net proxy does not work here: end-to-end rows skipped" >&2
fi
# transparent egress: localhost. is asked from the sandbox's resolver, the supervisor
# resolves localhost on the host (127.0.0.1): allowPrivate lets it through
printf '{ "network": { "allowPrivate": true, "allow": ["localhost"] } }\n' >"$work/lo.json"
turl=http://localhost.:$http_port/blob
htrans=()
if [ -x "$hutch" ] && [ "$("$hutch" run -q -p "$work/lo.json" -- curl --noproxy '*' -s -o /dev/null \
	-w '%{http_code}' --max-time 20 "$turl" 2>/dev/null)" = 200 ]; then
	htrans=("$hutch" run -q -p "$work/lo.json" --)
	modes+=(run-transparent)
else
	echo "proxy.sh: transparent egress does not work here (hutch check): its rows skipped" >&2
fi
: >"$work/rates"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$rounds"); do
	for m in "${modes[@]}"; do
		t0=$(proxy_ticks)
		case $m in
		direct) v=$(rate "$url") ;;
		http) v=$(rate -x "http://127.0.0.1:$hp" "$url") ;;
		connect) v=$(rate -p -x "http://127.0.0.1:$hp" "$url") ;;
		socks5) v=$(rate --socks5 "127.0.0.1:$sp" "$url") ;;
		socat) v=$(rate "http://127.0.0.1:$socat_port/blob") ;;
		run-http) v=$("${hrun[@]}" curl --noproxy '' -s -o /dev/null -w '%{speed_download}' "$url") ;;
		run-connect) v=$("${hrun[@]}" curl --noproxy '' -p -s -o /dev/null -w '%{speed_download}' "$url") ;;
		run-transparent) v=$("${htrans[@]}" curl --noproxy '*' -s -o /dev/null -w '%{speed_download}' "$turl") ;;
		esac
		echo "$m $v $(($(proxy_ticks) - t0))" >>"$work/rates"
		echo "round $r $m: $(python3 -c "print(f'{$v/1e6:.0f} MB/s')")" >&2
	done
done

# The same download in one hyperfine run (wall time per download, hutch's start-up of ~10 ms
# included): direct, the sandbox without the proxy (--net host: the same curl under the same
# seccomp filter and namespaces), the CONNECT path and the transparent path.
: >"$work/hf.json"
if command -v hyperfine >/dev/null && [ ${#hrun[@]} -gt 0 ] && [ ${#htrans[@]} -gt 0 ]; then
	hyperfine -N -w 1 -r "$rounds" --export-json "$work/hf.json" \
		-n direct "curl -s -o /dev/null $url" \
		-n sandbox "$hutch run -q --net host -- curl -s -o /dev/null $url" \
		-n run-connect "${hrun[*]} curl --noproxy '' -p -s -o /dev/null $url" \
		-n run-transparent "${htrans[*]} curl --noproxy '*' -s -o /dev/null $turl" >&2 ||
		: >"$work/hf.json"
fi

# SHORT short connections one after the other: median set-up + 2 bytes + close, direct and
# through the transparent path (the loop runs inside the sandbox; hutch's start-up is not in it).
cat >"$work/short.py" <<'PY'
import socket, statistics, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
addr = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
t = []
for _ in range(n):
    t0 = time.perf_counter()
    s = socket.create_connection(addr)
    got = s.recv(2)
    s.close()
    t.append(time.perf_counter() - t0)
    assert got == b"ok", got
print("%.1f %.1f" % (statistics.median(t) * 1e6, sum(t) * 1e3))
PY
short_direct=$(python3 "$work/short.py" 127.0.0.1 "$short_port" "$short")
short_trans="- -"
if [ ${#htrans[@]} -gt 0 ]; then
	short_trans=$("${htrans[@]}" /usr/bin/python3 -c "$(cat "$work/short.py")" localhost. \
		"$short_port" "$short") ||
		short_trans="- -"
fi
echo "short connections: direct $short_direct, transparent $short_trans (median us, total ms)" >&2
read -r -a short_d <<<"$short_direct"
read -r -a short_t <<<"$short_trans"

# 1000 concurrent tunnels: open them all, then let each carry PER bytes.
cat >"$work/tunnels.py" <<'PY'
import asyncio, sys, time
hp, port, n, per, pid = (int(x) for x in sys.argv[1:6])
def rss(field):
    if not pid:
        return 0
    for l in open(f"/proc/{pid}/status"):
        if l.startswith(field + ":"):
            return int(l.split()[1])
async def tunnel(opened, go):
    r, w = await asyncio.open_connection("127.0.0.1", hp)
    w.write(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (port, port))
    head = await r.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n")[0]:
        raise SystemExit("tunnel refused: %r" % head)
    opened.append(1)
    await go.wait()
    w.write(b"g")
    got = 0
    while True:
        d = await r.read(262144)
        if not d:
            break
        got += len(d)
    w.close()
    return got
async def main():
    base = rss("VmRSS")
    if not pid:
        print("START", flush=True)
        await asyncio.sleep(0.5)
    opened, go = [], asyncio.Event()
    tasks = [asyncio.create_task(tunnel(opened, go)) for _ in range(n)]
    while len(opened) < n:
        await asyncio.sleep(0.02)
        if any(t.done() and t.exception() for t in tasks):
            raise SystemExit("a tunnel failed")
    await asyncio.sleep(0.3)
    idle = rss("VmRSS")
    if not pid:  # measured from outside: say so, give it time
        print("OPEN", flush=True)
        await asyncio.sleep(1)
    t0 = time.time()
    go.set()
    got = await asyncio.gather(*tasks)
    dt = time.time() - t0
    print(base, idle, rss("VmHWM"), sum(got), dt, sum(1 for g in got if g == per))
asyncio.run(main())
PY
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
read -r rss_base rss_idle rss_peak moved secs complete < <(python3 "$work/tunnels.py" "$hp" \
	"$stream_port" "$tunnels" "$per" "$proxy_pid")
echo "tunnels: $complete/$tunnels complete, base ${rss_base} kB, all open ${rss_idle} kB, peak ${rss_peak} kB" >&2

# the same inside hutch run, the supervisor's memory read from outside
sup=(- - - - - -)
if [ ${#hrun[@]} -gt 0 ]; then
	status_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null; }
	mkfifo "$work/hrun.out"
	"${hrun[@]}" /usr/bin/python3 -c "$(cat "$work/tunnels.py")" 3128 "$stream_port" \
		"$tunnels" "$per" 0 >"$work/hrun.out" 2>&1 &
	spid=$! # hutch itself: the supervisor
	pids+=("$spid")
	exec 3<"$work/hrun.out"
	sbase=- sopen=- shwm=- line='' result=''
	while read -r line <&3; do
		case $line in
		START) sbase=$(status_kb "$spid" VmRSS) ;;
		OPEN) sopen=$(status_kb "$spid" VmRSS) ;;
		*)
			result=$line
			shwm=$(status_kb "$spid" VmHWM)
			;;
		esac
	done
	exec 3<&-
	read -r _ _ _ smoved ssecs scomplete <<<"$result"
	sup=("$sbase" "$sopen" "${shwm:--}" "${smoved:-0}" "${ssecs:-0}" "${scomplete:-0}")
	echo "hutch run tunnels: ${scomplete:-0}/$tunnels complete, supervisor ${sbase} kB, all open ${sopen} kB, peak ${shwm:-?} kB" >&2
fi

[ "${NO_RECORD:-0}" = 1 ] && exit 0
python3 - "$work/rates" "$repo/bench/RESULTS.md" "$(nproc)" "$(uname -r)" "$(getconf CLK_TCK)" \
	"$(date -u +%Y-%m-%dT%H:%MZ)" "$(git -C "$repo" rev-parse --short HEAD)" \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" "$load_before" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" "$size" "$rounds" "$tunnels" "$per" "$rss_base" \
	"$rss_idle" "$rss_peak" "$moved" "$secs" "$complete" "${sup[@]}" "$short" "${short_d[@]}" \
	"${short_t[@]}" "$work/hf.json" <<'PY'
import os, statistics, sys
(rates, rpath, nproc, kernel, tck, date, commit, cpu, load0, load1, size, rounds, tunnels, per,
 base, idle, peak, moved, secs, complete, sbase, sopen, speak, smoved, ssecs,
 scomplete, nshort, sd_med, sd_tot, st_med, st_tot, hf) = sys.argv[1:33]
v, ticks = {}, {}
for line in open(rates):
    m, x, t = line.split()
    v.setdefault(m, []).append(float(x))
    ticks[m] = ticks.get(m, 0) + int(t)
gib = int(size) * int(rounds) / 2**30
cpu_per_gib = {m: ticks[m] / int(tck) / gib for m in ticks}
med = {m: statistics.median(x) for m, x in v.items()}
names = {"direct": "direct (no proxy)", "http": "hutch, absolute-form HTTP",
         "connect": "hutch, CONNECT tunnel", "socks5": "hutch, SOCKS5",
         "socat": "one socat hop (reference)",
         "run-http": "`hutch run`, curl inside, absolute-form HTTP",
         "run-connect": "`hutch run`, curl inside, CONNECT tunnel",
         "run-transparent": "`hutch run`, curl --noproxy '*' inside, transparent"}
entry = [f"### {date} (commit {commit})", "",
         f"Machine: {nproc} CPUs ({cpu}), kernel {kernel}; load average {load0} before, "
         f"{load1} after.", "",
         f"{int(size) >> 20} MiB download from a local sendfile HTTP server (file on tmpfs), "
         f"curl to /dev/null, {rounds} interleaved rounds, median:", "",
         "| path | median | min | max | vs direct | proxy CPU per GiB |",
         "|---|---:|---:|---:|---:|---:|"]
for m in ("direct", "http", "connect", "socks5", "run-http", "run-connect", "run-transparent",
          "socat"):
    if m in med:
        c = f"{cpu_per_gib[m]:.2f} s" if m in ("http", "connect", "socks5") else ""
        entry.append(f"| {names[m]} | {med[m] / 1e6:.0f} MB/s | {min(v[m]) / 1e6:.0f} MB/s "
                     f"| {max(v[m]) / 1e6:.0f} MB/s | {100 * med[m] / med['direct']:.0f}% | {c} |")
worst = min(med[m] for m in ("http", "connect", "socks5", "run-http", "run-connect",
                             "run-transparent") if m in med)
entry += ["", f"Slowest hutch path at {100 * worst / med['direct']:.0f}% of direct: "
          f"{'meets' if worst >= 0.8 * med['direct'] else 'misses'} the target (>= 80%). "
          "The proxy's CPU per GiB (user+system of the engine's process) does not depend on "
          "what else runs on the machine; the rates do.", ""]
if "run-transparent" in med:
    entry += [f"Transparent path (curl ignoring the proxy variables) at "
              f"{100 * med['run-transparent'] / med['direct']:.0f}% of direct, "
              f"{100 * med['run-transparent'] / med['run-connect']:.0f}% of the CONNECT path "
              "through `hutch run`.", ""]
if os.path.getsize(hf):
    import json
    res = {r["command"]: r for r in json.load(open(hf))["results"]}
    d = res["direct"]["median"]
    entry += [f"One hyperfine run (`hyperfine -N -w 1 -r {rounds}`, wall time of one {int(size) >> 20} MiB "
              "download, hutch's start-up included; bench/proxy.sh):", "",
              "| command | median | min | max | user | system | rate vs direct |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for m, label in (("direct", "curl on the host"),
                     ("sandbox", "`hutch run --net host -- curl` (no proxy)"),
                     ("run-connect", "`hutch run -a ... -- curl -p` (CONNECT)"),
                     ("run-transparent", "`hutch run -p lo.json -- curl --noproxy '*'` (transparent)")):
        r = res.get(m)
        if r:
            entry.append(f"| {label} | {r['median'] * 1e3:.0f} ms | {r['min'] * 1e3:.0f} ms "
                         f"| {r['max'] * 1e3:.0f} ms | {r['user'] * 1e3:.0f} ms "
                         f"| {r['system'] * 1e3:.0f} ms | {100 * d / r['median']:.0f}% |")
    entry.append("")
if "run-transparent" in med or st_med != "-":
    entry += ["Commands (transparent rows): `hutch run -q -p lo.json -- curl --noproxy '*' -s "
              "-o /dev/null -w '%{speed_download}' http://localhost.:PORT/blob` against "
              "`curl ... http://127.0.0.1:PORT/blob` on the host; `hutch run -q -p lo.json -- "
              "python3 short.py localhost. PORT N` against `python3 short.py 127.0.0.1 PORT N`; "
              "lo.json: `{\"network\": {\"allowPrivate\": true, \"allow\": [\"localhost\"]}}` "
              "(bench/proxy.sh).", ""]
if st_med != "-":
    entry += [f"{nshort} short connections one after the other (connect, 2 bytes back, close), "
              "median per connection: direct "
              f"{float(sd_med):.0f} µs, transparent {float(st_med):.0f} µs "
              f"({float(st_med) / float(sd_med):.1f}x; totals {float(sd_tot):.0f} ms and "
              f"{float(st_tot):.0f} ms).", ""]
b, i, p = int(base), int(idle), int(peak)
entry += [f"{tunnels} concurrent CONNECT tunnels, all opened first, then {int(per) >> 10} KiB "
          f"each ({complete}/{tunnels} complete, {int(moved) / 1e6:.0f} MB in {float(secs):.1f} s). "
          f"Proxy resident memory (engine in its own process):", "",
          "| proxy idle | all tunnels open | peak (VmHWM) | per tunnel, open | per tunnel, peak |",
          "|---:|---:|---:|---:|---:|",
          f"| {b} kB | {i} kB | {p} kB | {(i - b) * 1024 / int(tunnels):.0f} B "
          f"| {(p - b) * 1024 / int(tunnels):.0f} B |", ""]
if "-" not in (sbase, sopen, speak) and "" not in (sbase, sopen, speak):
    sb, so, sp = int(sbase), int(sopen), int(speak)
    entry += [f"The same inside `hutch run` ({scomplete}/{tunnels} complete, "
              f"{int(smoved) / 1e6:.0f} MB in {float(ssecs):.1f} s), resident memory of hutch's "
              "supervisor (sandbox set-up, audit and proxy together):", "",
              "| supervisor before | all tunnels open | peak (VmHWM) | per tunnel, open |",
              "|---:|---:|---:|---:|",
              f"| {sb} kB | {so} kB | {sp} kB | {(so - sb) * 1024 / int(tunnels):.0f} B |", ""]
sys.path.insert(0, os.path.dirname(rpath))
from results import append_entry
append_entry(rpath, 'proxy throughput', entry)
PY
