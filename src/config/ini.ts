/** One `key = value` line, with where it came from for error messages. */
export interface IniEntry {
  /** Lower case: gcfg compares variable names ignoring case. */
  key: string;
  /** As written, to decide whether it is safe to print (see `printableKey`). */
  rawKey: string;
  value: string;
  /** `key` alone on its line: gcfg's "implicit value", true for booleans. */
  blank: boolean;
  line: number;
}

/** A section: `[global]` has no name, `[nodegroup "k3s-agents-1"]` has kind `nodegroup` and a name. */
export interface IniSection {
  kind: string;
  name?: string;
  line: number;
  entries: IniEntry[];
}

/**
 * Every syntax problem of a file, each `line N: what is wrong; the fix`. No message contains text from the file
 * except a key name that `printableKey` accepts: a line that fails to parse may be a pasted token.
 */
export class IniSyntaxError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

const NOT_SHOWN = '(the line is not shown, it may hold a secret)';

/**
 * A key name is printed only when it reads like one (lower-case words joined by '-' or '_'), so a line holding a
 * token (which rarely has that shape) is never echoed as "unknown key ...".
 */
export function printableKey(rawKey: string): boolean {
  return rawKey.length <= 40 && /^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/.test(rawKey) && !/\d{3,}/.test(rawKey);
}

const isLetter = (c: string | undefined) => c !== undefined && /^[A-Za-z]$/.test(c);
const isNameChar = (c: string | undefined) => c !== undefined && /^[A-Za-z0-9_-]$/.test(c);
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r';
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', n: '\n' };

/**
 * Parses the gcfg format the Slicer cluster-autoscaler provider reads (git-config syntax), with its rules:
 * `;` and `#` start a comment anywhere outside double quotes; a value runs to the end of the line or the comment,
 * trimmed; double quotes may cover part of a value and know the escapes \" \\ \n; a `\` at the end of a line
 * outside quotes continues the value; only LF ends a line (CR before LF is ignored, a lone CR is refused); section
 * and key names ignore case, the quoted subsection name does not. Unlike a generic INI parser it keeps line
 * numbers and keeps repeated sections apart, so duplicates can be reported instead of silently merged.
 */
export function parseIni(input: string): IniSection[] {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const loneCr = /\r(?!\n)/.exec(text);
  if (loneCr) {
    const line = text.slice(0, loneCr.index).split('\n').length;
    throw new IniSyntaxError([
      `line ${line}: carriage returns (CR) without line feeds, so the file reads as one line; save it with LF (Unix) or CRLF (Windows) line endings`,
    ]);
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const line = text.slice(0, nul).split('\n').length;
    throw new IniSyntaxError([`line ${line}: contains a NUL byte; the cloud-config is UTF-8 text`]);
  }
  const problems: string[] = [];
  const sections: IniSection[] = [];
  let current: IniSection | undefined;
  let pos = 0;
  let line = 1;
  const peek = () => text[pos];

  function skipSpace(): void {
    while (isSpace(peek())) pos++;
  }
  /** Consumes the rest of the line (including its LF); true when only space or a comment was left. */
  function restOfLineIsEmpty(): boolean {
    skipSpace();
    const c = peek();
    const empty = c === undefined || c === '\n' || c === ';' || c === '#';
    while (pos < text.length && text[pos] !== '\n') pos++;
    if (peek() === '\n') {
      pos++;
      line++;
    }
    return empty;
  }
  function fail(message: string, atLine = line): void {
    problems.push(`line ${atLine}: ${message}`);
    // Resynchronise at the next line.
    while (pos < text.length && text[pos] !== '\n') pos++;
    if (peek() === '\n') {
      pos++;
      line++;
    }
  }
  function name(): string {
    const start = pos;
    while (isNameChar(peek())) pos++;
    return text.slice(start, pos);
  }
  /** A double-quoted string after its opening quote; undefined (and a problem) when broken. */
  function quoted(startLine: number): string | undefined {
    let out = '';
    for (;;) {
      const c = text[pos++];
      if (c === undefined || c === '\n') {
        pos--;
        fail('a double quote opened in this value is never closed', startLine);
        return undefined;
      }
      if (c === '"') return out;
      if (c === '\\') {
        const e = text[pos++];
        const unescaped = e === undefined ? undefined : ESCAPES[e];
        if (unescaped === undefined) {
          pos--;
          fail('unknown escape in a quoted value; only \\", \\\\ and \\n are allowed', startLine);
          return undefined;
        }
        out += unescaped;
      } else out += c;
    }
  }
  /** The value after `=`: to the end of the line or an unquoted `;`/`#`, trimmed, quotes removed. */
  function value(startLine: number): string | undefined {
    skipSpace();
    let out = '';
    let keep = 0; // length of `out` up to its last character that is not trailing space
    for (;;) {
      const c = peek();
      if (c === undefined || c === '\n' || c === ';' || c === '#') break;
      pos++;
      if (c === '"') {
        const q = quoted(startLine);
        if (q === undefined) return undefined;
        out += q;
        keep = out.length;
      } else if (c === '\\') {
        if (peek() === '\r') pos++;
        if (peek() !== '\n') {
          fail(
            "a '\\' outside double quotes must end the line (it continues the value); quote the value to keep a backslash",
            startLine,
          );
          return undefined;
        }
        pos++;
        line++;
      } else if (c === '\r') {
        // CR before LF is not part of the value (CRLF files).
      } else {
        out += c;
        if (!isSpace(c)) keep = out.length;
      }
    }
    return out.slice(0, keep);
  }

  while (pos < text.length) {
    skipSpace();
    const c = peek();
    const at = line;
    if (c === undefined) break;
    if (c === '\n' || c === ';' || c === '#') {
      restOfLineIsEmpty();
      continue;
    }
    if (c === '[') {
      pos++;
      skipSpace();
      const kind = name();
      if (!kind || !isLetter(kind[0])) {
        fail('expected a section name, like [global] or [nodegroup "NAME"]');
        continue;
      }
      skipSpace();
      let sub: string | undefined;
      if (peek() === '"') {
        pos++;
        const q = quoted(at);
        if (q === undefined) continue;
        if (q === '') {
          fail('empty name in quotes; write [nodegroup "NAME"]', at);
          continue;
        }
        sub = q;
        skipSpace();
      } else if (peek() !== ']' && peek() !== undefined && peek() !== '\n') {
        fail('the name needs double quotes, like [nodegroup "k3s-agents-1"]');
        continue;
      }
      if (peek() !== ']') {
        fail("expected ']' to close the section header");
        continue;
      }
      pos++;
      current = { kind: kind.toLowerCase(), name: sub, line: at, entries: [] };
      sections.push(current);
      if (!restOfLineIsEmpty())
        problems.push(`line ${at}: unexpected text after the section header; start comments with ; or #`);
      continue;
    }
    if (!isLetter(c)) {
      fail(`expected [section] or key = value ${NOT_SHOWN}`);
      continue;
    }
    const rawKey = name();
    skipSpace();
    const next = peek();
    const blank = next === undefined || next === '\n' || next === ';' || next === '#';
    if (!blank && next !== '=') {
      fail(
        printableKey(rawKey)
          ? `expected '=' after ${rawKey}; write ${rawKey} = VALUE`
          : `expected '=' after the key; write key = value ${NOT_SHOWN}`,
      );
      continue;
    }
    let v = '';
    if (!blank) {
      pos++;
      const parsed = value(at);
      if (parsed === undefined) continue;
      v = parsed;
    }
    restOfLineIsEmpty();
    if (!current) {
      problems.push(
        printableKey(rawKey)
          ? `line ${at}: ${rawKey} comes before any section; put it under [global] or [nodegroup "NAME"]`
          : `line ${at}: a key comes before any section; put it under [global] or [nodegroup "NAME"]`,
      );
      continue;
    }
    current.entries.push({ key: rawKey.toLowerCase(), rawKey, value: v, blank, line: at });
  }
  if (problems.length) throw new IniSyntaxError(problems);
  return sections;
}
