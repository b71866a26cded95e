// The backend of a TCP route (IngressRouteTCP on websecure) with several
// Services: each connection goes to one of them by weight (smooth weighted
// round robin), then to that Service's next endpoint. A Service without a
// ready endpoint is passed over while another has some; weight 0 is never
// chosen. Only what a piped TCP connection uses: a name and pick().

import { SmoothWeighted } from '../../common/smooth-weighted.ts';
import type { Backend, Endpoint } from './types.ts';

export function weightedTcpBackend(backends: readonly Backend[], weights: readonly number[]): Backend {
  const rounds = new Map<string, SmoothWeighted<number>>();
  return {
    name: backends.map((b, i) => `${b.name}*${weights[i]}`).join('+'),
    protocol: backends[0]!.protocol,
    pick(clientIp: string): Endpoint | undefined {
      let key = '';
      for (let i = 0; i < backends.length; i++) key += weights[i]! > 0 && (backends[i]!.readyEndpoints?.().length ?? 1) > 0 ? '1' : '0';
      let round = rounds.get(key);
      if (round === undefined) {
        if (rounds.size >= 64) rounds.clear();
        const w = weights.map((x, i) => (key[i] === '1' ? x : 0));
        round = new SmoothWeighted(w.map((_, i) => i), w);
        rounds.set(key, round);
      }
      const i = round.nextIndex();
      return i < 0 ? undefined : backends[i]!.pick(clientIp);
    },
  };
}
