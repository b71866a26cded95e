import { describe, expect, test } from 'vitest';
import { SHARED_IDLE_READ_BUFFER, SPARE_READ_BUFFERS, UPSTREAM_READ_BYTES, giveReadBuffer, spareReadBuffers, takeReadBuffer } from '../../../../src/proxy/http/upstream-read-buffers.ts';

describe('upstream read buffers', () => {
  test('a buffer given back is taken again; the shared one and odd sizes never are', () => {
    while (spareReadBuffers() > 0) takeReadBuffer();
    const a = takeReadBuffer();
    expect(a.length).toBe(UPSTREAM_READ_BYTES);
    expect(a).not.toBe(SHARED_IDLE_READ_BUFFER);
    giveReadBuffer(SHARED_IDLE_READ_BUFFER);
    giveReadBuffer(Buffer.alloc(10));
    expect(spareReadBuffers()).toBe(0);
    giveReadBuffer(a);
    expect(takeReadBuffer()).toBe(a);
    expect(takeReadBuffer()).not.toBe(a);
  });

  test('keeps at most SPARE_READ_BUFFERS', () => {
    for (let i = 0; i < SPARE_READ_BUFFERS + 10; i++) giveReadBuffer(Buffer.allocUnsafeSlow(UPSTREAM_READ_BYTES));
    expect(spareReadBuffers()).toBe(SPARE_READ_BUFFERS);
    while (spareReadBuffers() > 0) takeReadBuffer();
  });
});
