/** One `key = value` line, with where it came from for error messages. */
export interface IniEntry {
  key: string;
  value: string;
  line: number;
}

/** A section: `[global]` has no name, `[nodegroup "k3s-agents-1"]` has kind `nodegroup` and a name. */
export interface IniSection {
  kind: string;
  name?: string;
  line: number;
  entries: IniEntry[];
}

export class IniSyntaxError extends Error {}

const SECTION = /^\[\s*([A-Za-z][\w-]*)(?:\s+(?:"([^"]*)"|'([^']*)'|([^\s\]]+)))?\s*\]$/;

/**
 * Parses the gcfg-style INI the Slicer cluster-autoscaler provider reads. Unlike a generic INI parser it keeps
 * line numbers and keeps repeated sections apart, so duplicates can be reported instead of silently merged.
 */
export function parseIni(text: string): IniSection[] {
  const sections: IniSection[] = [];
  let current: IniSection | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) return;
    if (trimmed.startsWith('[')) {
      const m = SECTION.exec(trimmed);
      if (!m)
        throw new IniSyntaxError(
          `line ${line}: '${trimmed}' is not a section header; expected [global] or [nodegroup "NAME"]`,
        );
      current = { kind: m[1]!.toLowerCase(), name: m[2] ?? m[3] ?? m[4], line, entries: [] };
      sections.push(current);
      return;
    }
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new IniSyntaxError(`line ${line}: expected 'key = value', got '${trimmed.slice(0, 60)}'`);
    if (!current) throw new IniSyntaxError(`line ${line}: '${trimmed.slice(0, eq).trim()}' comes before any [section]`);
    let value = trimmed.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    current.entries.push({ key: trimmed.slice(0, eq).trim().toLowerCase(), value, line });
  });
  return sections;
}
