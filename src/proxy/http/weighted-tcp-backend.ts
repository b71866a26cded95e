// The backend of a TCP route (IngressRouteTCP on websecure) with several
// Services: each connection goes to one of them by weight (smooth weighted
// round robin), then to that Service's next endpoint. A Service without a
// ready endpoint is passed over while another has some
// (common/ready-weighted.ts); weight 0 is never chosen. Only what a piped
// TCP connection uses: a name and pick().

import { ReadyWeighted } from '../../common/ready-weighted.ts';
import type { Backend, Endpoint } from './types.ts';

export function weightedTcpBackend(backends: readonly Backend[], weights: readonly number[]): Backend {
  const round = new ReadyWeighted(weights);
  return {
    name: backends.map((b, i) => `${b.name}*${weights[i]}`).join('+'),
    protocol: backends[0]!.protocol,
    pick(clientIp: string): Endpoint | undefined {
      const i = round.next((k) => (backends[k]!.readyEndpoints?.().length ?? 1) > 0);
      return i < 0 ? undefined : backends[i]!.pick(clientIp);
    },
  };
}
