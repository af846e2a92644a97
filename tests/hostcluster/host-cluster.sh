#!/usr/bin/env bash
# Real Kubernetes host cluster (kube-apiserver + kube-controller-manager 1.20.2, etcd 3.4) built only
# from Debian's packages: the source package `kubernetes` ships the full tree with vendor/.
#
# usage: host-cluster.sh build            builds the binaries into $HC_CACHE/bin once per machine
#                                         (quiet and a no-op when they are there; the log of a real
#                                         build goes to $HC_CACHE/build.log). Extra make targets
#                                         on demand: HC_EXTRA_TARGETS=test/e2e/e2e.test
#        host-cluster.sh conformance [FOCUS [SKIP]]
#                                         builds e2e.test if needed and runs the conformance runner
#                                         (tests/hostcluster.rs, ignored test `conformance`) against
#                                         $HC_KUBECONFIG, or a fresh host cluster when unset
#        host-cluster.sh up DIR PORT      manual debugging only: etcd+apiserver+kcm on 127.0.0.1:PORT
#        host-cluster.sh down DIR         (etcd on PORT+1, PORT+2), kubeconfig in DIR/kubeconfig.
#                                         The tests start their clusters from hostcluster/mod.rs.
set -euo pipefail
HC_CACHE=${HC_CACHE:-/var/cache/warren-hostcluster}
BIN=$HC_CACHE/bin
K8S_VERSION=1.20.2
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# make target -> binary name, for the default targets plus $HC_EXTRA_TARGETS
targets() { echo cmd/kube-apiserver cmd/kube-controller-manager ${HC_EXTRA_TARGETS:-}; }
missing_targets() {
  local t
  for t in $(targets); do [ -x "$BIN/$(basename "$t")" ] || echo "$t"; done
}
runtime_tools_missing() { ! command -v etcd >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; }

enable_deb_src() {
  # the source package comes from the same Debian archive the machine already uses
  if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then return 0; fi
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      as_root tee /etc/apt/sources.list.d/deb-src.sources >/dev/null
  elif [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list | as_root tee /etc/apt/sources.list.d/deb-src.list >/dev/null
  fi
}

do_build() {
  local todo=("$@")
  export DEBIAN_FRONTEND=noninteractive
  enable_deb_src
  as_root apt-get update -qq
  as_root apt-get install -y -qq make golang-go etcd-server openssl rsync golang-github-modern-go-reflect2-dev
  [ ${#todo[@]} -gt 0 ] || return 0
  mkdir -p "$HC_CACHE/src" "$BIN"
  cd "$HC_CACHE/src"
  if [ ! -d kubernetes-$K8S_VERSION ]; then
    apt-get source --download-only kubernetes
    tar xzf kubernetes_*.orig.tar.gz
  fi
  cd kubernetes-$K8S_VERSION
  mkdir -p .go/src/k8s.io && ln -sfn ../../.. .go/src/k8s.io/kubernetes
  # Kubernetes 1.20 vendors reflect2 1.0.1, which crashes ("fatal error: fault" in map iteration)
  # under Go >= 1.18; Debian's reflect2 1.0.2 is the fixed version.
  rm -rf vendor/github.com/modern-go/reflect2 && mkdir -p vendor/github.com/modern-go/reflect2
  cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go /usr/share/gocode/src/github.com/modern-go/reflect2/*.s \
    vendor/github.com/modern-go/reflect2/
  env GOPATH="$PWD/.go" CGO_ENABLED=0 HOME="$HC_CACHE/home" \
    make WHAT="${todo[*]}"
  local t
  for t in "${todo[@]}"; do
    cp "_output/local/bin/linux/amd64/$(basename "$t")" "$BIN/.$(basename "$t").tmp"
    mv "$BIN/.$(basename "$t").tmp" "$BIN/$(basename "$t")"
  done
}

build() {
  [ -z "$(missing_targets)" ] && ! runtime_tools_missing && return 0
  as_root mkdir -p "$HC_CACHE"
  [ -w "$HC_CACHE" ] || as_root chown "$(id -u):$(id -g)" "$HC_CACHE"
  # one build per machine at a time; whoever waited re-checks what is still missing
  exec 9>"$HC_CACHE/.build.lock"
  flock 9
  local todo
  mapfile -t todo < <(missing_targets)
  if [ ${#todo[@]} -eq 0 ] && ! runtime_tools_missing; then return 0; fi
  local log=$HC_CACHE/build.log start=$SECONDS
  echo "host-cluster: building ${todo[*]:-runtime tools} (Kubernetes $K8S_VERSION) into $BIN; log: $log" >&2
  echo "=== $(date -u +%FT%TZ) build ${todo[*]:-runtime tools}" >>"$log"
  if ! (do_build "${todo[@]}") >>"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "host-cluster: build failed; full log: $log" >&2
    exit 1
  fi
  echo "=== $(date -u +%FT%TZ) done in $((SECONDS - start))s" >>"$log"
  echo "host-cluster: built in $((SECONDS - start))s" >&2
}

conformance() {
  HC_EXTRA_TARGETS="${HC_EXTRA_TARGETS:-} test/e2e/e2e.test" build
  cd "$here/../.."
  HC_FOCUS=${1:-${HC_FOCUS:-}} HC_SKIP=${2:-${HC_SKIP:-}} \
    cargo test -p warren-e2e --test hostcluster -- --ignored --exact conformance --nocapture
}

up() {
  local dir=$1 port=$2; mkdir -p "$dir"; dir=$(cd "$dir" && pwd); cd "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 365 -subj "/CN=host-ca" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver" 2>/dev/null
  printf "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost" > ext.cnf
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 365 -extfile ext.cnf 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  echo "admintoken,admin,admin,system:masters" > tokens.csv
  local eport=$((port+1)) pport=$((port+2))
  etcd --data-dir "$dir/etcd" --listen-client-urls "http://127.0.0.1:$eport" --advertise-client-urls "http://127.0.0.1:$eport" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "default=http://127.0.0.1:$pport" > etcd.log 2>&1 & echo $! > etcd.pid
  sleep 1
  "$BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$eport" --secure-port="$port" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --tls-cert-file=apiserver.crt --tls-private-key-file=apiserver.key --client-ca-file=ca.crt --token-auth-file=tokens.csv \
    --service-account-key-file=sa.pub --service-account-signing-key-file=sa.key --service-account-issuer=https://kubernetes.default.svc \
    --service-cluster-ip-range=10.96.0.0/16 --authorization-mode=Node,RBAC --insecure-port=0 > apiserver.log 2>&1 & echo $! > apiserver.pid
  cat > kubeconfig <<EOK
apiVersion: v1
kind: Config
clusters: [{name: host, cluster: {server: "https://127.0.0.1:$port", certificate-authority: $dir/ca.crt}}]
users: [{name: admin, user: {token: admintoken}}]
contexts: [{name: host, context: {cluster: host, user: admin}}]
current-context: host
EOK
  for _ in $(seq 1 60); do kubectl --kubeconfig kubeconfig get --raw /readyz >/dev/null 2>&1 && break; sleep 0.5; done
  "$BIN/kube-controller-manager" --kubeconfig kubeconfig --authentication-kubeconfig kubeconfig --authorization-kubeconfig kubeconfig \
    --bind-address=127.0.0.1 --secure-port=0 --port=0 --leader-elect=false --service-account-private-key-file=sa.key --root-ca-file=ca.crt \
    --use-service-account-credentials=false --cluster-signing-cert-file=ca.crt --cluster-signing-key-file=ca.key \
    --controllers='*,-nodeipam,-attachdetach,-persistentvolume-binder,-cloud-node-lifecycle' > kcm.log 2>&1 & echo $! > kcm.pid
}
down() { local dir=$1 p; for p in kcm apiserver etcd; do [ -f "$dir/$p.pid" ] && kill "$(cat "$dir/$p.pid")" 2>/dev/null || true; done; }

case "$cmd" in
  build) build;;
  conformance) shift; conformance "$@";;
  up) build; up "$2" "$3";;
  down) down "$2";;
  *) echo "usage: $0 build | conformance [FOCUS [SKIP]] | up DIR PORT | down DIR" >&2; exit 2;;
esac
