import { describe, expect, test } from 'vitest';
import { l2StatusPlan, type L2StatusEntry, type L2StatusObject } from '../../../src/speaker/l2-status.ts';

const entry = (name: string, interfaces: string[] = ['eth0'], serviceNamespace = 'web'): L2StatusEntry => ({ serviceNamespace, serviceName: name, interfaces });
const obj = (name: string, node: string, e: L2StatusEntry): L2StatusObject => ({ name, node, entry: e });

describe('l2StatusPlan', () => {
  test('creates what is missing, patches changed interfaces, deletes what this node no longer announces', () => {
    const plan = l2StatusPlan('node-a', [entry('one'), entry('two', ['eth1']), entry('three')], [
      obj('l2-1', 'node-a', entry('one')),
      obj('l2-2', 'node-a', entry('two', ['eth0'])),
      obj('l2-3', 'node-a', entry('gone')),
    ]);
    expect(plan).toEqual({ create: [entry('three')], patch: [{ name: 'l2-2', entry: entry('two', ['eth1']) }], delete: ['l2-3'] });
  });

  test("other nodes' objects are left alone, unless live is given and their node is not in it", () => {
    const existing = [obj('l2-b', 'node-b', entry('one')), obj('l2-c', 'node-c', entry('two'))];
    expect(l2StatusPlan('node-a', [], existing).delete).toEqual([]);
    expect(l2StatusPlan('node-a', [], existing, new Set(['node-a', 'node-b'])).delete).toEqual(['l2-c']);
  });

  test('a duplicate object for one Service (a create whose answer was lost) is removed', () => {
    const plan = l2StatusPlan('node-a', [entry('one')], [obj('l2-1', 'node-a', entry('one')), obj('l2-2', 'node-a', entry('one'))]);
    expect(plan).toEqual({ create: [], patch: [], delete: ['l2-2'] });
  });

  test('same name in two namespaces are two Services', () => {
    const plan = l2StatusPlan('node-a', [entry('one', ['eth0'], 'a'), entry('one', ['eth0'], 'b')], [obj('l2-1', 'node-a', entry('one', ['eth0'], 'a'))]);
    expect(plan.create).toEqual([entry('one', ['eth0'], 'b')]);
  });
});
