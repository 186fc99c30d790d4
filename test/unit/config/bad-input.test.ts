import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_FILE_MAX_BYTES, ConfigError, loadConfig, parseConfig } from '../../../src/config/load.js';
import { renderConfig } from '../../../src/config/render.js';

// Input at the edge: whatever the file holds, the answer names the line and the fix and never shows a token.

const TOKEN = 'K10c0ffee1234567890abcdef::server:hunter2-join';
const SLICER = 'slicer-tok-5f2a9c0e7d';

const GOOD = `[global]
k3s-url = https://10.0.0.1:6443
k3s-token = ${TOKEN}
[nodegroup "x86"]
slicer-url = http://10.0.1.1:8081
slicer-token = ${SLICER}
`;

function problems(text: string): string[] {
  try {
    parseConfig(text, 'cc.ini');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the config to be refused');
}

/** The whole text a user sees for this input, checked for any trace of the two tokens. */
function expectNoSecret(out: string): void {
  expect(out).not.toContain('hunter2');
  expect(out).not.toContain('c0ffee');
  expect(out).not.toContain(SLICER);
  expect(out).not.toContain('5f2a9c0e7d');
}

describe('syntax errors never echo the line', () => {
  it('refuses CR-only line endings without printing the file', () => {
    const out = problems(GOOD.replace(/\n/g, '\r'));
    expect(out).toEqual([
      'cc.ini line 1: carriage returns (CR) without line feeds, so the file reads as one line; save it with LF (Unix) or CRLF (Windows) line endings',
    ]);
    expectNoSecret(out.join('\n'));
  });

  it('accepts CRLF line endings', () => {
    expect(parseConfig(GOOD.replace(/\n/g, '\r\n')).k3sToken.reveal()).toBe(TOKEN);
  });

  it("refuses 'k3s-token: VALUE' naming the key, not the value", () => {
    const out = problems(GOOD.replace(`k3s-token = ${TOKEN}`, `k3s-token: ${TOKEN}`));
    expect(out).toEqual(["cc.ini line 3: expected '=' after k3s-token; write k3s-token = VALUE"]);
    expectNoSecret(out.join('\n'));
  });

  it('refuses a token pasted on a line of its own without showing any of it', () => {
    const out = problems(GOOD.replace(`k3s-token = ${TOKEN}`, TOKEN));
    expect(out).toEqual([
      "cc.ini line 3: expected '=' after the key; write key = value (the line is not shown, it may hold a secret)",
    ]);
    expectNoSecret(out.join('\n'));
  });

  it('does not echo a base64-looking token that happens to end in =', () => {
    const out = problems(GOOD + 'c0ffeeHunter2SlicerTokenZm9v==\n');
    expect(out.join('\n')).toMatch(/\[nodegroup "x86"\] \(line 7\): unknown key \(not shown/);
    expectNoSecret(out.join('\n'));
  });

  it('refuses a line that starts with neither a key nor a section', () => {
    const out = problems(GOOD + `"${SLICER}"\n`);
    expect(out).toEqual([
      'cc.ini line 7: expected [section] or key = value (the line is not shown, it may hold a secret)',
    ]);
  });

  it.each([
    ['[nodegroup x86]', 'cc.ini line 4: the name needs double quotes, like [nodegroup "k3s-agents-1"]'],
    ['[nodegroup "x86"', "cc.ini line 4: expected ']' to close the section header"],
    ['[nodegroup "x86"] junk', 'cc.ini line 4: unexpected text after the section header; start comments with ; or #'],
    ['[nodegroup ""]', 'cc.ini line 4: empty name in quotes; write [nodegroup "NAME"]'],
    ['[]', 'cc.ini line 4: expected a section name, like [global] or [nodegroup "NAME"]'],
  ])('refuses the header %s', (header, message) => {
    expect(problems(GOOD.replace('[nodegroup "x86"]', header))).toEqual([message]);
  });

  it('reports every syntax error at once', () => {
    const out = problems(GOOD.replace('k3s-url =', 'k3s-url:').replace('slicer-token =', 'slicer-token'));
    expect(out).toHaveLength(2);
  });

  it('refuses an unterminated quote and an unknown escape', () => {
    expect(problems(GOOD.replace(`k3s-token = ${TOKEN}`, `k3s-token = "${TOKEN}`))).toEqual([
      'cc.ini line 3: a double quote opened in this value is never closed',
    ]);
    expect(problems(GOOD.replace(`k3s-token = ${TOKEN}`, `k3s-token = "a\\qb"`))).toEqual([
      'cc.ini line 3: unknown escape in a quoted value; only \\", \\\\ and \\n are allowed',
    ]);
  });

  it('refuses a key outside any section, naming the key', () => {
    expect(problems('k3s-url = https://a:6443\n')).toEqual([
      'cc.ini line 1: k3s-url comes before any section; put it under [global] or [nodegroup "NAME"]',
    ]);
  });

  it('does not print an unknown section header that may be a token', () => {
    expect(problems(GOOD + '[K10c0ffee1234567890abcdef]\n')).toEqual([
      'a section (name not shown, it may be a secret) (line 7): unknown section; expected [global] or [nodegroup "NAME"]',
    ]);
    expect(problems(GOOD + '[defaults]\n')).toEqual([
      '[defaults] (line 7): unknown section; expected [global] or [nodegroup "NAME"]',
    ]);
  });

  it('refuses NUL bytes', () => {
    expect(problems(GOOD.replace('x86"]', 'x86"]\0'))).toEqual([
      'cc.ini line 4: contains a NUL byte; the cloud-config is UTF-8 text',
    ]);
  });
});

describe('comments and quoting as in gcfg (the Go format the incumbent reads)', () => {
  it.each([
    ['# comment', TOKEN],
    ['; comment', TOKEN],
    ['#', TOKEN],
  ])('a value ends where an inline "%s" starts', (comment, expected) => {
    const c = parseConfig(GOOD.replace(`k3s-token = ${TOKEN}`, `k3s-token = ${TOKEN}   ${comment}`));
    expect(c.k3sToken.reveal()).toBe(expected);
  });

  it('keeps ; and # inside double quotes, and unescapes \\" and \\\\', () => {
    const c = parseConfig(GOOD.replace(`k3s-token = ${TOKEN}`, 'k3s-token = "a;b#c\\"d\\\\e" ; trailing comment'));
    expect(c.k3sToken.reveal()).toBe('a;b#c"d\\e');
  });

  it('joins a quoted part with unquoted text, as gcfg does', () => {
    const c = parseConfig(GOOD.replace(`k3s-token = ${TOKEN}`, 'k3s-token = ab"c d"ef'));
    expect(c.k3sToken.reveal()).toBe('abc def');
  });

  it('continues a value on the next line after a trailing backslash', () => {
    const c = parseConfig(GOOD.replace(`k3s-token = ${TOKEN}`, 'k3s-token = abc\\\ndef'));
    expect(c.k3sToken.reveal()).toBe('abcdef');
  });

  it('lets a comment follow a section header, and ignores case of section and key names', () => {
    const c = parseConfig(
      GOOD.replace('[global]', '[GLOBAL] ; the defaults').replace('k3s-url', 'K3S-URL').replace('"x86"]', '"x86"] # g'),
    );
    expect(c.k3sUrl).toBe('https://10.0.0.1:6443');
    expect(c.groups[0]!.name).toBe('x86');
  });

  it('skips a UTF-8 byte order mark', () => {
    expect(parseConfig('\uFEFF' + GOOD).groups).toHaveLength(1);
  });

  it('reads a bare boolean key as true, as gcfg does', () => {
    const c = parseConfig(GOOD.replace('[nodegroup', 'scale-down-enabled\n[nodegroup'));
    expect(c.scaleDownEnabled).toBe(true);
    expect(parseConfig(GOOD.replace('[nodegroup', 'scale-down-enabled = off\n[nodegroup')).scaleDownEnabled).toBe(
      false,
    );
  });

  it('refuses a bare key that needs a value', () => {
    expect(problems(GOOD + 'max-size\n')).toEqual(['[nodegroup "x86"] max-size (line 7): needs \'= VALUE\'']);
  });
});

describe('refuses what the worker would only reject at the first scale-up', () => {
  it.each([
    [
      'http://admin:hunter2@10.0.1.1:8081',
      'has a user name or password before @; remove it (slicer-token carries the credential)',
    ],
    [
      'http://hunter2@10.0.1.1:8081',
      'has a user name or password before @; remove it (slicer-token carries the credential)',
    ],
    [
      'http://10.0.1.1:8081 extra',
      'has text after the address; write only scheme, host, port and path, like http://192.168.138.1:8081',
    ],
    [
      'http://10.0.1.1:8081/?x=1',
      'has a query or fragment; write only scheme, host, port and path, like http://192.168.138.1:8081',
    ],
    ['ftp://10.0.1.1:8081', 'must start with http:// or https://'],
    ['http://10.0.1.1:99999', 'is not a valid URL (bad host or port)'],
    ['http://:8081', 'is not a valid URL (bad host or port)'],
    [
      'http://10.0.1.1:8081/a b',
      'has text after the address; write only scheme, host, port and path, like http://192.168.138.1:8081',
    ],
  ])('slicer-url %s', (url, message) => {
    const out = problems(GOOD.replace('http://10.0.1.1:8081', url));
    expect(out).toEqual([`[nodegroup "x86"] slicer-url (line 5): ${message}`]);
    expect(out.join('\n')).not.toContain('hunter2');
  });

  it('reads # in a URL as the start of a comment, as gcfg does', () => {
    expect(parseConfig(GOOD.replace('http://10.0.1.1:8081', 'http://10.0.1.1:8081#frag')).groups[0]!.slicerUrl).toBe(
      'http://10.0.1.1:8081',
    );
  });

  it('refuses user info in k3s-url too, and never prints it', () => {
    const out = problems(GOOD.replace('https://10.0.0.1:6443', 'https://node:hunter2@10.0.0.1:6443'));
    expect(out).toEqual([
      '[global] k3s-url (line 2): has a user name or password before @; remove it (k3s-token carries the credential)',
    ]);
  });

  it('accepts IPv6 hosts, host names, a path prefix and a trailing slash', () => {
    for (const url of ['http://[fd00::1]:8081', 'https://slicer.lan', 'http://10.0.1.1:8081/slicer/', 'http://h:1/']) {
      expect(parseConfig(GOOD.replace('http://10.0.1.1:8081', url)).groups[0]!.slicerUrl).toBe(url.replace(/\/$/, ''));
    }
  });

  it.each([
    ['x86 workers', 'spaces'],
    ['-x86', 'a leading dash'],
    ['a'.repeat(64), '64 characters'],
    ['x86/arm', 'a slash'],
  ])('refuses the group name %j (%s): it must be a label value', (name) => {
    expect(problems(GOOD.replace('"x86"', `"${name}"`))).toEqual([
      `[nodegroup] (line 4): the name becomes the node label slicer/hostgroup, so it must be a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
    ]);
  });
});

describe('the file itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-file-'));

  function loadProblems(path: string): string[] {
    try {
      loadConfig(path);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error('expected the file to be refused');
  }

  it('refuses a symlink to /dev/zero without reading it', () => {
    const link = join(dir, 'zero.ini');
    symlinkSync('/dev/zero', link);
    expect(loadProblems(link)).toEqual([
      `${link}: not a regular file (a character device); give the cloud-config file itself`,
    ]);
  });

  it('refuses a FIFO without hanging', () => {
    const fifo = join(dir, 'fifo.ini');
    execFileSync('mkfifo', [fifo]);
    expect(loadProblems(fifo)).toEqual([`${fifo}: not a regular file (a FIFO); give the cloud-config file itself`]);
  });

  it('refuses a directory', () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    expect(loadProblems(sub)).toEqual([`${sub}: not a regular file (a directory); give the cloud-config file itself`]);
  });

  it(`refuses a file over ${CONFIG_FILE_MAX_BYTES} bytes`, () => {
    const big = join(dir, 'big.ini');
    writeFileSync(big, GOOD + ';'.repeat(CONFIG_FILE_MAX_BYTES));
    expect(loadProblems(big)).toEqual([
      `${big}: ${GOOD.length + CONFIG_FILE_MAX_BYTES} bytes is more than the ${CONFIG_FILE_MAX_BYTES} a cloud-config may have`,
    ]);
  });

  it('refuses text that is not UTF-8', () => {
    const bad = join(dir, 'latin1.ini');
    writeFileSync(bad, Buffer.concat([Buffer.from(GOOD), Buffer.from([0xff, 0xfe, 0x0a])]));
    expect(loadProblems(bad)).toEqual([`${bad}: not UTF-8 text; save the cloud-config as UTF-8`]);
  });

  it('follows a symlink to a regular file (a mounted Kubernetes Secret is one)', () => {
    const real = join(dir, 'real.ini');
    writeFileSync(real, GOOD);
    const link = join(dir, 'cloud-config');
    symlinkSync(real, link);
    expect(loadConfig(link).groups).toHaveLength(1);
  });

  it('checks the ca-bundle file when loading: it must hold PEM certificates', () => {
    const notPem = join(dir, 'ca.txt');
    writeFileSync(notPem, 'not a certificate\n');
    const cfg = join(dir, 'with-ca.ini');
    writeFileSync(cfg, GOOD.replace('[nodegroup', `ca-bundle = ${notPem}\n[nodegroup`));
    expect(loadProblems(cfg)).toEqual([
      `[global] ca-bundle (line 4): ${notPem} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    ]);
    writeFileSync(cfg, GOOD.replace('[nodegroup', `ca-bundle = ${join(dir, 'missing.pem')}\n[nodegroup`));
    expect(loadProblems(cfg)).toEqual([`[global] ca-bundle (line 4): cannot read ${join(dir, 'missing.pem')}: ENOENT`]);
  });

  it('renders a loaded config without any secret', () => {
    const out = renderConfig(parseConfig(GOOD));
    expectNoSecret(out);
  });
});
