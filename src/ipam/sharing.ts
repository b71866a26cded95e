// The IP sharing rule (MetalLB's): two Services may hold the same IP only
// with the same non-empty allow-shared-ip key, no (protocol, port) in
// common, and - when either sends traffic only to local endpoints - the
// same backends, because the IP has one owner node and a Local Service
// is only reachable on nodes that run its pods.
import type { ServicePort, SharingTraits } from './allocation-request.ts';

/** Why `want` may not share `ip` with `holder`, or undefined when it may. */
export function sharingConflict(ip: string, want: SharingTraits, holder: SharingTraits): string | undefined {
  if (want.sharingKey === '' || holder.sharingKey === '') {
    const which = want.sharingKey === '' ? 'this Service has' : `${holder.key} has`;
    return `IP ${ip} is in use by ${holder.key} and ${which} no allow-shared-ip annotation (both need the same key to share)`;
  }
  if (want.sharingKey !== holder.sharingKey) {
    return `IP ${ip} is in use by ${holder.key} and the sharing key differs ("${want.sharingKey}" here, "${holder.sharingKey}" there)`;
  }
  const clash = firstCommonPort(want.ports, holder.ports);
  if (clash !== undefined) {
    return `IP ${ip} is in use by ${holder.key} on the same port ${clash.protocol}/${clash.port}`;
  }
  if ((want.localTraffic || holder.localTraffic) && want.backendKey !== holder.backendKey) {
    return `IP ${ip} is in use by ${holder.key} with different backends; with externalTrafficPolicy Local, Services sharing an IP must have the same selector`;
  }
  return undefined;
}

function firstCommonPort(a: readonly ServicePort[], b: readonly ServicePort[]): ServicePort | undefined {
  for (const p of a) {
    for (const q of b) if (p.port === q.port && p.protocol === q.protocol) return p;
  }
  return undefined;
}
