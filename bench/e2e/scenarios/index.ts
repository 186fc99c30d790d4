import type { Scenario } from '../scenario.js';
import { reaction } from './reaction.js';

/** Every end-to-end scenario, in the order a full run takes them (the heaviest last). */
export const SCENARIOS: Scenario[] = [reaction];
