// Executions and their history, one JSON file each under <dataDir>/stepfunctions/executions/,
// written through (atomically: temp file + rename) so a restart of the facade keeps them.
// The files are a convenience, not the truth (the records live in DynamoDB): when they cannot be
// written (a full disk, a read-only folder), the executions go on in memory, the failure is logged
// once, and the writes are retried until they succeed. A disk error must never take the stack down.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeWriteError } from '../disk.ts';
import type { HistoryEvent, HistoryEventBody } from './history.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  /** the input as given (a JSON text) */
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  /** epoch milliseconds */
  startDate: number;
  stopDate?: number;
  events: HistoryEvent[];
  /** StopExecution was called (as opposed to the facade shutting down) */
  stopRequested?: boolean;
}

/** How long the store waits before it tries again to write what a failed write left behind. */
export const WRITE_RETRY_MS = 5000;

export class ExecutionStore {
  private readonly dir: string;
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly dirty = new Set<ExecutionRecord>();
  private flushScheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** the reason the last write failed, until a flush writes everything again */
  private failing: string | undefined;

  /**
   * onWriteFailure hears of every failed write (the local stack gives its space reserve back on
   * ENOSPC); log reports what the store does about it.
   */
  constructor(
    dataDir: string,
    private readonly onWriteFailure: (err: unknown) => void = () => undefined,
    private readonly log: (message: string) => void = (message) => console.error(message),
  ) {
    this.dir = join(dataDir, 'stepfunctions', 'executions');
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      // e.g. a first start on a full disk: run from memory, the writes will say why they fail
      this.log(`[local] Step Functions: cannot create ${this.dir}: ${describeWriteError(err)}; executions are kept in memory only`);
      return;
    }
    for (const file of readdirSync(this.dir)) {
      const path = join(this.dir, file);
      if (file.endsWith('.tmp')) {
        // what a write cut short (by a full disk or a crash) left: never renamed, so never valid
        rmSync(path, { force: true });
        continue;
      }
      if (!file.endsWith('.json')) continue;
      try {
        const record = JSON.parse(readFileSync(path, 'utf8')) as ExecutionRecord;
        this.records.set(record.executionArn, record);
      } catch (err) {
        // one unreadable file costs that execution's history, not the start of the stack
        this.log(`[local] Step Functions: skipping ${path}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  get(executionArn: string): ExecutionRecord | undefined {
    return this.records.get(executionArn);
  }

  list(): ExecutionRecord[] {
    return [...this.records.values()];
  }

  /** Why the history is not on disk right now (undefined: everything is written). */
  get writeFailure(): string | undefined {
    return this.failing;
  }

  create(fields: Pick<ExecutionRecord, 'executionArn' | 'stateMachineArn' | 'name' | 'input'>): ExecutionRecord {
    const record: ExecutionRecord = { ...fields, status: 'RUNNING', startDate: Date.now(), events: [] };
    this.records.set(record.executionArn, record);
    this.save(record);
    return record;
  }

  appendEvent(record: ExecutionRecord, event: HistoryEventBody): void {
    const id = record.events.length + 1;
    record.events.push({ ...event, id, previousEventId: id - 1 });
    this.save(record);
  }

  finish(record: ExecutionRecord, status: Exclude<ExecutionStatus, 'RUNNING'>, details: { output?: string; error?: string; cause?: string }): void {
    record.status = status;
    record.stopDate = Date.now();
    if (details.output !== undefined) record.output = details.output;
    if (details.error !== undefined) record.error = details.error;
    if (details.cause !== undefined) record.cause = details.cause;
    this.save(record);
  }

  /** Writes are batched per tick: an execution emits a burst of events per state. */
  private save(record: ExecutionRecord): void {
    this.dirty.add(record);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes every changed record; never throws (see the file's comment). */
  flush(): void {
    this.flushScheduled = false;
    for (const record of [...this.dirty]) {
      const file = join(this.dir, `${encodeURIComponent(record.executionArn.split(':').slice(-2).join(':'))}.json`);
      try {
        writeFileSync(`${file}.tmp`, JSON.stringify(record));
        renameSync(`${file}.tmp`, file);
        this.dirty.delete(record);
      } catch (err) {
        // the partial temporary file holds space a full disk needs back
        try { rmSync(`${file}.tmp`, { force: true }); } catch { /* nothing more to free */ }
        this.writeFailed(err);
        this.onWriteFailure(err);
        break; // the next records would fail the same way; the retry writes them all
      }
    }
    if (this.dirty.size === 0 && this.failing !== undefined) {
      this.failing = undefined;
      this.log(`[local] Step Functions: execution history is written to ${this.dir} again`);
    }
  }

  /** Stops retrying (the facade is stopping); what is still unwritten stays unwritten. */
  close(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private writeFailed(err: unknown): void {
    const reason = describeWriteError(err);
    if (this.failing !== reason) {
      this.failing = reason;
      this.log(
        `[local] Step Functions: cannot write execution history to ${this.dir}: ${reason}. ` +
          `Executions go on in memory; retrying every ${WRITE_RETRY_MS / 1000} s.`,
      );
    }
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, WRITE_RETRY_MS);
    // a pending retry must not keep a stopping process alive
    this.retryTimer.unref();
  }
}
