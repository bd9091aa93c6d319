// One restore's copy, wired from its parts: the manifest is streamed on the main thread, which
// creates directories (target-dirs.ts) and makes hard links (hardlinks.ts) in order; files,
// symlinks and special files go in batches (batches.ts) to the copy workers (workers/); two entries
// whose paths overlap are never in flight together (in-flight-paths.ts); directory metadata is
// applied at the end, deepest level first (dir-metadata.ts). What it has verified is the checkpoint
// (checkpoint.ts): the manifest byte offset before which every entry is settled.
//
// Resume: a re-run (a retried workflow step, or a new restore onto the same share) keeps every file
// whose content has the manifest's checksum (read from the target; with the opt-in
// verifyExisting = 'size-mtime', a file with the manifest's size and mtime is trusted unread) and
// every symlink with the manifest's target, and re-applies ownership, mode and mtime only where
// they differ: a re-run onto a tree in place reads it, and writes nothing. Files in a directory
// this run created skip that check: nothing can be there yet.
import { ChecksumMismatchError, ConfigError, FaultInjectedError, ManifestError, SizeMismatchError, UnsafePathError } from '../errors.ts';
import { verificationOf, type ChecksumAlgorithm } from '../fs/checksum.ts';
import { ancestorPaths, parentPath, ROOT_PATH } from '../fs/paths.ts';
import { alreadyRestored, CopyBuffers, jobMetadataOf, jobSteps, type FileJob, type Job, type JobOutcome, type JobSettings, type SpecialJob, type SymlinkJob } from '../jobs/copy-jobs.ts';
import { runSync } from '../jobs/syscalls.ts';
import { parseManifestLine, type ParsedEntry } from '../manifest/entries.ts';
import { LineCursor, manifestLineChunks } from '../manifest/lines.ts';
import { stopError, type RunContext } from '../run.ts';
import type { SerializedError } from '../workers/copy-worker.ts';
import type { ResumeScout } from '../workers/resume-scout.ts';
import type { CopyWorkerPool } from '../workers/worker-pool.ts';
import { Batches, emptyBatch, type Batch } from './batches.ts';
import type { CheckpointWriter } from './checkpoint.ts';
import { DirMetadata } from './dir-metadata.ts';
import { restoreHardlink } from './hardlinks.ts';
import { InFlightPaths } from './in-flight-paths.ts';
import { ManifestTally } from './manifest-check.ts';
import type { WorkerPlan } from './plan.ts';
import { TargetDirs } from './target-dirs.ts';

/** Directories whose metadata one batch applies at the end. */
const DIR_BATCH_JOBS = 256;

const COPIER_ERRORS: Record<string, new (message: string) => Error> = {
  ChecksumMismatchError, ConfigError, FaultInjectedError, ManifestError, SizeMismatchError, UnsafePathError,
};

/** A worker's failure as the error main.ts reports (system errors keep their code). */
function deserializeError(error: SerializedError, signal: AbortSignal | undefined): Error {
  if (error.name === 'StoppedError') return stopError(signal);
  const CopierErrorClass = COPIER_ERRORS[error.name];
  if (CopierErrorClass) return new CopierErrorClass(error.message);
  const revived = new Error(error.message) as NodeJS.ErrnoException;
  if (error.code) revived.code = error.code;
  return revived;
}

export class RestoreRun {
  private readonly targetDirs: TargetDirs;
  /** directories whose metadata is applied at the end */
  private readonly dirMetadata = new DirMetadata();
  /** paths of jobs queued or running, by batch */
  private readonly inFlight = new InFlightPaths<Batch>();
  private readonly batches: Batches;
  /** whether the resume scout found the manifest line being handled in place */
  private scoutFoundLine = false;
  /** the byte offset of the manifest line being handled; the manifest's size once all were */
  private lineOffset = 0;
  /** set when the run failed or stopped with jobs undone: the checkpoint stays where it was then */
  private frozenCheckpoint: number | undefined;
  private filesDispatched = 0;
  private failure: { error: unknown } | undefined;

  private readonly workers: number;
  /** what files are verified with: crc32 where the manifest has it (fs/checksum.ts), or sha256 */
  private readonly checksum: ChecksumAlgorithm;
  /** on a local disk, set: the main thread looks whether an entry is already restored (one lstat,
   * a few µs) before it sends a job, and applies directory metadata itself */
  private readonly mainThread: JobSettings | undefined;

  /**
   * `trustedBelow`: the files on manifest lines before this byte offset were written and verified by
   * this same restore (checkpoint.ts), so size and mtime suffice for them; `checkpoint`
   * records how far this run got, for a retry.
   */
  constructor(private readonly context: RunContext, targetRoot: string, private readonly pool: CopyWorkerPool, plan: WorkerPlan,
    private readonly trustedBelow: number, private readonly checkpoint: CheckpointWriter | undefined, private readonly scout?: ResumeScout) {
    this.checksum = context.options.checksum ?? 'crc32';
    // (on a network file system each look is a round trip: the workers make them, many in flight)
    if (plan.network === undefined) this.mainThread = pool.mainThreadSettings();
    this.workers = plan.workers;
    this.targetDirs = new TargetDirs(targetRoot, context.chown, pool.mainThreadSettings().asideTag, (entry) => context.report(entry));
    this.batches = new Batches(pool, plan, {
      settle: (batch, outcomes, error) => this.settle(batch, outcomes, error),
      fail: (error) => this.fail(error),
      release: (batch) => this.inFlight.release(batch),
      batchEnded: () => this.checkpoint?.advance(this.checkpointOffset()),
    });
  }

  private get failed(): boolean {
    return this.failure !== undefined;
  }

  private fail(error: unknown): void {
    this.failure ??= { error };
    this.freezeCheckpoint();
    this.pool.stop();
  }

  /**
   * The checkpoint (checkpoint.ts): the manifest byte offset before which every entry is
   * written (or found in place) and verified. Entries are handled in manifest order, but files
   * finish out of order in the workers: it is the first line of the oldest batch not yet settled,
   * or the line being handled.
   */
  checkpointOffset(): number {
    if (this.frozenCheckpoint !== undefined) return this.frozenCheckpoint;
    return this.batches.oldestOffset(this.lineOffset);
  }

  /** A batch failed or stopped part-way (called while it is still unsettled): its undone jobs lie
   * after the checkpoint as it is now, and nothing later may be counted as done. */
  private freezeCheckpoint(): void {
    this.frozenCheckpoint ??= this.checkpointOffset();
  }
  /** Copies every entry; returns what the manifest held. */
  async copy(manifestPath: string, manifestBytes: number): Promise<ManifestTally> {
    const signal = this.context.options.signal;
    const tally = new ManifestTally();
    try {
      const { scout } = this;
      let lineNumber = 0;
      // Each entry is parsed when it is handled, so it dies young: parsing a chunk's entries at once
      // made thousands live together, more than V8's young generation holds; promoted, they made
      // the main thread's heap swing between 16 and 55 MB on a 1,000,000-entry manifest.
      copying: for await (const chunk of manifestLineChunks(manifestPath)) {
        // entries are handled synchronously; the loop awaits only when it must wait for a batch
        for (const line = new LineCursor(chunk); line.next();) {
          this.lineOffset = line.offset;
          if (signal?.aborted || this.failed) break copying;
          if (scout) {
            scout.at(line.offset);
            this.scoutFoundLine = scout.foundInPlace(line.offset);
            if (this.scoutFoundLine && !this.targetDirs.changed) {
              lineNumber += 1;
              this.countFoundByScout(tally, scout.foundSize);
              continue;
            }
          }
          const entry = parseManifestLine(line.text(), ++lineNumber);
          tally.add(entry);
          if (!(await this.copyEntry(entry))) break copying;
        }
      }
      if (!signal?.aborted && !this.failed) this.lineOffset = manifestBytes;
    } catch (error) {
      this.fail(error); // a bad line: what is in flight finishes, nothing more starts
    }
    await this.batches.drain();
    if (this.failure) throw this.failure.error;
    if (signal?.aborted) throw stopError(signal);
    return tally;
  }

  /** A line the resume scout found in place, counted without being parsed: a file of `size` bytes,
   * or (undefined) a symlink. */
  private countFoundByScout(tally: ManifestTally, size: number | undefined): void {
    tally.addLine(size);
    this.context.result.entries += 1;
    if (size !== undefined) this.filesDispatched += 1;
    this.count(size === undefined ? 'symlink' : 'file', { bytes: size ?? 0, unchanged: true });
  }


  /** One manifest entry; false when the run failed meanwhile. Returns a promise only when it had
   * to wait (the common case costs no microtask). */
  private copyEntry(entry: ParsedEntry): boolean | Promise<boolean> {
    this.context.result.entries += 1;
    // nothing in flight (a re-run over a tree in place, or between batches): nothing to overlap, and
    // the ancestors are worked out only for an entry that becomes a job
    if (this.inFlight.size === 0) return this.copyEntryNow(entry, undefined);
    const ancestors = ancestorPaths(entry.components);
    if (this.inFlight.overlaps(entry.path, ancestors)) {
      return this.awaitOverlapping(entry.path, ancestors).then(() => this.copyEntryNow(entry, ancestors));
    }
    return this.copyEntryNow(entry, ancestors);
  }

  private copyEntryNow(entry: ParsedEntry, ancestors: string[] | undefined): boolean | Promise<boolean> {
    if (entry.type === 'hardlink') return this.copyHardlink(entry, ancestors);
    if (this.failed) return false;
    if (entry.type === 'dir') {
      this.restoreDir(entry, ancestors);
      return true;
    }
    this.targetDirs.checkParents(entry.path, entry.path, entry.components, ancestors);
    const failAfter = this.context.options.failAfterFiles;
    if (entry.type === 'file' && failAfter !== undefined && this.filesDispatched >= failAfter) {
      // the fault switch trips after exactly N files: none beyond them may start
      return this.batches.drain().then(() => !this.failed && this.queueEntry(entry, ancestors));
    }
    return this.queueEntry(entry, ancestors);
  }

  /**
   * A hard link is made by the main thread once the inode's first path is complete and nothing is
   * in flight on the way to it. Meanwhile the manifest goes on: the link is in flight like a batch
   * (later entries that overlap its path wait for it, the end of the copy waits for it). Waiting
   * here instead stalled every worker behind the batch holding the first path, once per link (a
   * tenth of the mixed set's restore time).
   */
  private copyHardlink(entry: ParsedEntry & { type: 'hardlink' }, ancestors: string[] | undefined): boolean {
    if (this.failed) return false;
    const linkToComponents = entry.link_to.split('/');
    const link = emptyBatch(this.lineOffset);
    this.track(link, entry.path, ancestors ?? ancestorPaths(entry.components));
    this.batches.hold(link, async () => {
      await this.awaitOverlapping(entry.link_to, ancestorPaths(linkToComponents));
      if (!this.failed) await restoreHardlink(entry, linkToComponents, this.targetDirs, this.context);
    });
    return true;
  }

  /** Queues a file or symlink job, first waiting for room when maxOutstanding batches (plan.ts)
   * are outstanding (the manifest is read no faster than the workers copy). */
  private queueEntry(entry: ParsedEntry & { type: 'file' | 'symlink' | 'fifo' | 'socket' }, ancestors: string[] | undefined): boolean | Promise<boolean> {
    const bytes = entry.type === 'file' ? entry.size : 0;
    if (this.batches.aloneInBatch(bytes)) this.batches.flush();
    if (this.batches.full) {
      return (async () => {
        await this.batches.waitForRoom();
        return this.queueEntry(entry, ancestors);
      })();
    }
    const fresh = this.targetDirs.createdByThisRun(parentPath(entry.path));
    const metadata = jobMetadataOf(entry);
    if (entry.type === 'fifo' || entry.type === 'socket') {
      const job: SpecialJob = { kind: 'special', path: entry.path, type: entry.type, fresh, ...metadata };
      this.enqueue(job, ancestors ?? ancestorPaths(entry.components), 0);
      return true;
    }
    if (entry.type === 'symlink') {
      const job: SymlinkJob = { kind: 'symlink', path: entry.path, linkTarget: entry.target, fresh, ...metadata };
      if (this.isAlreadyRestored(job)) this.count('symlink', { bytes: 0, unchanged: true });
      else this.enqueue(job, ancestors ?? ancestorPaths(entry.components), 0);
      return true;
    }
    this.filesDispatched += 1;
    const job: FileJob = { kind: 'file', path: entry.path, size: entry.size, ...verificationOf(entry, this.checksum), fresh, ...metadata };
    if (this.lineOffset < this.trustedBelow) job.trusted = true;
    if (entry.sparse) job.sparse = true;
    if (this.isAlreadyRestored(job)) this.count('file', { bytes, unchanged: true });
    else this.enqueue(job, ancestors ?? ancestorPaths(entry.components), bytes);
    const failAfter = this.context.options.failAfterFiles;
    if (failAfter !== undefined && this.filesDispatched >= failAfter) this.batches.flush();
    return true;
  }

  /** On a local disk, whether the main thread finds the entry already in place (a resumed restore)
   * by looking alone: then no job is needed. A file whose content must be read to tell (the default,
   * verifyExisting 'checksum') is a worker's job (jobs/copy-jobs.ts alreadyRestored). */
  private isAlreadyRestored(job: FileJob | SymlinkJob): boolean {
    const settings = this.mainThread;
    if (job.fresh || !settings) return false;
    if (this.scoutFoundLine) return true;
    return runSync(alreadyRestored(job, settings));
  }

  /** Directory metadata, deepest level first (a parent's mode cannot lock the copier out of a
   * child), each level spread over the workers; on a local disk, by the main thread (an open, an
   * fstat, a futimes and a close each: a few µs, less than a message to a worker). */
  async applyDirMetadata(): Promise<void> {
    const levels = this.dirMetadata.levels((path) => this.targetDirs.has(path));
    const settings = this.mainThread;
    const buffers = new CopyBuffers();
    for (const jobs of levels) {
      if (settings) {
        for (const job of jobs) this.reportOutcome(runSync(jobSteps(job, settings, buffers)));
        this.context.throwIfStopped();
        continue;
      }
      const batches: Promise<void>[] = [];
      const perBatch = Math.min(DIR_BATCH_JOBS, Math.ceil(jobs.length / this.workers));
      for (let i = 0; i < jobs.length; i += perBatch) {
        batches.push(this.pool.run(jobs.slice(i, i + perBatch)).then((result) => {
          for (const outcome of result.outcomes) this.reportOutcome(outcome);
          if (result.error) this.fail(deserializeError(result.error, this.context.options.signal));
        }));
      }
      await Promise.all(batches);
      if (this.failure) throw this.failure.error;
      this.context.throwIfStopped();
    }
  }

  /** Adds a job to the batch being filled; a full batch goes to the pool. */
  private enqueue(job: FileJob | SymlinkJob | SpecialJob, ancestors: string[], bytes: number): void {
    this.track(this.batches.add(job, bytes), job.path, ancestors);
    this.batches.flushIfFull();
  }

  private settle(batch: Batch, outcomes: JobOutcome[], error: SerializedError | undefined): void {
    const { context } = this;
    for (const [i, outcome] of outcomes.entries()) {
      // a directory moved aside to make room: what this run knew under it is elsewhere now
      if (outcome.movedAsideDir !== undefined) this.targetDirs.forgetUnder(outcome.movedAsideDir);
      this.reportOutcome(outcome);
      try {
        this.count(batch.jobs[i]!.kind, outcome);
      } catch (fault) {
        this.fail(fault);
      }
    }
    if (error) {
      if (error.reports) for (const entry of error.reports) context.report(entry);
      this.fail(deserializeError(error, context.options.signal));
    }
    // stopped part-way (the stop flag: SIGTERM, or another batch's failure)
    else if (outcomes.length < batch.jobs.length) this.freezeCheckpoint();
  }

  /** What a job (in a worker or here) could not keep goes to the run's report. */
  private reportOutcome(outcome: JobOutcome): void {
    if (outcome.reports) for (const entry of outcome.reports) this.context.report(entry);
  }

  /** Counts a file or symlink done (copied, or found in place); may trip the fault switch. */
  private count(kind: Job['kind'], outcome: JobOutcome): void {
    const { context } = this;
    if (outcome.unchanged) context.result.unchanged += 1;
    if (kind === 'symlink') {
      context.result.symlinks += 1;
      return;
    }
    if (kind === 'special') return;
    if (!outcome.streamed) context.reporter.addBytes(outcome.bytes);
    context.fileWritten(outcome.bytes);
  }

  /** Counts `path` as in flight in `batch` until the batch is released. */
  private track(batch: Batch, path: string, ancestors: string[]): void {
    if (batch.paths.length === 0) batch.firstOffset = this.lineOffset;
    this.inFlight.add(batch, path, ancestors);
  }

  /** Waits until no queued or running job is at `path`, above it or under it. */
  private async awaitOverlapping(path: string, ancestors: string[]): Promise<void> {
    for (;;) {
      const batches = new Set<Batch>();
      if (!this.inFlight.overlaps(path, ancestors, batches)) return;
      await this.batches.awaitBatches(batches);
    }
  }

  private restoreDir(entry: ParsedEntry & { type: 'dir' }, ancestors: string[] | undefined): void {
    this.context.result.dirs += 1;
    this.dirMetadata.add(entry);
    if (entry.path !== ROOT_PATH) this.targetDirs.restore(entry, ancestors);
  }
}
