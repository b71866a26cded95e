// Which object's routes an entry point of its own serves, when several name
// it. Pure. Objects come oldest first (creation time, then namespace/name):
//   UDP: the oldest object takes the entry point; the others are told.
//   TCP: the entry point is shared. Each server name of a HostSNI(`name`)
//   route goes to the oldest object naming it, and so does the HostSNI(`*`)
//   catch-all; the others are told about what they lost. The result is one
//   EntryRoute per entry point: the catch-all's fields (no targets when no
//   object has one) and every named route that kept a host.

import type { Diagnostic, ObjectRef } from '../model/diagnostic.ts';
import type { EntryRoute, NamedEntryRoute } from '../model/entry-route.ts';

export interface EntryPointCandidate {
  /** Sort key: creation time, then namespace/name. */
  readonly order: string;
  readonly ref: ObjectRef;
  readonly routes: readonly EntryRoute[];
}

interface SharedTcp {
  first: EntryRoute;
  catchAll: EntryRoute | undefined;
  catchAllBy: ObjectRef | undefined;
  byName: NamedEntryRoute[];
  hostBy: Map<string, ObjectRef>;
}

function warning(ref: ObjectRef, reason: string, message: string): Diagnostic {
  return { ref, type: 'Warning', reason, message, severity: 'warning' };
}

/** The entry routes to serve, sorted by entry point then protocol; what was left out goes into `diagnostics`. */
export function assignEntryPoints(candidates: EntryPointCandidate[], diagnostics: Diagnostic[]): EntryRoute[] {
  const sorted = [...candidates].sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  const out: EntryRoute[] = [];
  const udpHolder = new Map<string, ObjectRef>();
  const tcp = new Map<string, SharedTcp>();
  for (const c of sorted) {
    for (const r of c.routes) {
      if (r.protocol === 'TCP') {
        shareTcp(tcp, c.ref, r, diagnostics);
        continue;
      }
      const first = udpHolder.get(r.entryPoint);
      if (first !== undefined) {
        diagnostics.push(warning(c.ref, 'DuplicateEntryPoint', `entry point ${r.entryPoint} (${r.protocol}) ignored here: ${first.kind} ${first.namespace}/${first.name} (older) routes it`));
        continue;
      }
      udpHolder.set(r.entryPoint, c.ref);
      out.push(r);
    }
  }
  for (const m of tcp.values()) {
    const c = m.catchAll;
    out.push({
      entryPoint: m.first.entryPoint,
      protocol: 'TCP',
      targets: c?.targets ?? [],
      ...(c?.allow ? { allow: c.allow } : {}),
      ...(c?.maxConnections ? { maxConnections: c.maxConnections } : {}),
      ...(c?.tls ? { tls: c.tls } : {}),
      origin: (c ?? m.first).origin,
      ...(m.byName.length > 0 ? { byName: m.byName } : {}),
    });
  }
  return out.sort((a, b) => (a.entryPoint < b.entryPoint ? -1 : a.entryPoint > b.entryPoint ? 1 : a.protocol < b.protocol ? -1 : 1));
}

function shareTcp(tcp: Map<string, SharedTcp>, ref: ObjectRef, r: EntryRoute, diagnostics: Diagnostic[]): void {
  let m = tcp.get(r.entryPoint);
  if (m === undefined) tcp.set(r.entryPoint, (m = { first: r, catchAll: undefined, catchAllBy: undefined, byName: [], hostBy: new Map() }));
  if (r.targets.length > 0) {
    if (m.catchAllBy === undefined) {
      m.catchAll = r;
      m.catchAllBy = ref;
    } else {
      const by = m.catchAllBy;
      diagnostics.push(warning(ref, 'DuplicateEntryPoint', `HostSNI(\`*\`) on entry point ${r.entryPoint} ignored here: ${by.kind} ${by.namespace}/${by.name} (older) takes the connections no route names`));
    }
  }
  for (const named of r.byName ?? []) {
    const hosts: string[] = [];
    for (const h of named.hosts) {
      const by = m.hostBy.get(h);
      if (by === undefined) {
        m.hostBy.set(h, ref);
        hosts.push(h);
      } else if (by !== ref) {
        diagnostics.push(warning(ref, 'DuplicateTcpHost', `${h} on entry point ${r.entryPoint} ignored here: ${by.kind} ${by.namespace}/${by.name} (older) routes it`));
      }
    }
    if (hosts.length > 0) m.byName.push({ ...named, hosts });
  }
}
