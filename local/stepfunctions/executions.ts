// Executions and their history, one JSON file each under <dataDir>/stepfunctions/executions/,
// written through (atomically: temp file + rename) so a restart of the facade keeps them.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

export class ExecutionStore {
  private readonly dir: string;
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly dirty = new Set<ExecutionRecord>();
  private flushScheduled = false;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'stepfunctions', 'executions');
    mkdirSync(this.dir, { recursive: true });
    for (const file of readdirSync(this.dir).filter((f) => f.endsWith('.json'))) {
      const record = JSON.parse(readFileSync(join(this.dir, file), 'utf8')) as ExecutionRecord;
      this.records.set(record.executionArn, record);
    }
  }

  get(executionArn: string): ExecutionRecord | undefined {
    return this.records.get(executionArn);
  }

  list(): ExecutionRecord[] {
    return [...this.records.values()];
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

  flush(): void {
    this.flushScheduled = false;
    for (const record of this.dirty) {
      const file = join(this.dir, `${encodeURIComponent(record.executionArn.split(':').slice(-2).join(':'))}.json`);
      writeFileSync(`${file}.tmp`, JSON.stringify(record));
      renameSync(`${file}.tmp`, file);
    }
    this.dirty.clear();
  }
}
