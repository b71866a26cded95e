// Picks the endpoint for a new connection among several Service ports by
// weight (a Traefik TCP or UDP route with weighted services): smooth
// weighted round robin chooses the Service, that Service's EndpointPicker
// the endpoint. A Service without a ready endpoint is passed over while
// another one has some (the others share its weight by theirs), as a
// route that fails connections its other Services could take helps nobody;
// weight 0 is never chosen. Pure apart from the pickers it is given.

import { SmoothWeighted } from '../../common/smooth-weighted.ts';
import type { BackendEndpoint } from './endpoint-set.ts';
import type { EndpointPicker } from './endpoint-picker.ts';

/** What the forwarders call for each new connection or UDP flow. */
export interface ConnectionPicker {
  pick(clientIp?: string): BackendEndpoint | undefined;
}

export class WeightedPicker implements ConnectionPicker {
  readonly #pickers: readonly EndpointPicker[];
  readonly #weights: readonly number[];
  /** One round robin per set of Services with endpoints (usually just "all of them"). */
  readonly #rounds = new Map<string, SmoothWeighted<number>>();

  constructor(pickers: readonly EndpointPicker[], weights: readonly number[]) {
    this.#pickers = pickers;
    this.#weights = weights;
  }

  pick(clientIp?: string): BackendEndpoint | undefined {
    let key = '';
    for (let i = 0; i < this.#pickers.length; i++) key += this.#weights[i]! > 0 && this.#pickers[i]!.slot.current.active.length > 0 ? '1' : '0';
    let round = this.#rounds.get(key);
    if (round === undefined) {
      // The few sets a route's Services go through, bounded by 2^n but in practice by how often endpoints come and go.
      if (this.#rounds.size >= 64) this.#rounds.clear();
      const weights = this.#weights.map((w, i) => (key[i] === '1' ? w : 0));
      round = new SmoothWeighted(weights.map((_, i) => i), weights);
      this.#rounds.set(key, round);
    }
    const i = round.nextIndex();
    return i < 0 ? undefined : this.#pickers[i]!.pick(clientIp);
  }
}
