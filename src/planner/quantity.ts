// Kubernetes resource quantities ("500m", "2", "1Gi", "1e3", "128974848") as integers we can add and compare.

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The quantity as a plain number (cores, bytes, count); NaN if it is not a quantity. */
export function parseQuantity(q: string | number | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === 'number') return q;
  const m = /^([+-]?\d*\.?\d+(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/.exec(q.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  return n * (BINARY[suffix] ?? DECIMAL[suffix] ?? NaN);
}

/** CPU in millicores, rounded up as the scheduler does. */
export function cpuMilli(q: string | number | undefined): number {
  const v = parseQuantity(q);
  return Number.isFinite(v) ? Math.ceil(Math.round(v * 1e6) / 1e3) : 0;
}

/** Memory in bytes. */
export function memoryBytes(q: string | number | undefined): number {
  const v = parseQuantity(q);
  return Number.isFinite(v) ? Math.ceil(v) : 0;
}

/** Human text: `1.5 CPU`, `512 MiB`, `4 GiB`. */
export function formatCpu(milli: number): string {
  return `${Number((milli / 1000).toFixed(3))} CPU`;
}

/** Human text for bytes: `512 MiB`, `4 GiB`. */
export function formatMemory(bytes: number): string {
  if (bytes >= 2 ** 30) return `${Number((bytes / 2 ** 30).toFixed(2))} GiB`;
  return `${Number((bytes / 2 ** 20).toFixed(1))} MiB`;
}
