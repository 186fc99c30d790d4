import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parseJoinFlags } from '../slicer/userdata.js';

/** KWOK in our local stack manages Nodes with this annotation; removing it is how a node "loses its kubelet". */
const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';

export interface JoiningVm {
  hostname: string;
  arch: string;
  cpus: number;
  ramBytes: number;
  userdata: string;
}

/**
 * Plays the k3s agent for simulated VMs: registers a Node the way `k3s agent --with-node-id` would (name with a
 * random suffix, the --node-label/--node-taint flags from the userdata), with capacity from the host group, and
 * hands it to KWOK, which makes it Ready and runs its pods. Stopping a VM leaves its Node NotReady, as on k3s.
 */
export class ClusterJoiner {
  private readonly core: CoreV1Api;

  constructor(kubeconfigPath: string) {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async join(vm: JoiningVm): Promise<string> {
    const name = `${vm.hostname}-${randomBytes(4).toString('hex')}`;
    const { labels, taints } = parseJoinFlags(vm.userdata, vm.hostname);
    const capacity = { cpu: String(vm.cpus), memory: String(vm.ramBytes), pods: '110' };
    await this.core.createNode({
      body: {
        metadata: {
          name,
          labels: {
            ...labels,
            'kubernetes.io/arch': vm.arch,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/hostname': name,
            'node.kubernetes.io/instance-type': 'k3s',
          },
          annotations: { [KWOK_ANNOTATION]: 'fake' },
        },
        spec: { providerID: `k3s://${name}`, taints: taints.length ? taints : undefined },
        status: { capacity, allocatable: capacity },
      },
    });
    return name;
  }

  /** The VM is gone: its kubelet stops posting status, so the Node turns NotReady (and stays, as on k3s). */
  async stop(nodeName: string): Promise<void> {
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    try {
      await this.core.patchNode(
        { name: nodeName, body: { metadata: { annotations: { [KWOK_ANNOTATION]: null } } } },
        merge,
      );
    } catch (err) {
      if ((err as { code?: number }).code === 404) return;
      throw err;
    }
    // What the node-lifecycle controller writes once the kubelet's lease lapses; written now so nobody waits 40 s.
    const node = await this.core.readNodeStatus({ name: nodeName });
    const now = new Date();
    const conditions = (node.status?.conditions ?? []).map((c) =>
      c.type === 'Ready'
        ? {
            ...c,
            status: 'Unknown',
            reason: 'NodeStatusUnknown',
            message: 'Kubelet stopped posting node status.',
            lastTransitionTime: now,
            lastHeartbeatTime: c.lastHeartbeatTime,
          }
        : c,
    );
    if (!conditions.some((c) => c.type === 'Ready')) {
      conditions.push({
        type: 'Ready',
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastTransitionTime: now,
      });
    }
    await this.core.replaceNodeStatus({ name: nodeName, body: { ...node, status: { ...node.status, conditions } } });
  }
}
