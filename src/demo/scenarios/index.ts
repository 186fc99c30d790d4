import type { Scenario } from '../harness.js';
import { burst } from './burst.js';
import { docs } from './docs.js';
import { neverJoins } from './never-joins.js';
import { pdb } from './pdb.js';
import { slicerRestart } from './slicer-restart.js';
import { tour } from './tour.js';

/** Every scenario `npm run demo -- --scenario NAME` knows; `tour` is the default. */
export const SCENARIOS: Record<string, Scenario> = Object.fromEntries(
  [tour, docs, burst, neverJoins, pdb, slicerRestart].map((s) => [s.name, s]),
);
