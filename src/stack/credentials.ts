import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Files the control plane and its clients share. */
export interface ClusterCredentials {
  serviceAccountKey: string;
  tokenFile: string;
  adminToken: string;
}

/**
 * Writes a service-account signing key and a static admin token (group system:masters). The apiserver signs its
 * own serving certificate (--cert-dir), so no CA tooling is needed.
 */
export function writeCredentials(stateDir: string): ClusterCredentials {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const serviceAccountKey = join(stateDir, 'pki', 'sa.key');
  writeFileSync(serviceAccountKey, privateKey, { mode: 0o600 });
  const adminToken = randomBytes(24).toString('hex');
  const tokenFile = join(stateDir, 'pki', 'tokens.csv');
  writeFileSync(tokenFile, `${adminToken},admin,admin-uid,system:masters\n`, { mode: 0o600 });
  return { serviceAccountKey, tokenFile, adminToken };
}

/** The self-signed serving certificate the apiserver writes into its cert dir (cert followed by its CA). */
export function apiserverCertFile(stateDir: string): string {
  return join(stateDir, 'pki', 'apiserver', 'apiserver.crt');
}

/** Writes an admin kubeconfig for https://127.0.0.1:<port>, trusting the apiserver's own certificate. */
export function writeKubeconfig(stateDir: string, apiserverPort: number, token: string): string {
  const ca = readFileSync(apiserverCertFile(stateDir)).toString('base64');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'local', cluster: { server: `https://127.0.0.1:${apiserverPort}`, 'certificate-authority-data': ca } },
    ],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name: 'local', context: { cluster: 'local', user: 'admin', namespace: 'default' } }],
    'current-context': 'local',
  };
  const path = join(stateDir, 'kubeconfig');
  writeFileSync(path, stringify(kubeconfig), { mode: 0o600 });
  return path;
}
