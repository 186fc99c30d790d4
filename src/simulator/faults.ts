import { z } from 'zod';

/** Endpoints whose behaviour tests can bend. */
export const ENDPOINTS = [
  'healthz',
  'listHostGroups',
  'listVms',
  'listAllVms',
  'createVm',
  'deleteVm',
  'listSecrets',
  'createSecret',
  'updateSecret',
  'vmLogs',
  'vmHealth',
] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

const endpoint = z.enum(ENDPOINTS);

/** Fault switches, set by CLI flags or at run time through POST /_sim/faults. */
export const FaultsSchema = z.object({
  /** Probability (0..1) that a call answers 500. */
  errorRate: z.partialRecord(endpoint, z.number().min(0).max(1)).default({}),
  /** Extra delay before answering, in ms. */
  latencyMs: z.partialRecord(endpoint, z.number().int().min(0).max(600_000)).default({}),
  /** Create requests never answer (until the client gives up). */
  hangCreate: z.boolean().default(false),
  /** VMs (by hostname) that boot but never join the cluster; 'all' for every new VM. */
  neverJoin: z.union([z.literal('all'), z.array(z.string())]).default([]),
  /** Total RAM of the Slicer host; creates beyond it answer 500 insufficient memory. */
  hostRamGib: z.number().positive().optional(),
  /** Answer lists as older Slicer daemons do: every VM, whatever `tag` or `tag_prefix` asks for. */
  ignoreTagFilters: z.boolean().default(false),
  /** The next N deletes answer 500 without deleting (counts down). */
  failDeletes: z.number().int().min(0).max(1000).default(0),
  /**
   * The next N creates never answer: the connection is cut, as when a proxy or the network drops it, while the
   * daemon goes on and makes the VM anyway (counts down).
   */
  dropCreateAnswers: z.number().int().min(0).max(1000).default(0),
  /** For a create whose answer is dropped: how long after the request its VM appears (a slow daemon). */
  droppedCreateVmAfterMs: z.number().int().min(0).max(600_000).default(0),
  /** How far the Slicer host's clock is ahead of the real one (negative: behind): shifts created_at and `Date`. */
  clockOffsetMs: z
    .number()
    .int()
    .min(-24 * 3600_000)
    .max(24 * 3600_000)
    .default(0),
  /** Seed of the error-rate dice, for reproducible tests. */
  seed: z.number().int().default(1),
});
export type Faults = z.output<typeof FaultsSchema>;

/** Deterministic dice, so an error rate gives the same sequence for the same seed. */
export { seededRandom } from '../util/seeded-random.js';
