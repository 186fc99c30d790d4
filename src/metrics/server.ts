import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

// One small HTTP server on the health port, as cluster-autoscaler serves /metrics and /health-check on --address:
// /metrics (Prometheus text), /healthz (liveness), /readyz (readiness). Nothing here reads a request body.

export interface HttpChecks {
  /** Liveness: a JSON-able explanation either way. */
  healthz(): { ok: boolean; detail: unknown };
  /** Readiness. */
  readyz(): { ok: boolean; detail: unknown };
}

/** Serves /metrics, /healthz and /readyz on `port` (all interfaces); resolves once listening. */
export async function startHttpServer(
  port: number,
  registry: Registry,
  checks: HttpChecks,
  host?: string,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.setHeader('content-type', registry.contentType);
          res.end(text);
        },
        (err: unknown) => {
          res.statusCode = 500;
          res.end(String((err as Error)?.message ?? err));
        },
      );
      return;
    }
    const check = path === '/healthz' ? checks.healthz : path === '/readyz' ? checks.readyz : undefined;
    if (!check) {
      res.statusCode = 404;
      res.end('not found: try /metrics, /healthz or /readyz\n');
      return;
    }
    const { ok, detail } = check();
    res.statusCode = ok ? 200 : 503;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok, ...(detail as object) }) + '\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
