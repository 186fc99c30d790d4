import type { Secret } from './secret.js';

const R = '[redacted]';

// What a credential looks like in text we did not write (Slicer's error bodies, a VM's serial console). Names and
// labels stay, values go; the shapes are those of k3s join tokens, bearer tokens, JWTs, PEM keys, URL user info,
// `name=value` pairs whose name says secret, and long random-looking runs.
const PATTERNS: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, R],
  [/\bK10[0-9a-fA-F]*::[^\s"']+/g, R],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${R}`],
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, R],
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@"']+@/gi, `$1${R}@`],
  [
    /\b([A-Za-z0-9_.-]*(?:token|secret|passw(?:or)?d|passwd|api[_-]?key|credential)s?)(["']?\s*[:=]\s*["']?)(?!\[redacted\])[^\s"',;&]+/gi,
    `$1$2${R}`,
  ],
  // 32+ characters of token alphabet with both letters and digits: hashes, keys, random tokens.
  [/(?<![A-Za-z0-9+/_=-])(?=[A-Za-z0-9+/_=-]*[0-9])(?=[A-Za-z0-9+/_=-]*[A-Za-z])[A-Za-z0-9+/_=-]{32,}/g, R],
];

/**
 * `text` with every known secret (and its base64 form) and everything shaped like a credential replaced by
 * [redacted]. For text from outside (HTTP error bodies, console logs) before it becomes an error, a log line or a
 * workflow result.
 */
export function redactSecrets(text: string, known: readonly Secret[] = []): string {
  let out = text;
  for (const secret of known) {
    const value = secret.reveal();
    // Very short values would redact ordinary words; they are too weak to be tokens anyway.
    if (value.length < 6) continue;
    for (const form of [value, Buffer.from(value).toString('base64')]) out = out.split(form).join(R);
  }
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

/** At most `max` characters, ending in … when cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
