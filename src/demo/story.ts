import { appendFileSync, writeFileSync } from 'node:fs';
import type { Feed } from '../cli/view/app.js';

/** Lines kept for the live view; the whole story also goes to the log file. */
const KEEP_LINES = 200;

/**
 * The demo's narration: timestamped lines, printed as they come in plain mode, or held for the live view (which
 * shows the newest ones above the table). Every line is also appended to `logFile`.
 */
export class Story implements Feed {
  private readonly kept: string[] = [];
  private readonly listeners = new Set<() => void>();
  private snapshot: readonly string[] = [];
  private readonly t0 = Date.now();

  private logFile: string | undefined;
  /** Log-only lines (the worker's warnings) before the log file exists; bounded like the story. */
  private readonly pendingRecords: string[] = [];
  /** How many log-only lines were recorded, for the closing line. */
  recorded = 0;

  constructor(private readonly plain: boolean) {}

  /** From now on every line also goes to `file`, starting with the lines said so far. */
  logTo(file: string): void {
    writeFileSync(file, [...this.kept, ...this.pendingRecords].map((l) => `${l}\n`).join(''));
    this.pendingRecords.length = 0;
    this.logFile = file;
  }

  /** A line for the log file only (not narrated). */
  record = (line: string): void => {
    this.recorded += 1;
    if (this.logFile) appendFileSync(this.logFile, `${line}\n`);
    else if (this.pendingRecords.length < KEEP_LINES) this.pendingRecords.push(line);
  };

  /** Seconds since the demo started, as the lines show it. */
  elapsed(): string {
    return `${((Date.now() - this.t0) / 1000).toFixed(1)}s`;
  }

  say = (line: string): void => {
    const text = `[demo ${this.elapsed().padStart(6)}] ${line}`;
    if (this.plain) console.log(text);
    if (this.logFile) appendFileSync(this.logFile, `${text}\n`);
    this.kept.push(text);
    if (this.kept.length > KEEP_LINES) this.kept.splice(0, this.kept.length - KEEP_LINES);
    this.snapshot = [...this.kept];
    for (const l of this.listeners) l();
  };

  lines = (): readonly string[] => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}
