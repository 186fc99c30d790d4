import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { FaultsSchema, seededRandom, type Endpoint, type Faults } from './faults.js';
import type { ClusterJoiner } from './join.js';

const GIB = 1024 ** 3;

/** One simulated Slicer host group, from `--hostgroup NAME:CPUS:RAM_GIB[:ARCH]`. */
export interface SimHostGroup {
  name: string;
  cpus: number;
  ramBytes: number;
  /** As Slicer reports it: x86_64 by default. */
  arch: string;
}

interface SimVm {
  hostname: string;
  group: string;
  number: number;
  ip: string;
  createdAt: string;
  tags: string[];
  userdata: string;
  secrets: string[];
  persistent: boolean;
  cpus: number;
  ramBytes: number;
  bootedAt: number;
  joinTimer?: NodeJS.Timeout;
  nodeName?: string;
  joinError?: string;
  neverJoins: boolean;
}

export interface SimulatorOptions {
  port?: number;
  token: string;
  hostGroups: SimHostGroup[];
  joiner?: ClusterJoiner;
  joinDelayMs?: number;
  faults?: Partial<z.input<typeof FaultsSchema>>;
  log?: (line: string) => void;
}

/** Something that happened to a VM: made, deleted through the API, or lost in a daemon restart. */
export interface SimEvent {
  /** Increases by one per event, also across dropped ones. */
  seq: number;
  /** When, on the real clock (not shifted by the clockOffsetMs fault). */
  at: number;
  kind: 'created' | 'deleted' | 'lost';
  group: string;
  hostname: string;
  tags: string[];
  /** The Node the VM had joined as, if it had. */
  nodeName?: string;
}

/** The event log keeps the newest this-many events; `eventsDropped` says how many older ones went. */
export const MAX_SIM_EVENTS = 10_000;

/**
 * One request as the simulator saw it, for benchmarks that time the autoscaler's calls: when it arrived, how long
 * the answer took, what it asked and how it ended. Bodies are never kept (a create carries userdata).
 */
export interface SimRequest {
  /** Epoch ms when the request arrived, before its body was read. */
  at: number;
  /** From arrival to the last byte of the answer. */
  ms: number;
  method: string;
  /** Path and query, cut to MAX_LOGGED_PATH characters. */
  path: string;
  status: number;
  /** For a create that succeeded: the VM it made. */
  hostname?: string;
}

/** The request log keeps the latest this-many requests, so a long run cannot grow it without bound. */
export const MAX_REQUEST_LOG = 20_000;
const MAX_LOGGED_PATH = 300;

export interface RunningSimulator {
  url: string;
  port: number;
  /** The latest requests (at most MAX_REQUEST_LOG), oldest first; also `GET /_sim/requests`. */
  requests(): SimRequest[];
  /** The VMs as the simulator holds them (hostname -> group and node), for tests. */
  vms(): { hostname: string; group: string; nodeName?: string; tags: string[] }[];
  /** Every VM created, deleted or lost so far, oldest first (at most MAX_SIM_EVENTS), for tests' invariants. */
  events(): SimEvent[];
  /** How many events the bounded log has dropped (0 means `events()` is complete). */
  eventsDropped(): number;
  setFaults(faults: Partial<z.input<typeof FaultsSchema>>): Faults;
  /** A secret's current data, for tests that check what reached the daemon (never served over HTTP). */
  secret(name: string): string | undefined;
  /** A daemon restart: every VM is lost, their Nodes go NotReady. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const CreateVmBody = z
  .object({
    cpus: z.number().int().positive().optional(),
    ram_bytes: z.number().int().positive().optional(),
    ram_gb: z.number().positive().optional(),
    userdata: z
      .string()
      .max(64 * 1024)
      .optional(),
    secrets: z.array(z.string()).optional(),
    tags: z.array(z.string().max(256)).max(64).optional(),
    persistent: z.boolean().optional(),
  })
  .passthrough();

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'data must be base64');
const CreateSecretBody = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'name must be letters, digits, dot, dash or underscore'),
  data: base64,
  permissions: z.string().optional(),
});
const UpdateSecretBody = z.object({ data: base64, permissions: z.string().optional() });

/** The most a request body may hold: a create's userdata is at most 64 KiB, a secret a few KiB. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Each host group gets a /16 of 10.0.0.0/8 for its VMs, so at most this many groups. */
const MAX_HOST_GROUPS = 100;

/** A path segment, or 400 when its percent-encoding is malformed (decodeURIComponent would throw: a 500). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'malformed percent-encoding in the path');
  }
}

/**
 * The address of VM number `n` of host group `groupIndex`: the group's subnet is 10.(137+g).0.0/16 and VMs take
 * its addresses in order, skipping .0 and .255 in the last octet, from .0.2 (as Slicer's first VM is .2). Room for
 * 65,023 VMs per group; undefined past that.
 */
export function vmIp(groupIndex: number, n: number): string | undefined {
  const k = n + 1;
  const third = Math.floor((k - 1) / 254);
  const fourth = ((k - 1) % 254) + 1;
  return third > 255 ? undefined : `10.${137 + groupIndex}.${third}.${fourth}`;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A Slicer REST API on 127.0.0.1 with the same paths, JSON shapes and status codes as the real daemon. */
export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const log = opts.log ?? (() => undefined);
  const groups = new Map(opts.hostGroups.map((g) => [g.name, g]));
  if (groups.size !== opts.hostGroups.length) throw new Error('simulator: each host group name must be given once');
  if (groups.size > MAX_HOST_GROUPS) throw new Error(`simulator: at most ${MAX_HOST_GROUPS} host groups`);
  const vms = new Map<string, SimVm>();
  // Secret data stays in this process's memory only (tests read it with `secret()`); never logged or listed.
  const secrets = new Map<string, { data: Buffer; permissions: string; modifiedAt: string }>();
  let faults = FaultsSchema.parse(opts.faults ?? {});
  let dice = seededRandom(faults.seed);
  const hanging = new Set<ServerResponse>();
  // A ring: `next` is where the next entry goes once the log is full.
  const requestLog: SimRequest[] = [];
  let nextLogSlot = 0;
  const madeVm = new WeakMap<ServerResponse, string>();
  function logRequest(entry: SimRequest): void {
    if (requestLog.length < MAX_REQUEST_LOG) requestLog.push(entry);
    else {
      requestLog[nextLogSlot] = entry;
      nextLogSlot = (nextLogSlot + 1) % MAX_REQUEST_LOG;
    }
  }
  const joinDelayMs = opts.joinDelayMs ?? 1000;
  const events: SimEvent[] = [];
  let eventSeq = 0;
  let eventsDropped = 0;
  const lateCreates = new Set<NodeJS.Timeout>();

  /** The Slicer host's clock, which the clockOffsetMs fault may set apart from ours. */
  const hostNow = () => Date.now() + faults.clockOffsetMs;

  function record(kind: SimEvent['kind'], vm: SimVm): void {
    events.push({
      seq: ++eventSeq,
      at: Date.now(),
      kind,
      group: vm.group,
      hostname: vm.hostname,
      tags: [...vm.tags],
      ...(vm.nodeName && { nodeName: vm.nodeName }),
    });
    if (events.length > MAX_SIM_EVENTS) {
      events.splice(0, events.length - MAX_SIM_EVENTS);
      eventsDropped += 1;
    }
  }
  const expected = Buffer.from(`Bearer ${opts.token}`);

  function authorised(req: IncomingMessage): boolean {
    const got = Buffer.from(req.headers['authorization'] ?? '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  }

  function lowestFreeNumber(group: string): number {
    const used = new Set([...vms.values()].filter((v) => v.group === group).map((v) => v.number));
    let n = 1;
    while (used.has(n)) n++;
    return n;
  }

  function vmJson(vm: SimVm, cidr: boolean) {
    const g = groups.get(vm.group)!;
    return {
      hostname: vm.hostname,
      hostgroup: vm.group,
      ip: cidr ? `${vm.ip}/16` : vm.ip,
      created_at: vm.createdAt,
      arch: g.arch,
      tags: vm.tags,
      status: 'Running',
      persistent: vm.persistent,
      ram_bytes: vm.ramBytes,
      cpus: vm.cpus,
    };
  }

  function scheduleJoin(vm: SimVm): void {
    if (!opts.joiner || vm.neverJoins) return;
    const g = groups.get(vm.group)!;
    const arch = /^(x86_64|amd64)$/i.test(g.arch) ? 'amd64' : /^(aarch64|arm64)$/i.test(g.arch) ? 'arm64' : g.arch;
    vm.joinTimer = setTimeout(() => {
      vm.joinTimer = undefined;
      if (!vms.has(vm.hostname)) return;
      opts
        .joiner!.join({ hostname: vm.hostname, arch, cpus: vm.cpus, ramBytes: vm.ramBytes, userdata: vm.userdata })
        .then(
          (name) => {
            vm.nodeName = name;
            log(`${vm.hostname} joined as ${name}`);
            // Deleted while its agent was registering: the Node is left behind NotReady, as on k3s.
            if (vms.get(vm.hostname) !== vm)
              void opts.joiner!.stop(name).catch((err: unknown) => log(`stopping ${name}: ${(err as Error).message}`));
          },
          (err: unknown) => {
            vm.joinError = (err as Error).message;
            log(`${vm.hostname} failed to join: ${vm.joinError}`);
          },
        );
    }, joinDelayMs);
  }

  async function forget(vm: SimVm, kind: 'deleted' | 'lost'): Promise<void> {
    if (vm.joinTimer) clearTimeout(vm.joinTimer);
    record(kind, vm);
    vms.delete(vm.hostname);
    if (vm.nodeName && opts.joiner)
      await opts.joiner
        .stop(vm.nodeName)
        .catch((err: unknown) => log(`stopping ${vm.nodeName}: ${(err as Error).message}`));
  }

  function consoleLines(vm: SimVm): string[] {
    const lines = [
      `[    0.000000] Linux version 6.1.0 (slicer) #1 SMP`,
      `[    0.180000] slicer-agent: started, hostname ${vm.hostname}`,
      `[    0.210000] slicer-agent: secrets synced: ${vm.secrets.join(', ') || '(none)'}`,
      `[    0.230000] slicer-agent: running userdata (${vm.userdata.length} bytes)`,
    ];
    const age = Date.now() - vm.bootedAt;
    if (vm.nodeName)
      lines.push(`[    ${(joinDelayMs / 1000).toFixed(6)}] k3s-agent: node ${vm.nodeName} registered with the server`);
    else if (vm.neverJoins && age > joinDelayMs)
      lines.push(
        `[    ${(age / 1000).toFixed(6)}] k3s-agent: failed to contact the server: connection refused; retrying`,
      );
    else if (vm.joinError) lines.push(`k3s-agent: registration failed: ${vm.joinError}`);
    else lines.push(`k3s-agent: waiting to join`);
    return lines;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<unknown> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://simulator');
    } catch {
      throw new HttpError(400, 'malformed request path');
    }
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const route = (m: string, re: RegExp) => (method === m ? re.exec(path) : null);

    if (path === '/healthz' && (method === 'GET' || method === 'HEAD')) return fault('healthz', () => 'OK');
    if (!authorised(req)) throw new HttpError(401, 'unauthorized: missing or invalid bearer token');

    if (path.startsWith('/_sim/')) {
      if (method === 'POST' && path === '/_sim/faults') {
        const parsed = FaultsSchema.safeParse(safeJson(body));
        if (!parsed.success)
          throw new HttpError(
            400,
            `faults: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
          );
        return api.setFaults(parsed.data);
      }
      if (method === 'POST' && path === '/_sim/restart') {
        await api.restart();
        return { restarted: true };
      }
      if (method === 'GET' && path === '/_sim/state') return { faults, vms: api.vms(), secrets: [...secrets.keys()] };
      if (method === 'GET' && path === '/_sim/events') return { events, dropped: eventsDropped };
      if (method === 'GET' && path === '/_sim/requests') return api.requests();
      throw new HttpError(404, `no simulator endpoint ${method} ${path}`);
    }

    if (method === 'GET' && path === '/hostgroup') {
      return fault('listHostGroups', () =>
        [...groups.values()].map((g) => ({
          name: g.name,
          count: [...vms.values()].filter((v) => v.group === g.name).length,
          ram_bytes: g.ramBytes,
          cpus: g.cpus,
          arch: g.arch,
        })),
      );
    }
    if (method === 'GET' && path === '/nodes')
      return fault('listAllVms', () =>
        (faults.ignoreTagFilters ? [...vms.values()] : filterTags([...vms.values()], url)).map((v) => vmJson(v, false)),
      );
    if (method === 'GET' && path === '/secrets') {
      return fault('listSecrets', () =>
        [...secrets.entries()].map(([name, s]) => ({
          name,
          size: s.data.length,
          permissions: s.permissions,
          uid: 0,
          gid: 0,
          mod_time: s.modifiedAt,
          modified_at: s.modifiedAt,
        })),
      );
    }
    if (method === 'POST' && path === '/secrets') {
      return fault('createSecret', () => {
        const parsed = CreateSecretBody.safeParse(safeJson(body));
        if (!parsed.success) throw new HttpError(400, parsed.error.issues[0]?.message ?? 'invalid secret');
        if (secrets.has(parsed.data.name)) throw new HttpError(409, `secret ${parsed.data.name} already exists`);
        secrets.set(parsed.data.name, {
          data: Buffer.from(parsed.data.data, 'base64'),
          permissions: parsed.data.permissions ?? '0600',
          modifiedAt: new Date().toISOString(),
        });
        res.statusCode = 201;
        return { name: parsed.data.name };
      });
    }
    let m = route('PATCH', /^\/secrets\/([^/]+)$/);
    if (m) {
      const name = decodeSegment(m[1]!);
      return fault('updateSecret', () => {
        const parsed = UpdateSecretBody.safeParse(safeJson(body));
        if (!parsed.success) throw new HttpError(400, parsed.error.issues[0]?.message ?? 'invalid secret');
        const existing = secrets.get(name);
        if (!existing) throw new HttpError(404, `secret ${name} not found`);
        secrets.set(name, {
          data: Buffer.from(parsed.data.data, 'base64'),
          permissions: parsed.data.permissions ?? existing.permissions,
          modifiedAt: new Date().toISOString(),
        });
        return { name };
      });
    }

    m = route('GET', /^\/hostgroup\/([^/]+)\/nodes$/);
    if (m) {
      const group = decodeSegment(m[1]!);
      return fault('listVms', () => {
        if (!groups.has(group)) throw new HttpError(404, `host group ${group} not found`);
        const inGroup = [...vms.values()].filter((v) => v.group === group);
        return (faults.ignoreTagFilters ? inGroup : filterTags(inGroup, url)).map((v) => vmJson(v, false));
      });
    }
    m = route('POST', /^\/hostgroup\/([^/]+)\/nodes$/);
    if (m) {
      const group = decodeSegment(m[1]!);
      if (faults.hangCreate) {
        hanging.add(res);
        return HANG;
      }
      return fault('createVm', () => {
        const g = groups.get(group);
        if (!g) throw new HttpError(404, `host group ${group} not found`);
        const parsed = CreateVmBody.safeParse(body === '' ? {} : safeJson(body));
        if (!parsed.success)
          throw new HttpError(
            400,
            `invalid request: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
          );
        const cpus = parsed.data.cpus ?? g.cpus;
        const ramBytes = parsed.data.ram_bytes ?? (parsed.data.ram_gb ? parsed.data.ram_gb * GIB : g.ramBytes);
        if (cpus > g.cpus)
          throw new HttpError(400, `requested ${cpus} cpus exceeds host group ${group} limit of ${g.cpus}`);
        if (ramBytes > g.ramBytes)
          throw new HttpError(
            400,
            `requested ram_bytes ${ramBytes} exceeds host group ${group} limit of ${g.ramBytes}`,
          );
        if (faults.hostRamGib !== undefined) {
          const used = [...vms.values()].reduce((n, v) => n + v.ramBytes, 0);
          if (used + ramBytes > faults.hostRamGib * GIB)
            throw new HttpError(
              500,
              `insufficient memory on host: ${(used / GIB).toFixed(1)} of ${faults.hostRamGib} GiB in use`,
            );
        }
        const make = (): SimVm => {
          const number = lowestFreeNumber(group);
          const hostname = `${group}-${number}`;
          const ip = vmIp([...groups.keys()].indexOf(group), number);
          if (!ip) throw new HttpError(500, `no free address left in host group ${group}`);
          const vm: SimVm = {
            hostname,
            group,
            number,
            ip,
            createdAt: new Date(hostNow()).toISOString(),
            tags: parsed.data.tags ?? [],
            userdata: parsed.data.userdata ?? '',
            secrets: parsed.data.secrets ?? [],
            persistent: parsed.data.persistent ?? false,
            cpus,
            ramBytes,
            bootedAt: Date.now(),
            neverJoins: faults.neverJoin === 'all' || faults.neverJoin.includes(hostname),
          };
          vms.set(hostname, vm);
          record('created', vm);
          scheduleJoin(vm);
          log(`created ${hostname}${vm.tags.length ? ` tags=${vm.tags.join(',')}` : ''}`);
          return vm;
        };
        if (faults.dropCreateAnswers > 0) {
          // The daemon does the work but the answer never reaches the client.
          faults.dropCreateAnswers -= 1;
          const late = () => {
            try {
              make();
            } catch (err) {
              log(`late create in ${group} failed: ${(err as Error).message}`);
            }
          };
          if (faults.droppedCreateVmAfterMs === 0) late();
          else {
            const timer = setTimeout(() => {
              lateCreates.delete(timer);
              late();
            }, faults.droppedCreateVmAfterMs);
            lateCreates.add(timer);
          }
          req.socket.destroy();
          return HANG;
        }
        const vm = make();
        madeVm.set(res, vm.hostname);
        res.statusCode = 201;
        return vmJson(vm, true);
      });
    }
    m = route('DELETE', /^\/hostgroup\/([^/]+)\/nodes\/([^/]+)$/);
    if (m) {
      const group = decodeSegment(m[1]!);
      const hostname = decodeSegment(m[2]!);
      return fault('deleteVm', async () => {
        if (faults.failDeletes > 0) {
          faults.failDeletes -= 1;
          throw new HttpError(500, `injected fault: delete of ${hostname} failed`);
        }
        const vm = vms.get(hostname);
        if (!vm || vm.group !== group) throw new HttpError(404, `node ${hostname} not found in host group ${group}`);
        await forget(vm, 'deleted');
        log(`deleted ${hostname}`);
        return { message: 'Node deleted', disk_removed: 'true' };
      });
    }
    m = route('GET', /^\/vm\/([^/]+)\/logs$/);
    if (m) {
      const vm = vms.get(decodeSegment(m[1]!));
      return fault('vmLogs', () => {
        if (!vm) throw new HttpError(404, 'VM not found');
        const lines = Number(url.searchParams.get('lines') ?? '20');
        const all = consoleLines(vm);
        return {
          hostname: vm.hostname,
          lines: lines || all.length,
          content: (lines > 0 ? all.slice(-lines) : all).join('\n') + '\n',
        };
      });
    }
    m = route('GET', /^\/vm\/([^/]+)\/health$/);
    if (m) {
      const vm = vms.get(decodeSegment(m[1]!));
      return fault('vmHealth', () => {
        if (!vm) throw new HttpError(404, 'VM not found');
        const ran = Date.now() - vm.bootedAt >= joinDelayMs;
        return {
          hostname: vm.hostname,
          agent_uptime: Date.now() - vm.bootedAt,
          agent_version: 'sim',
          system_uptime: Date.now() - vm.bootedAt,
          userdata_ran: ran,
          ...(ran && { userdata_exit_code: vm.neverJoins ? 1 : 0 }),
          ip: vm.ip,
        };
      });
    }
    if (method === 'GET' && path === '/info')
      return { version: 'simulator', git_commit: 'none', platform: 'linux', arch: 'x86_64' };
    throw new HttpError(404, `no endpoint ${method} ${path}`);

    async function fault<T>(endpoint: Endpoint, fn: () => T | Promise<T>): Promise<T> {
      const latency = faults.latencyMs[endpoint];
      if (latency) await new Promise((r) => setTimeout(r, latency));
      const rate = faults.errorRate[endpoint];
      if (rate && dice() < rate) throw new HttpError(500, `injected fault on ${endpoint}`);
      return fn();
    }
  }

  function reply(res: ServerResponse, status: number, out: unknown): void {
    res.statusCode = status;
    // Clients estimate the host's clock skew from this header; it follows the clockOffsetMs fault.
    res.setHeader('date', new Date(hostNow()).toUTCString());
    if (typeof out === 'string') {
      res.setHeader('content-type', 'text/plain');
      res.end(out);
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(out));
  }

  const server: Server = createServer((req, res) => {
    const at = Date.now();
    res.on('finish', () => {
      const hostname = madeVm.get(res);
      logRequest({
        at,
        ms: Date.now() - at,
        method: req.method ?? '?',
        path: (req.url ?? '').slice(0, MAX_LOGGED_PATH),
        status: res.statusCode,
        ...(hostname !== undefined && { hostname }),
      });
    });
    const isHealthz = /^\/healthz(\?|$)/.test(req.url ?? '') && (req.method === 'GET' || req.method === 'HEAD');
    // Auth before the body: an unauthenticated client gets its 401 without a byte of its body read, and the
    // connection is closed rather than drained.
    if (!isHealthz && !authorised(req)) {
      res.setHeader('connection', 'close');
      res.on('finish', () => req.socket.destroy());
      reply(res, 401, { error: 'unauthorized: missing or invalid bearer token' });
      return;
    }
    const tooBig = () => {
      res.setHeader('connection', 'close');
      reply(res, 413, { error: `request body over ${MAX_BODY_BYTES} bytes` });
    };
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      tooBig();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
      else if (!res.headersSent) tooBig();
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return;
      handle(req, res, Buffer.concat(chunks).toString('utf8')).then(
        (out) => {
          if (out !== HANG) reply(res, res.statusCode, out);
        },
        (err: unknown) => {
          const status = err instanceof HttpError ? err.status : 500;
          reply(res, status, { error: err instanceof Error ? err.message : String(err) });
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `127.0.0.1:${opts.port} is already in use; choose another --port, or 0 for a free one`
            : `cannot listen on 127.0.0.1:${opts.port ?? 0}: ${err.code ?? err.message}`,
        ),
      ),
    );
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const api: RunningSimulator = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => [...requestLog.slice(nextLogSlot), ...requestLog.slice(0, nextLogSlot)],
    vms: () =>
      [...vms.values()].map((v) => ({ hostname: v.hostname, group: v.group, nodeName: v.nodeName, tags: v.tags })),
    events: () => [...events],
    eventsDropped: () => eventsDropped,
    secret: (name) => secrets.get(name)?.data.toString('utf8'),
    setFaults(next) {
      faults = FaultsSchema.parse({ ...faults, ...next });
      dice = seededRandom(faults.seed);
      if (!faults.hangCreate) for (const r of hanging) r.destroy();
      return faults;
    },
    async restart() {
      for (const vm of [...vms.values()]) await forget(vm, 'lost');
      log('daemon restarted: every VM lost');
    },
    async stop() {
      for (const r of hanging) r.destroy();
      for (const t of lateCreates) clearTimeout(t);
      for (const vm of vms.values()) if (vm.joinTimer) clearTimeout(vm.joinTimer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return api;
}

const HANG = Symbol('hang');

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function filterTags<T extends { tags: string[] }>(list: T[], url: URL): T[] {
  const tag = url.searchParams.get('tag');
  const prefix = url.searchParams.get('tag_prefix');
  if (tag && prefix) throw new HttpError(400, 'use tag or tag_prefix, not both');
  if (tag) return list.filter((v) => v.tags.includes(tag));
  if (prefix) return list.filter((v) => v.tags.some((t) => t.startsWith(prefix)));
  return list;
}

const ARCHES = ['x86_64', 'amd64', 'aarch64', 'arm64'];

/** Parses `NAME:CPUS:RAM_GIB[:ARCH]`, refusing shapes no Slicer host group has. */
export function parseHostGroupSpec(spec: string): SimHostGroup {
  const parts = spec.split(':');
  const [name = '', cpus = '', ram = '', arch = 'x86_64'] = parts;
  const bad = (why: string) => new Error(`--hostgroup ${spec}: ${why}`);
  if (parts.length < 3 || parts.length > 4)
    throw bad('expected NAME:CPUS:RAM_GIB[:ARCH], like k3s-agents-1:2:4:x86_64');
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name))
    throw bad('NAME must be lowercase letters, digits and dashes, like k3s-agents-1');
  if (!/^\d+$/.test(cpus) || Number(cpus) < 1 || Number(cpus) > 1024)
    throw bad('CPUS must be a whole number from 1 to 1024');
  if (!/^\d+(\.\d+)?$/.test(ram) || !(Number(ram) > 0) || Number(ram) > 16384)
    throw bad('RAM_GIB must be more than 0 and at most 16384');
  if (!ARCHES.includes(arch)) throw bad(`ARCH must be ${ARCHES.slice(0, -1).join(', ')} or ${ARCHES.at(-1)}`);
  return { name, cpus: Number(cpus), ramBytes: Math.round(Number(ram) * GIB), arch };
}

/** Parses every `--hostgroup`, refusing a name given twice. */
export function parseHostGroupSpecs(specs: string[]): SimHostGroup[] {
  const groups = specs.map(parseHostGroupSpec);
  const seen = new Set<string>();
  for (const g of groups) {
    if (seen.has(g.name)) throw new Error(`--hostgroup ${g.name} is given twice; give each host group once`);
    seen.add(g.name);
  }
  if (groups.length > MAX_HOST_GROUPS) throw new Error(`at most ${MAX_HOST_GROUPS} --hostgroup`);
  return groups;
}
