import type { V1Node, V1Pod } from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeChange } from '../../../src/activities/evaluation.js';
import { slimNode, slimPod } from '../../../src/kube/slim.js';
import { toNodeInfo, toPodInfo } from '../../../src/kube/snapshot.js';

// The cache keeps slimmed Pods and Nodes (issue 9: memory with 1,000 nodes x 30 pods cached). Slimming must never
// change what is decided from them: the planner's view of a pod or node and what the watch reports are the same
// for the slim object as for the full one, for any mix of the fields they read. And it must actually shed weight:
// a Deployment pod as the apiserver returns it keeps a small part of its JSON.

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** A running Deployment pod as kube-apiserver returns it (admission defaults, token volume, statuses). */
const apiPod = (): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-6d9f7c8b5-x2x9k',
    generateName: 'web-6d9f7c8b5-',
    namespace: 'shop',
    uid: '7239844e-6aac-4c41-8d94-a106909b3577',
    resourceVersion: '243',
    generation: 1,
    creationTimestamp: new Date('2026-11-25T17:05:47Z'),
    labels: { app: 'web', 'pod-template-hash': '6d9f7c8b5' },
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'web-6d9f7c8b5',
        uid: '1f6c3f3e-0c59-4f1e-9a55-2b8e0e4f9d10',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
    managedFields: [
      { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1' },
    ],
  },
  spec: {
    containers: [
      {
        name: 'app',
        image: 'registry.example/web:1.2.3',
        imagePullPolicy: 'IfNotPresent',
        resources: { requests: { cpu: '100m', memory: '128Mi' } },
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        ports: [{ containerPort: 8080, protocol: 'TCP' }],
        volumeMounts: [
          { mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', name: 'kube-api-access-vfsmt', readOnly: true },
        ],
      },
    ],
    dnsPolicy: 'ClusterFirst',
    enableServiceLinks: true,
    nodeName: 'k3s-agents-1-3-1c0cdb0f',
    preemptionPolicy: 'PreemptLowerPriority',
    priority: 0,
    restartPolicy: 'Always',
    schedulerName: 'default-scheduler',
    securityContext: {},
    serviceAccount: 'default',
    serviceAccountName: 'default',
    terminationGracePeriodSeconds: 30,
    tolerations: [
      { effect: 'NoExecute', key: 'node.kubernetes.io/not-ready', operator: 'Exists', tolerationSeconds: 300 },
      { effect: 'NoExecute', key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 300 },
    ],
    volumes: [
      {
        name: 'kube-api-access-vfsmt',
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { items: [{ key: 'ca.crt', path: 'ca.crt' }], name: 'kube-root-ca.crt' } },
            {
              downwardAPI: {
                items: [{ fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' }, path: 'namespace' }],
              },
            },
          ],
        },
      },
    ],
  },
  status: {
    phase: 'Running',
    conditions: [
      { type: 'Initialized', status: 'True', lastTransitionTime: new Date('2026-11-25T17:05:49Z') },
      { type: 'Ready', status: 'True', lastTransitionTime: new Date('2026-11-25T17:05:49Z') },
      { type: 'ContainersReady', status: 'True', lastTransitionTime: new Date('2026-11-25T17:05:49Z') },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: new Date('2026-11-25T17:05:48Z') },
    ],
    containerStatuses: [
      {
        name: 'app',
        image: 'registry.example/web:1.2.3',
        imageID: 'sha256:0123456789abcdef',
        ready: true,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: new Date('2026-11-25T17:05:49Z') } },
      },
    ],
    hostIP: '10.0.0.1',
    hostIPs: [{ ip: '10.0.0.1' }],
    podIP: '10.42.3.17',
    podIPs: [{ ip: '10.42.3.17' }],
    qosClass: 'Burstable',
    startTime: new Date('2026-11-25T17:05:49Z'),
  },
});

const key = fc.constantFrom('app', 'tier', 'zone', 'slicer/hostgroup', 'kubernetes.io/hostname');
const value = fc.constantFrom('web', 'db', 'a', 'b');
const labels = fc.dictionary(key, value, { maxKeys: 3 });
const selector = fc.record(
  {
    matchLabels: labels,
    matchExpressions: fc.array(
      fc.record({ key, operator: fc.constantFrom('In', 'NotIn', 'Exists', 'Gt'), values: fc.array(value) }),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);
const term = fc.record(
  {
    labelSelector: selector,
    topologyKey: key,
    namespaces: fc.array(fc.constantFrom('shop', 'data'), { maxLength: 2 }),
    namespaceSelector: fc.constantFrom({}, { matchLabels: { team: 'x' } }),
    matchLabelKeys: fc.array(key, { maxLength: 2 }),
  },
  { requiredKeys: ['topologyKey'] },
);
const container = fc.record(
  {
    name: fc.constantFrom('a', 'b'),
    image: fc.constant('img:1'),
    resources: fc.record(
      {
        requests: fc.dictionary(
          fc.constantFrom('cpu', 'memory', 'nvidia.com/gpu'),
          fc.constantFrom('100m', '1', '64Mi'),
        ),
        limits: fc.dictionary(fc.constantFrom('cpu', 'memory'), fc.constantFrom('2', '1Gi')),
      },
      { requiredKeys: [] },
    ),
    ports: fc.array(
      fc.record(
        {
          containerPort: fc.integer({ min: 1, max: 9000 }),
          hostPort: fc.integer({ min: 1, max: 9000 }),
          protocol: fc.constantFrom('TCP', 'UDP'),
          hostIP: fc.constantFrom('', '10.0.0.1'),
        },
        { requiredKeys: ['containerPort'] },
      ),
      { maxLength: 2 },
    ),
    restartPolicy: fc.constant('Always'),
    command: fc.constant(['sleep', 'infinity']),
  },
  { requiredKeys: ['name'] },
);
const volume = fc.oneof(
  fc.record({ name: fc.constant('data'), persistentVolumeClaim: fc.record({ claimName: fc.constant('pvc-1') }) }),
  fc.record({
    name: fc.constant('scratch'),
    emptyDir: fc.constantFrom({}, { medium: 'Memory' }, { sizeLimit: '1Gi' }),
  }),
  fc.record({ name: fc.constant('host'), hostPath: fc.record({ path: fc.constant('/var/log') }) }),
  fc.record({ name: fc.constant('eph'), ephemeral: fc.constant({ volumeClaimTemplate: { spec: {} } }) }),
  fc.record({ name: fc.constant('cm'), configMap: fc.record({ name: fc.constant('settings') }) }),
);
const date = fc.constantFrom(new Date('2026-11-25T10:00:00Z'), '2026-11-25T10:00:03Z');

const podArb: fc.Arbitrary<V1Pod> = fc.record({
  metadata: fc.record(
    {
      name: fc.constantFrom('p1', 'p2'),
      namespace: fc.constantFrom('shop', 'kube-system'),
      uid: fc.constant('u-1'),
      creationTimestamp: date,
      deletionTimestamp: date,
      labels,
      annotations: fc.dictionary(
        fc.constantFrom(
          'cluster-autoscaler.kubernetes.io/safe-to-evict',
          'kubernetes.io/config.mirror',
          'kubectl.kubernetes.io/last-applied-configuration',
          'note',
        ),
        fc.constantFrom('true', 'false', '{"big":"json"}'),
      ),
      ownerReferences: fc.array(
        fc.record(
          {
            apiVersion: fc.constant('apps/v1'),
            kind: fc.constantFrom('ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job'),
            name: fc.constant('owner'),
            uid: fc.constant('u-2'),
            controller: fc.boolean(),
            blockOwnerDeletion: fc.boolean(),
          },
          { requiredKeys: ['apiVersion', 'kind', 'name', 'uid'] },
        ),
        { maxLength: 2 },
      ),
    },
    { requiredKeys: ['name', 'namespace'] },
  ),
  spec: fc.record(
    {
      containers: fc.array(container, { minLength: 1, maxLength: 2 }),
      initContainers: fc.array(container, { maxLength: 2 }),
      nodeName: fc.constantFrom('n1', 'n2'),
      nodeSelector: labels,
      priority: fc.integer({ min: -10, max: 1000 }),
      overhead: fc.constant({ cpu: '50m' }),
      hostNetwork: fc.boolean(),
      schedulerName: fc.constantFrom('default-scheduler', 'my-scheduler'),
      resourceClaims: fc.constant([{ name: 'gpu' }]),
      resources: fc.constant({ requests: { cpu: '1' } }),
      volumes: fc.array(volume, { maxLength: 3 }),
      tolerations: fc.array(
        fc.record(
          {
            key: key,
            operator: fc.constantFrom('Exists', 'Equal'),
            value,
            effect: fc.constantFrom('NoSchedule', 'NoExecute'),
            tolerationSeconds: fc.constant(300),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
      affinity: fc.record(
        {
          nodeAffinity: fc.record({
            requiredDuringSchedulingIgnoredDuringExecution: fc.record({
              nodeSelectorTerms: fc.array(
                fc.record(
                  {
                    matchExpressions: fc.array(
                      fc.record({ key, operator: fc.constantFrom('In', 'Exists', 'Odd'), values: fc.array(value) }),
                      { maxLength: 2 },
                    ),
                    matchFields: fc.constant([{ key: 'metadata.name', operator: 'In', values: ['n1'] }]),
                  },
                  { requiredKeys: [] },
                ),
                { maxLength: 2 },
              ),
            }),
          }),
          podAffinity: fc.record({ requiredDuringSchedulingIgnoredDuringExecution: fc.array(term, { maxLength: 2 }) }),
          podAntiAffinity: fc.record({
            requiredDuringSchedulingIgnoredDuringExecution: fc.array(term, { maxLength: 2 }),
          }),
        },
        { requiredKeys: [] },
      ),
      topologySpreadConstraints: fc.array(
        fc.record(
          {
            maxSkew: fc.integer({ min: 1, max: 3 }),
            topologyKey: key,
            whenUnsatisfiable: fc.constantFrom('DoNotSchedule', 'ScheduleAnyway'),
            labelSelector: selector,
            minDomains: fc.integer({ min: 1, max: 3 }),
            nodeAffinityPolicy: fc.constantFrom('Honor', 'Ignore'),
            nodeTaintsPolicy: fc.constantFrom('Honor', 'Ignore'),
            matchLabelKeys: fc.array(key, { maxLength: 2 }),
          },
          { requiredKeys: ['maxSkew', 'topologyKey', 'whenUnsatisfiable'] },
        ),
        { maxLength: 2 },
      ),
      dnsPolicy: fc.constant('ClusterFirst'),
      serviceAccountName: fc.constant('default'),
    },
    { requiredKeys: ['containers'] },
  ),
  status: fc.record(
    {
      phase: fc.constantFrom('Pending', 'Running'),
      // The API holds at most one condition of each type.
      conditions: fc.uniqueArray(
        fc.record(
          {
            type: fc.constantFrom('PodScheduled', 'Ready', 'Initialized'),
            status: fc.constantFrom('True', 'False'),
            reason: fc.constantFrom('Unschedulable', 'SchedulerError'),
            message: fc.constant('0/1000 nodes are available: 1000 Insufficient cpu.'),
            lastTransitionTime: date,
          },
          { requiredKeys: ['type', 'status'] },
        ),
        { maxLength: 3, selector: (c) => c.type },
      ),
      nominatedNodeName: fc.constant('n2'),
      podIP: fc.constant('10.42.0.1'),
    },
    { requiredKeys: [] },
  ),
}) as fc.Arbitrary<V1Pod>;

const nodeArb: fc.Arbitrary<V1Node> = fc.record({
  metadata: fc.record(
    {
      name: fc.constantFrom('n1', 'n2'),
      creationTimestamp: date,
      labels,
      annotations: fc.dictionary(
        fc.constantFrom('cluster-autoscaler.kubernetes.io/scale-down-disabled', 'node.alpha.kubernetes.io/ttl'),
        fc.constantFrom('true', '0'),
      ),
      managedFields: fc.constant([{ manager: 'kubelet' }]),
    },
    { requiredKeys: ['name'] },
  ),
  spec: fc.record(
    {
      taints: fc.array(
        fc.record({
          key: fc.constantFrom('node.kubernetes.io/not-ready', 'dedicated', 'ToBeDeletedByClusterAutoscaler'),
          effect: fc.constantFrom('NoSchedule', 'NoExecute'),
        }),
        { maxLength: 2 },
      ),
      unschedulable: fc.boolean(),
      providerID: fc.constant('k3s://n1'),
      podCIDR: fc.constant('10.42.0.0/24'),
    },
    { requiredKeys: [] },
  ),
  status: fc.record({
    conditions: fc.array(
      fc.record({
        type: fc.constantFrom('Ready', 'MemoryPressure'),
        status: fc.constantFrom('True', 'False', 'Unknown'),
        lastTransitionTime: date,
      }),
      { maxLength: 2 },
    ),
    capacity: fc.constant({ cpu: '4', memory: '8Gi', pods: '110' }),
    allocatable: fc.constant({ cpu: '4', memory: '8Gi', pods: '110' }),
    images: fc.constant([{ names: ['registry.example/web:1.2.3'], sizeBytes: 1000 }]),
    nodeInfo: fc.constant({ architecture: 'amd64', kubeletVersion: 'v1.36.3' } as never),
  }),
}) as fc.Arbitrary<V1Node>;

describe('slimmed cache objects', () => {
  it('give the planner the same pod, whatever fields the pod has', () => {
    fc.assert(
      fc.property(podArb, (pod) => {
        // The one thing the planner sees that slimming drops on purpose: kubectl's copy of the whole object.
        const { [LAST_APPLIED]: _dropped, ...annotations } = pod.metadata?.annotations ?? {};
        const expected = toPodInfo(pod);
        expect(toPodInfo(slimPod(pod))).toEqual({ ...expected, annotations });
      }),
      { numRuns: 500 },
    );
  });

  it('give the watch the same change for pods and nodes', () => {
    fc.assert(
      fc.property(podArb, podArb, nodeArb, nodeArb, (p1, p2, n1, n2) => {
        const full = new Map<string, string>();
        const slim = new Map<string, string>();
        const changes = [
          { kind: 'pod' as const, verb: 'add' as const, key: 'shop/p', object: p1 },
          { kind: 'pod' as const, verb: 'update' as const, key: 'shop/p', object: p2 },
          { kind: 'node' as const, verb: 'add' as const, key: 'n', object: n1 },
          { kind: 'node' as const, verb: 'update' as const, key: 'n', object: n2 },
        ];
        for (const c of changes) {
          const slimmed = c.kind === 'pod' ? slimPod(c.object as V1Pod) : slimNode(c.object as V1Node);
          expect(describeChange({ ...c, object: slimmed }, slim)).toEqual(describeChange(c, full));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('give the planner the same node', () => {
    const managed = new Set(['g1']);
    fc.assert(
      fc.property(nodeArb, (node) => {
        expect(toNodeInfo(slimNode(node), managed)).toEqual(toNodeInfo(node, managed));
      }),
      { numRuns: 300 },
    );
  });

  it('keep a small part of a Deployment pod as the apiserver sends it', () => {
    const pod = apiPod();
    const slim = slimPod(pod);
    expect(JSON.stringify(slim).length).toBeLessThan(JSON.stringify(pod).length / 3);
    // What stays: identity, owner, requests, where it runs, its tolerations, and whether it was scheduled.
    expect(slim).toEqual({
      metadata: {
        name: 'web-6d9f7c8b5-x2x9k',
        namespace: 'shop',
        uid: '7239844e-6aac-4c41-8d94-a106909b3577',
        creationTimestamp: new Date('2026-11-25T17:05:47Z'),
        labels: { app: 'web', 'pod-template-hash': '6d9f7c8b5' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: 'web-6d9f7c8b5',
            uid: '1f6c3f3e-0c59-4f1e-9a55-2b8e0e4f9d10',
            controller: true,
          },
        ],
      },
      spec: {
        containers: [{ name: 'app', resources: { requests: { cpu: '100m', memory: '128Mi' } } }],
        nodeName: 'k3s-agents-1-3-1c0cdb0f',
        priority: 0,
        tolerations: pod.spec!.tolerations,
      },
      status: {
        phase: 'Running',
        conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date('2026-11-25T17:05:48Z') }],
      },
    });
  });
});
