#!/usr/bin/env bash
# Cluster DNS benchmark, one run, same machine, same client (dnsperf over UDP on loopback):
#   warren's DNS (release build, inside the syncer process, answering from 10,000 Services
#   created through its API, ClusterIPs from its allocator)
#   vs the same 10,000 names as a static zone served by Knot DNS (Debian's knot): the ceiling
#   of an authoritative server on this machine.
# Measured per server: queries/s at saturation (dnsperf, BENCH_SECONDS, 4 clients, 200 queries
# outstanding; best of ROUNDS) with the average latency there and the server's CPU time (so
# queries/s per server core, which other load on the machine does not skew), and p50/p99
# latency at a fixed LATENCY_QPS (dnsperf -v, 5 s). Every answer must be NOERROR. Prints both
# rows and the ratios.
# Everything listens on 127.0.0.1 only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DURATION=${BENCH_SECONDS:-10}
NAMESPACES=${NAMESPACES:-10}
PER_NS=${PER_NS:-1000}
LATENCY_QPS=${LATENCY_QPS:-20000}
ROUNDS=${ROUNDS:-2}
need=()
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v knotd >/dev/null || need+=(knot)
command -v dig >/dev/null || need+=(bind9-dnsutils)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# WARREN_BIN: a release binary already built; otherwise built here
WARREN=${WARREN_BIN:-}
if [ -z "$WARREN" ]; then
  (cd "$root" && cargo build --release -p warren --bin warren >/dev/null 2>&1)
  WARREN=$root/target/release/warren
fi
W_PORT=28053
K_PORT=28054

work=$(mktemp -d /tmp/warren-bench-dns.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$work"; }
trap cleanup EXIT

wait_answer() { # port name
  for _ in $(seq 600); do
    dig @127.0.0.1 -p "$1" +time=1 +tries=1 "$2" A 2>/dev/null | grep -q 'status: NOERROR' && return 0
    sleep 0.1
  done
  echo "no answer for $2 on port $1" >&2; exit 1
}

# ---- warren: API + DNS in one process (controllers off: only the objects DNS reads) ----
w=$work/warren; mkdir -p "$w"
read -r _ warren_pid < <(python3 "$root/bench/apiserver/readyz.py" https://127.0.0.1:28443 /nonexistent "" \
  "$w.log" "$WARREN" serve --role syncer --data-dir "$w" --listen 127.0.0.1:28443 --disable-controllers \
  --dns-listen 127.0.0.1:$W_PORT)
pids+=("$warren_pid")
for _ in $(seq 100); do [ -f "$w/token" ] && break; sleep 0.05; done
count=$(python3 "$here/populate.py" 127.0.0.1 28443 "$(cat "$w/token")" "$w/tls/ca.crt" "$NAMESPACES" "$PER_NS" \
  "$work/queries.txt" "$work/cluster.local.zone")
wait_answer $W_PORT "svc-$((PER_NS - 1)).ns-$((NAMESPACES - 1)).svc.cluster.local"
# every name of the query file resolves before the clock starts
last=$(tail -1 "$work/queries.txt" | cut -d' ' -f1)
wait_answer $W_PORT "$last"

# ---- anchor: Knot DNS with the same names as a zone file ----
k=$work/knot; mkdir -p "$k"
cp "$work/cluster.local.zone" "$k/"
cat > "$k/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$K_PORT
    rundir: "$k"
database:
    storage: "$k"
template:
  - id: default
    storage: "$k"
zone:
  - domain: cluster.local
    file: cluster.local.zone
EOF
knotd -c "$k/knot.conf" > "$k/knotd.log" 2>&1 &
knot_pid=$!; pids+=("$knot_pid")
wait_answer $K_PORT "$last"

cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }
saturate() { # port pid -> "qps avg_ms lost completed cpu_seconds"
  local t0; t0=$(cpu_ticks "$2")
  local out; out=$(dnsperf -s 127.0.0.1 -p "$1" -d "$work/queries.txt" -l "$DURATION" -c 4 -q 200 2>&1)
  local t1; t1=$(cpu_ticks "$2")
  local lost; lost=$(sed -nE 's/.*Queries lost: *([0-9]+).*/\1/p' <<<"$out")
  local noerror; noerror=$(sed -nE 's/.*NOERROR ([0-9]+).*/\1/p' <<<"$out")
  local completed; completed=$(sed -nE 's/.*Queries completed: *([0-9]+).*/\1/p' <<<"$out")
  if [ "$noerror" != "$completed" ]; then echo "port $1: not every answer NOERROR: $out" >&2; exit 1; fi
  local qps avg
  qps=$(sed -nE 's/.*Queries per second: *([0-9.]+).*/\1/p' <<<"$out")
  avg=$(sed -nE 's/.*Average Latency \(s\): *([0-9.]+).*/\1/p' <<<"$out")
  echo "$qps $(python3 -c "print(f'{$avg*1000:.3f}')") $lost $completed $(python3 -c "print(($t1 - $t0) / $(getconf CLK_TCK))")"
}
latency() { # port -> "answered p50_ms p99_ms not_noerror timeouts"
  dnsperf -v -s 127.0.0.1 -p "$1" -d "$work/queries.txt" -l 5 -c 4 -q 200 -Q "$LATENCY_QPS" 2>/dev/null \
    | python3 "$here/latency.py"
}

best_w="0 0 0 0 1"; best_k="0 0 0 0 1"
for _ in $(seq "$ROUNDS"); do
  r=$(saturate $W_PORT "$warren_pid"); [ "$(cut -d' ' -f1 <<<"$r" | cut -d. -f1)" -gt "$(cut -d' ' -f1 <<<"$best_w" | cut -d. -f1)" ] && best_w=$r
  r=$(saturate $K_PORT "$knot_pid"); [ "$(cut -d' ' -f1 <<<"$r" | cut -d. -f1)" -gt "$(cut -d' ' -f1 <<<"$best_k" | cut -d. -f1)" ] && best_k=$r
done
lat_w=$(latency $W_PORT)
lat_k=$(latency $K_PORT)
knot_version=$(knotd --version | head -1 | awk '{print $NF}')

python3 - "$count" "$LATENCY_QPS" "$knot_version" "$DURATION" $best_w $lat_w $best_k $lat_k <<'PY'
import sys
count, rate, kv, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
w = sys.argv[5:15]
k = sys.argv[15:25]
f = float
print(f"{count} Services; dnsperf over UDP on loopback (4 clients, 200 outstanding, {secs:.0f} s); latency at {rate:,} q/s")
print(f"| server | queries/s | server CPU (cores) | queries/s per server core | avg latency at saturation (ms) | p50 at {rate//1000}k q/s (ms) | p99 at {rate//1000}k q/s (ms) | lost + timeouts |")
print("|---|---|---|---|---|---|---|---|")
def row(name, r):
    qps, avg, lost, done, cpu, n, p50, p99, bad, to = r
    print(f"| {name} | {f(qps):,.0f} | {f(cpu)/secs:.2f} | {int(done)/f(cpu):,.0f} | {avg} | {p50} | {p99} | {int(lost)} + {int(to)} |")
    return f(qps), int(done) / f(cpu), f(avg), f(p50), f(p99), int(bad)
wq, wpc, wa, w50, w99, wbad = row("warren DNS (in the syncer process)", w)
kq, kpc, ka, k50, k99, kbad = row(f"Knot DNS {kv} (static zone, ceiling)", k)
print(f"| ratio warren / knot | {wq/kq:.2f}x | | {wpc/kpc:.2f}x | {wa/ka:.2f}x | {w50/k50:.2f}x | {w99/k99:.2f}x | |")
print(f"target >= 100,000 q/s: {'met' if wq >= 100_000 else 'NOT met'} ({wpc:,.0f} q/s per server core); "
      f"within 2x of the ceiling: {'met' if wq * 2 >= kq else 'NOT met'}")
if wbad or kbad:
    sys.exit(f"answers other than NOERROR in the latency runs: warren {wbad}, knot {kbad}")
PY
