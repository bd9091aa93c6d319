// A restore's checkpoint: what lets a retry or redrive of the same restore skip reading back the
// files it already wrote and verified.
//
// A file already in the target counts as restored only if its content has the manifest's checksum
// (copy-jobs.ts keepExistingFile), which costs a read of every file a re-run finds in place. The one
// exception is a file this same restore wrote and verified: for those, size and mtime suffice. What
// says "this same restore wrote it" must be something a tenant cannot forge in their own share (an
// xattr or a marker file can be copied or planted, and EFS has no xattrs), so it lives on the
// restore's own progress record in DynamoDB, out of the tenant's reach:
//
//   verified_run_id  the restore id (COPIER_RUN_ID, the same for every retry and redrive of one restore)
//   verified_below   a manifest byte offset: every entry on a line before it was written (or found in
//                    place) and verified by a run with that restore id
//
// A run reads it once at its start; with its own restore id there, the files on lines before
// `verified_below` may be trusted by size and mtime. It writes it back as it goes (at most once a
// second), and at its end, success or failure; only ever a larger offset.
import { updateInput, type RecordRef } from '../progress/dynamo-progress.ts';
import { DynamoDbHttpClient, type GetItemClient, type UpdateItemClient } from '../progress/dynamodb-http.ts';

export interface RestoreCheckpoint {
  /** the restore id of the run that wrote it */
  runId: string;
  /** manifest byte offset: every entry on a line before it was written and verified by that restore */
  verifiedBelow: number;
}

export interface CheckpointStore {
  /** the checkpoint saved, if any */
  read(): Promise<RestoreCheckpoint | undefined>;
  write(checkpoint: RestoreCheckpoint): Promise<void>;
}

/** Time one read or write may take (best effort: a failed read means every file is checksummed, a
 * failed write only that a retry checksums more). */
const REQUEST_TIMEOUT_MS = 10_000;

export const CHECKPOINT_ATTRIBUTES = { runId: 'verified_run_id', verifiedBelow: 'verified_below' } as const;

/** The checkpoint on the restore's progress record (PROGRESS_TABLE, PROGRESS_ID). */
export class DynamoCheckpointStore implements CheckpointStore {
  private client: (UpdateItemClient & GetItemClient) | undefined;

  constructor(private readonly record: RecordRef, client?: UpdateItemClient & GetItemClient) {
    this.client = client;
  }

  async read(): Promise<RestoreCheckpoint | undefined> {
    this.client ??= new DynamoDbHttpClient();
    const item = await this.client.getItem({
      TableName: this.record.table,
      Key: { id: this.record.id },
      ProjectionExpression: '#r, #b',
      ExpressionAttributeNames: { '#r': CHECKPOINT_ATTRIBUTES.runId, '#b': CHECKPOINT_ATTRIBUTES.verifiedBelow },
      // a retry starts right after its failed attempt wrote its last checkpoint
      ConsistentRead: true,
    }, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
    const runId = item?.[CHECKPOINT_ATTRIBUTES.runId];
    const verifiedBelow = item?.[CHECKPOINT_ATTRIBUTES.verifiedBelow];
    if (typeof runId !== 'string' || typeof verifiedBelow !== 'number' || !Number.isSafeInteger(verifiedBelow) || verifiedBelow < 0) return undefined;
    return { runId, verifiedBelow };
  }

  async write(checkpoint: RestoreCheckpoint): Promise<void> {
    this.client ??= new DynamoDbHttpClient();
    await this.client.updateItem(updateInput(this.record, [
      { name: CHECKPOINT_ATTRIBUTES.runId, value: checkpoint.runId },
      { name: CHECKPOINT_ATTRIBUTES.verifiedBelow, value: checkpoint.verifiedBelow },
    ]), AbortSignal.timeout(REQUEST_TIMEOUT_MS));
  }
}

/** A checkpoint kept in memory (tests). */
export class MemoryCheckpointStore implements CheckpointStore {
  constructor(public saved?: RestoreCheckpoint) {}
  async read(): Promise<RestoreCheckpoint | undefined> {
    return this.saved && { ...this.saved };
  }
  async write(checkpoint: RestoreCheckpoint): Promise<void> {
    this.saved = { ...checkpoint };
  }
}

/** Writes a run's checkpoint as it advances: at most once a second while it runs (one write at a
 * time), and once more at its end. Only ever a larger offset than the one saved. */
export class CheckpointWriter {
  private written: number;
  private writing: Promise<void> | undefined;
  private lastWriteAt = 0;

  constructor(private readonly store: CheckpointStore, private readonly runId: string, saved: number, private readonly log: (message: string) => void, private readonly intervalMs = 1000) {
    this.written = saved;
  }

  /** Every entry on a line before `offset` is now written and verified. */
  advance(offset: number): void {
    if (offset <= this.written || this.writing || performance.now() - this.lastWriteAt < this.intervalMs) return;
    this.write(offset);
  }

  /** The run's last word (success or failure): the final offset, written if larger. */
  async finish(offset: number): Promise<void> {
    await this.writing;
    if (offset > this.written) this.write(offset);
    await this.writing;
  }

  private write(offset: number): void {
    this.lastWriteAt = performance.now();
    this.writing = this.store.write({ runId: this.runId, verifiedBelow: offset }).then(
      () => void (this.written = Math.max(this.written, offset)),
      (error: unknown) => this.log(`checkpoint write failed: ${(error as Error).message}`),
    ).finally(() => (this.writing = undefined));
  }
}
