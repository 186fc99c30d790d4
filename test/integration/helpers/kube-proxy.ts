import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

// A fault-injecting proxy in front of the stack's kube-apiserver, for the worker only: plain HTTP on 127.0.0.1,
// forwarding to the real https apiserver (trusting its CA, passing the caller's token on). Rules bend chosen
// requests: fail them with a status, answer a watch with 410 Gone, or cut the connection; `outage` makes the
// apiserver unreachable for a while, as a restart does, cutting every open watch.

/** What a rule does to a matching request. */
export type ProxyAction =
  /** Answer with a Kubernetes Status of this code, never reaching the apiserver. */
  | { kind: 'fail'; status: number }
  /** A watch answered the way the apiserver says "too old resource version": one ERROR event of code 410. */
  | { kind: 'gone' }
  /** Cut the client's connection without an answer. */
  | { kind: 'drop' };

export interface ProxyRule {
  method?: string;
  /** Tested against the path without the query. */
  path: RegExp;
  /** true: only watches; false: only non-watch requests; undefined: both. */
  watch?: boolean;
  action: ProxyAction;
  /** Apply to this many matching requests, then let them through (default: until removed). */
  times?: number;
}

export interface KubeProxy {
  url: string;
  /** A kubeconfig for the proxy, with the admin token. */
  kubeconfigPath: string;
  /** Adds a rule (first match wins); returns how to remove it. */
  addRule(rule: ProxyRule): { remove(): void; hits(): number };
  clearRules(): void;
  /** The apiserver is unreachable for `ms`: open connections (watches too) are cut and new ones refused. */
  outage(ms: number): Promise<void>;
  /** Cuts the connections of the watches now open (clients watch again, meeting the rules); returns how many. */
  cutWatches(): number;
  /** How many requests were forwarded to the apiserver so far. */
  forwarded(): number;
  stop(): Promise<void>;
}

function isWatch(url: URL): boolean {
  return (
    url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1' || /\/watch\//.test(url.pathname)
  );
}

function status(res: ServerResponse, code: number): void {
  res.statusCode = code;
  res.setHeader('content-type', 'application/json');
  res.end(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message: `injected by the fault proxy (${code})`,
      reason: code === 503 ? 'ServiceUnavailable' : 'InternalError',
      code,
    }),
  );
}

/** Starts the proxy for the apiserver of `kubeconfigPath`; writes its kubeconfig to `kubeconfigOut`. */
export async function startKubeProxy(kubeconfigPath: string, kubeconfigOut: string): Promise<KubeProxy> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster?.caData || !user?.token) throw new Error('kube proxy: expected a kubeconfig with CA data and a token');
  const upstream = new URL(cluster.server);
  const agent = new Agent({ ca: Buffer.from(cluster.caData, 'base64'), keepAlive: true });
  const rules: { rule: ProxyRule; left: number; hits: number }[] = [];
  const sockets = new Set<Socket>();
  const watches = new Set<ServerResponse>();
  let forwarded = 0;

  function match(req: IncomingMessage, url: URL) {
    for (const r of rules) {
      if (r.left <= 0) continue;
      if (r.rule.method && r.rule.method !== req.method) continue;
      if (!r.rule.path.test(url.pathname)) continue;
      if (r.rule.watch !== undefined && r.rule.watch !== isWatch(url)) continue;
      r.left -= 1;
      r.hits += 1;
      return r.rule.action;
    }
    return undefined;
  }

  function forward(req: IncomingMessage, res: ServerResponse): void {
    forwarded += 1;
    const up = httpsRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // A watch's headers come at once from the apiserver, its first event maybe minutes later: pass the headers
        // on now, or the client takes the watch for not open yet.
        res.flushHeaders();
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    up.on('error', (err) => {
      if (!res.headersSent) {
        res.statusCode = 502;
        res.end(`fault proxy: upstream ${err.message}`);
      } else res.destroy();
    });
    res.on('close', () => up.destroy());
    req.pipe(up);
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const action = match(req, url);
    if (!action) {
      if (isWatch(url)) {
        watches.add(res);
        res.on('close', () => watches.delete(res));
      }
      return forward(req, res);
    }
    if (action.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (action.kind === 'fail') return status(res, action.status);
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: 'too old resource version (injected by the fault proxy)',
          reason: 'Expired',
          code: 410,
        },
      }) + '\n',
    );
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(
    kubeconfigOut,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // Plain HTTP on loopback: client-node accepts an http:// server only with TLS verification off (there is no
      // TLS to verify); the proxy itself verifies the apiserver against its CA.
      clusters: [{ name: 'proxy', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'admin', user: { token: user.token } }],
      contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'admin', namespace: 'default' } }],
      'current-context': 'proxy',
    }),
    { mode: 0o600 },
  );

  // Proves the kubeconfig works through the proxy before any test relies on it.
  const check = new KubeConfig();
  check.loadFromFile(kubeconfigOut);
  await check.makeApiClient(CoreV1Api).listNamespace({ limit: 1 });

  const closeListener = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    url,
    kubeconfigPath: kubeconfigOut,
    addRule(rule) {
      const entry = { rule, left: rule.times ?? Infinity, hits: 0 };
      rules.push(entry);
      return {
        remove: () => {
          const i = rules.indexOf(entry);
          if (i >= 0) rules.splice(i, 1);
        },
        hits: () => entry.hits,
      };
    },
    clearRules() {
      rules.length = 0;
    },
    async outage(ms) {
      // Closing the listener makes new connections fail with ECONNREFUSED, as with an apiserver that is down.
      const closed = closeListener();
      for (const s of sockets) s.destroy();
      await closed;
      await new Promise((r) => setTimeout(r, ms));
      await listen(port);
    },
    cutWatches() {
      const n = watches.size;
      for (const res of watches) res.socket?.destroy();
      watches.clear();
      return n;
    },
    forwarded: () => forwarded,
    async stop() {
      const closed = server.listening ? closeListener() : Promise.resolve();
      for (const s of sockets) s.destroy();
      await closed;
      agent.destroy();
    },
  };
}
