import { describe, expect, it } from 'vitest';
import { cpuMilli, memoryBytes, podRequests } from '../../../src/planner/index.js';
import { requirementMatches, selectorMatches, untoleratedTaint } from '../../../src/planner/fit.js';
import { pod } from './builders.js';

describe('quantities', () => {
  it.each([
    ['500m', 500],
    ['2', 2000],
    ['0.1', 100],
    ['1e3m', 1000],
    ['1.0001', 1001],
  ])('cpu %s = %d millicores', (q, m) => expect(cpuMilli(q)).toBe(m));
  it.each([
    ['1Gi', 2 ** 30],
    ['128Mi', 128 * 2 ** 20],
    ['1G', 1e9],
    ['1500k', 1.5e6],
    ['128974848', 128974848],
  ])('memory %s = %d bytes', (q, b) => expect(memoryBytes(q)).toBe(b));
  it('treats missing or malformed as zero', () => {
    expect(cpuMilli(undefined)).toBe(0);
    expect(memoryBytes('lots')).toBe(0);
  });
});

describe('effective pod requests (the init-container rule)', () => {
  const c = (cpu: string, memory: string, restartPolicy?: string) => ({
    resources: { requests: { cpu, memory } },
    restartPolicy,
  });
  it('sums app containers', () => {
    expect(podRequests({ containers: [c('100m', '64Mi'), c('200m', '64Mi')] })).toEqual({
      cpuMilli: 300,
      memoryBytes: 128 * 2 ** 20,
    });
  });
  it('takes the largest init container when it is larger than the app containers', () => {
    expect(
      podRequests({ containers: [c('100m', '64Mi')], initContainers: [c('1', '32Mi'), c('500m', '1Gi')] }),
    ).toEqual({ cpuMilli: 1000, memoryBytes: 2 ** 30 });
  });
  it('adds sidecars (restartPolicy Always) to the running pod and to later init containers', () => {
    const r = podRequests({
      containers: [c('100m', '64Mi')],
      initContainers: [c('50m', '16Mi', 'Always'), c('1', '16Mi')],
    });
    expect(r.cpuMilli).toBe(1050);
    expect(r.memoryBytes).toBe(80 * 2 ** 20);
  });
  it('adds pod overhead', () => {
    expect(podRequests({ containers: [c('100m', '64Mi')], overhead: { cpu: '250m', memory: '120Mi' } }).cpuMilli).toBe(
      350,
    );
  });
});

describe('predicates', () => {
  it('matches arch spelled either way', () => {
    expect(
      selectorMatches(pod({ nodeSelector: { 'kubernetes.io/arch': 'x86_64' } }), { 'kubernetes.io/arch': 'amd64' }),
    ).toBe(true);
    expect(
      selectorMatches(pod({ nodeSelector: { 'kubernetes.io/arch': 'amd64' } }), { 'kubernetes.io/arch': 'x86_64' }),
    ).toBe(true);
    expect(
      selectorMatches(
        pod({ requiredAffinity: [[{ key: 'kubernetes.io/arch', operator: 'In', values: ['aarch64'] }]] }),
        { 'kubernetes.io/arch': 'arm64' },
      ),
    ).toBe(true);
  });
  it.each([
    ['In', ['a', 'b'], { k: 'b' }, true],
    ['In', ['a'], {}, false],
    ['NotIn', ['a'], { k: 'b' }, true],
    ['NotIn', ['a'], { k: 'a' }, false],
    ['NotIn', ['a'], {}, true],
    ['Exists', undefined, { k: '' }, true],
    ['Exists', undefined, {}, false],
    ['DoesNotExist', undefined, {}, true],
    ['DoesNotExist', undefined, { k: 'x' }, false],
    ['Gt', ['5'], { k: '6' }, true],
    ['Gt', ['5'], { k: 'five' }, false],
    ['Lt', ['5'], { k: '4' }, true],
    ['Lt', ['5'], { k: '5' }, false],
  ] as const)('%s %j on %j: %s', (operator, values, labels, want) => {
    expect(requirementMatches(labels, { key: 'k', operator, values: values && [...values] })).toBe(want);
  });
  it('ORs affinity terms and ANDs their requirements', () => {
    const p = pod({
      requiredAffinity: [
        [
          { key: 'a', operator: 'In', values: ['1'] },
          { key: 'b', operator: 'Exists' },
        ],
        [{ key: 'c', operator: 'Gt', values: ['5'] }],
      ],
    });
    expect(selectorMatches(p, { a: '1' })).toBe(false);
    expect(selectorMatches(p, { a: '1', b: 'x' })).toBe(true);
    expect(selectorMatches(p, { c: '6' })).toBe(true);
    expect(selectorMatches(p, { c: '5' })).toBe(false);
  });
  it('lets PreferNoSchedule through, and Exists tolerations match any value', () => {
    const taints = [
      { key: 'soft', effect: 'PreferNoSchedule' as const },
      { key: 'hard', value: 'x', effect: 'NoExecute' as const },
    ];
    expect(untoleratedTaint(pod(), taints)?.key).toBe('hard');
    expect(untoleratedTaint(pod({ tolerations: [{ key: 'hard', operator: 'Exists' }] }), taints)).toBeUndefined();
    expect(untoleratedTaint(pod({ tolerations: [{ operator: 'Exists' }] }), taints)).toBeUndefined();
    expect(untoleratedTaint(pod({ tolerations: [{ key: 'hard', operator: 'Equal', value: 'y' }] }), taints)?.key).toBe(
      'hard',
    );
  });
});
