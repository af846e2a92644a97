#!/usr/bin/env bash
# Sync-latency benchmark, one run, same machine, same driver (latency.py):
#   anchor: PODS pods created straight in a namespace of the host cluster (kube-apiserver 1.20.2 +
#           etcd 3.4 + kube-controller-manager, tests/hostcluster build): create -> host watch, the
#           floor any syncer pays per pod;
#   warren: a virtual cluster (release build, one process: API server, controllers, DNS, syncer)
#           syncing to that host; PODS pods created in it at RATE pods/s.
# Reported: virtual create -> host pod exists, host Running -> virtual Running (p50/p99/max), CPU
# and RSS of the warren process. Everything listens on 127.0.0.1 only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PODS=${PODS:-5000}
RATE=${RATE:-100}
HOST_PORT=${HOST_PORT:-28443}
bash "$root/tests/hostcluster/host-cluster.sh" build >/dev/null
# WARREN_BIN: a release binary built elsewhere (otherwise this tree's, built here)
if [ -z "${WARREN_BIN:-}" ]; then
  (cd "$root" && cargo build --profile dist -p warren --bin warren >/dev/null 2>&1)
fi
WARREN=${WARREN_BIN:-$root/target/dist/warren}
readyz=$root/bench/apiserver/readyz.py

work=$(mktemp -d /tmp/warren-bench-sync.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  bash "$root/tests/hostcluster/host-cluster.sh" down "$work/host" || true
  sleep 0.5; rm -rf "$work"
}
trap cleanup EXIT

bash "$root/tests/hostcluster/host-cluster.sh" up "$work/host" "$HOST_PORT" >/dev/null
hk=$work/host/kubeconfig
for _ in $(seq 100); do kubectl --kubeconfig "$hk" get --raw /readyz >/dev/null 2>&1 && break; sleep 0.2; done
hurl=https://127.0.0.1:$HOST_PORT
htoken=admintoken
kubectl --kubeconfig "$hk" create namespace bench-direct >/dev/null
kubectl --kubeconfig "$hk" create namespace bench-vc >/dev/null
for ns in bench-direct bench-vc; do  # pods are admitted once the default service account exists
  for _ in $(seq 100); do kubectl --kubeconfig "$hk" -n "$ns" get sa default >/dev/null 2>&1 && break; sleep 0.2; done
done

# ---- anchor: the host alone ----
anchor=$(DIRECT=1 python3 "$here/latency.py" - - "$hurl" "$htoken" bench-direct - "$PODS" "$RATE" -)
kubectl --kubeconfig "$hk" delete namespace bench-direct --wait=false >/dev/null

# ---- warren ----
w=$work/warren; mkdir -p "$w"
read -r _ warren_pid < <(python3 "$readyz" https://127.0.0.1:27443 /nonexistent "" "$w.log" \
  "$WARREN" serve --role syncer --data-dir "$w" --listen 127.0.0.1:27443 \
  --name bench --host-kubeconfig "$hk" --host-namespace bench-vc --log warn \
  --syncer-metrics-listen 127.0.0.1:27090)
pids+=("$warren_pid")
for _ in $(seq 100); do [ -f "$w/kubeconfig.yaml" ] && break; sleep 0.05; done
host_requests() { curl -sk -H "Authorization: Bearer $htoken" "$hurl/metrics" | grep '^apiserver_request_total{' || true; }
host_requests > "$work/host-before.txt"
synced=$(python3 "$here/latency.py" https://127.0.0.1:27443 "$(cat "$w/token")" "$hurl" "$htoken" bench-vc bench \
  "$PODS" "$RATE" "$warren_pid")
curl -s http://127.0.0.1:27090/metrics > "$work/metrics.txt" || true
host_requests > "$work/host-after.txt"
# DUMP_DIR: keep the synced pods of both sides as JSON (what the caches hold, for sizing them)
if [ -n "${DUMP_DIR:-}" ]; then
  mkdir -p "$DUMP_DIR"
  kubectl --kubeconfig "$w/kubeconfig.yaml" get pods -A -o json > "$DUMP_DIR/virtual-pods.json"
  kubectl --kubeconfig "$hk" -n bench-vc get pods -o json > "$DUMP_DIR/host-pods.json"
fi

python3 - "$anchor" "$synced" <<'PY'
import json, sys
a, w = json.loads(sys.argv[1]), json.loads(sys.argv[2])
f = lambda x: "-" if x is None else f"{x:.1f}"
print(f"pods: {w['pods']} at {w['rate']:.0f}/s (creators fell behind by at most {w['creator_max_lag_ms']} ms)")
print("| path | n | p50 (ms) | p99 (ms) | max (ms) |")
print("|---|---|---|---|---|")
d = a["to_host"]
print(f"| anchor: host create sent -> host watch | {d['count']} | {f(d['p50_ms'])} | {f(d['p99_ms'])} | {f(d['max_ms'])} |")
for key, label in (("to_host", "warren: virtual create sent -> host watch"),
                   ("to_virtual", "warren: host Running -> virtual Running")):
    d = w[key]
    print(f"| {label} | {d['count']} | {f(d['p50_ms'])} | {f(d['p99_ms'])} | {f(d['max_ms'])} |")
print(f"warren process: CPU {w.get('cpu_seconds')} s ({w.get('cpu_percent')}% of one core), "
      f"peak RSS {w.get('rss_peak_mib')} MiB (anonymous {w.get('rss_peak_anon_mib')}, "
      f"file-backed {w.get('rss_peak_file_mib')}), RSS after {w.get('rss_end_mib')} MiB; "
      f"all {w['pods']} Running in the virtual cluster after {w['all_done_seconds']} s")
if a["to_host"]["p99_ms"] and w["to_host"]["p99_ms"]:
    print(f"p99 ratio warren/anchor (create direction): {w['to_host']['p99_ms'] / a['to_host']['p99_ms']:.1f}x")
PY
# per sync loop: syncs, mean and total time in syncs (where the syncer's time goes)
python3 - "$work/metrics.txt" <<'PY'
import re, sys
count, total = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r'warren_syncer_sync_duration_seconds_(count|sum)\{loop="([^"]+)"\} (\S+)', line)
    if m:
        (count if m[1] == "count" else total)[m[2]] = float(m[3])
print("syncer loops: " + ", ".join(
    f"{k} {int(count[k])} syncs, mean {1000 * total[k] / count[k]:.1f} ms"
    for k in sorted(count) if count[k]))
PY
# host API requests during the warren phase (the driver's binds and status patches included)
python3 - "$work/host-before.txt" "$work/host-after.txt" "$PODS" <<'PY'
import re, sys
def load(path):
    out = {}
    for line in open(path):
        m = re.match(r'apiserver_request_total\{(.*)\} (\S+)', line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m[1]))
        key = (labels.get("verb", ""), labels.get("resource", "") + ("/" + labels["subresource"] if labels.get("subresource") else ""))
        out[key] = out.get(key, 0) + float(m[2])
    return out
before, after, pods = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
rows = sorted(((after[k] - before.get(k, 0), k) for k in after), reverse=True)
print("host requests per pod: " + ", ".join(
    f"{verb} {res} {n / pods:.2f}" for n, (verb, res) in rows if n >= pods / 20))
PY
