// Which Ingresses are ours. An Ingress is served by metalgate when
//   - spec.ingressClassName names an IngressClass whose spec.controller is
//     ours (`metalgate.io/ingress-controller`), or names our configured class
//     (default `metalgate`) while no IngressClass of that name belongs to
//     another controller (installs that never created the IngressClass
//     object), or
//   - it has no ingressClassName and its legacy `kubernetes.io/ingress.class`
//     annotation names one of our IngressClasses or our configured class
//     name (the annotation predates IngressClass objects), or
//   - it names no class at all and one of our IngressClasses carries
//     `ingressclass.kubernetes.io/is-default-class: "true"` (the API server
//     fills ingressClassName in on create when a default exists; an Ingress
//     created before that has none), or the controller is told to take
//     class-less Ingresses.
// spec.ingressClassName wins over the annotation when both are set, as in
// the Kubernetes API. An Ingress of any other class is never touched.

import type { V1Ingress, V1IngressClass } from '@kubernetes/client-node';

const CONTROLLER_NAME = 'metalgate.io/ingress-controller';
const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

export interface IngressClassOptions {
  /** spec.controller value that marks our IngressClasses. */
  readonly controllerName?: string;
  /** Class name the legacy annotation may use even without an IngressClass object. */
  readonly className?: string;
  /** Serve Ingresses that name no class even when no class of ours is the default. */
  readonly watchWithoutClass?: boolean;
}

export interface IngressClassView {
  /** Names of our IngressClasses. */
  readonly ours: ReadonlySet<string>;
  /** Names of IngressClasses of other controllers. */
  readonly others: ReadonlySet<string>;
  /** True when one of ours is marked default. */
  readonly defaultIsOurs: boolean;
  /** Names of every IngressClass marked default (ours or not), sorted. */
  readonly defaults: readonly string[];
}

export function classView(classes: Iterable<V1IngressClass>, opts: IngressClassOptions = {}): IngressClassView {
  const controller = opts.controllerName ?? CONTROLLER_NAME;
  const ours = new Set<string>();
  const others = new Set<string>();
  const defaults: string[] = [];
  let defaultIsOurs = false;
  for (const c of classes) {
    const name = c.metadata?.name;
    if (!name) continue;
    const isDefault = c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true';
    if (isDefault) defaults.push(name);
    if (c.spec?.controller === controller) {
      ours.add(name);
      if (isDefault) defaultIsOurs = true;
    } else {
      others.add(name);
    }
  }
  defaults.sort();
  return { ours, others, defaultIsOurs, defaults };
}

export type ClassDecision =
  | { readonly ours: true; readonly via: 'ingressClassName' | 'class-name' | 'annotation' | 'default-class' | 'without-class' }
  | { readonly ours: false };

export function isOurIngress(ing: V1Ingress, view: IngressClassView, opts: IngressClassOptions = {}): ClassDecision {
  const className = ing.spec?.ingressClassName;
  if (className) {
    if (view.ours.has(className)) return { ours: true, via: 'ingressClassName' };
    if (className === (opts.className ?? 'metalgate') && !view.others.has(className)) return { ours: true, via: 'class-name' };
    return { ours: false };
  }
  const legacy = ing.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (legacy !== undefined && legacy !== '') {
    const ours = view.ours.has(legacy) || (legacy === (opts.className ?? 'metalgate') && !view.others.has(legacy));
    return ours ? { ours: true, via: 'annotation' } : { ours: false };
  }
  if (view.defaultIsOurs) return { ours: true, via: 'default-class' };
  if (opts.watchWithoutClass) return { ours: true, via: 'without-class' };
  return { ours: false };
}
