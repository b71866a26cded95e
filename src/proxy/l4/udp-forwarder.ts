// L4 UDP forwarding: one flow per client address:port, each with its own
// connected ephemeral socket to the endpoint picked when the flow began, so
// replies map back to the client. Flows expire after an idle time, swept by a
// single timer; the flow table is bounded.

import dgram from 'node:dgram';
import net from 'node:net';
import type { Endpoint, EndpointPicker } from './endpoint.ts';

export type UdpFlowCloseReason = 'idle' | 'error' | 'closed';
export type UdpDropReason = 'max-flows' | 'no-endpoint' | 'queue-full' | 'send-error' | 'source-denied';

export interface UdpClient {
  readonly address: string;
  readonly port: number;
}

export interface UdpFlowStats {
  readonly datagramsFromClient: number;
  readonly datagramsFromUpstream: number;
  readonly bytesFromClient: number;
  readonly bytesFromUpstream: number;
}

/** Counter hooks (no metrics library here): called synchronously, must not throw. */
export interface UdpForwarderHooks {
  onFlowOpened?(client: UdpClient, endpoint: Endpoint): void;
  onFlowClosed?(client: UdpClient, endpoint: Endpoint, reason: UdpFlowCloseReason, stats: UdpFlowStats): void;
  /** A datagram was not forwarded. */
  onDropped?(reason: UdpDropReason, client: UdpClient): void;
}

export interface UdpForwarderOptions {
  /** The bound listening socket; the forwarder reads from it and answers through it. Its owner closes it. */
  readonly socket: dgram.Socket;
  readonly pick: EndpointPicker;
  /** A flow with no datagram either way for this long is closed. Default 30 s. */
  readonly idleTimeoutMs?: number;
  /** Flows beyond this are refused (their datagrams dropped), not evicted: a flood must not push out live flows. Default 16384. */
  readonly maxFlows?: number;
  /** Sweep period; expiry happens between idleTimeoutMs and idleTimeoutMs + this. Default idle/10 within [10 ms, 1 s]. */
  readonly sweepIntervalMs?: number;
  /** Datagrams held per flow while its upstream socket connects. Default 16. */
  readonly maxQueuedPerFlow?: number;
  readonly hooks?: UdpForwarderHooks;
  /** Creates the per-flow upstream socket; default dgram.createSocket(type). */
  readonly createSocket?: (type: 'udp4' | 'udp6') => dgram.Socket;
  /** Whether a client may open a flow (loadBalancerSourceRanges); default: everyone. Asked once per new flow. */
  readonly admit?: (address: string) => boolean;
  /** The address a flow's upstream socket connects to for an endpoint IP; default: that IP. */
  readonly upstreamAddress?: (ip: string) => string;
}

export const UDP_FORWARDER_DEFAULTS = { idleTimeoutMs: 30_000, maxFlows: 16_384, maxQueuedPerFlow: 16 } as const;

interface Flow {
  readonly key: string;
  readonly client: UdpClient;
  readonly endpoint: Endpoint;
  readonly upstream: dgram.Socket;
  /** Datagrams waiting for connect(); null once connected. */
  queue: Buffer[] | null;
  /** Sweep tick of the last datagram either way. */
  lastSeen: number;
  datagramsFromClient: number;
  datagramsFromUpstream: number;
  bytesFromClient: number;
  bytesFromUpstream: number;
  /** send() callback, made once per flow: counts a datagram that could not be sent. */
  onSent: (err: Error | null) => void;
}

export class UdpForwarder {
  private readonly socket: dgram.Socket;
  private readonly pick: EndpointPicker;
  private readonly hooks: UdpForwarderHooks;
  private readonly maxFlows: number;
  private readonly maxQueued: number;
  private readonly idleTicks: number;
  private readonly createSocket: (type: 'udp4' | 'udp6') => dgram.Socket;
  private readonly admit: ((address: string) => boolean) | undefined;
  private readonly upstreamAddress: (ip: string) => string;
  private readonly flows = new Map<string, Flow>();
  private readonly sweeper: NodeJS.Timeout;
  /** Coarse clock: sweeps so far. Stamping a flow costs no syscall. */
  private tick = 0;
  private closed = false;

  constructor(options: UdpForwarderOptions) {
    this.socket = options.socket;
    this.pick = options.pick;
    this.hooks = options.hooks ?? {};
    this.maxFlows = options.maxFlows ?? UDP_FORWARDER_DEFAULTS.maxFlows;
    this.maxQueued = options.maxQueuedPerFlow ?? UDP_FORWARDER_DEFAULTS.maxQueuedPerFlow;
    this.createSocket = options.createSocket ?? ((type) => dgram.createSocket(type));
    this.admit = options.admit;
    this.upstreamAddress = options.upstreamAddress ?? ((ip) => ip);
    const idle = options.idleTimeoutMs ?? UDP_FORWARDER_DEFAULTS.idleTimeoutMs;
    const interval = options.sweepIntervalMs ?? Math.min(1000, Math.max(10, Math.round(idle / 10)));
    this.idleTicks = Math.max(1, Math.ceil(idle / interval));
    this.sweeper = setInterval(this.sweep, interval);
    this.sweeper.unref();
    this.socket.on('message', this.onClientDatagram);
  }

  get flowCount(): number {
    return this.flows.size;
  }

  /** Stops forwarding and closes every flow; the listening socket is left to its owner. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.socket.off('message', this.onClientDatagram);
    for (const flow of [...this.flows.values()]) this.closeFlow(flow, 'closed');
  }

  private readonly onClientDatagram = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const key = `${rinfo.address}|${rinfo.port}`;
    let flow = this.flows.get(key);
    if (flow === undefined) {
      const created = this.openFlow(key, rinfo);
      if (created === undefined) return;
      flow = created;
    }
    flow.lastSeen = this.tick;
    flow.datagramsFromClient++;
    flow.bytesFromClient += msg.length;
    if (flow.queue === null) {
      flow.upstream.send(msg, flow.onSent);
    } else if (flow.queue.length < this.maxQueued) {
      flow.queue.push(msg);
    } else {
      this.hooks.onDropped?.('queue-full', flow.client);
    }
  };

  private openFlow(key: string, rinfo: dgram.RemoteInfo): Flow | undefined {
    const client: UdpClient = { address: rinfo.address, port: rinfo.port };
    if (this.admit !== undefined && !this.admit(rinfo.address)) {
      this.hooks.onDropped?.('source-denied', client);
      return undefined;
    }
    if (this.flows.size >= this.maxFlows) {
      this.hooks.onDropped?.('max-flows', client);
      return undefined;
    }
    const endpoint = this.pick();
    if (endpoint === undefined) {
      this.hooks.onDropped?.('no-endpoint', client);
      return undefined;
    }
    const upstream = this.createSocket(net.isIPv6(endpoint.ip) ? 'udp6' : 'udp4');
    const flow: Flow = {
      key,
      client,
      endpoint,
      upstream,
      queue: [],
      lastSeen: this.tick,
      datagramsFromClient: 0,
      datagramsFromUpstream: 0,
      bytesFromClient: 0,
      bytesFromUpstream: 0,
      onSent: (err) => {
        if (err !== null) this.hooks.onDropped?.('send-error', client);
      },
    };
    this.flows.set(key, flow);
    // A connected socket only accepts datagrams from the endpoint, and send()
    // needs no address.
    upstream.on('message', (reply: Buffer) => {
      flow.lastSeen = this.tick;
      flow.datagramsFromUpstream++;
      flow.bytesFromUpstream += reply.length;
      this.socket.send(reply, client.port, client.address, flow.onSent);
    });
    // ICMP errors (port unreachable: ECONNREFUSED) surface here on a connected
    // socket. The flow ends; the client's next datagram opens a new flow on a
    // freshly picked endpoint, which is how UDP fails over.
    upstream.on('error', () => this.closeFlow(flow, 'error'));
    this.hooks.onFlowOpened?.(client, endpoint);
    try {
      upstream.connect(endpoint.port, this.upstreamAddress(endpoint.ip), () => {
        const queued = flow.queue;
        flow.queue = null;
        if (queued !== null) for (const m of queued) upstream.send(m, flow.onSent);
      });
    } catch {
      this.closeFlow(flow, 'error');
      return undefined;
    }
    return flow;
  }

  private readonly sweep = (): void => {
    this.tick++;
    for (const flow of this.flows.values()) {
      if (this.tick - flow.lastSeen > this.idleTicks) this.closeFlow(flow, 'idle');
    }
  };

  private closeFlow(flow: Flow, reason: UdpFlowCloseReason): void {
    if (this.flows.get(flow.key) !== flow) return;
    this.flows.delete(flow.key);
    flow.queue = null;
    flow.upstream.removeAllListeners('message');
    flow.upstream.on('error', () => {});
    try {
      flow.upstream.close();
    } catch {
      // already closed
    }
    this.hooks.onFlowClosed?.(flow.client, flow.endpoint, reason, {
      datagramsFromClient: flow.datagramsFromClient,
      datagramsFromUpstream: flow.datagramsFromUpstream,
      bytesFromClient: flow.bytesFromClient,
      bytesFromUpstream: flow.bytesFromUpstream,
    });
  }
}
