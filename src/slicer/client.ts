import * as tls from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { FileRefusedError, readBoundedFile } from '../config/file.js';
import { CA_BUNDLE_MAX_BYTES } from '../config/load.js';
import { redactSecrets, truncate } from '../config/redact.js';
import type { Secret } from '../config/secret.js';
import { SlicerError, kindForStatus } from './errors.js';
import { skewFromDateHeader } from '../shared/clock-skew.js';
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
  /** Replaces a secret's data (PATCH /secrets/{name}); `updated: false` when there is none (404). */
  updateSecret(name: string, data: string, opts?: CallOptions): Promise<{ updated: boolean }>;
  /** Creates a secret, or on 409 updates it, so a rotated value always reaches the daemon. */
  upsertSecret(name: string, data: string, opts?: CallOptions): Promise<{ created: boolean }>;
  /**
   * The last `lines` lines of a VM's serial console (0 = all Slicer keeps), cut to CONSOLE_TAIL_MAX_BYTES of whole
   * lines and scrubbed of anything shaped like a credential.
   */
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
  /** PEM file of CAs trusted in addition to the default roots (the cloud-config's ca-bundle). */
  caBundlePath?: string;
  /** Secrets scrubbed from error messages and console tails besides our own token (e.g. the k3s token). */
  redact?: Secret[];
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  userAgent?: string;
}

const DEFAULTS = { connectTimeoutMs: 5000, headersTimeoutMs: 30_000, bodyTimeoutMs: 30_000 };

/** The most of a Slicer error text that goes into an error message (and so into workflow history). */
export const ERROR_DETAIL_MAX_CHARS = 300;
/** The most of an error body read at all; the rest is not downloaded. */
const ERROR_BODY_MAX_BYTES = 64 * 1024;
/** The most of a successful answer read: a list of 10,000 VMs is about 3 MiB. */
const RESPONSE_MAX_BYTES = 32 * 1024 * 1024;
/** The most of a console tail returned (whole lines from the end). */
export const CONSOLE_TAIL_MAX_BYTES = 8 * 1024;
/** The most of NODE_EXTRA_CA_CERTS read to re-add it next to a ca-bundle (Node 20 drops it when `ca` is set). */
const EXTRA_CA_MAX_BYTES = 1024 * 1024;

/**
 * The CAs a client with a ca-bundle trusts: the process's default roots plus the bundle. Node's `ca` option
 * replaces the defaults, so they are listed here: on Node >= 22.15 `tls.getCACertificates('default')` (bundled,
 * NODE_EXTRA_CA_CERTS and, with --use-system-ca, the system store); on Node 20 the bundled roots and the
 * NODE_EXTRA_CA_CERTS file.
 */
export function trustedCas(bundlePem: string): string[] {
  const getCACertificates = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates;
  if (getCACertificates) return [...getCACertificates('default'), bundlePem];
  const extra: string[] = [];
  const extraPath = process.env['NODE_EXTRA_CA_CERTS'];
  if (extraPath) {
    try {
      extra.push(readBoundedFile(extraPath, EXTRA_CA_MAX_BYTES, 'NODE_EXTRA_CA_CERTS').toString('utf8'));
    } catch (err) {
      // Node itself warns about an unreadable NODE_EXTRA_CA_CERTS at start-up; without it the defaults still hold.
      if (!(err instanceof FileRefusedError)) throw err;
    }
  }
  return [...tls.rootCertificates, ...extra, bundlePem];
}

/** Reads at most `max` bytes of a body and stops the download there; `cut` says whether more was left. */
async function readBody(body: Dispatcher.ResponseData['body'], max: number): Promise<{ text: string; cut: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    chunks.push(buf);
    size += buf.length;
    if (size > max) {
      body.destroy();
      return { text: Buffer.concat(chunks).subarray(0, max).toString('utf8'), cut: true };
    }
  }
  return { text: Buffer.concat(chunks).toString('utf8'), cut: false };
}

/** The last whole lines of `text` that fit in `maxBytes`. */
function tailLines(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const lines = text.split('\n');
  const kept: string[] = [];
  let size = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const add = Buffer.byteLength(lines[i]!) + (kept.length ? 1 : 0);
    if (size + add > maxBytes) break;
    kept.unshift(lines[i]!);
    size += add;
  }
  return kept.join('\n');
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

/** Builds the undici-backed client. */
export function createSlicerClient(options: SlicerClientOptions): SlicerClient {
  const base = options.url.replace(/\/+$/, '');
  const known = [...(options.token ? [options.token] : []), ...(options.redact ?? [])];
  const scrub = (text: string) => redactSecrets(text, known);
  // Only scheme, host, port and path of the base URL ever go into a message.
  const where = scrub(base);
  const ca = options.caBundlePath
    ? trustedCas(readBoundedFile(options.caBundlePath, CA_BUNDLE_MAX_BYTES, 'ca-bundle').toString('utf8'))
    : undefined;
  const dispatcher: Dispatcher = new Agent({
    connect: {
      timeout: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      ...(ca && { ca }),
    },
    headersTimeout: options.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs,
    bodyTimeout: options.bodyTimeoutMs ?? DEFAULTS.bodyTimeoutMs,
  });

  let skewMs: number | undefined;

  async function call<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
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
      throw new SlicerError(
        'Network',
        `${what}: cannot reach Slicer at ${where} (${code || truncate(scrub((err as Error).message), ERROR_DETAIL_MAX_CHARS)})`,
      );
    }
    const serverDate = Date.parse(String(res.headers['date'] ?? ''));
    if (!Number.isNaN(serverDate)) skewMs = skewFromDateHeader(serverDate, sentAt, Date.now());
    const ok = opts.okStatuses ?? [200, 201, 204];
    const failed = !ok.includes(res.statusCode);
    let text: string;
    let cut: boolean;
    try {
      ({ text, cut } = await readBody(res.body, failed ? ERROR_BODY_MAX_BYTES : RESPONSE_MAX_BYTES));
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const code = (err as { code?: string }).code ?? '';
      throw new SlicerError(
        code.includes('TIMEOUT') ? 'Timeout' : 'Network',
        `${what}: response body broke off (${code || truncate(scrub((err as Error).message), ERROR_DETAIL_MAX_CHARS)})`,
        res.statusCode,
      );
    }
    if (failed) {
      // Slicer's error text goes into error messages and so into workflow history: scrubbed, then cut short.
      const parsed = cut ? undefined : safeJson(text);
      const raw = ErrorWire.safeParse(parsed).success ? (parsed as { error: string }).error : text;
      const detail = truncate(scrub(raw.replace(/\s+/g, ' ').trim()), ERROR_DETAIL_MAX_CHARS);
      throw new SlicerError(
        kindForStatus(res.statusCode),
        `${what}: ${res.statusCode}${detail ? ` ${detail}` : ''}`,
        res.statusCode,
      );
    }
    if (cut)
      throw new SlicerError(
        'InvalidResponse',
        `${what}: answer larger than ${RESPONSE_MAX_BYTES} bytes`,
        res.statusCode,
      );
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

  const client: SlicerClient = {
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
    async updateSecret(name, data, opts) {
      try {
        await call('PATCH', `/secrets/${seg(name)}`, null, {
          ...opts,
          body: { data: Buffer.from(data).toString('base64'), permissions: '0600' },
          okStatuses: [200, 204],
        });
        return { updated: true };
      } catch (err) {
        if (err instanceof SlicerError && err.kind === 'NotFound') return { updated: false };
        throw err;
      }
    },
    async upsertSecret(name, data, opts) {
      if ((await client.createSecret(name, data, opts)).created) return { created: true };
      // 409: a secret of that name exists, maybe with a value from before a rotation; make it ours.
      if (!(await client.updateSecret(name, data, opts)).updated)
        throw new SlicerError(
          'Server',
          `PATCH /secrets/${name}: 404 right after POST /secrets said 409; retrying helps`,
        );
      return { created: false };
    },
    async vmLogs(hostname, lines, opts) {
      const content = (await call('GET', `/vm/${seg(hostname)}/logs?lines=${lines}`, VmLogsWire, opts)).data.content;
      // Scrub the whole text first (a cut could split a token past recognition), then keep whole lines.
      return tailLines(scrub(content.replace(/\n+$/, '')), CONSOLE_TAIL_MAX_BYTES);
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
  return client;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
