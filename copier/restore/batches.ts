// Batching and back-pressure: files and symlinks go to the copy workers in batches (up to
// plan.batchJobs jobs or plan.batchBytes bytes; a file bigger than that is a batch alone), and no
// more than plan.maxOutstanding batches are queued or running at once, so the manifest is read no
// faster than the workers copy. A hard link the main thread makes is held like a batch (no jobs, one
// path), so that later entries that overlap it, and the end of the copy, wait for it.
import type { Job, JobOutcome } from '../jobs/copy-jobs.ts';
import type { SerializedError } from '../workers/copy-worker.ts';
import type { CopyWorkerPool } from '../workers/worker-pool.ts';
import type { PathHolder } from './in-flight-paths.ts';

/** A batch of jobs for one worker, or a hard link the main thread makes (no jobs, one path);
 * `done` exists once it was started. */
export interface Batch extends PathHolder {
  jobs: Job[];
  /** the manifest path of each job (or of the hard link), and its ancestor paths (what
   * InFlightPaths counts) */
  paths: string[];
  ancestors: string[][];
  bytes: number;
  done?: Promise<void>;
  /** the manifest byte offset of its first job's line (what the checkpoint cannot pass until the
   * batch is settled) */
  firstOffset: number;
}

export function emptyBatch(firstOffset = 0): Batch {
  return { jobs: [], paths: [], ancestors: [], bytes: 0, firstOffset };
}

export interface BatchLimits {
  batchJobs: number;
  /** a batch closes at this many bytes of files */
  batchBytes: number;
  /** batches (and hard links) queued or running at most */
  maxOutstanding: number;
}

/** What the restore does as batches end. */
export interface BatchOwner {
  /** a batch's outcomes (and its error, if it failed): called before it is released */
  settle(batch: Batch, outcomes: JobOutcome[], error: SerializedError | undefined): void;
  fail(error: unknown): void;
  /** a batch or hard link ended: its paths are no longer in flight */
  release(batch: Batch): void;
  /** a batch ended and is no longer unsettled (the checkpoint may advance) */
  batchEnded(): void;
}

export class Batches {
  /** the batch being filled */
  private pending: Batch = emptyBatch();
  private readonly outstanding = new Set<Promise<void>>();
  /** batches (and hard links) handed out and not yet settled */
  private readonly unsettled = new Set<Batch>();

  constructor(private readonly pool: CopyWorkerPool, private readonly limits: BatchLimits, private readonly owner: BatchOwner) {}

  /** The batch being filled: a job is added with add(), after which flushIfFull(). */
  get filling(): Batch {
    return this.pending;
  }

  /** Whether maxOutstanding batches are out: a new job waits for room first (waitForRoom). */
  get full(): boolean {
    return this.outstanding.size >= this.limits.maxOutstanding;
  }

  async waitForRoom(): Promise<void> {
    while (this.outstanding.size >= this.limits.maxOutstanding) await Promise.race(this.outstanding);
  }

  /** Whether a file of `bytes` is a batch alone (the batch being filled goes first). */
  aloneInBatch(bytes: number): boolean {
    return bytes > this.limits.batchBytes;
  }

  /** Adds a job to the batch being filled (its path is tracked by the caller, then flushIfFull()). */
  add(job: Job, bytes: number): Batch {
    const batch = this.pending;
    batch.jobs.push(job);
    batch.bytes += bytes;
    return batch;
  }

  /** A full batch goes to the pool. */
  flushIfFull(): void {
    const batch = this.pending;
    if (batch.jobs.length >= this.limits.batchJobs || batch.bytes >= this.limits.batchBytes) this.flush();
  }

  /** Hands the batch being filled to the pool. */
  flush(): void {
    const batch = this.pending;
    if (batch.jobs.length === 0) return;
    this.pending = emptyBatch();
    this.unsettled.add(batch);
    const done: Promise<void> = this.pool.run(batch.jobs).then(
      (result) => this.owner.settle(batch, result.outcomes, result.error),
      (error: unknown) => this.owner.fail(error),
    ).finally(() => {
      this.owner.release(batch);
      this.unsettled.delete(batch);
      this.outstanding.delete(done);
      this.owner.batchEnded();
    });
    batch.done = done;
    this.outstanding.add(done);
  }

  /** Holds `link` (a hard link, its path already tracked) as out until `start()`'s work ends. */
  hold(link: Batch, start: () => Promise<void>): void {
    this.unsettled.add(link);
    const done: Promise<void> = start().catch((error: unknown) => this.owner.fail(error)).finally(() => {
      this.owner.release(link);
      this.unsettled.delete(link);
      this.outstanding.delete(done);
    });
    link.done = done;
    this.outstanding.add(done);
  }

  /** Waits for every batch in `batches` (flushing the one being filled if it is among them). */
  async awaitBatches(batches: Set<Batch>): Promise<void> {
    if (batches.has(this.pending)) this.flush();
    await Promise.all([...batches].map((batch) => batch.done));
  }

  /** The manifest byte offset of the oldest job not yet settled, or `lineOffset` when there is none
   * before it. */
  oldestOffset(lineOffset: number): number {
    let offset = lineOffset;
    if (this.pending.jobs.length > 0) offset = Math.min(offset, this.pending.firstOffset);
    for (const batch of this.unsettled) offset = Math.min(offset, batch.firstOffset);
    return offset;
  }

  /** Flushes, then waits until nothing is out. */
  async drain(): Promise<void> {
    this.flush();
    while (this.outstanding.size > 0) await Promise.all(this.outstanding);
  }
}
