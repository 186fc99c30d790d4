import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/client';

// Where the worker and the CLI find Temporal: the `temporal` CLI's own environment variables and config-file
// profiles (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE,
// TEMPORAL_CONFIG_FILE), read by @temporalio/envconfig, so one setup serves `temporal` and us. Command-line flags
// beat the environment, which beats the profile file. The API key and the client key never leave this object in
// anything printable: `describe()` says only whether they are set.

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** Options both `Connection.connect` (client) and `NativeConnection.connect` (worker) accept. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

const buf = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b));

/** envconfig hands out Uint8Arrays; the gRPC client accepts only Buffers for certificates and keys. */
function asBuffers(tls: TLSConfig | boolean | undefined): TLSConfig | boolean | undefined {
  if (typeof tls !== 'object') return tls;
  return {
    ...(tls.serverNameOverride && { serverNameOverride: tls.serverNameOverride }),
    ...(tls.serverRootCACertificate && { serverRootCACertificate: buf(tls.serverRootCACertificate) }),
    ...(tls.clientCertPair && {
      clientCertPair: { crt: buf(tls.clientCertPair.crt)!, key: buf(tls.clientCertPair.key)! },
    }),
  };
}

function metadataOf(m: Record<string, unknown> | undefined): Record<string, string> | undefined {
  const out = Object.fromEntries(
    Object.entries(m ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : String(v)]),
  );
  return Object.keys(out).length > 0 ? out : undefined;
}

export interface TemporalTarget {
  connection: TemporalConnectionOptions;
  namespace: string;
  /** Secret values to scrub from logs (API key, client key). */
  secrets: string[];
  /** A line for the log: address, namespace, TLS mode, whether an API key is set. Never a secret. */
  describe(): string;
}

export class TemporalConfigError extends Error {}

/** `host:port`, as every Temporal client expects. */
const ADDRESS = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;

function tlsMode(tls: TLSConfig | boolean | undefined): string {
  if (!tls) return 'off';
  if (tls === true) return 'on (system CAs)';
  const parts = [tls.serverRootCACertificate ? 'server CA given' : 'system CAs'];
  if (tls.clientCertPair) parts.push('mTLS client certificate');
  if (tls.serverNameOverride) parts.push(`server name ${tls.serverNameOverride}`);
  return `on (${parts.join(', ')})`;
}

/**
 * Loads the Temporal connection from flags, the environment and the `temporal` CLI's config file. Errors name
 * the setting and the fix; a missing certificate file is reported by its environment variable or profile key.
 */
export function loadTemporalTarget(
  flags: { address?: string; namespace?: string; profile?: string } = {},
  env: Record<string, string | undefined> = process.env,
): TemporalTarget {
  let loaded;
  try {
    loaded = loadClientConnectConfig({
      ...(flags.profile && { profile: flags.profile }),
      overrideEnvVars: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
    });
  } catch (err) {
    const msg = (err as Error).message;
    const path = (err as { path?: string }).path;
    throw new TemporalConfigError(
      path
        ? `Temporal TLS: cannot read ${path} (from TEMPORAL_TLS_*_PATH or the profile's tls *_path): ${(err as { code?: string }).code ?? msg}; fix the path or unset it`
        : `Temporal connection config (TEMPORAL_* environment or ${env['TEMPORAL_CONFIG_FILE'] ?? 'the temporal CLI config file'}): ${msg}`,
    );
  }
  const address = flags.address ?? loaded.connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS;
  if (!ADDRESS.test(address)) {
    throw new TemporalConfigError(
      `Temporal address '${address}' (--address or TEMPORAL_ADDRESS) is not host:port; write it like 127.0.0.1:7233 or my-ns.a1b2c.tmprl.cloud:7233`,
    );
  }
  const namespace = flags.namespace ?? loaded.namespace ?? DEFAULT_TEMPORAL_NAMESPACE;
  const { apiKey } = loaded.connectionOptions;
  const tls = asBuffers(loaded.connectionOptions.tls ?? undefined);
  const metadata = metadataOf(loaded.connectionOptions.metadata);
  const clientKey = typeof tls === 'object' ? tls.clientCertPair?.key : undefined;
  if (typeof tls === 'object' && tls.clientCertPair && (!tls.clientCertPair.crt.length || !clientKey?.length)) {
    throw new TemporalConfigError(
      'Temporal mTLS needs both a client certificate and its key (TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH)',
    );
  }
  const connection: TemporalConnectionOptions = {
    address,
    ...(tls !== undefined && { tls }),
    ...(typeof apiKey === 'string' && apiKey && { apiKey }),
    ...(metadata && { metadata }),
  };
  // gRPC metadata may carry credentials too (an authorization header): scrub its values as well.
  const secrets = [
    typeof apiKey === 'string' ? apiKey : undefined,
    clientKey ? Buffer.from(clientKey).toString('utf8') : undefined,
    ...Object.values(metadata ?? {}),
  ].filter((s): s is string => !!s);
  return {
    connection,
    namespace,
    secrets,
    describe: () =>
      `Temporal ${address}, namespace ${namespace}, TLS ${tlsMode(connection.tls)}, API key ${connection.apiKey ? 'set' : 'not set'}`,
  };
}
