import { ApplicationFailure } from '@temporalio/activity';
import type { Config, GroupConfig } from '../config/load.js';
import { createSlicerClient, type SlicerClient } from '../slicer/client.js';
import { SlicerError } from '../slicer/errors.js';
import { buildUserdata, K3S_TOKEN_SECRET } from '../slicer/userdata.js';
import type { Vm } from '../slicer/schemas.js';
import type { VmProvider, VmRecord } from './vm-provider.js';
import { unknownGroup } from './vms.js';

/** Slicer errors as Temporal failures: final ones stop retries, the rest let Temporal retry with backoff. */
function asFailure(err: unknown): unknown {
  if (!(err instanceof SlicerError)) return err;
  // The kind travels with the failure: a create whose answer never came (Timeout, Network) may still have made a VM.
  return ApplicationFailure.create({
    message: err.message,
    type: err.retryable ? 'SlicerRetryable' : 'SlicerFinal',
    nonRetryable: !err.retryable,
    details: [{ kind: err.kind, status: err.status }],
  });
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asFailure(err);
  }
}

/**
 * The VmProvider over one Slicer client per node group. It holds the tokens: the k3s token goes to Slicer as the
 * `k3s-token` secret (created once per daemon), never into userdata, workflow arguments or results.
 */
export function createSlicerVmProvider(
  config: Config,
  clientFor: (group: GroupConfig) => SlicerClient = (g) =>
    createSlicerClient({
      url: g.slicerUrl,
      token: g.slicerToken,
      caBundlePath: config.caBundle,
      // Console tails and Slicer's error texts reach workflow history; the join token must never be in them.
      redact: [config.k3sToken],
    }),
): VmProvider & { close(): Promise<void>; client(group: string): SlicerClient } {
  const groups = new Map(config.groups.map((g) => [g.name, g]));
  const clients = new Map<string, SlicerClient>();
  const secretReady = new Map<string, Promise<void>>();

  function group(name: string): GroupConfig {
    const g = groups.get(name);
    if (!g) throw unknownGroup(name);
    return g;
  }
  function client(name: string): SlicerClient {
    let c = clients.get(name);
    if (!c) {
      c = clientFor(group(name));
      clients.set(name, c);
    }
    return c;
  }
  function ensureTokenSecret(name: string): Promise<void> {
    // Several groups may share one daemon; the secret is put in place once per URL and worker. A 409 means one
    // exists, maybe from before the token was rotated, so it is updated (PATCH) rather than trusted.
    const url = group(name).slicerUrl;
    let ready = secretReady.get(url);
    if (!ready) {
      ready = client(name)
        .upsertSecret(K3S_TOKEN_SECRET, config.k3sToken.reveal())
        .then(() => undefined);
      ready.catch(() => secretReady.delete(url));
      secretReady.set(url, ready);
    }
    return ready;
  }

  function record(name: string, vm: Vm): VmRecord {
    const created = vm.createdAt ? Date.parse(vm.createdAt) : NaN;
    return { hostname: vm.hostname, tags: vm.tags, createdAtMs: created - (client(name).clockSkewMs() ?? 0) };
  }

  return {
    client,
    async findVmsByTag(name, tag) {
      return mapped(async () => {
        const vms = await client(name).listVms(name, { tag });
        // Never trust the filter: a daemon that ignores `?tag=` returns every VM, and adopting one is fatal.
        return vms.filter((vm) => vm.tags.includes(tag)).map((vm) => record(name, vm));
      });
    },
    async listVms(name) {
      return mapped(async () => (await client(name).listVms(name)).map((vm) => record(name, vm)));
    },
    async createVm(name, opts, signal) {
      return mapped(async () => {
        const g = group(name);
        await ensureTokenSecret(name);
        // Per VM: the labels carry the VM's own identity, which links its Node to it and to nothing else.
        const script = buildUserdata({
          group: name,
          k3sUrl: config.k3sUrl,
          labels: { ...g.labels, ...opts.labels },
          taints: g.taints,
        });
        const vm = await client(name).createVm(
          name,
          { userdata: script, secrets: [K3S_TOKEN_SECRET], tags: opts.tags },
          { signal },
        );
        return { hostname: vm.hostname };
      });
    },
    async deleteVm(name, hostname) {
      return mapped(async () => ({ existed: (await client(name).deleteVm(name, hostname)).deleted }));
    },
    async consoleTail(name, hostname, lines) {
      return mapped(async () => client(name).vmLogs(hostname, lines));
    },
    async close() {
      await Promise.all([...clients.values()].map((c) => c.close()));
    },
  };
}
