import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { toPodInfo } from '../../../src/kube/snapshot.js';

// The planner's view of a pod's scheduling constraints, as kube-scheduler reads them from the spec.

const base = (spec: Partial<NonNullable<V1Pod['spec']>>, labels: Record<string, string> = { app: 'web' }): V1Pod => ({
  metadata: { name: 'p', namespace: 'shop', labels },
  spec: { containers: [{ name: 'c', image: 'x' }], ...spec },
});

describe('toPodInfo: inter-pod affinity and anti-affinity', () => {
  it('keeps required terms with their namespaces resolved, and ignores preferred ones', () => {
    const p = toPodInfo(
      base({
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' },
              { labelSelector: { matchLabels: { app: 'db' } }, namespaces: ['data'], topologyKey: 'slicer/hostgroup' },
            ],
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 1, podAffinityTerm: { labelSelector: {}, topologyKey: 'kubernetes.io/hostname' } },
            ],
          },
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { app: 'cache' } }, namespaceSelector: {}, topologyKey: 'zone' },
            ],
          },
        },
      }),
    );
    expect(p.podAntiAffinity).toEqual([
      {
        selector: { matchLabels: { app: 'web' }, matchExpressions: [] },
        namespaces: ['shop'],
        topologyKey: 'kubernetes.io/hostname',
      },
      {
        selector: { matchLabels: { app: 'db' }, matchExpressions: [] },
        namespaces: ['data'],
        topologyKey: 'slicer/hostgroup',
      },
    ]);
    expect(p.podAffinity).toEqual([
      { selector: { matchLabels: { app: 'cache' }, matchExpressions: [] }, namespaces: 'all', topologyKey: 'zone' },
    ]);
    expect(p.unsupported).toBeUndefined();
  });

  it('merges matchLabelKeys and mismatchLabelKeys into the selector, as kube-apiserver does', () => {
    const p = toPodInfo(
      base(
        {
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                {
                  labelSelector: { matchLabels: { app: 'web' } },
                  matchLabelKeys: ['pod-template-hash', 'absent'],
                  mismatchLabelKeys: ['tenant'],
                  topologyKey: 'kubernetes.io/hostname',
                },
              ],
            },
          },
        },
        { app: 'web', 'pod-template-hash': 'abc', tenant: 't1' },
      ),
    );
    expect(p.podAntiAffinity![0]!.selector!.matchExpressions).toEqual([
      { key: 'pod-template-hash', operator: 'In', values: ['abc'] },
      { key: 'tenant', operator: 'NotIn', values: ['t1'] },
    ]);
  });

  it('treats a label namespaceSelector as every namespace for anti-affinity, and as unsupported for affinity', () => {
    const term = {
      labelSelector: { matchLabels: { app: 'x' } },
      namespaceSelector: { matchLabels: { team: 'a' } },
      topologyKey: 'kubernetes.io/hostname',
    };
    const anti = toPodInfo(
      base({ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } }),
    );
    expect(anti.podAntiAffinity![0]!.namespaces).toBe('all');
    expect(anti.unsupported).toBeUndefined();
    const aff = toPodInfo(
      base({ affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } }),
    );
    expect(aff.unsupported).toEqual([expect.stringMatching(/namespaceSelector by labels/)]);
  });

  it('leaves the fields undefined for a plain pod, so plain pods stay in one class', () => {
    const p = toPodInfo(base({}));
    expect([p.podAffinity, p.podAntiAffinity, p.topologySpread, p.hostPorts, p.unsupported]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('toPodInfo: topology spread', () => {
  it('keeps DoNotSchedule with its policies (Kubernetes defaults: Honor affinity, Ignore taints), skips ScheduleAnyway', () => {
    const p = toPodInfo(
      base(
        {
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'slicer/hostgroup',
              whenUnsatisfiable: 'DoNotSchedule',
              labelSelector: { matchLabels: { app: 'web' } },
              matchLabelKeys: ['pod-template-hash'],
              minDomains: 2,
            },
            {
              maxSkew: 2,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'DoNotSchedule',
              labelSelector: { matchLabels: { app: 'web' } },
              nodeAffinityPolicy: 'Ignore',
              nodeTaintsPolicy: 'Honor',
            },
            { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: {} },
          ],
        },
        { app: 'web', 'pod-template-hash': 'h1' },
      ),
    );
    expect(p.topologySpread).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'slicer/hostgroup',
        selector: {
          matchLabels: { app: 'web' },
          matchExpressions: [{ key: 'pod-template-hash', operator: 'In', values: ['h1'] }],
        },
        minDomains: 2,
        nodeAffinityPolicy: 'Honor',
        nodeTaintsPolicy: 'Ignore',
      },
      {
        maxSkew: 2,
        topologyKey: 'kubernetes.io/hostname',
        selector: { matchLabels: { app: 'web' }, matchExpressions: [] },
        nodeAffinityPolicy: 'Ignore',
        nodeTaintsPolicy: 'Honor',
      },
    ]);
  });
});

describe('toPodInfo: host ports', () => {
  it('collects host ports of containers and sidecars with their protocol and address', () => {
    const p = toPodInfo(
      base({
        containers: [
          { name: 'a', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }] },
          { name: 'b', image: 'x', ports: [{ containerPort: 53, hostPort: 53, protocol: 'UDP', hostIP: '10.0.0.1' }] },
        ],
        initContainers: [
          { name: 'side', image: 'x', restartPolicy: 'Always', ports: [{ containerPort: 9, hostPort: 9100 }] },
          { name: 'once', image: 'x', ports: [{ containerPort: 1, hostPort: 1 }] },
        ],
      }),
    );
    expect(p.hostPorts).toEqual([
      { port: 8080, protocol: 'TCP', hostIP: '0.0.0.0' },
      { port: 53, protocol: 'UDP', hostIP: '10.0.0.1' },
      { port: 9100, protocol: 'TCP', hostIP: '0.0.0.0' },
    ]);
  });

  it('takes the container port as host port with hostNetwork', () => {
    const p = toPodInfo(
      base({ hostNetwork: true, containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 443 }] }] }),
    );
    expect(p.hostPorts).toEqual([{ port: 443, protocol: 'TCP', hostIP: '0.0.0.0' }]);
  });
});

describe('toPodInfo: constraints the planner cannot judge', () => {
  it.each([
    [
      'a PersistentVolumeClaim',
      { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'pg' } }] },
      /PersistentVolumeClaim pg/,
    ],
    ['a generic ephemeral volume', { volumes: [{ name: 'scratch', ephemeral: {} }] }, /generic ephemeral volume/],
    ['a DRA claim', { resourceClaims: [{ name: 'gpu' }] }, /DRA resource claims \(gpu\)/],
    [
      'an extended resource',
      { containers: [{ name: 'c', image: 'x', resources: { limits: { 'nvidia.com/gpu': '1' } } }] },
      /requests nvidia.com\/gpu/,
    ],
    [
      'node affinity by field',
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }],
            },
          },
        },
      },
      /matchFields/,
    ],
    ['another scheduler', { schedulerName: 'volcano' }, /scheduler volcano/],
  ])('names %s', (_what, spec, message) => {
    expect(toPodInfo(base(spec as never)).unsupported).toEqual([expect.stringMatching(message)]);
  });

  it('does not flag what it models or what is harmless: cpu, memory, ephemeral-storage, emptyDir, configMap', () => {
    const p = toPodInfo(
      base({
        containers: [
          { name: 'c', image: 'x', resources: { requests: { cpu: '1', memory: '1Gi', 'ephemeral-storage': '1Gi' } } },
        ],
        volumes: [
          { name: 'tmp', emptyDir: {} },
          { name: 'cfg', configMap: { name: 'c' } },
        ],
      }),
    );
    expect(p.unsupported).toBeUndefined();
  });
});
