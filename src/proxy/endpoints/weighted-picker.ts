// Picks the endpoint for a new connection among several Service ports by
// weight (a Traefik TCP or UDP route with weighted services): smooth
// weighted round robin chooses the Service, that Service's EndpointPicker
// the endpoint. A Service without a ready endpoint is passed over while
// another one has some (common/ready-weighted.ts); weight 0 is never chosen.

import { ReadyWeighted } from '../../common/ready-weighted.ts';
import type { BackendEndpoint } from './endpoint-set.ts';
import type { EndpointPicker } from './endpoint-picker.ts';

/** What the forwarders call for each new connection or UDP flow. */
export interface ConnectionPicker {
  pick(clientIp?: string): BackendEndpoint | undefined;
}

export class WeightedPicker implements ConnectionPicker {
  readonly #pickers: readonly EndpointPicker[];
  readonly #round: ReadyWeighted;

  constructor(pickers: readonly EndpointPicker[], weights: readonly number[]) {
    this.#pickers = pickers;
    this.#round = new ReadyWeighted(weights);
  }

  pick(clientIp?: string): BackendEndpoint | undefined {
    const i = this.#round.next((k) => this.#pickers[k]!.slot.current.active.length > 0);
    return i < 0 ? undefined : this.#pickers[i]!.pick(clientIp);
  }
}
