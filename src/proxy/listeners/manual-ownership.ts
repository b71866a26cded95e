// An ownership source driven by hand: what the proxy follows when no
// speaker decides (API-level tests, a single-node setup where this node
// serves given IPs). Same surface as the speaker's: ownedIps() and
// 'ownership' events.

import { EventEmitter } from 'node:events';
import { formatAddress, isParseError, parseIp } from '../../config/ip-range.ts';

export interface OwnershipEvent {
  readonly ip: string;
  readonly owned: boolean;
}

/** What the proxy needs from the speaker (the Speaker class fits). */
export interface OwnershipSource {
  ownedIps(): string[];
  on(event: 'ownership', listener: (change: OwnershipEvent) => void): unknown;
  off(event: 'ownership', listener: (change: OwnershipEvent) => void): unknown;
}

export class ManualOwnership extends EventEmitter<{ ownership: [OwnershipEvent] }> implements OwnershipSource {
  readonly #owned = new Set<string>();

  ownedIps(): string[] {
    return [...this.#owned].sort();
  }

  own(ip: string): void {
    const c = canonical(ip);
    if (this.#owned.has(c)) return;
    this.#owned.add(c);
    this.emit('ownership', { ip: c, owned: true });
  }

  release(ip: string): void {
    const c = canonical(ip);
    if (!this.#owned.delete(c)) return;
    this.emit('ownership', { ip: c, owned: false });
  }
}

function canonical(ip: string): string {
  const parsed = parseIp(ip);
  if (isParseError(parsed)) throw new Error(`not an IP address: ${ip} (${parsed.error})`);
  return formatAddress(parsed);
}
