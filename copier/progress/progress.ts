// Progress of a run: counters the engines bump, and a throttle that hands a snapshot to a sink (the
// DynamoDB records) at most once per interval, with a trailing write so the last change in a burst
// is never lost, and one final write at the end: on success it must land (the record's counts,
// warnings included, are then exact, and a backup's are what restores are checked against); on
// failure it carries the reason with the figures as the copier last knew them.

export type Phase = 'scanning' | 'copying' | 'verifying' | 'done';

export interface ProgressCounters {
  phase: Phase;
  files_total: number;
  files_done: number;
  bytes_total: number;
  bytes_done: number;
  /** report entries so far (report.ts): what the run could not keep or had to resolve */
  warnings: number;
}

export interface ProgressSnapshot extends ProgressCounters {
  eta_seconds: number | null;
  updated_at: string;
  /** Manila's progress string, "0".."100" */
  percent: string;
}

export interface ProgressSink {
  write(snapshot: ProgressSnapshot): Promise<void>;
  /** record why the run failed, with the figures as they stood (best effort) */
  fail(reason: string, last: ProgressSnapshot): Promise<void>;
}

/** The final progress write of a successful run did not land: the record would not tell the truth. */
export class FinalProgressError extends Error {
  override name = 'FinalProgressError';
}

/**
 * Integer percent by bytes, or by files when there are no bytes to copy. "100" only once the run is
 * done: totals can be estimates (a live share changes during a backup), so until then it stays ≤ 99.
 */
export function percentOf(counters: Omit<ProgressCounters, 'warnings'>): number {
  if (counters.phase === 'done') return 100;
  const [done, total] = counters.bytes_total > 0 ? [counters.bytes_done, counters.bytes_total] : [counters.files_done, counters.files_total];
  if (total <= 0) return 0;
  return Math.max(0, Math.min(99, Math.floor((done * 100) / total)));
}

/**
 * Seconds left at the rate seen since copying started, by bytes (or files when there are no bytes);
 * null while there is no rate to go by yet.
 */
export function etaSeconds(counters: Omit<ProgressCounters, 'warnings'>, elapsedMs: number): number | null {
  if (counters.phase === 'done') return 0;
  const [done, total] = counters.bytes_total > 0 ? [counters.bytes_done, counters.bytes_total] : [counters.files_done, counters.files_total];
  if (done <= 0 || elapsedMs <= 0) return null;
  const remaining = Math.max(0, total - done);
  return Math.ceil((remaining * elapsedMs) / done / 1000);
}

export interface ReporterOptions {
  /** minimum time between two writes, 1000 ms by default */
  intervalMs?: number;
  now?: () => number;
  /** where write failures go: progress is best effort and never fails a copy */
  onWriteError?: (error: unknown) => void;
}

export class ProgressReporter {
  readonly counters: ProgressCounters = { phase: 'scanning', files_total: 0, files_done: 0, bytes_total: 0, bytes_done: 0, warnings: 0 };
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly onWriteError: (error: unknown) => void;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private copyStartedAt: number | undefined;
  private finished = false;

  constructor(private readonly sink: ProgressSink | undefined, options: ReporterOptions = {}) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.onWriteError = options.onWriteError ?? (() => undefined);
  }

  setPhase(phase: Phase): void {
    if (phase === 'copying' && this.copyStartedAt === undefined) this.copyStartedAt = this.now();
    this.counters.phase = phase;
    this.changed();
  }

  setTotals(files: number, bytes: number): void {
    this.counters.files_total = files;
    this.counters.bytes_total = bytes;
    this.changed();
  }

  addBytes(bytes: number): void {
    this.counters.bytes_done += bytes;
    this.changed();
  }

  fileDone(): void {
    this.counters.files_done += 1;
    this.changed();
  }

  warning(): void {
    this.counters.warnings += 1;
    this.changed();
  }

  snapshot(): ProgressSnapshot {
    const elapsed = this.copyStartedAt === undefined ? 0 : this.now() - this.copyStartedAt;
    return {
      ...this.counters,
      eta_seconds: etaSeconds(this.counters, elapsed),
      updated_at: new Date(this.now()).toISOString(),
      percent: String(percentOf(this.counters)),
    };
  }

  /** Something changed: write now if the last write is an interval old, else once the interval is up. */
  changed(): void {
    if (!this.sink || this.finished || this.timer !== undefined) return;
    const wait = Math.max(0, this.lastWriteAt + this.intervalMs - this.now());
    if (wait === 0) this.flush();
    else this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  /**
   * The final write (success): no more throttled writes after it. It is not best effort: the
   * record's final counts are the ones users and the restore size check go by, so a final write
   * that does not land (after the sink's own retries) fails the run with FinalProgressError.
   */
  async finish(): Promise<void> {
    this.stopTimer();
    this.finished = true;
    const sink = this.sink;
    if (!sink) return;
    await this.writing;
    const last = this.snapshot();
    this.lastWriteAt = this.now();
    try {
      await sink.write(last);
    } catch (error) {
      throw new FinalProgressError(`the final progress could not be recorded: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * The run failed: record the reason with the figures as they stand (after any write in flight,
   * so neither is overwritten by an older snapshot).
   */
  async fail(reason: string): Promise<void> {
    this.stopTimer();
    this.finished = true;
    const sink = this.sink;
    if (!sink) return;
    await this.writing;
    await sink.fail(reason, this.snapshot()).catch(this.onWriteError);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    const sink = this.sink;
    if (!sink) return;
    this.lastWriteAt = this.now();
    const snapshot = this.snapshot();
    // writes are chained so they land in order; a slow write delays the next, never overlaps it
    this.writing = this.writing.then(() => sink.write(snapshot)).catch(this.onWriteError);
  }
}
