// What a Service asks of the allocator, already validated and normalised
// (see service-request.ts for the translation from a Service object).
import type { IpFamily } from '../config/types.ts';
import type { Labels } from '../kube/label-selector.ts';

export type FamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

export interface ServicePort {
  /** TCP, UDP or SCTP, upper case. */
  protocol: string;
  port: number;
}

export interface RequestedIp {
  family: IpFamily;
  address: bigint;
  /** Canonical text, for messages and status. */
  text: string;
}

/** The parts of a request that decide whether two Services may share an IP. */
export interface SharingTraits {
  /** `ns/name`. */
  key: string;
  /** `allow-shared-ip` value; '' means the Service does not share. */
  sharingKey: string;
  ports: readonly ServicePort[];
  /** externalTrafficPolicy: Local. */
  localTraffic: boolean;
  /** Canonical selector; two Local Services may share only with equal keys. */
  backendKey: string;
}

export interface AllocationRequest extends SharingTraits {
  /** Families in the Service's order; the first is the primary. */
  families: IpFamily[];
  /** PreferDualStack makes every family after the first optional. */
  policy: FamilyPolicy;
  /** At most one per family, each of a family in `families`. */
  requestedIps: RequestedIp[];
  /** address-pool annotation, when set. */
  pool: string | undefined;
  /** For pools' serviceAllocation: the Service's namespace, its labels and its namespace's. */
  namespace: string;
  labels: Labels;
  namespaceLabels: Labels | undefined;
}

/** True when the family must be had for the request to succeed. */
export function familyRequired(request: AllocationRequest, index: number): boolean {
  return request.policy !== 'PreferDualStack' || index === 0;
}

export function familyName(family: IpFamily): 'IPv4' | 'IPv6' {
  return family === 4 ? 'IPv4' : 'IPv6';
}
