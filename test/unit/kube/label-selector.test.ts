import { describe, expect, test } from 'vitest';
import { compileLabelSelector, type LabelSelector } from '../../../src/kube/label-selector.ts';

const sel = (s: LabelSelector | undefined) => {
  const c = compileLabelSelector(s);
  if (!c.ok) throw new Error(c.error);
  return c.matches;
};

describe('compileLabelSelector (the API machinery rules)', () => {
  test('an empty or absent selector selects everything, labels or none', () => {
    expect(sel({})({ a: '1' })).toBe(true);
    expect(sel(undefined)(undefined)).toBe(true);
  });

  test('matchLabels and matchExpressions must all hold', () => {
    const m = sel({ matchLabels: { tier: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'staging'] }] });
    expect(m({ tier: 'web', env: 'prod' })).toBe(true);
    expect(m({ tier: 'web', env: 'dev' })).toBe(false);
    expect(m({ env: 'prod' })).toBe(false);
  });

  test('NotIn and DoesNotExist select objects without the key; In and Exists do not', () => {
    expect(sel({ matchExpressions: [{ key: 'k', operator: 'NotIn', values: ['x'] }] })({})).toBe(true);
    expect(sel({ matchExpressions: [{ key: 'k', operator: 'NotIn', values: ['x'] }] })({ k: 'x' })).toBe(false);
    expect(sel({ matchExpressions: [{ key: 'k', operator: 'DoesNotExist' }] })({})).toBe(true);
    expect(sel({ matchExpressions: [{ key: 'k', operator: 'DoesNotExist' }] })({ k: '' })).toBe(false);
    expect(sel({ matchExpressions: [{ key: 'k', operator: 'In', values: ['x'] }] })({})).toBe(false);
    expect(sel({ matchExpressions: [{ key: 'k', operator: 'Exists' }] })({ k: '' })).toBe(true);
  });

  test.each([
    [{ matchExpressions: [{ key: 'k', operator: 'In', values: [] }] }, 'matchExpressions[0]: operator In needs at least one value'],
    [{ matchExpressions: [{ key: 'k', operator: 'Exists', values: ['x'] }] }, 'matchExpressions[0]: operator Exists takes no values'],
    [{ matchExpressions: [{ key: 'k', operator: 'in', values: ['x'] }] }, 'matchExpressions[0]: operator "in" is not one of In, NotIn, Exists, DoesNotExist'],
    [{ matchExpressions: [{ operator: 'Exists' }] }, 'matchExpressions[0]: key is empty'],
  ])('%j is refused: %s', (s, error) => {
    expect(compileLabelSelector(s as LabelSelector)).toEqual({ ok: false, error });
  });
});
