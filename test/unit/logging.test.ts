import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import {
  SecretScrubber,
  createLogger,
  humanLine,
  levelForVerbosity,
  lineLogger,
  temporalLogger,
} from '../../src/logging.js';

/** A logger writing into an array of parsed JSON lines (and the raw text). */
function capture(verbosity = 0, secrets: string[] = []) {
  const raw: string[] = [];
  const scrubber = new SecretScrubber();
  scrubber.add(...secrets);
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger({ verbosity, scrubber, destination: { write: (s: string) => destination.write(s) } });
  const lines = () =>
    raw
      .join('')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, raw, lines };
}

describe('klog --v on log levels', () => {
  it.each([
    [0, 'info'],
    [2, 'info'],
    [3, 'debug'],
    [4, 'debug'],
    [5, 'trace'],
    [10, 'trace'],
  ])('--v=%i logs from %s', (v, level) => expect(levelForVerbosity(v)).toBe(level));

  it('writes debug lines only from --v=3 on; warnings always', () => {
    const quiet = capture(0);
    quiet.log.debug('hidden');
    quiet.log.warn('shown');
    quiet.log.flush();
    expect(quiet.lines().map((l) => [l['level'], l['msg']])).toEqual([['warn', 'shown']]);
    const loud = capture(4);
    loud.log.debug('now shown');
    expect(loud.lines()[0]).toMatchObject({ level: 'debug', msg: 'now shown', component: 'slicer-autoscaler' });
  });
});

describe('secrets never reach a log line', () => {
  const k3s = 'K10-secret-join-token-abcdef';
  const slicer = 'slicer-bearer-0123456789';
  const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';

  it('censors secret field names and scrubs secret values wherever they appear', () => {
    const { log, raw } = capture(5, [k3s, slicer, pem]);
    log.info({ token: 'field-named-token-value', nested: { apiKey: 'another-key-value' } }, 'fields');
    log.info(`the message mentions ${k3s} and Bearer ${slicer}`);
    log.error({ err: new Error(`create failed with ${slicer}`) }, 'errors too');
    log.info({ key: pem }, 'the key field');
    log.info(`a PEM line leaked: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC`);
    log.info({ config: { k3sToken: new Secret(k3s) } }, 'a Secret prints redacted');
    const text = raw.join('');
    for (const s of [k3s, slicer, 'field-named-token-value', 'another-key-value', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'])
      expect(text).not.toContain(s);
    expect(text.match(/\[redacted\]/g)!.length).toBeGreaterThanOrEqual(7);
  });

  it('does not scrub secrets too short to be told from ordinary words', () => {
    const { log, raw } = capture(0, ['abc']);
    log.info('abc is a normal word');
    expect(raw.join('')).toContain('abc is a normal word');
  });

  it("routes the Temporal runtime's logger through the same JSON lines, secrets scrubbed", () => {
    const { log, lines } = capture(5, [k3s]);
    const t = temporalLogger(log);
    t.info('Worker state changed', { sdkComponent: 'worker', state: 'RUNNING', [Symbol('ts')]: 1n });
    t.warn(`activity failed: ${k3s}`, { error: new Error('boom'), attempt: 3n });
    t.log('DEBUG', 'core says hello', { sdkComponent: 'core' });
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'info', component: 'temporal', sdkComponent: 'worker', state: 'RUNNING' }),
      expect.objectContaining({
        level: 'warn',
        msg: 'activity failed: [redacted]',
        error: { name: 'Error', message: 'boom' },
        attempt: '3',
      }),
      expect.objectContaining({ level: 'debug', sdkComponent: 'core' }),
    ]);
  });

  it('renders a JSON line as a short sentence for people (the demo), secrets already scrubbed', () => {
    const { log, raw } = capture(0, [k3s]);
    log.warn({ group: 'x86', count: 2, detail: { a: 1 } }, `scale-up failed near ${k3s}`);
    temporalLogger(log).info('Worker state changed', { state: 'RUNNING' });
    expect(raw.map(humanLine)).toEqual([
      'warn: scale-up failed near [redacted] group=x86 count=2 detail={"a":1}',
      'temporal: Worker state changed state=RUNNING',
    ]);
    expect(humanLine('not json\n')).toBe('not json');
  });

  it('plain sentences from older call sites become info, "warning:" ones warnings', () => {
    const { log, lines } = capture(0);
    const line = lineLogger(log);
    line('cluster cache warm');
    line('warning: k3s-token looks unexpanded');
    expect(lines().map((l) => [l['level'], l['msg']])).toEqual([
      ['info', 'cluster cache warm'],
      ['warn', 'k3s-token looks unexpanded'],
    ]);
  });
});
