import type { HostPort } from './types.js';

// kube-scheduler's NodePorts filter: a host port is taken per node by protocol, port and host IP, where the
// wildcard address (0.0.0.0, or none given) takes the port on every address.

const WILDCARD = '0.0.0.0';

/** Whether two host ports cannot be on the same node. */
export function portsConflict(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.protocol !== b.protocol) return false;
  return a.hostIP === b.hostIP || a.hostIP === WILDCARD || b.hostIP === WILDCARD;
}

/** The first of `wanted` that a port in `used` already takes, if any. */
export function portConflict(wanted: HostPort[], used: HostPort[]): HostPort | undefined {
  for (const w of wanted) for (const u of used) if (portsConflict(w, u)) return w;
  return undefined;
}

/** `8080/TCP` or `10.0.0.1:8080/UDP`, for messages. */
export function formatPort(p: HostPort): string {
  return `${p.hostIP === WILDCARD ? '' : `${p.hostIP}:`}${p.port}/${p.protocol}`;
}
