// Kubernetes label selectors (metav1.LabelSelector: matchLabels and
// matchExpressions), checked and compiled to a predicate. Pure.
//
// The rules are the API machinery's (LabelSelectorAsSelector): operators In,
// NotIn, Exists, DoesNotExist; In and NotIn need at least one value, Exists
// and DoesNotExist take none; an empty selector selects everything. NotIn and
// DoesNotExist select objects without the key. Keys and values are checked
// for shape only as far as a mistake would silently select nothing.
//
// Written here rather than taken from a library: @kubernetes/client-node has
// no selector matcher, and this is forty lines against the documented rules.

export interface LabelSelectorRequirement {
  key?: string;
  operator?: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type Labels = Readonly<Record<string, string>>;
export type LabelPredicate = (labels: Labels | undefined) => boolean;

export type CompiledSelector = { ok: true; matches: LabelPredicate } | { ok: false; error: string };

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export function compileLabelSelector(selector: LabelSelector | undefined | null): CompiledSelector {
  const tests: LabelPredicate[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    if (key === '') return { ok: false, error: 'matchLabels has an empty key' };
    if (typeof value !== 'string') return { ok: false, error: `matchLabels[${JSON.stringify(key)}] is not a string` };
    tests.push((l) => l?.[key] === value);
  }
  for (const [i, r] of (selector?.matchExpressions ?? []).entries()) {
    const where = `matchExpressions[${i}]`;
    const key = r.key ?? '';
    if (key === '') return { ok: false, error: `${where}: key is empty` };
    const values = r.values ?? [];
    switch (r.operator) {
      case 'In':
      case 'NotIn': {
        if (values.length === 0) return { ok: false, error: `${where}: operator ${r.operator} needs at least one value` };
        const set = new Set(values);
        tests.push(r.operator === 'In' ? (l) => l?.[key] !== undefined && set.has(l[key]) : (l) => l?.[key] === undefined || !set.has(l[key]));
        break;
      }
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) return { ok: false, error: `${where}: operator ${r.operator} takes no values` };
        tests.push(r.operator === 'Exists' ? (l) => l?.[key] !== undefined : (l) => l?.[key] === undefined);
        break;
      default:
        return { ok: false, error: `${where}: operator ${JSON.stringify(r.operator ?? '')} is not one of ${OPERATORS.join(', ')}` };
    }
  }
  return { ok: true, matches: (labels) => tests.every((t) => t(labels)) };
}
