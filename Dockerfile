# metalgate: one image for every component (`controller`, `speaker`, `validate`).
#
#   docker build -t ghcr.io/metalgate/metalgate:0.1.0 .
#
# ghcr.io/metalgate is a placeholder registry: push where your cluster pulls
# from and change the image in manifests/30-controller.yaml and
# manifests/31-speaker.yaml (or `kustomize edit set image`).

# ---- build: dependencies, TypeScript to dist/, the native addon ----
FROM node:24-bookworm-slim AS build

# c++ for the native addon (scripts/build-native.mjs). Its uv.h comes from the
# Node headers this image ships in /usr/local/include/node; libuv1-dev is the
# fallback the script also knows. python3 and make are node-gyp's, for the
# netlink package should no prebuilt binary fit this architecture.
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 libuv1-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so this layer is reused until the lockfile changes.
# --ignore-scripts: the root `prepare` script would build before the sources
# are copied, and the `node` devDependency would download a second Node
# binary (this image has Node 24). The one production dependency with an
# install script, netlink, gets it back below (`npm rebuild netlink`).
#
# Behind a TLS-intercepting proxy, hand the build your CA bundle as a secret;
# npm then trusts it through NODE_EXTRA_CA_CERTS (nothing lands in a layer):
#   docker build --secret id=extra_ca,src=/etc/ssl/certs/ca-certificates.crt .
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=extra_ca \
    if [ -s /run/secrets/extra_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra_ca; fi \
 && npm ci --ignore-scripts

COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-native.mjs scripts/bundle.mjs scripts/
COPY native/src native/src
COPY src src
# `npm run build` = build:native (native/build/metalgate_native.node) and
# build:ts (tsc -p tsconfig.build.json -> dist/, then scripts/bundle.mjs ->
# dist/app/: the product in a few files per thread).
RUN npm rebuild netlink \
 && npm run build \
 && npm prune --omit=dev

# ---- runtime: only what runs ----
FROM node:24-bookworm-slim

ENV NODE_ENV=production

# nft: the speaker writes the kernel DNAT rules of Services annotated
# metalgate.io/l4-dataplane: kernel (src/proxy/kernel) with `nft -f -`;
# conntrack: it deletes the UDP flows those rules left on a gone endpoint.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables conntrack \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/native/build/metalgate_native.node native/build/

# The image's `node` user. The controller runs as it; the speaker's pod spec
# runs it as root with only NET_ADMIN, NET_RAW and NET_BIND_SERVICE.
USER 1000:1000

# Memory (docs/benchmarks.md, "Memory"): for the controller and the speaker's
# own thread, which hold the cluster view and allocate little, a 1 MiB young
# generation and an old generation that grows by a fifth at a time (the proxy
# worker threads, which carry the traffic, get a young generation of their
# own: WORKER_YOUNG_GENERATION_MB); two malloc arenas instead of one per
# thread; `gc` for every thread to give back, once quiet, what its start
# and its bursts left (src/common/heap-reclaimer.ts); V8's builtins called
# where the binary maps them, not copied next to each isolate's heap (2 MiB
# per thread: the speaker with 4 proxy workers 125 MiB at rest instead of
# 133, the same L7 rate); and no baseline compiler between V8's interpreter
# and its optimizing ones (Sparkplug's code in every thread: the speaker
# 122 MiB at rest instead of 125, 226-238 MiB 10 s after taking 1,000
# Services instead of 243-247, the same L7 rate, an Ingress change's p99
# over 10,000 rules 39-44 ms instead of 35-36).
ENV MALLOC_ARENA_MAX=2
ENTRYPOINT ["node", "--max-semi-space-size=1", "--heap-growing-percent=20", "--expose-gc", "--no-short-builtin-calls", "--no-sparkplug", "dist/cli.js"]
CMD ["--help"]
