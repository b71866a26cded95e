#!/usr/bin/env bash
# Builds the test Kubernetes binaries from the Go module proxy at pinned
# versions, once per machine. The product has no Go: these binaries exist only
# so tests run against a real API server and, with `--nodes`, real kubelets.
#
#   build-k8s-bins.sh           etcd, kube-apiserver, kubectl
#   build-k8s-bins.sh --nodes   also kubelet, kube-controller-manager,
#                               kube-scheduler, kube-proxy and helm
#
# Output: $METALGATE_K8S_BIN (default ~/.cache/metalgate/k8s-v$K8S_VERSION-etcd-v$ETCD_VERSION/bin)
# Each binary is built only when missing. Prints the bin directory on its last line.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"   # newest release that builds with Go 1.26
ETCD_VERSION="${ETCD_VERSION:-3.6.16}" # the etcd line Kubernetes 1.36 is tested with
HELM_VERSION="${HELM_VERSION:-4.3.2}"
CACHE_ROOT="${METALGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metalgate}"
OUT="${METALGATE_K8S_BIN:-$CACHE_ROOT/k8s-v$K8S_VERSION-etcd-v$ETCD_VERSION/bin}"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

log() { printf '[build-k8s-bins] %s\n' "$*" >&2; }

k8s_cmds=(kube-apiserver kubectl)
want_helm=0
if [ "${1:-}" = "--nodes" ]; then
  k8s_cmds+=(kubelet kube-controller-manager kube-scheduler kube-proxy)
  want_helm=1
fi
missing_k8s=()
for c in "${k8s_cmds[@]}"; do [ -x "$OUT/$c" ] || missing_k8s+=("$c"); done
need_etcd=0; [ -x "$OUT/etcd" ] || need_etcd=1
need_helm=0; if [ "$want_helm" = 1 ] && [ ! -x "$OUT/helm" ]; then need_helm=1; fi
if [ "${#missing_k8s[@]}" -eq 0 ] && [ "$need_etcd" = 0 ] && [ "$need_helm" = 0 ]; then
  log "cached: $OUT"
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { log "Go is required to build the test Kubernetes binaries"; exit 1; }
mkdir -p "$OUT"
work="$CACHE_ROOT/build-$$"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/k8s" "$work/etcd" "$work/helm"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION"

if [ "${#missing_k8s[@]}" -gt 0 ]; then

# kube-apiserver and kubectl: a wrapper module that requires k8s.io/kubernetes
# and points each staging module (v0.0.0 in its go.mod) at the matching v0.x.y.
log "resolving k8s.io/kubernetes v$K8S_VERSION (go $(go env GOVERSION))"
gomod=$(cd "$work/k8s" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
staging_minor="0.${K8S_VERSION#1.}"
{
  echo "module metalgate.test/k8sbins"
  echo
  echo "go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')"
  echo
  echo "require k8s.io/kubernetes v$K8S_VERSION"
  echo
  echo "replace ("
  grep -E '=> \./staging/src/' "$gomod" | awk -v v="v$staging_minor" '{printf "\t%s => %s %s\n", $1, $1, v}'
  echo ")"
} > "$work/k8s/go.mod"
{
  echo "//go:build tools"
  echo
  echo "package tools"
  echo
  echo "import ("
  for c in "${missing_k8s[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
  echo ")"
} > "$work/k8s/tools.go"
log "go mod tidy (downloads modules on the first run)"
(cd "$work/k8s" && go mod tidy >&2)
for c in "${missing_k8s[@]}"; do
  log "building $c (kube-apiserver and kubelet take several minutes on 2 cores)"
  (cd "$work/k8s" && go build -trimpath -ldflags "$ldflags" -o "$OUT/$c.tmp.$$" "k8s.io/kubernetes/cmd/$c")
  mv "$OUT/$c.tmp.$$" "$OUT/$c"
done
fi

# etcd: its server module carries relative replaces, so build it as a
# dependency of a wrapper module instead of `go install pkg@version`.
if [ "$need_etcd" = 1 ]; then
log "building etcd v$ETCD_VERSION"
cat > "$work/etcd/go.mod" <<GOMOD
module metalgate.test/etcdbin

go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
GOMOD
cat > "$work/etcd/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
(cd "$work/etcd" && go mod tidy >&2 && go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp.$$" go.etcd.io/etcd/server/v3)
mv "$OUT/etcd.tmp.$$" "$OUT/etcd"
fi

# helm: the chart in charts/metalgate is linted, rendered and installed by tests.
if [ "$need_helm" = 1 ]; then
log "building helm v$HELM_VERSION"
cat > "$work/helm/go.mod" <<GOMOD
module metalgate.test/helmbin

go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')

require helm.sh/helm/v4 v$HELM_VERSION
GOMOD
cat > "$work/helm/tools.go" <<'GO'
//go:build tools

package tools

import _ "helm.sh/helm/v4/cmd/helm"
GO
(cd "$work/helm" && go mod tidy >&2 && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION" -o "$OUT/helm.tmp.$$" helm.sh/helm/v4/cmd/helm)
mv "$OUT/helm.tmp.$$" "$OUT/helm"
fi
"$OUT/kube-apiserver" --version >&2
# No pipe into head here: under pipefail, etcd writes its version in several
# writes and dies of SIGPIPE when head exits first (exit 141, a third of runs).
"$OUT/etcd" --version >&2
log "done: $OUT"
echo "$OUT"
