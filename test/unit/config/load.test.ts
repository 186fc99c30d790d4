import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../../src/config/load.js';
import { renderConfig } from '../../../src/config/render.js';
import { parseDuration, formatDuration } from '../../../src/config/duration.js';

const fixture = (name: string) => new URL(`../../fixtures/cloud-config/${name}`, import.meta.url).pathname;

const GOOD = `[global]
k3s-url = https://10.0.0.1:6443
k3s-token = K10-super-secret-join-token
[nodegroup "x86"]
slicer-url = http://10.0.1.1:8081
slicer-token = slicer-secret-token-1
`;

function problems(text: string): string[] {
  try {
    parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the config to be refused');
}

describe('cloud-config from the Slicer docs', () => {
  it('loads the one-group example unchanged, with its sizes', () => {
    const c = loadConfig(fixture('docs-one-group.ini'));
    expect(c.k3sUrl).toBe('https://192.168.137.2:6443');
    expect(c.groups).toHaveLength(1);
    expect(c.groups[0]).toMatchObject({
      name: 'k3s-agents-1',
      slicerUrl: 'http://192.168.138.1:8081',
      minSize: 0,
      maxSize: 10,
    });
    // The example writes $(cat ...) inside a heredoc; loaded literally, we say so instead of failing later.
    expect(c.warnings.join('\n')).toMatch(/unexpanded shell command/);
  });

  it('loads the two-group example unchanged', () => {
    const c = loadConfig(fixture('docs-two-groups.ini'));
    expect(c.groups.map((g) => [g.name, g.slicerUrl, g.minSize, g.maxSize])).toEqual([
      ['k3s-agents-1', 'http://192.168.138.1:8081', 0, 10],
      ['k3s-agents-2', 'http://192.168.139.1:8082', 0, 10],
    ]);
  });
});

describe('defaults and extensions', () => {
  it('uses the documented defaults: min 1, max 8, least-waste, 5m provision, 10m unneeded, 0.5 threshold', () => {
    const c = parseConfig(GOOD);
    expect(c.groups[0]).toMatchObject({
      minSize: 1,
      maxSize: 8,
      priority: 0,
      provisionTimeoutMs: 300_000,
      scaleDownUnneededTimeMs: 600_000,
      scaleDownUtilizationThreshold: 0.5,
      drainTimeoutMs: 600_000,
      labels: {},
      taints: [],
    });
    expect(c).toMatchObject({ clusterName: 'default', expander: 'least-waste', scaleDownEnabled: true });
  });

  it('lets a group override global extensions, adds labels and taints, and normalises arch', () => {
    const c = parseConfig(`[global]
k3s-url=https://10.0.0.1:6443
k3s-token=t
cluster-name=home-lab
expander=priority,least-waste
node-provision-timeout=90s
node-labels=tier=workers
arch=x86_64
[nodegroup "arm"]
slicer-url=http://10.0.1.2:8081/
slicer-token=t2
arch=aarch64
priority=10
min-size=0
node-provision-timeout=2m
node-labels=disk=ssd
node-taints=dedicated=arm:NoSchedule
[nodegroup "x86"]
slicer-url=http://10.0.1.1:8081
slicer-token=t1
`);
    const [arm, x86] = c.groups;
    expect(arm).toMatchObject({
      arch: 'arm64',
      priority: 10,
      minSize: 0,
      provisionTimeoutMs: 120_000,
      slicerUrl: 'http://10.0.1.2:8081',
    });
    expect(arm!.labels).toEqual({ tier: 'workers', disk: 'ssd' });
    expect(arm!.taints).toEqual([{ key: 'dedicated', value: 'arm', effect: 'NoSchedule' }]);
    expect(x86).toMatchObject({ arch: 'amd64', provisionTimeoutMs: 90_000 });
    expect(c).toMatchObject({ clusterName: 'home-lab', expander: 'priority,least-waste' });
  });
});

describe('broken configs name the section, the key and the fix', () => {
  const cases: [string, string, RegExp][] = [
    [
      'min above max',
      GOOD + 'min-size=5\nmax-size=3\n',
      /\[nodegroup "x86"\]: min-size 5 \(min-size\) is greater than max-size 3 \(max-size\); lower min-size or raise max-size/,
    ],
    [
      'min above max via global defaults',
      GOOD.replace('[nodegroup', 'default-min-size=9\n[nodegroup'),
      /min-size 9 \(default-min-size from \[global\]\) is greater than max-size 8/,
    ],
    [
      'URL without scheme',
      GOOD.replace('http://10.0.1.1:8081', '10.0.1.1:8081'),
      /\[nodegroup "x86"\] slicer-url \(line 5\): expected a URL with its scheme/,
    ],
    [
      'k3s-url without scheme',
      GOOD.replace('https://10.0.0.1:6443', '10.0.0.1:6443'),
      /\[global\] k3s-url \(line 2\): expected a URL with its scheme/,
    ],
    [
      'missing slicer token',
      GOOD.replace('slicer-token = slicer-secret-token-1\n', ''),
      /\[nodegroup "x86"\] slicer-token: missing; bearer token of that Slicer API/,
    ],
    [
      'missing k3s token',
      GOOD.replace('k3s-token = K10-super-secret-join-token\n', ''),
      /\[global\] k3s-token: missing/,
    ],
    ['empty token', GOOD.replace('slicer-secret-token-1', ''), /\[nodegroup "x86"\] slicer-token \(line 6\): is empty/],
    [
      'unknown key with a suggestion',
      GOOD + 'max_size=3\n',
      /\[nodegroup "x86"\] max_size \(line 7\): unknown key; did you mean max-size\?/,
    ],
    [
      'typo in a global key',
      GOOD.replace('k3s-url', 'k3s-ulr'),
      /\[global\] k3s-ulr \(line 2\): unknown key; did you mean k3s-url\?/,
    ],
    [
      'key in the wrong section',
      GOOD + 'default-max-size=4\n',
      /default-max-size \(line 7\): unknown key.*belongs in \[global\]/,
    ],
    ['negative size', GOOD + 'min-size=-1\n', /\[nodegroup "x86"\] min-size \(line 7\): must be 0 or more/],
    ['not a number', GOOD + 'max-size=lots\n', /max-size \(line 7\): expected a whole number/],
    [
      'duplicate group',
      GOOD + '[nodegroup "x86"]\nslicer-url=http://x:1\nslicer-token=t\n',
      /\[nodegroup "x86"\] \(line 7\): duplicate node group, first defined on line 4/,
    ],
    ['no node groups', '[global]\nk3s-url=https://a:6443\nk3s-token=t\n', /no \[nodegroup "NAME"\] section/],
    [
      'bad duration',
      GOOD + 'node-provision-timeout=5 minutes\n',
      /node-provision-timeout \(line 7\): '5 minutes' is not a duration; write it like 90s/,
    ],
    ['threshold above 1', GOOD + 'scale-down-utilization-threshold=1.5\n', /must be between 0 and 1/],
    [
      'unknown expander',
      GOOD.replace('[nodegroup', 'expander=price\n[nodegroup'),
      /expander \(line 4\): expected one of random, most-pods, least-waste, priority/,
    ],
    ['bad taint effect', GOOD + 'node-taints=gpu=true:NoRun\n', /'gpu=true:NoRun' is not a taint/],
    ['label that would inject shell', GOOD + 'node-labels=a=$(reboot)\n', /is not a label/],
    ['bad arch', GOOD + 'arch=riscv64\n', /arch \(line 7\): expected amd64 or arm64/],
    [
      'unnamed group',
      '[global]\nk3s-url=https://a:6443\nk3s-token=t\n[nodegroup]\nslicer-url=http://x:1\n',
      /\[nodegroup\] \(line 4\): needs the Slicer host group name/,
    ],
    ['line outside a section', 'k3s-url=https://a:6443\n', /line 1: k3s-url comes before any section/],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(problems(text).join('\n')).toMatch(expected);
  });

  it('reports every problem at once', () => {
    expect(problems(GOOD + 'min-size=-1\nfoo=bar\n')).toHaveLength(2);
  });
});

describe('tokens never show', () => {
  it('are redacted in the rendered config, JSON, inspect and template strings', () => {
    const c = parseConfig(GOOD);
    const outputs = [
      renderConfig(c),
      JSON.stringify(c),
      inspect(c, { depth: 10 }),
      `${c.k3sToken}`,
      String(c.groups[0]!.slicerToken),
    ];
    for (const out of outputs) {
      expect(out).not.toContain('K10-super-secret-join-token');
      expect(out).not.toContain('slicer-secret-token-1');
    }
    expect(renderConfig(c)).toContain('slicer-token = [redacted]');
    expect(c.k3sToken.reveal()).toBe('K10-super-secret-join-token');
  });

  it('are not echoed in errors about the config', () => {
    const text = GOOD.replace('slicer-url = http://10.0.1.1:8081', 'slicer-url = nope') + 'unknown=1\n';
    const out = problems(text).join('\n');
    expect(out).not.toContain('slicer-secret-token-1');
    expect(out).not.toContain('K10-super-secret-join-token');
  });
});

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['0', 0],
    ['1.5s', 1500],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(['', '5', '-1s', '5 m', 'm5', '1d'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
  it('prints back the shortest form', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_000)).toBe('1m30s');
  });
});
