import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, KubeConfig, PolicyV1Api, type V1Node } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { KWOK_NODE_ANNOTATION, KWOK_NODE_VALUE } from '../../../src/simulator/kwok.js';

/** API clients for the stack's admin kubeconfig. */
export function kubeClients(): { kc: KubeConfig; core: CoreV1Api; apps: AppsV1Api; policy: PolicyV1Api } {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfigPath'));
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
  };
}

/** Polls until `fn` returns a value other than undefined/false, or fails naming what it waited for. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await delay(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** A fresh namespace whose default ServiceAccount exists, so pods can be created in it. */
export async function freshNamespace(core: CoreV1Api, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name } } });
  await eventually(`default ServiceAccount in ${name}`, () =>
    core.readNamespacedServiceAccount({ name: 'default', namespace: name }),
  );
  return name;
}

/** A Node KWOK will manage, with the given capacity; it turns Ready within seconds. */
export function kwokNode(name: string, opts: { cpu: string; memory: string; labels?: Record<string, string> }): V1Node {
  const capacity = { cpu: opts.cpu, memory: opts.memory, pods: '110' };
  return {
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_VALUE },
      labels: { 'kubernetes.io/hostname': name, ...opts.labels },
    },
    spec: { providerID: `kwok://${name}` },
    status: { capacity, allocatable: capacity },
  };
}

export function isReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
