import type { Scenario } from '../scenario.js';
import { burstScenario, pausedBurst } from './burst.js';
import { guide } from './guide.js';
import { joins } from './joins.js';
import { reaction } from './reaction.js';
import { scaleDown } from './scale-down.js';
import { steady } from './steady.js';

/** Every end-to-end scenario, in the order a full run takes them (the heaviest last). */
export const SCENARIOS: Scenario[] = [reaction, scaleDown, guide, burstScenario, pausedBurst, joins, steady];
