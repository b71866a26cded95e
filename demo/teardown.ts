// Taking it all down, in the order that lets each part leave cleanly: the
// speakers first (SIGTERM: they delete their Leases while the API is still
// there), the controller, the lab (every process it started, its namespaces
// and their veths and bridge), the control plane, then the files. Every step
// is tried; what could not be removed is returned.
import { copyFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { Demo } from './demo-state.ts';

export interface TeardownResult {
  errors: string[];
  /** Where the logs were kept, when they were. */
  keptLogs: string | undefined;
}

export async function teardown(demo: Demo, keepLogs: boolean): Promise<TeardownResult> {
  const errors: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
    }
  };
  await Promise.all([...demo.speakers.values()].map((p) => attempt(`stopping the speaker pid ${p.pid}`, () => p.stop('SIGTERM', 5000))));
  if (demo.controller) await attempt('stopping the controller', () => demo.controller!.stop('SIGTERM', 5000));
  if (demo.lab) await attempt('removing the lab', () => demo.lab!.destroy());
  if (demo.cp) await attempt('stopping the control plane', () => demo.cp!.stop());

  let keptLogs: string | undefined;
  if (keepLogs) {
    // The control plane's logs join the components' logs; everything else
    // (etcd data, certificates, tokens) goes.
    const cpDir = join(demo.workDir, 'control-plane');
    for (const f of ['kube-apiserver.log', 'etcd.log']) await copyFile(join(cpDir, f), join(demo.logDir, f)).catch(() => {});
    const entries = await readdir(demo.workDir).catch(() => [] as string[]);
    for (const e of entries) if (e !== 'logs') await attempt(`removing ${e}`, () => rm(join(demo.workDir, e), { recursive: true, force: true }));
    keptLogs = demo.logDir;
  } else {
    await attempt('removing the work directory', () => rm(demo.workDir, { recursive: true, force: true }));
  }
  return { errors, keptLogs };
}
