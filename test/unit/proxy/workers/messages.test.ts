import { describe, expect, test } from 'vitest';
import { isFromWorker, isToWorker } from '../../../../src/proxy/workers/messages.ts';

describe('worker messages', () => {
  test('each side recognizes its own messages only', () => {
    expect(isToWorker({ mg: 'init', index: 0, config: { version: 1, reset: true } })).toBe(true);
    expect(isToWorker({ mg: 'config', update: { version: 2, listeners: [] } })).toBe(true);
    expect(isToWorker({ mg: 'sync', id: 3 })).toBe(true);
    expect(isToWorker({ mg: 'ready', reason: null })).toBe(false);
    expect(isFromWorker({ mg: 'ready', reason: null })).toBe(true);
    expect(isFromWorker({ mg: 'settled', id: 1, busy: 0 })).toBe(true);
    expect(isFromWorker({ mg: 'config', update: { version: 2 } })).toBe(false);
  });

  test("other traffic on the channel (prom-client's, node:cluster's) is not ours", () => {
    for (const m of [null, 'text', 42, {}, { type: 'prom-client:getMetricsReq' }, { cmd: 'NODE_CLUSTER', act: 'online' }, { mg: 7 }]) {
      expect(isToWorker(m)).toBe(false);
      expect(isFromWorker(m)).toBe(false);
    }
  });
});
