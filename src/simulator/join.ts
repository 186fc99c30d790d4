import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
} from '@kubernetes/client-node';
import { parseJoinFlags } from '../slicer/userdata.js';
import { KWOK_NODE_ANNOTATION, KWOK_NODE_VALUE, STOPPED_KUBELET_HOLDER } from './kwok.js';

/** Long enough that KWOK never finds the lease of a stopped kubelet expired and takes it back (ten years). */
const STOPPED_LEASE_SECONDS = 10 * 365 * 24 * 3600;

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
          annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_VALUE },
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
        { name: nodeName, body: { metadata: { annotations: { [KWOK_NODE_ANNOTATION]: null } } } },
        merge,
      );
    } catch (err) {
      if ((err as { code?: number }).code === 404) return;
      throw err;
    }
    // KWOK renews the lease of every Node it ever managed until the Node is deleted, and brings a Node back to Ready
    // when it finds its lease missing; a lease another holder keeps, it leaves alone, and with it the Node's status.
    // So the lease is taken first, then the status the node-lifecycle controller would write after its grace period
    // is written now, again if an update KWOK had in flight set Ready back.
    await this.takeLease(nodeName);
    for (let i = 0; i < 5; i++) {
      if (!(await this.markUnknown(nodeName))) return;
      await delay(1000);
    }
  }

  /** Makes this Node's lease ours for good, so KWOK stops playing its kubelet. */
  private async takeLease(nodeName: string): Promise<void> {
    const namespace = 'kube-node-lease';
    const spec = () => ({
      holderIdentity: STOPPED_KUBELET_HOLDER,
      leaseDurationSeconds: STOPPED_LEASE_SECONDS,
      renewTime: new V1MicroTime(),
    });
    for (let attempt = 0; attempt < 5; attempt++) {
      let lease;
      try {
        lease = await this.leases.readNamespacedLease({ name: nodeName, namespace });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
      try {
        if (lease)
          await this.leases.replaceNamespacedLease({ name: nodeName, namespace, body: { ...lease, spec: spec() } });
        else
          await this.leases.createNamespacedLease({ namespace, body: { metadata: { name: nodeName }, spec: spec() } });
        return;
      } catch (err) {
        // 409: KWOK renewed or created it in between; read again and take it then.
        if ((err as { code?: number }).code !== 409) throw err;
      }
    }
    throw new Error(`could not take the lease of Node ${nodeName} from KWOK`);
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
