#!/usr/bin/env bash
# Builds the container images the real-kubelet test cluster runs, without any
# container registry, once per machine and again only when their inputs change:
#
#   docker.io/library/node:24-bookworm-slim  the Dockerfile's FROM: a Debian
#        bookworm rootfs from mmdebstrap (Debian's packages) with the Node.js
#        binary of the `node` npm devDependency and npm from the npm registry
#   ghcr.io/metalgate/metalgate:0.1.0        the product, from ./Dockerfile
#        unchanged (buildah bud)
#   metalgate.test/pause:1                   the pod sandbox: test/cluster/pause.c
#   docker.io/library/nginx:stable           the quickstart's app: Debian's
#        nginx-light on a bookworm rootfs (a stand-in with the name the
#        quickstart uses; no registry is reachable to pull the real one)
#
# Output: one docker-archive per image in $METALGATE_CACHE/images/ (default
# ~/.cache/metalgate/images), named <image>-<input hash>.tar; the last line
# printed is that directory. Progress goes to stderr as "[build-images] ...".
#
# On a network whose TLS is intercepted, point METALGATE_EXTRA_CA at the CA
# bundle (it defaults to NODE_EXTRA_CA_CERTS, which such hosts already set for
# Node): the product build gets it as the build secret `extra_ca` (see the
# Dockerfile), the way a corporate user builds the image.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
CACHE_ROOT="${METALGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metalgate}"
OUT="$CACHE_ROOT/images"
SUITE=bookworm
MIRROR="${METALGATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PRODUCT_IMAGE=ghcr.io/metalgate/metalgate:0.1.0
BASE_IMAGE=docker.io/library/node:24-bookworm-slim
PAUSE_IMAGE=metalgate.test/pause:1
NGINX_IMAGE=docker.io/library/nginx:stable

log() { printf '[build-images] %s\n' "$*" >&2; }
for tool in buildah mmdebstrap gcc; do
  command -v "$tool" >/dev/null || { log "$tool is required (apt-get install buildah mmdebstrap gcc)"; exit 1; }
done
mkdir -p "$OUT"

# buildah's own storage, private to this cache: the host's containers storage
# (if any) is not touched. chroot isolation and the host network: the build's
# RUN steps need neither runc nor a CNI network (and runc cannot set
# oom_score_adj on machines whose root lacks CAP_SYS_RESOURCE).
store=(--root "$OUT/storage" --runroot "$OUT/run" --storage-driver overlay)
export BUILDAH_ISOLATION=chroot
export CONTAINERS_REGISTRIES_CONF="$OUT/registries.conf"
cat > "$CONTAINERS_REGISTRIES_CONF" <<'CONF'
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
CONF

hash_of() { sha256sum | cut -c1-16; }
self_hash=$(hash_of < "$0")
node_bin="$root/node_modules/node/bin/node"
[ -x "$node_bin" ] || { log "run npm ci first: $node_bin (the node devDependency) is missing"; exit 1; }
node_version=$("$node_bin" --version)
npm_version="${METALGATE_IMAGE_NPM_VERSION:-11}"

archive() { echo "$OUT/$1-$2.tar"; }
export_image() { # image archive
  rm -f "$2.tmp"
  buildah "${store[@]}" push --quiet "$1" "docker-archive:$2.tmp:$1" >/dev/null
  mv "$2.tmp" "$2"
}
drop_old() { # prefix keep
  for f in "$OUT/$1"-*.tar; do [ -e "$f" ] && [ "$f" != "$2" ] && rm -f "$f"; done; return 0
}
# new_image IMAGE CONTENT DEST PREFIX ARCHIVE [buildah config args...]: an
# image from scratch holding CONTENT (a root filesystem tarball, unpacked, or
# one file) at DEST, committed and saved as ARCHIVE; older archives of PREFIX go.
new_image() {
  local image="$1" content="$2" dest="$3" prefix="$4" tar="$5" c
  shift 5
  c=$(buildah "${store[@]}" from scratch)
  buildah "${store[@]}" add --quiet "$c" "$content" "$dest" >/dev/null
  buildah "${store[@]}" config "$@" "$c"
  buildah "${store[@]}" commit --quiet --rm "$c" "$image" >/dev/null
  export_image "$image" "$tar"
  drop_old "$prefix" "$tar"
}
rootfs() { # tar-path, then mmdebstrap options
  local tar="$1"; shift
  mmdebstrap --quiet --variant=minbase --format=tar \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$@" "$SUITE" "$tar" "$MIRROR" >&2
}

# ---- the base image: Debian bookworm + Node.js 24 + npm ----
base_key=$(printf '%s %s %s %s\n' "$self_hash" "$node_version" "$npm_version" "$(sha256sum < "$node_bin")" | hash_of)
base_tar=$(archive node-24-bookworm-slim "$base_key")
if [ ! -s "$base_tar" ]; then
  log "base image $BASE_IMAGE: Debian $SUITE rootfs (mmdebstrap) + Node.js $node_version + npm@$npm_version"
  work=$(mktemp -d "$OUT/work.XXXXXX"); trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
  mkdir -p "$work/usr/local/bin" "$work/usr/local/lib/node_modules/npm"
  cp "$node_bin" "$work/usr/local/bin/node"
  tar -xzf "$work"/npm-*.tgz -C "$work/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/usr/local/bin/npx"
  rootfs "$work/rootfs.tar" \
    --customize-hook="tar -C '$work' -cf - usr/local | tar -C \"\$1\" -xf -" \
    --customize-hook='chroot "$1" groupadd --gid 1000 node && chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  new_image "$BASE_IMAGE" "$work/rootfs.tar" / node-24-bookworm-slim "$base_tar" \
    --env "NODE_VERSION=${node_version#v}" --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd node
  rm -rf "$work"; trap - EXIT
else
  log "cached: $BASE_IMAGE"
fi
# The storage may have been removed while the archive stayed: load it back.
buildah "${store[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1 \
  || buildah "${store[@]}" pull --quiet "docker-archive:$base_tar" >/dev/null

# ---- the product image, from the Dockerfile unchanged ----
product_inputs=(Dockerfile .dockerignore package.json package-lock.json tsconfig.json tsconfig.build.json scripts/build-native.mjs native/src src)
product_key=$( (echo "$base_key"; cd "$root" && find "${product_inputs[@]}" -type f 2>/dev/null | LC_ALL=C sort | xargs sha256sum) | hash_of)
product_tar=$(archive metalgate "$product_key")
if [ ! -s "$product_tar" ]; then
  log "product image $PRODUCT_IMAGE from ./Dockerfile (buildah bud; npm ci and the native addon inside, a few minutes)"
  secret=()
  extra_ca="${METALGATE_EXTRA_CA:-${NODE_EXTRA_CA_CERTS:-}}"
  if [ -n "$extra_ca" ] && [ -s "$extra_ca" ]; then secret=(--secret "id=extra_ca,src=$extra_ca"); fi
  buildah "${store[@]}" bud --quiet --pull=never --network host --layers "${secret[@]}" \
    -t "$PRODUCT_IMAGE" -f "$root/Dockerfile" "$root" >&2
  export_image "$PRODUCT_IMAGE" "$product_tar"
  drop_old metalgate "$product_tar"
else
  log "cached: $PRODUCT_IMAGE"
fi

# ---- the pause image: one static binary ----
pause_src="$root/test/cluster/pause.c"
pause_key=$( (echo "$self_hash"; cat "$pause_src") | hash_of)
pause_tar=$(archive pause "$pause_key")
if [ ! -s "$pause_tar" ]; then
  log "pause image $PAUSE_IMAGE from test/cluster/pause.c"
  work=$(mktemp -d "$OUT/work.XXXXXX"); trap 'rm -rf "$work"' EXIT
  gcc -static -Os -s -o "$work/pause" "$pause_src"
  new_image "$PAUSE_IMAGE" "$work/pause" /pause pause "$pause_tar" --entrypoint '["/pause"]' --user 65535:65535
  rm -rf "$work"; trap - EXIT
else
  log "cached: $PAUSE_IMAGE"
fi

# ---- the quickstart's app: nginx ----
nginx_key=$(echo "$self_hash nginx-light" | hash_of)
nginx_tar=$(archive nginx "$nginx_key")
if [ ! -s "$nginx_tar" ]; then
  log "app image $NGINX_IMAGE: Debian's nginx-light on a $SUITE rootfs (mmdebstrap)"
  work=$(mktemp -d "$OUT/work.XXXXXX"); trap 'rm -rf "$work"' EXIT
  rootfs "$work/rootfs.tar" --include=nginx-light \
    --customize-hook='ln -sf /dev/stdout "$1/var/log/nginx/access.log" && ln -sf /dev/stderr "$1/var/log/nginx/error.log"'
  new_image "$NGINX_IMAGE" "$work/rootfs.tar" / nginx "$nginx_tar" --port 80 --cmd '["nginx", "-g", "daemon off;"]' --stop-signal SIGQUIT
  rm -rf "$work"; trap - EXIT
else
  log "cached: $NGINX_IMAGE"
fi

log "done: $OUT"
echo "$OUT"
