// Parsed flag values back into command-line arguments: how a proxy worker
// process is started with exactly the flags its primary runs with, whatever
// mix of arguments and METALGATE_* variables set them.
import type { FlagValues } from '../../common/flags.ts';

export function flagArgs(f: FlagValues): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(f)) {
    if (value === undefined || name === 'help') continue;
    if (typeof value === 'boolean') out.push(value ? `--${name}` : `--no-${name}`);
    else out.push(`--${name}=${String(value)}`);
  }
  return out;
}
