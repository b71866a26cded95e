#!/usr/bin/env bash
# Builds MetalLB's controller from the Go module proxy at a pinned version,
# once per machine, so benchmarks measure metalgate beside the peer it
# replaces on the same API server and the same work (test/bench/controller-memory.ts).
# Not used by `npm test`; the product has no Go.
#
#   build-metallb.sh
#
# Output: $METALGATE_METALLB (default ~/.cache/metalgate/metallb-v$METALLB_VERSION):
#   bin/controller, and crds/ (MetalLB's own CustomResourceDefinitions of that version).
# Prints that directory on its last line.
set -euo pipefail

METALLB_VERSION="${METALLB_VERSION:-0.15.2}" # the release the outside review measured
CACHE_ROOT="${METALGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metalgate}"
OUT="${METALGATE_METALLB:-$CACHE_ROOT/metallb-v$METALLB_VERSION}"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

log() { printf '[build-metallb] %s\n' "$*" >&2; }

if [ -x "$OUT/bin/controller" ] && [ -d "$OUT/crds" ]; then
  log "cached: $OUT"
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { log "Go is required to build MetalLB"; exit 1; }
mkdir -p "$OUT/bin" "$OUT/crds"
log "building go.universe.tf/metallb/controller v$METALLB_VERSION (go $(go env GOVERSION))"
GOBIN="$OUT/bin" go install "go.universe.tf/metallb/controller@v$METALLB_VERSION"
src=$(go mod download -json "go.universe.tf/metallb@v$METALLB_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -d "$src/config/crd/bases" ] || { log "no config/crd/bases in $src"; exit 1; }
cp "$src"/config/crd/bases/*.yaml "$OUT/crds/"
chmod -R u+w "$OUT/crds"
log "built: $OUT"
echo "$OUT"
