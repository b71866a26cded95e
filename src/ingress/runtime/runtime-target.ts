// RouteTarget (data) -> what the route tables hold at run time: the route
// results already built (backends wrapped, middlewares instantiated), so
// routing a request allocates nothing; only splits (canary, weighted) choose
// between prebuilt results per request.

import type { Backend, BackendRoute, Middleware, ResponseRoute, RouteResult, RouteView } from '../../proxy/http/types.ts';
import { EndpointSetBackend } from '../../proxy/http/backend.ts';
import type { LeafNode, ServiceNode } from '../model/service-node.ts';
import type { RouteTarget } from '../model/route-target.ts';
import { ConfiguredBackend, nodeBackend, type ServiceBackendSource } from './backends.ts';
import { chooseCanary } from './canary-choice.ts';
import type { FlaggerMetrics } from './flagger-metrics.ts';
import { MiddlewareRegistry } from './middleware-factory.ts';
import { SmoothWeighted } from '../../common/smooth-weighted.ts';
import { mirrorTargets } from './middlewares/mirror.ts';
import { cookieValue, setCookie } from './cookies.ts';
import { createHash } from 'node:crypto';
import type { StickyCookie } from '../model/service-node.ts';
import { allocateSharedLimits, sharedLimitsOf, type SharedLimitsMemory } from './shared-limits.ts';

export interface RuntimeTarget {
  readonly target: RouteTarget;
  /** The result when it never varies per request (no split): the router's fast path. */
  readonly fixed: RouteResult | undefined;
  /** The result for this request (undefined: nothing can serve it, 503 by the engine's 404 path). */
  choose(view: RouteView): RouteResult | undefined;
}

type Chooser = (view: RouteView) => RouteResult | undefined;

export interface RuntimeFactoryOptions {
  /** Flagger-compatible series (traefik_* / nginx_ingress_controller_*), when enabled. */
  readonly flaggerMetrics?: FlaggerMetrics;
  /** Random source for canary weights (tests); [0, 1). */
  readonly random?: () => number;
  /** The tables the rate and in-flight limits count in: the same memory in every worker thread of a node. Default: tables of this factory's own. */
  readonly sharedLimits?: SharedLimitsMemory;
}

const NO_BACKENDS: Backend = { name: '-', protocol: 'http', pick: () => undefined };

export class RuntimeFactory {
  readonly #source: ServiceBackendSource;
  readonly #opts: RuntimeFactoryOptions;
  readonly #registry: MiddlewareRegistry;
  readonly #random: () => number;
  /** Choosers that always return the same result. */
  readonly #fixed = new WeakMap<Chooser, RouteResult>();

  constructor(source: ServiceBackendSource, opts: RuntimeFactoryOptions = {}) {
    this.#source = source;
    this.#opts = opts;
    this.#registry = new MiddlewareRegistry(sharedLimitsOf(opts.sharedLimits ?? allocateSharedLimits()));
    this.#random = opts.random ?? Math.random;
  }

  /** For IngressCompiler's `materialize` option. */
  readonly materialize = (target: RouteTarget): RuntimeTarget => {
    const mws: Middleware[] = [];
    for (const m of target.middlewares) {
      const mw = this.#registry.get(target.routeName, m, this.#leafBackend);
      if (mw) mws.push(mw);
    }
    if (target.response || target.service === undefined) {
      const result: ResponseRoute = {
        routeName: target.routeName,
        response: { status: target.response?.status ?? 503, body: target.response?.body ?? '' },
        ...(mws.length > 0 ? { middlewares: mws } : {}),
      };
      return { target, fixed: result, choose: () => result };
    }
    const ingress = target.origin.kind === 'Ingress' ? { namespace: target.origin.namespace, name: target.origin.name } : undefined;
    const choose = this.#chooser(target, target.service, mws, ingress, '');
    return { target, fixed: this.#fixed.get(choose), choose };
  };

  #leafBackend = (leaf: LeafNode): Backend => {
    const up = leaf.options.serviceUpstream;
    // service-upstream: one endpoint, the Service's cluster IP; kube-proxy balances behind it.
    const base = up ? new EndpointSetBackend({ name: `${leaf.labels.name} (cluster IP)`, endpoints: [{ ip: up.ip, port: up.port, ready: true, serving: true, terminating: false }] }) : this.#source.backend(leaf.ref);
    return new ConfiguredBackend(leaf, base);
  };

  #chooser(target: RouteTarget, node: ServiceNode, mws: readonly Middleware[], ingress: { namespace: string; name: string } | undefined, canary: string): Chooser {
    switch (node.kind) {
      case 'leaf': {
        const backend = this.#leafBackend(node);
        const list = this.#opts.flaggerMetrics ? [...mws, this.#opts.flaggerMetrics.middleware(node.labels, ingress, canary)] : mws;
        const result: BackendRoute = { routeName: target.routeName, backend, ...(list.length > 0 ? { middlewares: list } : {}) };
        const chooser: Chooser = () => result;
        this.#fixed.set(chooser, result);
        return chooser;
      }
      case 'canary': {
        const main = this.#chooser(target, node.main, mws, ingress, '');
        const canaryUpstream = node.canary.kind === 'leaf' ? `${node.canary.ref.namespace}-${node.canary.ref.service}-${node.canary.ref.port}` : node.canaryIngress;
        const alt = this.#chooser(target, node.canary, mws, ingress, canaryUpstream);
        const policy = node.policy;
        const random = this.#random;
        return (view) => (chooseCanary(policy, view.headers, random) ? alt(view) : main(view));
      }
      case 'weighted': {
        const children = node.children.map((c) => this.#chooser(target, c.node, mws, ingress, canary));
        const wrr = new SmoothWeighted(children, node.children.map((c) => c.weight));
        const sticky = node.sticky;
        if (sticky === undefined) {
          return (view) => {
            const i = wrr.nextIndex();
            return i < 0 ? { routeName: target.routeName, backend: NO_BACKENDS } : children[i]!(view);
          };
        }
        // Traefik's sticky weighted service: the cookie names the child a
        // client got; a request without a valid one is balanced and told.
        const tokens = node.children.map((c, i) => createHash('sha256').update(`${node.name}/${i}/${describe(c.node)}`).digest('hex').slice(0, 16));
        const byToken = new Map(tokens.map((t, i) => [t, i]));
        const pinned = node.children.map((c, i) => this.#chooser(target, c.node, [...mws, setStickyCookie(`${node.name}:sticky`, sticky, tokens[i]!)], ingress, canary));
        return (view) => {
          const known = byToken.get(cookieValue(view.headers.cookie, sticky.name) ?? '');
          if (known !== undefined && node.children[known]!.weight > 0) return children[known]!(view);
          const i = wrr.nextIndex();
          return i < 0 ? { routeName: target.routeName, backend: NO_BACKENDS } : pinned[i]!(view);
        };
      }
      case 'mirror': {
        const mirrors = node.mirrors.filter((m) => m.percent > 0).map((m) => ({ backend: nodeBackend(m.node, this.#leafBackend), percent: m.percent }));
        const mirror: Middleware = { name: `${node.name}:mirror`, mirror: mirrorTargets(mirrors, node, this.#random) };
        return this.#chooser(target, node.main, mirrors.length > 0 ? [...mws, mirror] : mws, ingress, canary);
      }
    }
  }
}

/** A stable description of a node (sticky cookie tokens survive rebuilds). */
function describe(node: ServiceNode): string {
  switch (node.kind) {
    case 'leaf':
      return node.labels.name;
    case 'weighted':
    case 'mirror':
      return node.name;
    case 'canary':
      return node.canaryIngress;
  }
}

/** Adds the sticky cookie naming the chosen child to the response. */
function setStickyCookie(name: string, cookie: StickyCookie, token: string): Middleware {
  return {
    name,
    onResponse(ctx, res) {
      res.addHeader('set-cookie', setCookie(cookie, token, ctx.tls, ctx.header('user-agent')));
    },
  };
}
