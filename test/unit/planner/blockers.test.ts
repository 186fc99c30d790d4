import { describe, expect, it } from 'vitest';
import { PdbBudgets, podBlocker, SAFE_TO_EVICT } from '../../../src/planner/scale-down/blockers.js';
import { input, pdb, pod } from './builders.js';

describe('podBlocker', () => {
  const inp = input();
  it.each([
    ['a replicated pod', {}, undefined],
    ['no controller', { ownerKind: undefined }, 'NotReplicated'],
    ['local storage', { hasLocalStorage: true }, 'LocalStorageRequested'],
    ['kube-system without a PDB', { namespace: 'kube-system' }, 'UnmovableKubeSystemPod'],
    [
      'safe-to-evict "false" on an otherwise movable pod',
      { annotations: { [SAFE_TO_EVICT]: 'false' } },
      'NotSafeToEvictAnnotation',
    ],
    [
      'safe-to-evict "true" lifts every other rule',
      {
        ownerKind: undefined,
        hasLocalStorage: true,
        namespace: 'kube-system',
        annotations: { [SAFE_TO_EVICT]: 'true' },
      },
      undefined,
    ],
  ])('%s', (_name, override, reason) => {
    expect(podBlocker(pod({ on: 'n', ...override }), [], inp)?.reason).toBe(reason);
  });

  it('a kube-system pod with a PDB may move', () => {
    const p = pod({ on: 'n', namespace: 'kube-system', labels: { k8s: 'dns' } });
    expect(podBlocker(p, [pdb({ namespace: 'kube-system', matchLabels: { k8s: 'dns' } })], inp)).toBeUndefined();
  });

  it('honours --skip-nodes-with-local-storage=false and --skip-nodes-with-system-pods=false', () => {
    const lenient = input({ options: { skipNodesWithLocalStorage: false, skipNodesWithSystemPods: false } });
    expect(podBlocker(pod({ on: 'n', hasLocalStorage: true }), [], lenient)).toBeUndefined();
    expect(podBlocker(pod({ on: 'n', namespace: 'kube-system' }), [], lenient)).toBeUndefined();
  });

  it('names the pod it blames', () => {
    const p = pod({ on: 'n', ownerKind: undefined });
    expect(podBlocker(p, [], inp)).toMatchObject({
      pod: `default/${p.name}`,
      message: expect.stringMatching(/no controller/),
    });
  });
});

describe('PdbBudgets', () => {
  const web = (o = {}) => pod({ on: 'n', labels: { app: 'web', tier: 'front' }, ...o });

  it('selects by namespace, matchLabels and matchExpressions', () => {
    const budgets = new PdbBudgets([
      pdb({ name: 'labels', matchLabels: { app: 'web' } }),
      pdb({ name: 'expr', matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] }),
      pdb({ name: 'other-ns', namespace: 'prod', matchLabels: { app: 'web' } }),
      pdb({ name: 'miss', matchLabels: { app: 'db' } }),
    ]);
    expect(budgets.of(web()).map((p) => p.name)).toEqual(['labels', 'expr']);
  });

  it('blocks when a node needs more disruptions than allowed, naming the PDB and the pod', () => {
    const budgets = new PdbBudgets([pdb({ name: 'web', matchLabels: { app: 'web' }, disruptionsAllowed: 1 })]);
    const [p1, p2] = [web(), web()];
    expect(budgets.check([p1]).blocker).toBeUndefined();
    expect(budgets.check([p1, p2]).blocker).toMatchObject({
      reason: 'NotEnoughPdb',
      pod: `default/${p2!.name}`,
      message: expect.stringMatching(/default\/web allows 1 more/),
    });
  });

  it('spends the budget across nodes once committed', () => {
    const budgets = new PdbBudgets([pdb({ name: 'web', matchLabels: { app: 'web' }, disruptionsAllowed: 1 })]);
    const first = budgets.check([web()]);
    expect(first.blocker).toBeUndefined();
    budgets.commit(first.spend);
    expect(budgets.check([web()]).blocker?.reason).toBe('NotEnoughPdb');
  });
});
