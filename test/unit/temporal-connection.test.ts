import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TemporalConfigError, loadTemporalTarget } from '../../src/temporal-connection.js';

// The `temporal` CLI's own variables and profiles, read through @temporalio/envconfig. No file here is real PEM:
// envconfig only reads the bytes; the TLS handshake itself is tested through a proxy in test/integration.

const dir = mkdtempSync(join(tmpdir(), 'temporal-conn-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const ca = file('ca.pem', 'CA-CERT-BYTES');
const crt = file('client.pem', 'CLIENT-CERT-BYTES');
const key = file('client.key', 'CLIENT-KEY-BYTES-0123456789');
const noFile = { TEMPORAL_CONFIG_FILE: join(dir, 'absent.toml') };

describe('Temporal connection from the environment and profiles', () => {
  it('defaults to a local plain server and the default namespace', () => {
    const t = loadTemporalTarget({}, noFile);
    expect(t.connection).toEqual({ address: '127.0.0.1:7233' });
    expect(t.namespace).toBe('default');
    expect(t.describe()).toBe('Temporal 127.0.0.1:7233, namespace default, TLS off, API key not set');
  });

  it('reads address, namespace, server CA and an mTLS client pair from TEMPORAL_* variables', () => {
    const t = loadTemporalTarget(
      {},
      {
        ...noFile,
        TEMPORAL_ADDRESS: 'temporal.example:7233',
        TEMPORAL_NAMESPACE: 'prod',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
        TEMPORAL_TLS_CLIENT_CERT_PATH: crt,
        TEMPORAL_TLS_CLIENT_KEY_PATH: key,
        TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      },
    );
    expect(t.connection.address).toBe('temporal.example:7233');
    expect(t.namespace).toBe('prod');
    const tls = t.connection.tls as { serverRootCACertificate: Buffer; clientCertPair: { crt: Buffer; key: Buffer } };
    expect(tls.serverRootCACertificate.toString()).toBe('CA-CERT-BYTES');
    expect(tls.clientCertPair.crt.toString()).toBe('CLIENT-CERT-BYTES');
    expect(t.secrets).toContain('CLIENT-KEY-BYTES-0123456789');
    expect(t.describe()).toBe(
      'Temporal temporal.example:7233, namespace prod, TLS on (server CA given, mTLS client certificate, server name temporal.internal), API key not set',
    );
  });

  it('turns TLS on for an API key (Temporal Cloud) and never prints the key', () => {
    const t = loadTemporalTarget(
      {},
      { ...noFile, TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'tcld-api-key-value-123' },
    );
    expect(t.connection).toMatchObject({ tls: true, apiKey: 'tcld-api-key-value-123' });
    expect(t.secrets).toEqual(['tcld-api-key-value-123']);
    expect(t.describe()).toBe('Temporal ns.acct.tmprl.cloud:7233, namespace default, TLS on (system CAs), API key set');
  });

  it('reads a profile from the temporal CLI config file; the environment and flags beat it', () => {
    const toml = file(
      'temporal.toml',
      [
        '[profile.default]',
        'address = "from-file:7233"',
        'namespace = "file-ns"',
        '[profile.cloud]',
        'address = "cloud.example:7233"',
        'namespace = "cloud-ns"',
        'api_key = "profile-api-key-456"',
        '[profile.cloud.grpc_meta]',
        'x-team = "autoscalers-team"',
      ].join('\n'),
    );
    expect(loadTemporalTarget({}, { TEMPORAL_CONFIG_FILE: toml }).connection.address).toBe('from-file:7233');
    const cloud = loadTemporalTarget({}, { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud' });
    expect(cloud).toMatchObject({
      namespace: 'cloud-ns',
      connection: {
        address: 'cloud.example:7233',
        apiKey: 'profile-api-key-456',
        metadata: { 'x-team': 'autoscalers-team' },
      },
    });
    const env = loadTemporalTarget({}, { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_NAMESPACE: 'env-ns' });
    expect(env.namespace).toBe('env-ns');
    const flags = loadTemporalTarget({ address: 'flag:1', namespace: 'flag-ns' }, { TEMPORAL_CONFIG_FILE: toml });
    expect([flags.connection.address, flags.namespace]).toEqual(['flag:1', 'flag-ns']);
  });

  it('explicitly disabled TLS stays off even with an API key', () => {
    const t = loadTemporalTarget({}, { ...noFile, TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'plain-api-key-789' });
    expect(t.connection.tls).toBe(false);
  });

  it('names the setting and the fix when something is wrong, without the secret', () => {
    expect(() => loadTemporalTarget({}, { ...noFile, TEMPORAL_ADDRESS: 'no-port-here' })).toThrow(
      /TEMPORAL_ADDRESS\) is not host:port/,
    );
    expect(() =>
      loadTemporalTarget({}, { ...noFile, TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing-ca.pem') }),
    ).toThrow(TemporalConfigError);
    expect(() =>
      loadTemporalTarget({}, { ...noFile, TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing-ca.pem') }),
    ).toThrow(/missing-ca\.pem.*ENOENT/);
    expect(() => loadTemporalTarget({ profile: 'nope' }, noFile)).toThrow(/Profile 'nope' not found/);
  });
});
