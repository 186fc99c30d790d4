import { describe, expect, it } from 'vitest';
import { FlagError, parseFlags } from '../../../src/config/flags.js';
import { plannerOptions } from '../../../src/activities/plan-scaling.js';
import { DEFAULT_PLANNER_OPTIONS } from '../../../src/planner/index.js';

describe('--trust-scheduler-after', () => {
  it('defaults to 30 s and reaches the planner options', () => {
    const { options } = parseFlags([]);
    expect(options.trustSchedulerAfterMs).toBe(30_000);
    expect(DEFAULT_PLANNER_OPTIONS.trustSchedulerAfterMs).toBe(30_000);
    const set = parseFlags(['--trust-scheduler-after=2m']).options;
    expect(set.trustSchedulerAfterMs).toBe(120_000);
    const config = { expander: 'least-waste', scaleDownEnabled: true } as Parameters<typeof plannerOptions>[0];
    expect(plannerOptions(config, set).trustSchedulerAfterMs).toBe(120_000);
    expect(parseFlags(['--trust-scheduler-after', '0s']).options.trustSchedulerAfterMs).toBe(0);
  });

  it('refuses what is not a duration, naming the flag and the fix', () => {
    expect(() => parseFlags(['--trust-scheduler-after=soon'])).toThrow(FlagError);
    expect(() => parseFlags(['--trust-scheduler-after=soon'])).toThrow(
      /--trust-scheduler-after: 'soon' is not a duration/,
    );
  });
});
