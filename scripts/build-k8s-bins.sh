#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kubectl) from the Go
# module proxy at pinned versions, once per machine. The product has no Go:
# these binaries exist only so tests run against a real API server.
#
# Output: $METALGATE_K8S_BIN (default ~/.cache/metalgate/k8s-v$K8S_VERSION-etcd-v$ETCD_VERSION/bin)
# Prints the bin directory on its last line.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"   # newest release that builds with Go 1.26
ETCD_VERSION="${ETCD_VERSION:-3.6.16}" # the etcd line Kubernetes 1.36 is tested with
CACHE_ROOT="${METALGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metalgate}"
OUT="${METALGATE_K8S_BIN:-$CACHE_ROOT/k8s-v$K8S_VERSION-etcd-v$ETCD_VERSION/bin}"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

log() { printf '[build-k8s-bins] %s\n' "$*" >&2; }

if [ -x "$OUT/etcd" ] && [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/kubectl" ]; then
  log "cached: $OUT"
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { log "Go is required to build the test control plane"; exit 1; }
mkdir -p "$OUT"
work="$CACHE_ROOT/build"
rm -rf "$work"; mkdir -p "$work/k8s" "$work/etcd"

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
cat > "$work/k8s/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
log "go mod tidy (downloads modules on the first run)"
(cd "$work/k8s" && go mod tidy >&2)
log "building kube-apiserver (several minutes on 2 cores)"
(cd "$work/k8s" && go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION" -o "$OUT/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
log "building kubectl"
(cd "$work/k8s" && go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION" -o "$OUT/kubectl" k8s.io/kubernetes/cmd/kubectl)

# etcd: its server module carries relative replaces, so build it as a
# dependency of a wrapper module instead of `go install pkg@version`.
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
(cd "$work/etcd" && go mod tidy >&2 && go build -trimpath -ldflags "-s -w" -o "$OUT/etcd" go.etcd.io/etcd/server/v3)

rm -rf "$work"
"$OUT/kube-apiserver" --version >&2
# No pipe into head here: under pipefail, etcd writes its version in several
# writes and dies of SIGPIPE when head exits first (exit 141, a third of runs).
"$OUT/etcd" --version >&2
log "done: $OUT"
echo "$OUT"
