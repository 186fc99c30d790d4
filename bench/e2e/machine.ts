import { readFileSync } from 'node:fs';

// What the machine was doing while a scenario ran: the worker's resident memory (from /proc, every 200 ms) and the
// load average. Linux only, as the local stack is.

/** Resident set size of a process in MiB, or undefined once it has exited. */
export function rssMiB(pid: number): number | undefined {
  return statusField(pid, 'VmRSS');
}

/** The kernel's high-water mark of a process's resident set, in MiB: catches a spike between two samples. */
export function peakRssMiB(pid: number): number | undefined {
  return statusField(pid, 'VmHWM');
}

function statusField(pid: number, field: string): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): [number, number, number] {
  const [a = '0', b = '0', c = '0'] = readFileSync('/proc/loadavg', 'utf8').split(' ');
  return [Number(a), Number(b), Number(c)];
}

/** One sample of the worker's memory, seconds since the sampler started. */
export interface RssSample {
  t: number;
  mib: number;
}

/**
 * Samples a process's RSS every `everyMs` and the load average every 5 s, keeping the peak and a bounded series
 * (every sample for the first MAX_SERIES, then every other one is dropped, so a long run keeps its shape).
 */
export class MachineSampler {
  private readonly timer: NodeJS.Timeout;
  private readonly started = Date.now();
  private readonly series: RssSample[] = [];
  private step = 1;
  private count = 0;
  peakMiB = 0;
  readonly loadAtStart = loadAverage();
  maxLoad1m: number;
  private marks = new Map<string, number>();

  constructor(
    private readonly pid: number,
    everyMs = 200,
  ) {
    this.maxLoad1m = this.loadAtStart[0];
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  private sample(): void {
    const mib = rssMiB(this.pid);
    this.count += 1;
    if (this.count % 25 === 0) this.maxLoad1m = Math.max(this.maxLoad1m, loadAverage()[0]);
    if (mib === undefined) return;
    this.peakMiB = Math.max(this.peakMiB, mib);
    for (const [name, peak] of this.marks) this.marks.set(name, Math.max(peak, mib));
    if (this.count % this.step !== 0) return;
    this.series.push({ t: Math.round((Date.now() - this.started) / 100) / 10, mib: Math.round(mib) });
    if (this.series.length >= MAX_SERIES) {
      // Halve the resolution: keep every other sample, sample half as often from now on.
      for (let i = 1; i < this.series.length / 2; i++) this.series[i] = this.series[i * 2]!;
      this.series.length = Math.floor(this.series.length / 2);
      this.step *= 2;
    }
  }

  /** The current RSS in MiB. */
  now(): number {
    return rssMiB(this.pid) ?? 0;
  }

  /** Starts tracking a phase's own peak (e.g. 'burst'); `phasePeak(name)` reads it. */
  startPhase(name: string): void {
    this.marks.set(name, this.now());
  }

  phasePeak(name: string): number {
    return this.marks.get(name) ?? 0;
  }

  stop(): { peakMiB: number; series: RssSample[]; loadAtStart: number[]; loadAtEnd: number[]; maxLoad1m: number } {
    clearInterval(this.timer);
    const hwm = peakRssMiB(this.pid);
    const loadAtEnd = loadAverage();
    return {
      peakMiB: Math.round(Math.max(this.peakMiB, hwm ?? 0)),
      series: this.series,
      loadAtStart: this.loadAtStart,
      loadAtEnd,
      maxLoad1m: Math.max(this.maxLoad1m, loadAtEnd[0]),
    };
  }
}

/** The series is halved whenever it reaches this many samples. */
const MAX_SERIES = 600;
