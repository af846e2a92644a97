#!/usr/bin/env bash
# Real Kubernetes host cluster (kube-apiserver + kube-controller-manager 1.20.2, etcd 3.4) built only
# from Debian's packages: the source package `kubernetes` ships the full tree with vendor/.
# usage: host-cluster.sh build            -> builds binaries into $HC_CACHE (default /var/cache/hostcluster)
#        host-cluster.sh up DIR PORT      -> starts etcd+apiserver+kcm on 127.0.0.1:PORT, writes DIR/kubeconfig
#        host-cluster.sh down DIR
set -euo pipefail
HC_CACHE=${HC_CACHE:-/var/cache/warren-hostcluster}
BIN=$HC_CACHE/bin
cmd=${1:-}
build() {
  [ -x $BIN/kube-apiserver ] && [ -x $BIN/kube-controller-manager ] && return 0
  mkdir -p $HC_CACHE/src $BIN
  # source packages come from the same Debian archive the machine already uses
  if [ ! -f /etc/apt/sources.list.d/deb-src.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > /etc/apt/sources.list.d/deb-src.sources
  fi
  apt-get update -qq
  apt-get install -y -qq golang-go etcd-server rsync jq openssl >/dev/null
  cd $HC_CACHE/src
  [ -d kubernetes-1.20.2 ] || { apt-get source --download-only kubernetes; tar xzf kubernetes_*.orig.tar.gz; }
  cd kubernetes-1.20.2
  mkdir -p .go/src/k8s.io && ln -sfn ../../.. .go/src/k8s.io/kubernetes
  # Kubernetes 1.20 vendors reflect2 1.0.1, which crashes ("fatal error: fault" in map iteration)
  # under Go >= 1.18; Debian's reflect2 1.0.2 is the fixed version.
  apt-get install -y -qq golang-github-modern-go-reflect2-dev >/dev/null
  rm -rf vendor/github.com/modern-go/reflect2 && mkdir -p vendor/github.com/modern-go/reflect2
  cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go /usr/share/gocode/src/github.com/modern-go/reflect2/*.s vendor/github.com/modern-go/reflect2/
  env GOPATH=$PWD/.go CGO_ENABLED=0 HOME=$HC_CACHE/home GOCACHE=$HC_CACHE/gocache make WHAT="cmd/kube-apiserver cmd/kube-controller-manager ${HC_EXTRA_TARGETS:-}"
  cp _output/local/bin/linux/amd64/kube-apiserver _output/local/bin/linux/amd64/kube-controller-manager $BIN/
}
up() {
  local dir=$1 port=$2; mkdir -p $dir; cd $dir
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 365 -subj "/CN=host-ca" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver" 2>/dev/null
  printf "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost" > ext.cnf
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 365 -extfile ext.cnf 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  echo "admintoken,admin,admin,system:masters" > tokens.csv
  local eport=$((port+1)) pport=$((port+2))
  etcd --data-dir $dir/etcd --listen-client-urls http://127.0.0.1:$eport --advertise-client-urls http://127.0.0.1:$eport --listen-peer-urls http://127.0.0.1:$pport > etcd.log 2>&1 & echo $! > etcd.pid
  sleep 1
  $BIN/kube-apiserver --etcd-servers=http://127.0.0.1:$eport --secure-port=$port --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --tls-cert-file=apiserver.crt --tls-private-key-file=apiserver.key --client-ca-file=ca.crt --token-auth-file=tokens.csv \
    --service-account-key-file=sa.pub --service-account-signing-key-file=sa.key --service-account-issuer=https://kubernetes.default.svc \
    --service-cluster-ip-range=10.96.0.0/16 --authorization-mode=RBAC --insecure-port=0 > apiserver.log 2>&1 & echo $! > apiserver.pid
  cat > kubeconfig <<EOK
apiVersion: v1
kind: Config
clusters: [{name: host, cluster: {server: "https://127.0.0.1:$port", certificate-authority: $dir/ca.crt}}]
users: [{name: admin, user: {token: admintoken}}]
contexts: [{name: host, context: {cluster: host, user: admin}}]
current-context: host
EOK
  for i in $(seq 1 60); do kubectl --kubeconfig kubeconfig get --raw /readyz >/dev/null 2>&1 && break; sleep 0.5; done
  $BIN/kube-controller-manager --kubeconfig kubeconfig --authentication-kubeconfig kubeconfig --authorization-kubeconfig kubeconfig \
    --bind-address=127.0.0.1 --secure-port=0 --port=0 --leader-elect=false --service-account-private-key-file=sa.key --root-ca-file=ca.crt \
    --controllers='*,-nodeipam,-nodelifecycle,-attachdetach,-persistentvolume-binder,-cloud-node-lifecycle' > kcm.log 2>&1 & echo $! > kcm.pid
}
down() { local dir=$1; for p in kcm apiserver etcd; do [ -f $dir/$p.pid ] && kill $(cat $dir/$p.pid) 2>/dev/null || true; done; }
case "$cmd" in build) build;; up) build; up "$2" "$3";; down) down "$2";; *) echo "usage: $0 build|up DIR PORT|down DIR"; exit 2;; esac
