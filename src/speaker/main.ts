// Placeholder until the speaker lands (issue 3): say so instead of failing obscurely.
import type { Logger } from 'pino';
import type { FlagValues } from '../common/flags.ts';

export async function runSpeaker(_f: FlagValues, log: Logger): Promise<number> {
  log.error('the speaker is not built yet in this version');
  return 1;
}
