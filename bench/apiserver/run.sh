#!/usr/bin/env bash
# Side-by-side API server benchmark, one run, same machine, same client (wrk + a Python populator):
#   warren (release build, SQLite)   vs   kube-apiserver 1.20.2 + etcd 3.4 (Debian sources, tests/hostcluster)
# Measures: start to /readyz (etcd already running for the anchor), RSS idle, RSS after 5,000 ConfigMaps,
# creates/s and gets/s at concurrency 16, lists/s of 5,000 objects selected by label.
# Prints a table with both rows and the ratios (anchor / warren for times and memory, warren / anchor
# for throughput). Everything listens on 127.0.0.1 only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DURATION=${BENCH_SECONDS:-10}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
bash "$root/tests/hostcluster/host-cluster.sh" build >/dev/null
HC_BIN=${HC_CACHE:-/var/cache/warren-hostcluster}/bin
(cd "$root" && cargo build --release -p warren --bin warren >/dev/null 2>&1)
WARREN=$root/target/release/warren

work=$(mktemp -d /tmp/warren-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$work"; }
trap cleanup EXIT

rss_kb() { local t=0; for p in "$@"; do t=$((t + $(awk '/VmRSS/{print $2}' /proc/$p/status))); done; echo $t; }
wrk_rate() { # script url -> requests/s (fails on any error)
  local out; out=$(BENCH_TOKEN=$TOKEN wrk -t2 -c"$2" -d"${DURATION}s" -s "$here/$1" "$3" | grep '^RESULT')
  local req non2xx errs secs
  req=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$out"); non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$out")
  errs=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$out"); secs=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$out")
  if [ "$non2xx" -gt 0 ] || [ "$errs" -gt 0 ]; then echo "wrk $1: $non2xx non-2xx, $errs errors" >&2; exit 1; fi
  python3 -c "print(f'{$req/$secs:.0f}')"
}
measure() { # name url ca pids...
  local name=$1 url=$2 ca=$3; shift 3
  local hostport=${url#https://}; local host=${hostport%:*} port=${hostport##*:}
  sleep 3; local idle; idle=$(rss_kb "$@")
  for ns in bench bench-load; do
    curl -sk -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -X POST "$url/api/v1/namespaces" \
      -d "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" >/dev/null
  done
  python3 "$here/populate.py" "$host" "$port" "$TOKEN" "$ca" list list 5000
  sleep 2; local full; full=$(rss_kb "$@")
  python3 "$here/populate.py" "$host" "$port" "$TOKEN" "$ca" get get 1000
  local creates gets lists
  creates=$(wrk_rate create.lua 16 "$url")
  gets=$(wrk_rate get.lua 16 "$url")
  lists=$(wrk_rate list.lua 4 "$url")
  echo "$name $START $idle $full $creates $gets $lists" >> "$work/results"
}

# ---- anchor: etcd + kube-apiserver 1.20.2 ----
a=$work/anchor; mkdir -p "$a"; cd "$a"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=bench-ca" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=kube-apiserver" 2>/dev/null
printf "subjectAltName=IP:127.0.0.1,DNS:localhost" > ext.cnf
openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile ext.cnf 2>/dev/null
openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
TOKEN=benchtoken; echo "$TOKEN,admin,admin,system:masters" > tokens.csv
etcd --data-dir "$a/etcd" --listen-client-urls http://127.0.0.1:24379 --advertise-client-urls http://127.0.0.1:24379 \
  --listen-peer-urls http://127.0.0.1:24380 > etcd.log 2>&1 & pids+=($!); etcd_pid=$!
for _ in $(seq 100); do curl -s http://127.0.0.1:24379/health | grep -q true && break; sleep 0.1; done
read -r START api_pid < <(python3 "$here/readyz.py" https://127.0.0.1:24443 ca.crt "$TOKEN" apiserver.log \
  "$HC_BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:24379 --secure-port=24443 --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 --tls-cert-file=srv.crt --tls-private-key-file=srv.key --client-ca-file=ca.crt \
  --token-auth-file=tokens.csv --service-account-key-file=sa.pub --service-account-signing-key-file=sa.key \
  --service-account-issuer=https://kubernetes.default.svc --service-cluster-ip-range=10.96.0.0/16 \
  --authorization-mode=RBAC --insecure-port=0)
pids+=("$api_pid")
measure kube-apiserver+etcd https://127.0.0.1:24443 "$a/ca.crt" "$api_pid" "$etcd_pid"
kill "$api_pid" "$etcd_pid"

# ---- warren ----
# The anchor is kube-apiserver + etcd without kube-controller-manager, so warren runs the same
# parts: API server + store, controllers off (their informer caches would be measured otherwise).
w=$work/warren; mkdir -p "$w"
TOKEN=unknown
read -r START warren_pid < <(python3 "$here/readyz.py" https://127.0.0.1:25443 /nonexistent "" "$w.log" \
  "$WARREN" serve --role syncer --data-dir "$w" --listen 127.0.0.1:25443 --disable-controllers)
pids+=("$warren_pid")
for _ in $(seq 100); do [ -f "$w/kubeconfig.yaml" ] && break; sleep 0.05; done
TOKEN=$(cat "$w/token")
measure warren https://127.0.0.1:25443 "$w/tls/ca.crt" "$warren_pid"

python3 - "$work/results" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
(an, a_start, a_idle, a_full, a_c, a_g, a_l), (wn, w_start, w_idle, w_full, w_c, w_g, w_l) = rows
f = float
print("| server | start to /readyz (s) | RSS idle (MiB) | RSS after 5,000 ConfigMaps (MiB) | creates/s (c=16) | gets/s (c=16) | lists/s of 5,000 by label (c=4) |")
print("|---|---|---|---|---|---|---|")
for n, s, i, fu, c, g, l in rows:
    print(f"| {n} | {f(s):.3f} | {int(i)/1024:.1f} | {int(fu)/1024:.1f} | {c} | {g} | {l} |")
print(f"| ratio (warren advantage) | {f(a_start)/f(w_start):.1f}x | {int(a_idle)/int(w_idle):.1f}x | {int(a_full)/int(w_full):.1f}x | {f(w_c)/f(a_c):.2f}x | {f(w_g)/f(a_g):.2f}x | {f(w_l)/f(a_l):.2f}x |")
PY
