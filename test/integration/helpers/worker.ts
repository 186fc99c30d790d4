import { randomBytes } from 'node:crypto';
import { startProduct, type Product, type ProductOptions } from './product.js';

/**
 * The product for one fresh cluster name `<prefix>-<hex>` with one group of 2-CPU, 4-GiB x86 VMs (`group`),
 * a 60 s provision timeout and, unless `flags` says otherwise, 1 s scans.
 */
export async function simulatedCluster(
  opts: Pick<ProductOptions, 'global' | 'flags' | 'namespace' | 'worker'> & {
    prefix: string;
    /** Extra [nodegroup] lines. */
    group?: string[];
  },
): Promise<Product & { group: string }> {
  const product = await startProduct({
    cluster: `${opts.prefix}-${randomBytes(2).toString('hex')}`,
    groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: opts.group ?? [] }],
    global: ['node-provision-timeout = 60s', ...(opts.global ?? [])],
    flags: opts.flags ?? ['--scan-interval=1s', '--scale-down-delay-after-add=2s'],
    joinDelayMs: 500,
    namespace: opts.namespace,
    worker: opts.worker,
  });
  return Object.assign(product, { group: product.groups[0]! });
}
