// Controller metrics (one Registry per controller instance, so tests can
// run several in one process).
import { Counter, Gauge, type Registry } from '../common/prom-classes.ts';

export interface PoolStat {
  pool: string;
  family: 4 | 6;
  total: bigint;
  inUse: number;
}

export class ControllerMetrics {
  readonly addressesTotal: Gauge<'pool' | 'family'>;
  readonly addressesInUse: Gauge<'pool' | 'family'>;
  readonly allocationFailures: Counter;
  readonly releases: Counter;
  readonly configStale: Gauge;
  readonly configLoaded: Gauge;
  readonly configReloadErrors: Counter;
  readonly leader: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.addressesTotal = new Gauge({
      name: 'metalgate_allocator_addresses_total',
      help: 'Addresses a pool can hand out (after avoid-buggy-ips), per IP family.',
      labelNames: ['pool', 'family'],
      registers,
    });
    this.addressesInUse = new Gauge({
      name: 'metalgate_allocator_addresses_in_use_total',
      help: 'Addresses of a pool assigned to at least one Service, per IP family.',
      labelNames: ['pool', 'family'],
      registers,
    });
    this.allocationFailures = new Counter({
      name: 'metalgate_allocator_allocation_failures_total',
      help: 'Services that could not be given an IP (each failure counted once until it succeeds).',
      registers,
    });
    this.releases = new Counter({ name: 'metalgate_allocator_releases_total', help: 'IPs released from Services.', registers });
    this.configStale = new Gauge({
      name: 'metalgate_config_stale',
      help: '1 when the newest config was invalid and an older config is in force.',
      registers,
    });
    this.configLoaded = new Gauge({ name: 'metalgate_config_loaded', help: '1 when a valid config has been loaded.', registers });
    this.configReloadErrors = new Counter({
      name: 'metalgate_config_reload_errors_total',
      help: 'Config updates rejected as invalid.',
      registers,
    });
    this.leader = new Gauge({ name: 'metalgate_controller_leader', help: '1 while this replica is the leader.', registers });
  }

  onRelease(): void {
    this.releases.inc();
  }

  setPoolStats(stats: readonly PoolStat[]): void {
    this.addressesTotal.reset();
    this.addressesInUse.reset();
    for (const s of stats) {
      const labels = { pool: s.pool, family: s.family === 4 ? 'ipv4' : 'ipv6' };
      this.addressesTotal.set(labels, Number(s.total));
      this.addressesInUse.set(labels, s.inUse);
    }
  }
}
