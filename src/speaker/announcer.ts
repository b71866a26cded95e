// Announces the owned IPs on the LAN through packet sockets (the native
// addon): per announcing interface one ARP socket and one NDP socket.
//
// - Answers ARP requests and Neighbor Solicitations for owned IPs from
//   userspace: the kernel will not (the IP lives on the holder device and the
//   interface has arp_ignore=1), so when this process dies the answers stop.
//   Answers go out only on the interface the IP is announced on, and every
//   usable interface gets arp_ignore=1: the wrong NIC never answers.
// - Sends gratuitous ARP (request and reply form) for IPv4 and unsolicited
//   Neighbor Advertisements (Override, to ff02::1) for IPv6 on the pure
//   schedule (announce-schedule.ts): a burst on takeover, then a refresh.
// - Hands every foreign claim of an owned IP to the conflict detector.
//
// Every announcement is logged at info: one line per IP for a takeover's
// burst step and a defence (ip, interface, mac, services, reason), one line
// per interface listing the IPs for a round over many (reason refresh or
// peer-left: announce-log.ts); replies are rate-limited per IP, the first
// one always logged.

import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import {
  ARP_OP_REQUEST,
  decodeArp,
  encodeArpAnswer,
  encodeGratuitousArpReply,
  encodeGratuitousArpRequest,
  isGratuitousArp,
} from '../l2/arp.ts';
import { decodeNdp, encodeSolicitedNa, encodeUnsolicitedNa, ipv6MulticastMac, NA_FRAME_LENGTH, solicitedNodeAddress } from '../l2/ndp.ts';
import { openArpSocket, openNdpSocket, PACKET_OUTGOING } from '../l2/packet-socket.ts';
import {
  dueAnnouncements,
  nextAnnouncement,
  resolveAnnounceSchedule,
  type AnnounceScheduleOptions,
  type AnnounceState,
} from './announce-schedule.ts';
import { interfaceForIp, type AnnounceInterface, type InterfaceSurvey } from './announce-interfaces.ts';
import { announcedMessage, roundLines, type RoundAnnouncement, type RoundReason } from './announce-log.ts';
import { applyArpSysctls } from './arp-sysctls.ts';
import { ConflictDetector, type ConflictEvent, type ConflictOptions } from './conflicts.ts';
import type { SentFrame, SpeakerMetrics } from './metrics.ts';
import { ReplyLogLimiter } from './reply-log-limiter.ts';

/** What the announcer needs of a packet socket (PacketSocket fits; tests pass fakes). */
export interface FrameTransport {
  readonly mac: string;
  send(frame: Buffer): number;
  addMulticast(mac: string): void;
  dropMulticast(mac: string): void;
  close(): void;
  on(event: 'frame', listener: (frame: Buffer, packetType: number) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export type TransportFactory = (ifname: string, kind: 'arp' | 'ndp') => FrameTransport;

const openPacketTransport: TransportFactory = (ifname, kind) =>
  kind === 'arp' ? openArpSocket(ifname) : openNdpSocket(ifname);

export interface AnnouncerOptions {
  schedule?: Partial<AnnounceScheduleOptions>;
  conflicts?: Partial<ConflictOptions>;
  /** Per IP, at most one logged reply per this long after the first. Default 10 s. */
  replyLogIntervalMs?: number;
  /** How often pairs silent for a while are reported resolved. Default 10 s. */
  conflictSweepMs?: number;
  /**
   * After this node takes an IP over, claims of it by other MACs are the
   * previous owner finishing its last announcements (it stops when it sees
   * the same Lease change): not conflicts for this long. Default 1 s.
   */
  handoverGraceMs?: number;
  openTransport?: TransportFactory;
  /** Sets arp_ignore/arp_announce on an interface before it announces. */
  prepareInterface?: (ifname: string, log: Logger) => Promise<void>;
  now?: () => number;
}

export interface AnnouncerHooks {
  /** A conflict to report (already rate-limited), or its resolution. */
  onConflict?(event: ConflictEvent): void;
}

interface Port {
  iface: AnnounceInterface;
  arp: FrameTransport | undefined;
  ndp: FrameTransport | undefined;
  ips: Set<string>;
}

interface Held {
  ip: string;
  v6: boolean;
  services: string[];
  /** Name of the interface announcing it; undefined while none may. */
  port: string | undefined;
  /** The interfaces an L2Advertisement allows (undefined: any). */
  named: ReadonlySet<string> | undefined;
  state: AnnounceState;
  /** When own() took it. */
  ownedSinceMs: number;
  /** Link-layer group of the IP's solicited-node address (IPv6). */
  group: string | undefined;
}

const roundAnnouncement = (held: Held, port: Port): RoundAnnouncement => ({ ip: held.ip, v6: held.v6, interface: port.iface.name, mac: port.iface.mac });

export class Announcer {
  readonly #log: Logger;
  readonly #metrics: SpeakerMetrics;
  readonly #schedule: AnnounceScheduleOptions;
  readonly #detector: ConflictDetector;
  readonly #replies: ReplyLogLimiter;
  readonly #open: TransportFactory;
  readonly #prepare: (ifname: string, log: Logger) => Promise<void>;
  readonly #now: () => number;
  readonly #handoverGraceMs: number;
  readonly #hooks: AnnouncerHooks;
  readonly #held = new Map<string, Held>();
  readonly #ports = new Map<string, Port>();
  readonly #prepared = new Set<string>();
  readonly #portWarned = new Set<string>();
  #survey: InterfaceSurvey = { interfaces: [], subnets: [], anyIp: false, skipped: [], ownMacs: [] };
  #ownMacs = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  /** When #timer fires. */
  #timerAtMs: number | undefined;
  /** IPv4 and IPv6 IPs placed on an interface (announced): the gauge, kept as they move. */
  readonly #placed: [number, number] = [0, 0];
  #sweepTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** One reusable buffer per frame kind: sends copy synchronously. */
  readonly #frame = Buffer.alloc(Math.max(60, NA_FRAME_LENGTH));

  constructor(log: Logger, metrics: SpeakerMetrics, options: AnnouncerOptions = {}, hooks: AnnouncerHooks = {}) {
    this.#log = log;
    this.#metrics = metrics;
    this.#schedule = resolveAnnounceSchedule(options.schedule);
    this.#detector = new ConflictDetector(options.conflicts);
    this.#replies = new ReplyLogLimiter(options.replyLogIntervalMs ?? 10_000);
    this.#open = options.openTransport ?? openPacketTransport;
    this.#prepare = options.prepareInterface ?? applyArpSysctls;
    this.#now = options.now ?? (() => performance.now());
    this.#handoverGraceMs = options.handoverGraceMs ?? 1000;
    this.#hooks = hooks;
    const sweepMs = options.conflictSweepMs ?? 10_000;
    this.#sweepTimer = setInterval(() => this.#sweep(), sweepMs);
    this.#sweepTimer.unref();
  }

  /** The IPs announced (or waiting for an interface), sorted. */
  owned(): string[] {
    return [...this.#held.keys()].sort();
  }

  /** The interface announcing `ip`, if any. */
  interfaceOf(ip: string): string | undefined {
    return this.#held.get(ip)?.port;
  }

  /** The node's interfaces changed: re-plan which interface announces each IP. */
  setSurvey(survey: InterfaceSurvey): void {
    if (this.#closed) return;
    this.#survey = survey;
    // Every usable interface, not only those announcing: the kernel must not
    // answer for an owned IP on one an L2Advertisement leaves out.
    for (const iface of survey.interfaces) this.#prepareOnce(iface.name);
    this.#ownMacs = new Set(survey.ownMacs);
    this.#detector.setOwnMacs(survey.ownMacs);
    // Ports whose interface went away or changed identity are rebuilt.
    for (const [name, port] of this.#ports) {
      const now = survey.interfaces.find((i) => i.name === name);
      if (!now || now.index !== port.iface.index || now.mac !== port.iface.mac) this.#closePort(name);
      else port.iface = now;
    }
    for (const held of this.#held.values()) this.#place(held);
    this.#tick();
  }

  /**
   * Starts announcing `ip` (a takeover: burst), or updates the Services
   * named in its logs and the interfaces it may use (`named`, from an
   * L2Advertisement; undefined: any). A changed interface restarts its burst.
   */
  own(ip: string, services: string[], named?: ReadonlySet<string>): void {
    if (this.#closed) return;
    const existing = this.#held.get(ip);
    if (existing) {
      existing.services = services;
      if (!sameNames(existing.named, named)) {
        existing.named = named;
        this.#place(existing);
        this.#tick();
      }
      return;
    }
    const held: Held = {
      ip,
      v6: ip.includes(':'),
      services,
      port: undefined,
      named,
      state: { ip, burstStartMs: this.#now(), lastSentMs: undefined },
      ownedSinceMs: this.#now(),
      group: undefined,
    };
    this.#held.set(ip, held);
    this.#detector.ownIp(ip);
    this.#place(held);
    this.#tickOne(held);
  }

  /**
   * Announces each of `ips` this node holds once now, outside the schedule,
   * saying why in the log: a peer stopped, or another MAC claims an IP that
   * is ours. An IP still in its takeover burst is left to the burst; the
   * refresh clock of the others starts again from now.
   */
  announceNow(ips: Iterable<string>, reason: 'peer-left' | 'defend'): void {
    if (this.#closed) return;
    const now = this.#now();
    const sent: RoundAnnouncement[] = [];
    for (const ip of ips) {
      const held = this.#held.get(ip);
      if (!held || held.port === undefined) continue;
      const port = this.#ports.get(held.port);
      if (!port || nextAnnouncement(held.state, this.#schedule).reason !== 'refresh') continue;
      if (this.#announce(held, port)) {
        if (reason === 'defend') this.#logOne(held, port, reason);
        else sent.push(roundAnnouncement(held, port));
      }
      held.state.lastSentMs = now;
    }
    this.#logRound('peer-left', sent);
    this.#tick();
  }

  /** Stops announcing and answering for `ip`. */
  release(ip: string): void {
    const held = this.#held.get(ip);
    if (!held) return;
    this.#detach(held);
    this.#held.delete(ip);
    this.#replies.forget(ip);
    this.#detector.disownIp(ip);
    this.#updateGauge();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#sweepTimer);
    for (const ip of [...this.#held.keys()]) this.release(ip);
    for (const name of [...this.#ports.keys()]) this.#closePort(name);
  }

  /** Puts an IP on the interface that should announce it; a move restarts its burst. */
  #place(held: Held): void {
    const iface = interfaceForIp(held.ip, this.#survey, held.named);
    if (iface && iface.name === held.port && this.#ports.get(iface.name)?.ips.has(held.ip)) return;
    this.#detach(held);
    if (!iface) {
      if (!this.#portWarned.has(held.ip)) {
        this.#portWarned.add(held.ip);
        this.#log.warn({ ip: held.ip, services: held.services }, 'no usable interface to announce this IP on; waiting for one');
      }
      this.#updateGauge();
      return;
    }
    const port = this.#port(iface);
    if (!port) return;
    this.#portWarned.delete(held.ip);
    held.port = iface.name;
    this.#placed[held.v6 ? 1 : 0]++;
    port.ips.add(held.ip);
    if (held.v6) {
      held.group = ipv6MulticastMac(solicitedNodeAddress(held.ip));
      try {
        port.ndp?.addMulticast(held.group);
      } catch (err) {
        this.#log.warn({ ip: held.ip, interface: iface.name, err: (err as Error).message }, 'could not join the solicited-node group');
      }
    }
    held.state = { ip: held.ip, burstStartMs: this.#now(), lastSentMs: undefined };
    this.#updateGauge();
  }

  #detach(held: Held): void {
    const name = held.port;
    held.port = undefined;
    if (name === undefined) return;
    this.#placed[held.v6 ? 1 : 0]--;
    const port = this.#ports.get(name);
    if (!port) return;
    port.ips.delete(held.ip);
    if (held.group !== undefined) {
      try {
        port.ndp?.dropMulticast(held.group);
      } catch {
        // the socket is going away anyway
      }
      held.group = undefined;
    }
    if (port.ips.size === 0) this.#closePort(name);
  }

  #prepareOnce(ifname: string): void {
    if (this.#prepared.has(ifname)) return;
    this.#prepared.add(ifname);
    void this.#prepare(ifname, this.#log);
  }

  #port(iface: AnnounceInterface): Port | undefined {
    const existing = this.#ports.get(iface.name);
    if (existing) return existing;
    this.#prepareOnce(iface.name);
    const port: Port = { iface, arp: undefined, ndp: undefined, ips: new Set() };
    try {
      port.arp = this.#open(iface.name, 'arp');
      port.arp.on('frame', (frame, type) => this.#onArp(port, frame, type));
      port.arp.on('error', (err) => this.#onSocketError(port, 'arp', err));
      port.ndp = this.#open(iface.name, 'ndp');
      port.ndp.on('frame', (frame, type) => this.#onNdp(port, frame, type));
      port.ndp.on('error', (err) => this.#onSocketError(port, 'ndp', err));
    } catch (err) {
      port.arp?.close();
      port.ndp?.close();
      this.#log.error(
        { interface: iface.name, err: (err as Error).message, code: (err as { code?: string }).code },
        'cannot open packet sockets on the announcing interface (needs CAP_NET_RAW)',
      );
      return undefined;
    }
    this.#log.info({ interface: iface.name, mac: iface.mac, subnets: iface.subnets }, 'announcing on interface');
    this.#ports.set(iface.name, port);
    return port;
  }

  #closePort(name: string): void {
    const port = this.#ports.get(name);
    if (!port) return;
    this.#ports.delete(name);
    port.arp?.close();
    port.ndp?.close();
    for (const ip of port.ips) {
      const held = this.#held.get(ip);
      if (held && held.port === name) {
        held.port = undefined;
        held.group = undefined;
      }
    }
    port.ips.clear();
  }

  #onSocketError(port: Port, kind: string, err: Error): void {
    const code = (err as { code?: string }).code;
    this.#log.warn({ interface: port.iface.name, socket: kind, code, err: err.message }, 'packet socket error');
    if (code === 'ENETDOWN' || code === 'ENODEV' || code === 'ENXIO') {
      // Reopened when the interface is usable again (the next survey).
      const ips = [...port.ips];
      this.#closePort(port.iface.name);
      for (const ip of ips) {
        const held = this.#held.get(ip);
        if (held) this.#place(held);
      }
    }
  }

  /** Sends what the schedule says is due and sleeps until the next step. */
  #tick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAtMs = undefined;
    if (this.#closed) return;
    const now = this.#now();
    const round = dueAnnouncements(this.#placedStates(), now, this.#schedule);
    const refreshed: RoundAnnouncement[] = [];
    for (const due of round.due) {
      const held = this.#held.get(due.ip);
      if (!held || held.port === undefined) continue;
      const port = this.#ports.get(held.port);
      if (!port) continue;
      if (this.#announce(held, port)) {
        if (due.reason === 'refresh') refreshed.push(roundAnnouncement(held, port));
        else this.#logOne(held, port, due.reason, due.step);
      }
      held.state.lastSentMs = now;
    }
    this.#logRound('refresh', refreshed);
    if (round.nextWakeMs !== undefined) this.#wakeBy(round.nextWakeMs);
  }

  /**
   * #tick for one IP just taken: sends its first step at once and wakes the
   * timer by its next. A pass over one IP, not all: a node taking 1,000 IPs
   * at once ran #tick, and its pass over every IP, for each of them.
   */
  #tickOne(held: Held): void {
    const port = held.port === undefined ? undefined : this.#ports.get(held.port);
    if (port === undefined) return;
    const now = this.#now();
    // A state just made (#place): its burst's first step is due now.
    const first = nextAnnouncement(held.state, this.#schedule);
    if (first.atMs <= now) {
      if (this.#announce(held, port)) this.#logOne(held, port, 'takeover', first.step);
      held.state.lastSentMs = now;
    }
    this.#wakeBy(nextAnnouncement(held.state, this.#schedule).atMs);
  }

  /** Makes #tick run at `atMs` at the latest. */
  #wakeBy(atMs: number): void {
    if (this.#timer !== undefined && this.#timerAtMs !== undefined && this.#timerAtMs <= atMs) return;
    clearTimeout(this.#timer);
    this.#timerAtMs = atMs;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, atMs - this.#now()));
  }

  *#placedStates(): Iterable<AnnounceState> {
    for (const held of this.#held.values()) if (held.port !== undefined) yield held.state;
  }

  /** Sends the IP's gratuitous ARP (both forms) or unsolicited NA; whether a frame went out. */
  #announce(held: Held, port: Port): boolean {
    const mac = port.iface.mac;
    const ifname = port.iface.name;
    if (held.v6) return this.#send(port.ndp, encodeUnsolicitedNa({ mac, ip: held.ip }, this.#frame), 'unsolicited_na', ifname);
    const request = this.#send(port.arp, encodeGratuitousArpRequest({ mac, ip: held.ip }, this.#frame), 'garp_request', ifname);
    const reply = this.#send(port.arp, encodeGratuitousArpReply({ mac, ip: held.ip }, this.#frame), 'garp_reply', ifname);
    return request || reply;
  }

  /** One line for one IP's announcement: a takeover's step (with its Services) or a defence. */
  #logOne(held: Held, port: Port, reason: 'takeover' | 'defend', step?: number): void {
    this.#log.info(
      { ip: held.ip, interface: port.iface.name, mac: port.iface.mac, services: held.services, reason, ...(step !== undefined ? { step } : {}) },
      announcedMessage(held.v6, false),
    );
  }

  /** A round over many IPs (refresh, peer-left): a line per interface and family (announce-log.ts). */
  #logRound(reason: RoundReason, sent: readonly RoundAnnouncement[]): void {
    for (const line of roundLines(reason, sent)) this.#log.info(line.fields, line.msg);
  }

  #send(transport: FrameTransport | undefined, frame: Buffer, type: SentFrame, ifname: string): boolean {
    if (!transport) return false;
    try {
      transport.send(frame);
      this.#metrics.framesSent.inc({ type, interface: ifname });
      return true;
    } catch (err) {
      this.#metrics.sendErrors.inc({ interface: ifname });
      this.#log.debug({ interface: ifname, frame: type, err: (err as Error).message }, 'could not send frame');
      return false;
    }
  }

  #onArp(port: Port, frame: Buffer, packetType: number): void {
    if (packetType === PACKET_OUTGOING) return;
    const packet = decodeArp(frame);
    if (packet === null) return;
    const ifname = port.iface.name;
    const request = packet.op === ARP_OP_REQUEST;
    this.#metrics.framesReceived.inc({ type: request ? 'arp_request' : 'arp_reply', interface: ifname });
    if (this.#ownMacs.has(packet.senderMac) || packet.senderMac === port.iface.mac) return;
    const now = this.#now();
    if (this.#held.has(packet.senderIp)) {
      this.#claim({ kind: request ? 'arp-request' : 'arp-reply', mac: packet.senderMac, ip: packet.senderIp, interface: ifname }, now);
    }
    if (!request || isGratuitousArp(packet)) return;
    const held = this.#held.get(packet.targetIp);
    if (!held || held.port !== ifname) return;
    if (this.#send(port.arp, encodeArpAnswer(packet, port.iface.mac, this.#frame), 'arp_reply', ifname)) {
      this.#logReply(held, port, now, { mac: packet.senderMac, ip: packet.senderIp }, 'answered ARP request');
    }
  }

  #onNdp(port: Port, frame: Buffer, packetType: number): void {
    if (packetType === PACKET_OUTGOING) return;
    const message = decodeNdp(frame);
    if (message === null) return;
    const ifname = port.iface.name;
    this.#metrics.framesReceived.inc({ type: message.type, interface: ifname });
    const now = this.#now();
    if (message.type === 'na') {
      const claimant = message.targetLinkAddr ?? message.ethSrc;
      if (this.#ownMacs.has(claimant) || claimant === port.iface.mac) return;
      if (this.#held.has(message.target)) this.#claim({ kind: 'na', mac: claimant, ip: message.target, interface: ifname }, now);
      return;
    }
    if (this.#ownMacs.has(message.ethSrc) || message.ethSrc === port.iface.mac) return;
    const held = this.#held.get(message.target);
    if (!held || held.port !== ifname) return;
    if (this.#send(port.ndp, encodeSolicitedNa(message, { mac: port.iface.mac }, this.#frame), 'solicited_na', ifname)) {
      const asker = { mac: message.sourceLinkAddr ?? message.ethSrc, ip: message.srcIp };
      this.#logReply(held, port, now, asker, 'answered Neighbor Solicitation');
    }
  }

  #logReply(held: Held, port: Port, now: number, to: { mac: string; ip: string }, msg: string): void {
    const decision = this.#replies.answered(held.ip, now);
    if (!decision.log) return;
    this.#log.info(
      {
        ip: held.ip,
        interface: port.iface.name,
        mac: port.iface.mac,
        services: held.services,
        reason: 'reply',
        to,
        ...(decision.suppressed > 0 ? { repliesNotLogged: decision.suppressed } : {}),
      },
      msg,
    );
  }

  /** When another MAC last claimed `ip` (in this announcer's clock, performance.now() unless told otherwise), or undefined. */
  lastForeignClaimMs(ip: string): number | undefined {
    return this.#detector.lastClaimMs(ip);
  }

  #claim(claim: Parameters<ConflictDetector['observe']>[0], now: number): void {
    const held = this.#held.get(claim.ip);
    if (held && now - held.ownedSinceMs < this.#handoverGraceMs) return;
    const event = this.#detector.observe(claim, now);
    if (!event) return;
    this.#metrics.activeConflicts.set(this.#detector.active().length);
    this.#hooks.onConflict?.(event);
  }

  #sweep(): void {
    for (const event of this.#detector.sweep(this.#now())) this.#hooks.onConflict?.(event);
    this.#metrics.activeConflicts.set(this.#detector.active().length);
  }

  #updateGauge(): void {
    const [v4, v6] = this.#placed;
    this.#metrics.announcedIps.set({ family: 'ipv4' }, v4);
    this.#metrics.announcedIps.set({ family: 'ipv6' }, v6);
  }
}

function sameNames(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.size === b.size && [...a].every((n) => b.has(n));
}
