import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { CoordinationV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
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
  private readonly leases: CoordinationV1Api;

  constructor(kubeconfigPath: string) {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    this.core = kc.makeApiClient(CoreV1Api);
    this.leases = kc.makeApiClient(CoordinationV1Api);
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
    // KWOK may still be writing a status or renewing the lease it held for this Node when the annotation goes: the
    // lease is removed (so the node-lifecycle controller sees a kubelet that stopped), and the status the
    // controller would write after its grace period is written now, again if a late KWOK update set Ready back.
    await this.leases.deleteNamespacedLease({ name: nodeName, namespace: 'kube-node-lease' }).catch(() => undefined);
    for (let i = 0; i < 5; i++) {
      if (!(await this.markUnknown(nodeName))) return;
      await delay(1000);
    }
  }

  /** Writes Ready=Unknown unless the Node already says so (or is gone); answers whether it wrote. */
  private async markUnknown(nodeName: string): Promise<boolean> {
    let node;
    try {
      node = await this.core.readNodeStatus({ name: nodeName });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return false;
      throw err;
    }
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'Unknown') return false;
    const now = new Date();
    const unknown = {
      type: 'Ready',
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
      lastTransitionTime: now,
      ...(ready?.lastHeartbeatTime && { lastHeartbeatTime: ready.lastHeartbeatTime }),
    };
    const conditions = ready
      ? (node.status?.conditions ?? []).map((c) => (c.type === 'Ready' ? unknown : c))
      : [...(node.status?.conditions ?? []), unknown];
    try {
      await this.core.replaceNodeStatus({ name: nodeName, body: { ...node, status: { ...node.status, conditions } } });
    } catch (err) {
      // 409: KWOK wrote in between; the next round reads again. 404: gone, nothing left to mark.
      const code = (err as { code?: number }).code;
      if (code === 404) return false;
      if (code !== 409) throw err;
    }
    return true;
  }
}
