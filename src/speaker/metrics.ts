// Speaker metrics (one Registry per speaker, so tests run several in one process).
import { Counter, Gauge, type Registry } from '../common/prom-classes.ts';

export type SentFrame = 'garp_request' | 'garp_reply' | 'arp_reply' | 'unsolicited_na' | 'solicited_na';
type ReceivedFrame = 'arp_request' | 'arp_reply' | 'ns' | 'na';

export class SpeakerMetrics {
  readonly announcedIps: Gauge<'family'>;
  readonly elections: Counter<'outcome'>;
  readonly framesSent: Counter<'type' | 'interface'>;
  readonly sendErrors: Counter<'interface'>;
  readonly framesReceived: Counter<'type' | 'interface'>;
  readonly conflicts: Counter<'ip'>;
  readonly activeConflicts: Gauge;
  readonly ownershipChanges: Counter<'change'>;
  readonly liveSpeakers: Gauge;
  readonly membershipFrozen: Gauge;
  readonly leaseRenewals: Counter<'result'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.announcedIps = new Gauge({
      name: 'metalgate_speaker_announced_ips',
      help: 'IPs this node owns and announces, per IP family.',
      labelNames: ['family'],
      registers,
    });
    this.framesSent = new Counter({
      name: 'metalgate_speaker_frames_sent_total',
      help: 'ARP/NDP frames sent: garp_request, garp_reply, arp_reply, unsolicited_na, solicited_na.',
      labelNames: ['type', 'interface'],
      registers,
    });
    this.sendErrors = new Counter({
      name: 'metalgate_speaker_frame_send_errors_total',
      help: 'Frames that could not be sent (interface down, buffer full).',
      labelNames: ['interface'],
      registers,
    });
    this.framesReceived = new Counter({
      name: 'metalgate_speaker_frames_received_total',
      help: 'ARP/NDP frames received on announcing interfaces: arp_request, arp_reply, ns, na.',
      labelNames: ['type', 'interface'],
      registers,
    });
    this.conflicts = new Counter({
      name: 'metalgate_speaker_conflicts_total',
      help: 'Reported conflicts: another MAC claimed an IP this node announces (rate-limited like the log).',
      labelNames: ['ip'],
      registers,
    });
    this.activeConflicts = new Gauge({
      name: 'metalgate_speaker_active_conflicts',
      help: '(IP, foreign MAC) pairs seen claiming an owned IP recently.',
      registers,
    });
    this.ownershipChanges = new Counter({
      name: 'metalgate_speaker_ownership_changes_total',
      help: 'IPs this node took over (gained) or gave up (lost).',
      labelNames: ['change'],
      registers,
    });
    this.elections = new Counter({
      name: 'metalgate_speaker_elections_total',
      help: 'Elections asked for (every Lease renewal seen, every second, every change): computed, or unchanged (same inputs as the last one, nothing to do).',
      labelNames: ['outcome'],
      registers,
    });
    this.liveSpeakers = new Gauge({ name: 'metalgate_speaker_live_speakers', help: 'Speakers this node sees alive.', registers });
    this.membershipFrozen = new Gauge({
      name: 'metalgate_speaker_membership_frozen',
      help: '1 while the Lease view is stale (API server unreachable): nobody is expired, ownership is kept.',
      registers,
    });
    this.leaseRenewals = new Counter({
      name: 'metalgate_speaker_lease_renewals_total',
      help: 'Renewals of this speaker\'s Lease, by result (ok, error).',
      labelNames: ['result'],
      registers,
    });
  }
}
