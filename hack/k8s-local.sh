#!/usr/bin/env bash
# k8s-local.sh - build and run a loopback-only Kubernetes control plane
# (etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok)
# from Go sources, without Docker/kind. Idempotent.
#
#   k8s-local.sh build   # compile binaries into $CACHE/bin (once; ~25 min cold on 2 cores)
#   k8s-local.sh up      # start the control plane (reuses running pieces), writes $RUN/admin.kubeconfig
#   k8s-local.sh status  # show PIDs / RSS / readiness
#   k8s-local.sh env     # print export lines (KUBECONFIG, KUBEBUILDER_ASSETS)
#   k8s-local.sh node [name]  # create a fake kwok-managed Node (node and smoke use kubectl; nothing else does)
#   k8s-local.sh smoke   # node + Deployment(3) + Service -> asserts 3 Ready pod IPs in the EndpointSlice, then cleans up
#   k8s-local.sh down    # stop processes started by `up` (by PID file)
#   k8s-local.sh reset   # down + delete $RUN (etcd data, certs, logs)
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"     # k8s.io/kubernetes module version (without the v); matches our client-go v0.37.2
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"   # go.etcd.io/etcd/server/v3 version (3.6.x needs Go >= 1.26 for the newest patches)
KWOK_VERSION="${KWOK_VERSION:-0.8.0}"    # sigs.k8s.io/kwok version
CACHE="${K8S_LOCAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/k8s-local}"
BIN="$CACHE/bin/k8s-v$K8S_VERSION"       # etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (usable as KUBEBUILDER_ASSETS)
RUN="${K8S_LOCAL_RUN:-$CACHE/run}" # pki, etcd data, logs, pids, kubeconfigs
ETCD_PORT="${ETCD_PORT:-23791}"
ETCD_PEER_PORT="${ETCD_PEER_PORT:-23801}"
API_PORT="${API_PORT:-26443}"
KWOK_PORT="${KWOK_PORT:-20247}"
SERVICE_CIDR="${SERVICE_CIDR:-10.96.0.0/16}"
POD_CIDR="${POD_CIDR:-10.244.0.0/16}"
WITH_KCM="${WITH_KCM:-1}" WITH_SCHEDULER="${WITH_SCHEDULER:-1}" WITH_KWOK="${WITH_KWOK:-1}"

log() { printf '[k8s-local %s] %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1fs", b-a}'; }
modfile() { (cd / && go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p'); }
moddir() { (cd / && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'); }

# ---------------------------------------------------------------- build
build_k8s() {
  local out="$CACHE/bin/k8s-v$K8S_VERSION" src="$CACHE/src/k8s-v$K8S_VERSION"
  if [[ -x $out/kube-apiserver && -x $out/kube-controller-manager && -x $out/kube-scheduler ]]; then return 0; fi
  mkdir -p "$out" "$src"
  local gomod minor t; gomod="$(modfile "k8s.io/kubernetes@v$K8S_VERSION")"; minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  {
    printf 'module k8slocal/build\n\ngo %s\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' \
      "$(awk '$1=="go"{print $2; exit}' "$gomod")" "$K8S_VERSION"
    # every staging module of k8s.io/kubernetes is replaced by its published v0.<minor>.<patch> twin
    sed -n '/^replace (/,/^)/p' "$gomod" | awk -v v="v0.${K8S_VERSION#*.}" '$2=="=>" && $3 ~ /^\.\/staging\// {printf "\t%s => %s %s\n", $1, $1, v}'
    printf ')\n'
  } > "$src/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n)\n' > "$src/tools.go"
  local ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  t=$(now); log "building kube-apiserver/kube-controller-manager/kube-scheduler v$K8S_VERSION (slow) ..."
  (cd "$src" && go mod tidy && go build -trimpath -ldflags "$ld" -o "$out/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler)
  log "k8s binaries built in $(since "$t")"
}

build_etcd() {
  local out="$CACHE/bin/etcd-v$ETCD_VERSION" src="$CACHE/src/etcd-v$ETCD_VERSION"
  if [[ ! -x $out/etcd ]]; then
    mkdir -p "$out" "$src"
    local gomod t; gomod="$(modfile "go.etcd.io/etcd/server/v3@v$ETCD_VERSION")"
    {
      printf 'module k8slocal/etcdbuild\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 v%s\n\nreplace (\n' \
        "$(awk '$1=="go"{print $2; exit}' "$gomod")" "$ETCD_VERSION"
      # server/go.mod replaces its sibling modules with ../api etc.; pin them to the same release instead
      sed -n '/^replace (/,/^)/p' "$gomod" | awk -v v="v$ETCD_VERSION" '$2=="=>" && $3 ~ /^\.\.\// {printf "\t%s => %s %s\n", $1, $1, v}'
      printf ')\n'
    } > "$src/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$src/tools.go"
    t=$(now); log "building etcd v$ETCD_VERSION ..."
    (cd "$src" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
    log "etcd built in $(since "$t")"
  fi
  mkdir -p "$BIN"; ln -sf "$out/etcd" "$BIN/etcd"
}

build_kwok() {
  local out="$CACHE/bin/kwok-v$KWOK_VERSION" t
  if [[ ! -x $out/kwok ]]; then
    mkdir -p "$out"; t=$(now); log "building kwok v$KWOK_VERSION ..."
    # First inside the k8s build module: kwok then links the k8s.io packages already compiled for the control plane
    # (minutes instead of a separate ~7 min build against its own k8s.io versions). Fall back to its own module.
    local src="$CACHE/src/kwok-v$KWOK_VERSION-k8s-v$K8S_VERSION"
    rm -rf "$src"; mkdir -p "$src"; cp "$CACHE/src/k8s-v$K8S_VERSION/go.mod" "$src/go.mod"
    sed -i 's#^module .*#module k8slocal/kwokbuild#' "$src/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "sigs.k8s.io/kwok/cmd/kwok"\n' > "$src/tools.go"
    if ! (cd "$src" && go get "sigs.k8s.io/kwok@v$KWOK_VERSION" && go mod tidy &&
          go build -trimpath -ldflags "-s -w" -o "$out/kwok" sigs.k8s.io/kwok/cmd/kwok); then
      log "kwok does not build against k8s.io v0.${K8S_VERSION#*.}; building it with its own dependencies"
      (cd / && GOBIN="$out" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION")
    fi
    log "kwok built in $(since "$t")"
  fi
  mkdir -p "$BIN"; ln -sf "$out/kwok" "$BIN/kwok"
}

# kwok_config writes KWOK's configuration: its own node stages (as kwokctl uses them), our pod
# stages (hack/kwok-pod-stages.yaml: readiness gates wait for their condition) and its pod
# completion and deletion stages.
kwok_config() {
  local d here; d="$(moddir "sigs.k8s.io/kwok@v$KWOK_VERSION")"; here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  {
    # NB: defaults are NOT applied to a KwokConfiguration given via --config; zero parallelism makes kwok exit with
    # "node leases parallelism must be greater than 0", so spell the values out.
    printf 'apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions:\n  nodeLeaseDurationSeconds: 40\n  nodeLeaseParallelism: 4\n  podPlayStageParallelism: 4\n  nodePlayStageParallelism: 4\n  podsOnNodeSyncParallelism: 1\n'
    for f in "$d"/kustomize/stage/node/fast/node-initialize.yaml \
             "$d"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             "$here"/kwok-pod-stages.yaml \
             "$d"/kustomize/stage/pod/fast/pod-complete.yaml "$d"/kustomize/stage/pod/fast/pod-delete.yaml; do
      printf -- '---\n'; cat "$f"
    done
  } > "$1"
}

cmd_build() { build_etcd; build_k8s; build_kwok; ls -la "$BIN"/ >&2; }

# ---------------------------------------------------------------- pki / kubeconfig
gen_pki() {
  local p="$RUN/pki"; [[ -f $p/.done ]] && return 0
  mkdir -p "$p"; local svc_ip="${SERVICE_CIDR%.*/*}.1"
  cat > "$p/openssl.cnf" <<EOF
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:$svc_ip
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
EOF
  (
    cd "$p"
    openssl req -x509 -config openssl.cnf -extensions ca -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=k8s-local-ca" 2>/dev/null
    leaf() { # name subject extension-section
      openssl req -config openssl.cnf -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile openssl.cnf -extensions "$3" -out "$1.crt" 2>/dev/null
      rm -f "$1.csr"
    }
    leaf apiserver "/CN=kube-apiserver" server
    leaf admin "/O=system:masters/CN=k8s-local-admin" client
    leaf kube-controller-manager "/CN=system:kube-controller-manager" client
    leaf kube-scheduler "/CN=system:kube-scheduler" client
    leaf kwok "/O=system:masters/CN=kwok" client
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    touch .done
  )
}

b64() { base64 < "$1" | tr -d '\n'; }
write_kubeconfig() { # user -> $RUN/<user>.kubeconfig
  cat > "$RUN/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: k8s-local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(b64 "$RUN/pki/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(b64 "$RUN/pki/$1.crt")
    client-key-data: $(b64 "$RUN/pki/$1.key")
contexts:
- name: k8s-local
  context: {cluster: k8s-local, user: $1}
current-context: k8s-local
EOF
}

# ---------------------------------------------------------------- processes
alive() { # pid file exists, process is not a zombie, and its command line still names the component (no PID reuse)
  local f="$RUN/pids/$1.pid" pid st; [[ -f $f ]] || return 1; pid=$(cat "$f")
  st=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1; [[ $st != Z* ]] || return 1
  [[ $(ps -o args= -p "$pid" 2>/dev/null) == *"$1"* ]]
}
start() { # name cmd...
  local name=$1; shift
  if alive "$name"; then log "$name already running (pid $(cat "$RUN/pids/$name.pid"))"; return 0; fi
  "$@" >"$RUN/logs/$name.log" 2>&1 </dev/null &
  echo $! > "$RUN/pids/$name.pid"; log "started $name pid $!"
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { # what timeout-seconds cmd...
  local what=$1 to=$2 t; t=$(now); shift 2
  for ((i = 0; i < to * 10; i++)); do
    if "$@" >/dev/null 2>&1; then log "$what ready after $(since "$t")"; return 0; fi
    sleep 0.1
  done
  log "$what NOT ready after ${to}s"; return 1
}
kc() { kubectl --kubeconfig "$RUN/admin.kubeconfig" "$@"; } # node and smoke only: the rest needs no kubectl
api() { # METHOD PATH: the API server as admin, with curl (fails on an HTTP error)
  curl -sf -X "$1" --cacert "$RUN/pki/ca.crt" --cert "$RUN/pki/admin.crt" --key "$RUN/pki/admin.key" "https://127.0.0.1:$API_PORT$2"
}

cmd_up() {
  [[ -x $BIN/kube-apiserver && -x $BIN/etcd && ( $WITH_KWOK != 1 || -x $BIN/kwok ) ]] || { log "binaries missing in $BIN; run: $0 build"; exit 1; }
  mkdir -p "$RUN/logs" "$RUN/pids" "$RUN/etcd"; chmod 700 "$RUN/etcd"
  gen_pki
  local u; for u in admin kube-controller-manager kube-scheduler kwok; do write_kubeconfig "$u"; done
  local t0; t0=$(now)

  alive etcd || { port_free "$ETCD_PORT" && port_free "$ETCD_PEER_PORT"; } || { log "etcd ports $ETCD_PORT/$ETCD_PEER_PORT busy"; exit 1; }
  start etcd "$BIN/etcd" --name k8s-local --data-dir "$RUN/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "k8s-local=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --quota-backend-bytes=$((2 * 1024 * 1024 * 1024)) --log-level=warn
  wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

  alive kube-apiserver || port_free "$API_PORT" || { log "apiserver port $API_PORT busy"; exit 1; }
  local p="$RUN/pki"
  start kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" --client-ca-file "$p/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode RBAC --allow-privileged=true \
    --endpoint-reconciler-type none --profiling=false --v=1
  wait_for kube-apiserver 120 api GET /readyz
  log "control plane API ready $(since "$t0") after up"

  if [[ $WITH_KCM == 1 ]]; then
    start kube-controller-manager "$BIN/kube-controller-manager" \
      --kubeconfig "$RUN/kube-controller-manager.kubeconfig" --secure-port 0 --leader-elect=false \
      --use-service-account-credentials=true --service-account-private-key-file "$p/sa.key" --root-ca-file "$p/ca.crt" \
      --cluster-signing-cert-file "$p/ca.crt" --cluster-signing-key-file "$p/ca.key" \
      --service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$POD_CIDR" --allocate-node-cidrs=false \
      --controllers '*' --v=1
  fi
  if [[ $WITH_SCHEDULER == 1 ]]; then
    start kube-scheduler "$BIN/kube-scheduler" \
      --kubeconfig "$RUN/kube-scheduler.kubeconfig" --secure-port 0 --leader-elect=false --v=1
  fi
  if [[ $WITH_KWOK == 1 ]]; then
    # each kwok process has a random lease holder id; a restarted kwok would otherwise wait ~40s for the old
    # instance's node leases to expire before it manages pods on existing fake nodes
    alive kwok || api DELETE /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases >/dev/null 2>&1 || true
    kwok_config "$RUN/kwok.yaml"
    start kwok "$BIN/kwok" --kubeconfig "$RUN/kwok.kubeconfig" --config "$RUN/kwok.yaml" \
      --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
      --cidr "$POD_CIDR" --node-ip 10.255.0.1 --server-address "127.0.0.1:$KWOK_PORT"
  fi
  if [[ $WITH_KCM == 1 ]]; then wait_for "kube-controller-manager (default SA)" 60 api GET /api/v1/namespaces/default/serviceaccounts/default; fi
  log "up: $(since "$t0"); export KUBECONFIG=$RUN/admin.kubeconfig"
}

cmd_node() { # fake node managed by kwok (no taint, so ordinary pods land on it)
  local n="${1:-kwok-node-0}"
  kc apply -f - <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $n
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: $n, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
EOF
  kc wait --for=condition=Ready "node/$n" --timeout=60s
}

stop_group() { # SIGTERM all given components at once, wait up to 15s, then SIGKILL leftovers
  local n pid i st; local -a pids=() left=()
  for n in "$@"; do
    if alive "$n"; then pid=$(cat "$RUN/pids/$n.pid"); kill "$pid" 2>/dev/null || true; pids+=("$pid"); log "stopping $n (pid $pid)"; fi
    rm -f "$RUN/pids/$n.pid"
  done
  for ((i = 0; i < 150 && ${#pids[@]} > 0; i++)); do
    left=(); for pid in "${pids[@]}"; do st=$(ps -o stat= -p "$pid" 2>/dev/null) && [[ $st != Z* ]] && left+=("$pid"); done
    pids=("${left[@]+"${left[@]}"}"); ((${#pids[@]})) && sleep 0.1
  done
  for pid in "${pids[@]+"${pids[@]}"}"; do kill -9 "$pid" 2>/dev/null || true; done
}
cmd_down() { stop_group kwok kube-scheduler kube-controller-manager; stop_group kube-apiserver; stop_group etcd; }

cmd_status() {
  local n pid
  for n in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    if alive "$n"; then pid=$(cat "$RUN/pids/$n.pid"); printf '%-24s pid %-8s rss %s MiB\n' "$n" "$pid" "$(( $(awk '/VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0) / 1024 ))"
    else printf '%-24s stopped\n' "$n"; fi
  done
  api GET /readyz 2>/dev/null && echo " (/readyz)" || true
}

cmd_smoke() { # fake node + 3-replica Deployment + Service -> 3 Ready pods with IPs in the EndpointSlice; then GC
  cmd_node kwok-node-0 >/dev/null
  local t i ips eps; t=$(now)
  kc apply -f - >/dev/null <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: smoke, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: smoke}}
  template:
    metadata: {labels: {app: smoke}}
    spec: {containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: smoke, namespace: default}
spec: {selector: {app: smoke}, ports: [{port: 80, targetPort: 80}]}
EOF
  kc rollout status deploy/smoke --timeout=60s >/dev/null
  for ((i = 0; i < 100; i++)); do
    ips=$(kc get pods -l app=smoke -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' | sort | paste -sd, -)
    eps=$(kc get endpointslices -l kubernetes.io/service-name=smoke -o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}{"\n"}{end}' | sort | paste -sd, -)
    [[ -n $ips && $ips == "$eps" && $(tr ',' '\n' <<<"$ips" | wc -l) -eq 3 ]] && break
    sleep 0.1
  done
  log "smoke: 3 pods Ready ($ips), EndpointSlice ($eps) after $(since "$t")"
  [[ -n $ips && $ips == "$eps" ]] || { log "smoke FAILED"; return 1; }
  kc delete deploy/smoke svc/smoke >/dev/null
  for ((i = 0; i < 100; i++)); do [[ -z $(kc get pods,rs -l app=smoke -o name) ]] && break; sleep 0.1; done
  log "smoke: garbage collector removed ReplicaSet+Pods after $(since "$t")"
}

cmd_env() { printf 'export KUBECONFIG=%s\nexport KUBEBUILDER_ASSETS=%s\n' "$RUN/admin.kubeconfig" "$BIN"; }

case "${1:-}" in
  build) cmd_build ;;
  up) cmd_up ;;
  down) cmd_down ;;
  reset) cmd_down; rm -rf "$RUN" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  node) shift; cmd_node "$@" ;;
  smoke) cmd_smoke ;;
  *) echo "usage: $0 build|up|down|reset|status|env|node [name]|smoke" >&2; exit 2 ;;
esac
