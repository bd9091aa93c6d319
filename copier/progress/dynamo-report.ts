// The report sink on DynamoDB: each report entry of a run becomes one item of the reports table
// (partition key the operation's id, the backup's or the restore's; sort key `seq`, 1, 2, 3… in
// the order reported), written in batches of 25 while the run goes on, and at close one summary
// item at seq 0 saying how many entries were reported, how many were stored, and whether the cap
// cut the report short. The API reads both (functions/api/reports.ts).
//
// Best effort per entry, like progress: a lost write loses that entry, never the run. The count is
// exact regardless: it is the run's `warnings`, which the progress record carries.
// Bounded: at most `cap` entries are stored per operation (a share with a million files on a file
// system without xattrs would otherwise write a million items), and at most `maxPending` entries
// wait in memory for DynamoDB; beyond either, entries are counted and not stored.
import { BATCH_WRITE_MAX_ITEMS, AwsRequestError, DynamoDbHttpClient, type ItemWriteClient } from './dynamodb-http.ts';
import type { ReportEntry, ReportSink } from './report.ts';

export interface ReportTarget {
  table: string;
  /** the backup id or the restore id (COPIER_RUN_ID) */
  operationId: string;
}

export interface DynamoReportSinkOptions {
  /** entries stored per operation; the rest are counted only (default 10,000) */
  cap?: number;
  /** entries waiting to be written before new ones are dropped (default 2,000) */
  maxPending?: number;
  /** where write failures go (main.ts: the log) */
  onWriteError?: (error: unknown) => void;
  /** tries of the items DynamoDB leaves unprocessed (throttling) before they count as lost (default 5) */
  unprocessedAttempts?: number;
}

export const DEFAULT_REPORT_CAP = 10_000;
const DEFAULT_MAX_PENDING = 2_000;
/** Longer `why` texts are cut: a sentence, not a dump. */
const MAX_WHY_CHARS = 2_000;
const WRITE_TIMEOUT_MS = 10_000;

type Item = Record<string, unknown>;

export class DynamoReportSink implements ReportSink {
  private client: ItemWriteClient | undefined;
  private readonly cap: number;
  private readonly maxPending: number;
  private readonly unprocessedAttempts: number;
  private readonly onWriteError: (error: unknown) => void;
  private buffer: Item[] = [];
  private writing: Promise<void> = Promise.resolve();
  /** entries handed to add() */
  reported = 0;
  /** entries DynamoDB acknowledged */
  stored = 0;
  /** entries given up on (write failed, or too many waiting) */
  lost = 0;
  /** entries over the cap */
  overCap = 0;
  private assigned = 0;

  constructor(private readonly target: ReportTarget, client?: ItemWriteClient, options: DynamoReportSinkOptions = {}) {
    this.client = client;
    this.cap = options.cap ?? DEFAULT_REPORT_CAP;
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    this.unprocessedAttempts = options.unprocessedAttempts ?? 5;
    this.onWriteError = options.onWriteError ?? (() => undefined);
  }

  add(entry: ReportEntry): void {
    this.reported += 1;
    if (this.assigned >= this.cap) {
      this.overCap += 1;
      return;
    }
    // seq numbers are given to the entries kept, so the stored ones are 1..n with no gap but a lost write's
    this.assigned += 1;
    if (this.assigned - this.stored - this.lost > this.maxPending) {
      this.lost += 1;
      return;
    }
    this.buffer.push(this.item(this.assigned, entry));
    if (this.buffer.length >= BATCH_WRITE_MAX_ITEMS) this.flush();
  }

  /** Writes what is buffered, waits for every write, then the summary item. Never throws. */
  async close(): Promise<void> {
    this.flush();
    await this.writing;
    const summary = {
      operation_id: this.target.operationId, seq: 0,
      reported: this.reported, stored: this.stored, truncated: this.overCap > 0,
    };
    try {
      await this.writer().putItem(this.target.table, summary, AbortSignal.timeout(WRITE_TIMEOUT_MS));
    } catch (error) {
      this.onWriteError(error);
    }
  }

  private item(seq: number, entry: ReportEntry): Item {
    return {
      operation_id: this.target.operationId,
      seq,
      path: entry.path,
      what: entry.what,
      action: entry.action,
      why: entry.why.length > MAX_WHY_CHARS ? `${entry.why.slice(0, MAX_WHY_CHARS)}…` : entry.why,
      ...(entry.moved_to !== undefined ? { moved_to: entry.moved_to } : {}),
    };
  }

  private writer(): ItemWriteClient {
    // made at the first write: a task without a region or endpoint loses its report entries
    // (logged), never its copy
    this.client ??= new DynamoDbHttpClient();
    return this.client;
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    // chained: one batch at a time, in order, so a slow DynamoDB holds entries in `buffer` (bounded
    // by maxPending), not in a growing set of open requests
    this.writing = this.writing.then(() => this.writeBatch(batch));
  }

  private async writeBatch(batch: Item[]): Promise<void> {
    let pending = batch;
    try {
      for (let attempt = 1; pending.length > 0; attempt++) {
        const unprocessed = await this.writer().batchPutItems(this.target.table, pending, AbortSignal.timeout(WRITE_TIMEOUT_MS));
        this.stored += pending.length - unprocessed.length;
        pending = unprocessed;
        if (pending.length > 0 && attempt >= this.unprocessedAttempts) throw new Error(`${pending.length} report entries left unprocessed after ${attempt} tries`);
        if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt).unref());
      }
    } catch (error) {
      this.onWriteError(error);
      // one entry DynamoDB refuses (a ValidationException) fails its whole batch: the others get one
      // more try each, alone, so only the bad one is lost. Anything else (DynamoDB unreachable) loses
      // the batch: trying each entry alone would only hold up the run's end.
      if (error instanceof AwsRequestError && error.type === 'ValidationException') await this.writeOneByOne(pending);
      else this.lost += pending.length;
    }
  }

  private async writeOneByOne(items: Item[]): Promise<void> {
    for (const item of items) {
      try {
        await this.writer().putItem(this.target.table, item, AbortSignal.timeout(WRITE_TIMEOUT_MS));
        this.stored += 1;
      } catch (error) {
        this.lost += 1;
        this.onWriteError(error);
      }
    }
  }
}
