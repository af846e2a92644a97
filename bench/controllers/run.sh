#!/usr/bin/env bash
# Side-by-side controller benchmark, one run, same machine, same client (converge.py):
#   warren (release build: API server + SQLite + built-in controllers, one process)
#   vs kube-apiserver 1.20.2 + etcd 3.4 + kube-controller-manager 1.20.2 (tests/hostcluster build)
# A Deployment of REPLICAS (default 1,000) pods is created; measured: seconds until every pod
# exists and the ReplicaSet status says so, peak and final RSS of all the cluster's processes.
# Both sides run their controllers with default settings. Everything listens on 127.0.0.1 only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
REPLICAS=${REPLICAS:-1000}
bash "$root/tests/hostcluster/host-cluster.sh" build >/dev/null
HC_BIN=${HC_CACHE:-/var/cache/warren-hostcluster}/bin
# WARREN_BIN: a release binary built elsewhere (otherwise this tree's, built here)
if [ -z "${WARREN_BIN:-}" ]; then
  (cd "$root" && cargo build --release -p warren --bin warren >/dev/null 2>&1)
fi
WARREN=${WARREN_BIN:-$root/target/release/warren}
readyz=$root/bench/apiserver/readyz.py

work=$(mktemp -d /tmp/warren-bench-ctrl.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$work"; }
trap cleanup EXIT

# ---- anchor: etcd + kube-apiserver + kube-controller-manager 1.20.2 ----
a=$work/anchor; mkdir -p "$a"; cd "$a"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=bench-ca" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=kube-apiserver" 2>/dev/null
printf "subjectAltName=IP:127.0.0.1,DNS:localhost" > ext.cnf
openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile ext.cnf 2>/dev/null
openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
TOKEN=benchtoken; echo "$TOKEN,admin,admin,system:masters" > tokens.csv
etcd --data-dir "$a/etcd" --listen-client-urls http://127.0.0.1:26379 --advertise-client-urls http://127.0.0.1:26379 \
  --listen-peer-urls http://127.0.0.1:26380 > etcd.log 2>&1 & pids+=($!); etcd_pid=$!
for _ in $(seq 100); do curl -s http://127.0.0.1:26379/health | grep -q true && break; sleep 0.1; done
read -r _ api_pid < <(python3 "$readyz" https://127.0.0.1:26443 ca.crt "$TOKEN" apiserver.log \
  "$HC_BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:26379 --secure-port=26443 --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 --tls-cert-file=srv.crt --tls-private-key-file=srv.key --client-ca-file=ca.crt \
  --token-auth-file=tokens.csv --service-account-key-file=sa.pub --service-account-signing-key-file=sa.key \
  --service-account-issuer=https://kubernetes.default.svc --service-cluster-ip-range=10.96.0.0/16 \
  --authorization-mode=RBAC --insecure-port=0)
pids+=("$api_pid")
cat > kubeconfig <<EOK
apiVersion: v1
kind: Config
clusters: [{name: a, cluster: {server: "https://127.0.0.1:26443", certificate-authority: $a/ca.crt}}]
users: [{name: admin, user: {token: $TOKEN}}]
contexts: [{name: a, context: {cluster: a, user: admin}}]
current-context: a
EOK
"$HC_BIN/kube-controller-manager" --kubeconfig kubeconfig --authentication-kubeconfig kubeconfig \
  --authorization-kubeconfig kubeconfig --bind-address=127.0.0.1 --secure-port=0 --port=0 --leader-elect=false \
  --service-account-private-key-file=sa.key --root-ca-file=ca.crt --use-service-account-credentials=false \
  --controllers='*,-nodeipam,-attachdetach,-persistentvolume-binder,-cloud-node-lifecycle' > kcm.log 2>&1 &
kcm_pid=$!; pids+=("$kcm_pid")
read -r a_secs a_peak a_final < <(python3 "$here/converge.py" https://127.0.0.1:26443 "$TOKEN" "$REPLICAS" \
  "$api_pid" "$etcd_pid" "$kcm_pid")
kill "$kcm_pid" "$api_pid" "$etcd_pid"

# ---- warren ----
w=$work/warren; mkdir -p "$w"
read -r _ warren_pid < <(python3 "$readyz" https://127.0.0.1:27443 /nonexistent "" "$w.log" \
  "$WARREN" serve --role syncer --data-dir "$w" --listen 127.0.0.1:27443)
pids+=("$warren_pid")
for _ in $(seq 100); do [ -f "$w/kubeconfig.yaml" ] && break; sleep 0.05; done
read -r w_secs w_peak w_final < <(python3 "$here/converge.py" https://127.0.0.1:27443 "$(cat "$w/token")" \
  "$REPLICAS" "$warren_pid")

python3 - "$REPLICAS" "$a_secs" "$a_peak" "$a_final" "$w_secs" "$w_peak" "$w_final" <<'PY'
import sys
n = sys.argv[1]
a_s, a_p, a_f, w_s, w_p, w_f = (float(x) for x in sys.argv[2:])
print(f"| cluster | Deployment of {n}: pods + RS status (s) | peak RSS (MiB) | RSS after (MiB) |")
print("|---|---|---|---|")
print(f"| kube-apiserver+etcd+kube-controller-manager | {a_s:.2f} | {a_p/1024:.1f} | {a_f/1024:.1f} |")
print(f"| warren | {w_s:.2f} | {w_p/1024:.1f} | {w_f/1024:.1f} |")
print(f"| ratio (warren advantage) | {a_s/w_s:.1f}x | {a_p/w_p:.1f}x | {a_f/w_f:.1f}x |")
PY
