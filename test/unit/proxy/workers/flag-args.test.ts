import { describe, expect, test } from 'vitest';
import { parseFlags, type FlagSpec } from '../../../../src/common/flags.ts';
import { flagArgs } from '../../../../src/proxy/workers/flag-args.ts';
import { commands } from '../../../../src/cli.ts';

describe('flagArgs', () => {
  test('booleans both ways, strings and numbers as --name=value, help and unset left out', () => {
    expect(flagArgs({ dataplane: false, 'ingress-l4': true, 'node-name': 'n1', 'drain-grace': 2.5, help: false, interface: undefined })).toEqual([
      '--no-dataplane',
      '--ingress-l4',
      '--node-name=n1',
      '--drain-grace=2.5',
    ]);
  });

  test("a worker parses back exactly the primary's values, whatever set them (arguments or METALGATE_* variables)", () => {
    const specs: FlagSpec[] = commands.speaker!.flags;
    const env = { NODE_NAME: 'node-a', METALGATE_ACCESS_LOG_SAMPLE: '0.5', METALGATE_NO_SUCH: 'x' };
    const primary = parseFlags(specs, ['--no-dataplane', '--ingress-class', 'a=b c', '--proxy-workers', '3'], env);
    const worker = parseFlags(specs, flagArgs(primary), {});
    expect(worker).toEqual(primary);
  });
});
