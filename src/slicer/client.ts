import { readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import type { Secret } from '../config/secret.js';
import { SlicerError, kindForStatus } from './errors.js';
import {
  DeleteVmWire,
  ErrorWire,
  HostGroupListWire,
  SecretListWire,
  VmHealthWire,
  VmListWire,
  VmLogsWire,
  VmWire,
  createVmBody,
  type CreateVmRequest,
  type HostGroup,
  type SecretMeta,
  type Vm,
  type VmHealth,
} from './schemas.js';

/**
 * One Slicer daemon's REST API, as slicer-autoscaler uses it. Every method throws SlicerError, whose `retryable`
 * says whether trying again can help (5xx, timeouts, network) or not (400, 401, 403).
 */
export interface SlicerClient {
  /** Daemon liveness; needs no token. */
  healthz(opts?: CallOptions): Promise<void>;
  /** Every host group this daemon serves. */
  listHostGroups(opts?: CallOptions): Promise<HostGroup[]>;
  /** VMs of one group, optionally only those with a tag (exact) or a tag prefix. NotFound: no such group. */
  listVms(group: string, filter?: { tag?: string; tagPrefix?: string }, opts?: CallOptions): Promise<Vm[]>;
  /** Launches a VM; Slicer picks the hostname `<group>-<n>`. BadRequest: asks for more than the group has. */
  createVm(group: string, req: CreateVmRequest, opts?: CallOptions): Promise<Vm>;
  /** Deletes a VM; `deleted: false` when it was already gone (404 means done). */
  deleteVm(group: string, hostname: string, opts?: CallOptions): Promise<{ deleted: boolean }>;
  /** Secret names and metadata, never their data. */
  listSecrets(opts?: CallOptions): Promise<SecretMeta[]>;
  /** Creates a secret; `created: false` when one with that name exists (409). */
  createSecret(name: string, data: string, opts?: CallOptions): Promise<{ created: boolean }>;
  /** The last `lines` lines of a VM's serial console. */
  vmLogs(hostname: string, lines: number, opts?: CallOptions): Promise<string>;
  /** The in-guest agent's view: has userdata run, and how did it exit. */
  vmHealth(hostname: string, opts?: CallOptions): Promise<VmHealth>;
  /**
   * How far the daemon's clock is ahead of ours (ms), from the `Date` header of its last answer; undefined before
   * the first answer. VM creation times are on the daemon's clock; subtract this to compare them with ours.
   */
  clockSkewMs(): number | undefined;
  close(): Promise<void>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface SlicerClientOptions {
  url: string;
  token?: Secret;
  /** PEM file of extra trusted CAs (the cloud-config's ca-bundle). */
  caBundlePath?: string;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  userAgent?: string;
}

const DEFAULTS = { connectTimeoutMs: 5000, headersTimeoutMs: 30_000, bodyTimeoutMs: 30_000 };

function seg(s: string): string {
  return encodeURIComponent(s);
}

/** Builds the undici-backed client. */
export function createSlicerClient(options: SlicerClientOptions): SlicerClient {
  const base = options.url.replace(/\/+$/, '');
  const dispatcher: Dispatcher = new Agent({
    connect: {
      timeout: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      ...(options.caBundlePath && { ca: readFileSync(options.caBundlePath, 'utf8') }),
    },
    headersTimeout: options.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs,
    bodyTimeout: options.bodyTimeoutMs ?? DEFAULTS.bodyTimeoutMs,
  });

  let skewMs: number | undefined;

  async function call<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    schema: z.ZodType<T> | null,
    opts: CallOptions & { body?: unknown; auth?: boolean; okStatuses?: number[] } = {},
  ): Promise<{ status: number; data: T }> {
    const what = `${method} ${path}`;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': options.userAgent ?? 'slicer-autoscaler',
    };
    if (opts.auth !== false && options.token?.present) headers['authorization'] = `Bearer ${options.token.reveal()}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Dispatcher.ResponseData;
    const sentAt = Date.now();
    try {
      res = await request(`${base}${path}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        dispatcher,
        signal: opts.signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const code = (err as { code?: string }).code ?? '';
      if (code.includes('TIMEOUT'))
        throw new SlicerError('Timeout', `${what}: Slicer did not answer in time (${code})`);
      throw new SlicerError('Network', `${what}: cannot reach Slicer at ${base} (${code || (err as Error).message})`);
    }
    const serverDate = Date.parse(String(res.headers['date'] ?? ''));
    // The header has one-second resolution; the midpoint of the call is our best guess of when it was written.
    if (!Number.isNaN(serverDate)) skewMs = serverDate - (sentAt + Date.now()) / 2;
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const code = (err as { code?: string }).code ?? '';
      throw new SlicerError(
        code.includes('TIMEOUT') ? 'Timeout' : 'Network',
        `${what}: response body broke off (${code || (err as Error).message})`,
        res.statusCode,
      );
    }
    const ok = opts.okStatuses ?? [200, 201, 204];
    if (!ok.includes(res.statusCode)) {
      const parsed = safeJson(text);
      const detail = ErrorWire.safeParse(parsed).success ? (parsed as { error: string }).error : text.slice(0, 200);
      throw new SlicerError(
        kindForStatus(res.statusCode),
        `${what}: ${res.statusCode}${detail ? ` ${detail}` : ''}`,
        res.statusCode,
      );
    }
    if (schema === null) return { status: res.statusCode, data: undefined as T };
    const parsed = schema.safeParse(text === '' ? null : safeJson(text));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new SlicerError(
        'InvalidResponse',
        `${what}: unexpected response shape at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
        res.statusCode,
      );
    }
    return { status: res.statusCode, data: parsed.data };
  }

  return {
    async healthz(opts) {
      await call('GET', '/healthz', null, { ...opts, auth: false });
    },
    async listHostGroups(opts) {
      return (await call('GET', '/hostgroup', HostGroupListWire, opts)).data;
    },
    async listVms(group, filter = {}, opts) {
      const q = new URLSearchParams();
      if (filter.tag) q.set('tag', filter.tag);
      if (filter.tagPrefix) q.set('tag_prefix', filter.tagPrefix);
      const query = q.size ? `?${q}` : '';
      return (await call('GET', `/hostgroup/${seg(group)}/nodes${query}`, VmListWire, opts)).data;
    },
    async createVm(group, req, opts) {
      return (
        await call('POST', `/hostgroup/${seg(group)}/nodes`, VmWire, {
          ...opts,
          body: createVmBody(req),
          okStatuses: [200, 201],
        })
      ).data;
    },
    async deleteVm(group, hostname, opts) {
      try {
        const res = await call(
          'DELETE',
          `/hostgroup/${seg(group)}/nodes/${seg(hostname)}`,
          DeleteVmWire.nullable(),
          opts,
        );
        if (res.data?.error)
          throw new SlicerError('Server', `DELETE ${group}/${hostname}: ${res.data.error}`, res.status);
        return { deleted: true };
      } catch (err) {
        if (err instanceof SlicerError && err.kind === 'NotFound') return { deleted: false };
        throw err;
      }
    },
    async listSecrets(opts) {
      return (await call('GET', '/secrets', SecretListWire, opts)).data;
    },
    async createSecret(name, data, opts) {
      try {
        await call('POST', '/secrets', null, {
          ...opts,
          body: { name, data: Buffer.from(data).toString('base64'), permissions: '0600' },
          okStatuses: [200, 201],
        });
        return { created: true };
      } catch (err) {
        if (err instanceof SlicerError && err.kind === 'Conflict') return { created: false };
        throw err;
      }
    },
    async vmLogs(hostname, lines, opts) {
      return (await call('GET', `/vm/${seg(hostname)}/logs?lines=${lines}`, VmLogsWire, opts)).data.content;
    },
    async vmHealth(hostname, opts) {
      return (await call('GET', `/vm/${seg(hostname)}/health`, VmHealthWire, opts)).data;
    },
    clockSkewMs() {
      return skewMs;
    },
    async close() {
      await dispatcher.close();
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
