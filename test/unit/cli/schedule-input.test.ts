import { describe, expect, it } from 'vitest';
import { cronProblem, scheduleRequest } from '../../../src/cli/schedule-input.js';

describe('schedule add input', () => {
  it.each([['0 20 * * 1-5'], ['*/15 8-18 * * MON-FRI'], ['30 6 1,15 JAN-MAR *'], ['0 0 * * 0'], ['@daily']])(
    'accepts the cron expression %s',
    (expr) => {
      expect(cronProblem(expr)).toBeUndefined();
    },
  );

  it.each([
    ['0 20 * *', /expected 5 fields.*got 4/],
    ['0 25 * * *', /hour field '25': '25' is out of range 0-23/],
    ['60 * * * *', /minute field '60': '60' is out of range 0-59/],
    ['0 20 * * 1-8', /day-of-week field '1-8': '8' is out of range 0-6 \(or SUN-SAT\)/],
    ['0 20 * * FRI-MON', /day-of-week field 'FRI-MON': range FRI-MON runs backwards/],
    ['0 20 0 * *', /day-of-month field '0'.*out of range 1-31/],
    ['*/0 * * * *', /a step must be at least 1/],
    ['0 20 ? * *', /day-of-month field '\?': '\?' is not a value/],
  ])('names the field and the problem in %s', (expr, message) => {
    expect(cronProblem(expr)).toMatch(message);
  });

  it('builds a nightly pause with a readable, stable ID', () => {
    const req = scheduleRequest('prod', { cron: '0 20 * * 1-5', pause: '12h' });
    expect(req.scheduleId).toMatch(/^slicer-autoscaler\/prod\/pause-all-[0-9a-f]{6}$/);
    expect(scheduleRequest('prod', { cron: '0 20 * * 1-5', pause: '12h' }).scheduleId).toBe(req.scheduleId);
    expect(req.action).toEqual({
      kind: 'pause',
      cluster: 'prod',
      group: undefined,
      forSeconds: 43_200,
      reason: 'scheduled: at "0 20 * * 1-5" (UTC): pause the autoscaler for 12h',
      source: req.scheduleId,
    });
  });

  it('builds a scale-to-zero window for one group', () => {
    const req = scheduleRequest('prod', {
      cron: '0 20 * * 1-5',
      scale: 'k3s-agents-1=0',
      for: '12h',
      timezone: 'Europe/London',
      id: 'nights',
    });
    expect(req.scheduleId).toBe('slicer-autoscaler/prod/nights');
    expect(req.timezone).toBe('Europe/London');
    expect(req.action).toMatchObject({ kind: 'scale', group: 'k3s-agents-1', size: 0, forSeconds: 43_200 });
  });

  it.each([
    [{ cron: '0 20 * * *' }, /say what the schedule does: --pause DURATION/],
    [{ cron: '0 20 * * *', pause: '1h', scale: 'a=0', for: '1h' }, /say what the schedule does/],
    [{ cron: '0 20 * * *', scale: 'a=0' }, /--scale needs --for DURATION/],
    [{ cron: '0 20 * * *', scale: 'a', for: '1h' }, /--scale: expected GROUP=SIZE/],
    [{ cron: '0 20 * * *', scale: 'a=-1', for: '1h' }, /--scale: expected GROUP=SIZE/],
    [{ cron: '0 20 * * *', pause: 'soon' }, /--pause soon: expected a duration of at least 1s, like 12h/],
    [{ cron: '0 20 * * *', pause: '200h' }, /--pause 200h: at most 168h/],
    [{ cron: '0 20 * * *', pause: '1h', for: '1h' }, /--for goes with --scale/],
    [{ cron: '0 20 * * *', scale: 'a=1', for: '1h', group: 'b' }, /--group goes with --pause/],
    [{ cron: '0 20 * * *', pause: '1h', timezone: 'Mars/Olympus' }, /--timezone: not an IANA time zone/],
    [{ cron: '0 20 * * *', pause: '1h', id: 'Has Spaces' }, /--id: lower-case letters/],
    [{ pause: '1h' }, /--cron is required/],
    [{ cron: '0 24 * * *', pause: '1h' }, /--cron "0 24 \* \* \*": hour field/],
  ])('refuses %j at the edge', (args, message) => {
    expect(() => scheduleRequest('prod', args)).toThrow(message);
  });
});
