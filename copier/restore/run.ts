// Restore: stream a backup's manifest and write its tree over the target share's root.
//
// Manila's semantics: backup files are written over the target; target entries the backup does not
// have are left alone (a directory in both is merged). Where the target has an entry of another type
// than the backup's (a directory where the backup has a file, a symlink where it has a directory,
// …), the target's entry is renamed aside to "<name>.restore-<first 8 characters of the restore
// id>" and reported, never deleted and never followed (conflicts.ts). Directories get their mode and
// mtime after everything under them was written.
//
// Safety: every path is validated (paths.ts) before use, and every directory an entry is written
// into must be a real directory in the target: either one this run created or checked (kept in
// `realDirs`, one string per directory) or, failing that, one lstat says is a directory. Names are
// created with O_EXCL|O_NOFOLLOW (symlinks, hard links) or freed after an lstat, and directory
// metadata is set through an O_NOFOLLOW|O_DIRECTORY descriptor, so no write goes through a symlink.
// Two entries whose paths overlap are never in flight together (RestoreRun.awaitOverlapping), so one
// entry cannot turn a directory another is writing into into a symlink.
//
// Speed: the main thread streams the manifest, creates directories and makes hard links in order;
// files and symlinks go in batches (up to 128 jobs or 16 MiB; on a network file system more) to a
// few worker threads (worker-pool.ts, copy-worker.ts), blocking in each call on a local disk, with
// many jobs in flight on a network file system; directory metadata is applied at the end, deepest
// level first. Progress reaches DynamoDB at most once a second (progress.ts).
//
// Resume: a re-run (a retried workflow step, or a new restore onto the same share) keeps every file
// whose content has the manifest's checksum (read from the target; with the opt-in
// verifyExisting = 'size-mtime', a file with the manifest's size and mtime is trusted unread) and
// every symlink with the manifest's target, and re-applies ownership, mode and mtime only where
// they differ: a re-run onto a tree in place reads it, and writes nothing. Files in a directory
// this run created skip that check: nothing can be there yet.
//
// The manifest is checked before anything is written (checkManifest: against its sha256 in
// summary.json, or for older backups by a pass that validates every line), then streamed once to
// copy; its counts are checked against summary.json again at the end.
import { createHash, randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { chmodSync, createReadStream, lstatSync, mkdirSync, opendirSync, statSync, type BigIntStats } from 'node:fs';
import { link, lstat, readFile, unlink } from 'node:fs/promises';
import { ChecksumMismatchError, ConfigError, errnoCode, FaultInjectedError, ManifestError, SizeMismatchError, UnsafePathError } from '../errors.ts';
import type { SerializedError } from '../workers/copy-worker.ts';
import { asideTag, moveAside } from '../jobs/conflicts.ts';
import { LineCursor, manifestLineChunks } from '../manifest/lines.ts';
import { CheckpointWriter, type RestoreCheckpoint } from './checkpoint.ts';
import { ResumeScout, scoutFromByte } from '../workers/resume-scout.ts';
import { DATA_DIR, MANIFEST_FILE, SUMMARY_FILE, parseManifestLine, parseSummary, type BackupSummary, type ParsedEntry } from '../manifest/entries.ts';
import type { FsPath } from '../fs/names.ts';
import { ancestorPaths, isSameOrUnder, parentPath, ROOT_PATH, underRoot } from '../fs/paths.ts';
import { resolveRoots, runWithContext, stopError, type RunContext, type RunOptions, type RunResult } from '../run.ts';
import { alreadyRestored, CopyBuffers, jobMetadataOf, jobSteps, type DirMetadataJob, type FileJob, type Job, type JobOutcome, type JobSettings, type SpecialJob, type SymlinkJob } from '../jobs/copy-jobs.ts';
import { runSync } from '../jobs/syscalls.ts';
import { defaultFilesInFlight, restoreFileSystems, workerShape } from '../plan/io-plan.ts';
import { CopyWorkerPool } from '../workers/worker-pool.ts';
import { crc32Implementation, verificationOf, type ChecksumAlgorithm } from '../fs/checksum.ts';

async function readSummary(backupRoot: string): Promise<BackupSummary> {
  let text: string;
  try {
    text = await readFile(`${backupRoot}/${SUMMARY_FILE}`, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw new ManifestError(`${SUMMARY_FILE} is missing: the backup is incomplete`);
    throw error;
  }
  return parseSummary(text);
}

/** What a pass over the manifest counts, with the checks both passes make: the root first, and
 * the counts summary.json has. */
class ManifestTally {
  entries = 0;
  files = 0;
  bytes = 0;

  add(entry: ParsedEntry): void {
    if (this.entries === 0 && entry.path !== ROOT_PATH) throw new ManifestError('the manifest does not start with the root "."');
    this.addLine(entry.type === 'file' ? entry.size : undefined);
  }

  /** A line (not the first) the resume scout parsed: a file of `size` bytes, or else (undefined). */
  addLine(size: number | undefined): void {
    this.entries += 1;
    if (size !== undefined) {
      this.files += 1;
      this.bytes += size;
    }
  }

  check(summary: BackupSummary): void {
    if (this.entries !== summary.entries || this.files !== summary.files || this.bytes !== summary.bytes) {
      throw new ManifestError(`the manifest (${this.entries} entries, ${this.files} files, ${this.bytes} bytes) does not match ${SUMMARY_FILE} (${summary.entries} entries, ${summary.files} files, ${summary.bytes} bytes)`);
    }
  }
}

/**
 * Before anything is written, the manifest must be the one the backup wrote. With the manifest's
 * sha256 in summary.json (every backup since 0.2), one hash of the file settles it, and its lines
 * are validated as they are copied (a line no backup writes would still fail the restore there,
 * never write outside the target). Without it, a pass of its own parses and validates every line
 * and checks the counts.
 */
async function checkManifest(manifestPath: string, summary: BackupSummary, context: RunContext): Promise<void> {
  if (summary.manifest_sha256 !== undefined) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(manifestPath, { highWaterMark: 1024 * 1024 })) {
      hash.update(chunk as Buffer);
      context.throwIfStopped();
    }
    const actual = hash.digest('hex');
    if (actual !== summary.manifest_sha256) throw new ManifestError(`${MANIFEST_FILE} does not match its sha256 in ${SUMMARY_FILE} (${actual}, expected ${summary.manifest_sha256}): the backup is damaged`);
    return;
  }
  const tally = new ManifestTally();
  let lineNumber = 0;
  for await (const chunk of manifestLineChunks(manifestPath)) {
    for (const line = new LineCursor(chunk); line.next();) tally.add(parseManifestLine(line.text(), ++lineNumber));
    context.throwIfStopped();
  }
  tally.check(summary);
}

/** A batch closes at this many jobs (fewer where it takes that to keep every worker busy: see
 * planWorkers) or bytes; a file bigger than the byte limit is a batch alone. */
const BATCH_MAX_JOBS = 128;
const BATCH_MAX_BYTES = 16 * 1024 * 1024;
/** With jobs in flight, a batch takes at least this many bytes per lane (see planWorkers). */
const LANE_BYTES = 1024 * 1024;
/** A re-run's manifest has a resume scout from this many entries on (below, the ~90 ms of CPU a
 * thread costs to start here buys little); RunOptions.scoutMinEntries overrides it. */
const SCOUT_MIN_ENTRIES = 20_000;
/** Directories whose metadata one batch applies at the end. */
const DIR_BATCH_JOBS = 256;

/** A batch of jobs for one worker, or a hard link the main thread makes (no jobs, one path);
 * `done` exists once it was started. */
interface Batch {
  jobs: Job[];
  /** the manifest path of each job (or of the hard link), and its ancestor paths (what
   * inFlightUnder counts) */
  paths: string[];
  ancestors: string[][];
  bytes: number;
  done?: Promise<void>;
  /** the manifest byte offset of its first job's line (what the checkpoint cannot pass until the
   * batch is settled) */
  firstOffset: number;
}

interface DirRecord {
  path: string;
  depth: number;
  job: DirMetadataJob;
}

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

class RestoreRun {
  /** manifest paths known to be real directories in the target (created or checked by this run);
   * true when this run created it, so nothing of an earlier restore can be in it */
  private readonly realDirs = new Map<string, boolean>([[ROOT_PATH, false]]);
  /** directories whose metadata is applied at the end */
  private readonly dirs: DirRecord[] = [];
  /** paths of jobs queued or running → their batch, and how many of those lie under each directory:
   * two entries whose paths overlap are never in flight together */
  private readonly inFlight = new Map<string, Batch>();
  private readonly inFlightUnder = new Map<string, number>();
  /** whether the resume scout found the manifest line being handled in place */
  private scoutFoundLine = false;
  /** whether this run has created, replaced or removed a directory yet: until then a line the
   * resume scout found in place is counted without being parsed (resume-scout.ts says why) */
  private changedDirs = false;
  private readonly outstanding = new Set<Promise<void>>();
  private pending: Batch = { jobs: [], paths: [], ancestors: [], bytes: 0, firstOffset: 0 };
  /** batches (and hard links) handed out and not yet settled */
  private readonly unsettled = new Set<Batch>();
  /** the byte offset of the manifest line being handled; the manifest's size once all were */
  private lineOffset = 0;
  /** set when the run failed or stopped with jobs undone: the checkpoint stays where it was then */
  private frozenCheckpoint: number | undefined;
  private filesDispatched = 0;
  private failure: { error: unknown } | undefined;

  private readonly workers: number;
  private readonly batchJobs: number;
  private readonly batchBytes: number;
  private readonly maxOutstanding: number;
  /** what files are verified with: crc32 where the manifest has it (checksum.ts), or sha256 */
  private readonly checksum: ChecksumAlgorithm;
  /** on a local disk, set: the main thread looks whether an entry is already restored (one lstat,
   * a few µs) before it sends a job, and applies directory metadata itself */
  private readonly mainThread: JobSettings | undefined;

  /**
   * `trustedBelow`: the files on manifest lines before this byte offset were written and verified by
   * this same restore (checkpoint.ts), so size and mtime suffice for them; `checkpoint`
   * records how far this run got, for a retry.
   */
  constructor(private readonly context: RunContext, private readonly backupRoot: string, private readonly targetRoot: string, private readonly pool: CopyWorkerPool, plan: WorkerPlan,
    private readonly trustedBelow: number, private readonly checkpoint: CheckpointWriter | undefined, private readonly scout?: ResumeScout) {
    this.checksum = context.options.checksum ?? 'crc32';
    // (on a network file system each look is a round trip: the workers make them, many in flight)
    if (plan.network === undefined) this.mainThread = pool.mainThreadSettings();
    this.workers = plan.workers;
    this.batchJobs = plan.batchJobs;
    this.batchBytes = plan.batchBytes;
    this.maxOutstanding = plan.maxOutstanding;
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
    let offset = this.lineOffset;
    if (this.pending.jobs.length > 0) offset = Math.min(offset, this.pending.firstOffset);
    for (const batch of this.unsettled) offset = Math.min(offset, batch.firstOffset);
    return offset;
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
            if (this.scoutFoundLine && !this.changedDirs) {
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
    await this.drain();
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
    if (this.overlapsInFlight(entry.path, ancestors)) {
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
    this.checkParents(entry.path, entry.path, entry.components, ancestors);
    const failAfter = this.context.options.failAfterFiles;
    if (entry.type === 'file' && failAfter !== undefined && this.filesDispatched >= failAfter) {
      // the fault switch trips after exactly N files: none beyond them may start
      return this.drain().then(() => !this.failed && this.queueEntry(entry, ancestors));
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
    const link: Batch = { jobs: [], paths: [], ancestors: [], bytes: 0, firstOffset: this.lineOffset };
    this.unsettled.add(link);
    this.track(link, entry.path, ancestors ?? ancestorPaths(entry.components));
    const done: Promise<void> = (async () => {
      await this.awaitOverlapping(entry.link_to, ancestorPaths(linkToComponents));
      if (!this.failed) await this.restoreHardlink(entry, linkToComponents);
    })().catch((error: unknown) => this.fail(error)).finally(() => {
      this.release(link);
      this.unsettled.delete(link);
      this.outstanding.delete(done);
    });
    link.done = done;
    this.outstanding.add(done);
    return true;
  }

  /** Queues a file or symlink job, first waiting for room when maxOutstanding batches (planWorkers)
   * are outstanding (the manifest is read no faster than the workers copy). */
  private queueEntry(entry: ParsedEntry & { type: 'file' | 'symlink' | 'fifo' | 'socket' }, ancestors: string[] | undefined): boolean | Promise<boolean> {
    const bytes = entry.type === 'file' ? entry.size : 0;
    if (bytes > this.batchBytes) this.flush();
    if (this.outstanding.size >= this.maxOutstanding) {
      return (async () => {
        while (this.outstanding.size >= this.maxOutstanding) await Promise.race(this.outstanding);
        return this.queueEntry(entry, ancestors);
      })();
    }
    const fresh = this.realDirs.get(parentPath(entry.path)) === true;
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
    if (failAfter !== undefined && this.filesDispatched >= failAfter) this.flush();
    return true;
  }

  /** On a local disk, whether the main thread finds the entry already in place (a resumed restore)
   * by looking alone: then no job is needed. A file whose content must be read to tell (the default,
   * verifyExisting 'checksum') is a worker's job (copy-jobs.ts alreadyRestored). */
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
    const levels = new Map<number, DirMetadataJob[]>();
    for (const dir of this.dirs) {
      // a directory a later entry replaced (or one under it) is no longer this run's to touch
      if (!this.realDirs.has(dir.path)) continue;
      let level = levels.get(dir.depth);
      if (!level) levels.set(dir.depth, (level = []));
      level.push(dir.job);
    }
    const settings = this.mainThread;
    const buffers = new CopyBuffers();
    for (const depth of [...levels.keys()].sort((a, b) => b - a)) {
      const jobs = levels.get(depth)!;
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

  private abs(path: string): FsPath {
    return underRoot(this.targetRoot, path);
  }

  /** Adds a job to the batch being filled; a full batch goes to the pool. */
  private enqueue(job: FileJob | SymlinkJob | SpecialJob, ancestors: string[], bytes: number): void {
    const batch = this.pending;
    batch.jobs.push(job);
    batch.bytes += bytes;
    this.track(batch, job.path, ancestors);
    if (batch.jobs.length >= this.batchJobs || batch.bytes >= this.batchBytes) this.flush();
  }

  /** Hands the batch being filled to the pool. */
  private flush(): void {
    const batch = this.pending;
    if (batch.jobs.length === 0) return;
    this.pending = { jobs: [], paths: [], ancestors: [], bytes: 0, firstOffset: 0 };
    this.unsettled.add(batch);
    const done: Promise<void> = this.pool.run(batch.jobs).then(
      (result) => this.settle(batch, result.outcomes, result.error),
      (error: unknown) => this.fail(error),
    ).finally(() => {
      this.release(batch);
      this.unsettled.delete(batch);
      this.outstanding.delete(done);
      this.checkpoint?.advance(this.checkpointOffset());
    });
    batch.done = done;
    this.outstanding.add(done);
  }

  private settle(batch: Batch, outcomes: JobOutcome[], error: SerializedError | undefined): void {
    const { context } = this;
    for (const [i, outcome] of outcomes.entries()) {
      // a directory moved aside to make room: what this run knew under it is elsewhere now
      if (outcome.movedAsideDir !== undefined) this.forgetDirsUnder(outcome.movedAsideDir);
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
    batch.paths.push(path);
    batch.ancestors.push(ancestors);
    this.inFlight.set(path, batch);
    for (const ancestor of ancestors) this.inFlightUnder.set(ancestor, (this.inFlightUnder.get(ancestor) ?? 0) + 1);
  }

  private release(batch: Batch): void {
    for (const [i, path] of batch.paths.entries()) {
      if (this.inFlight.get(path) === batch) this.inFlight.delete(path);
      for (const ancestor of batch.ancestors[i]!) {
        const count = this.inFlightUnder.get(ancestor)! - 1;
        if (count === 0) this.inFlightUnder.delete(ancestor);
        else this.inFlightUnder.set(ancestor, count);
      }
    }
  }

  /**
   * Whether a queued or running job is at `path`, above it or under it. With `into`, every such
   * job's batch is added to it; without, the first one found answers (this runs for every entry
   * while batches are out, so it allocates nothing).
   */
  private overlapsInFlight(path: string, ancestors: string[], into?: Set<Batch>): boolean {
    let found = false;
    const same = this.inFlight.get(path);
    if (same) {
      if (!into) return true;
      into.add(same);
      found = true;
    }
    if (path === ROOT_PATH ? this.inFlight.size > 0 : this.inFlightUnder.has(path)) {
      if (!into) return true;
      for (const [inFlightPath, batch] of this.inFlight) {
        if (isSameOrUnder(path, inFlightPath)) {
          into.add(batch);
          found = true;
        }
      }
    }
    for (const ancestor of ancestors) {
      const batch = this.inFlight.get(ancestor);
      if (!batch) continue;
      if (!into) return true;
      into.add(batch);
      found = true;
    }
    return found;
  }

  /** Waits until no queued or running job is at `path`, above it or under it. */
  private async awaitOverlapping(path: string, ancestors: string[]): Promise<void> {
    for (;;) {
      const batches = new Set<Batch>();
      if (!this.overlapsInFlight(path, ancestors, batches)) return;
      if (batches.has(this.pending)) this.flush();
      await Promise.all([...batches].map((batch) => batch.done));
    }
  }

  private async drain(): Promise<void> {
    this.flush();
    while (this.outstanding.size > 0) await Promise.all(this.outstanding);
  }

  private forgetDirsUnder(path: string): void {
    this.changedDirs = true;
    for (const dir of this.realDirs.keys()) if (isSameOrUnder(path, dir) && dir !== ROOT_PATH) this.realDirs.delete(dir);
  }

  /** Every ancestor of the entry must be a real directory of the target: never write through a
   * symlink. Directories this run created or checked are known; anything else is looked at. */
  private checkParents(what: string, path: string, components: string[], ancestors?: string[]): void {
    if (this.realDirs.has(parentPath(path))) return; // its ancestors were checked when it was
    for (const ancestor of ancestors ?? ancestorPaths(components)) {
      if (this.realDirs.has(ancestor)) continue;
      const stats = lstatSync(this.abs(ancestor), { throwIfNoEntry: false });
      if (!stats) throw new ManifestError(`"${what}": its directory "${ancestor}" is not in the manifest before it`);
      if (!stats.isDirectory()) {
        throw new UnsafePathError(`"${what}": "${ancestor}" in the target is ${stats.isSymbolicLink() ? 'a symlink' : 'not a directory'}; refusing to write through it`);
      }
      this.realDirs.set(ancestor, false);
    }
  }

  /** Moves the target's entry at `path` (of another type than the backup's `backupHas`) aside, and
   * reports it (conflicts.ts); a directory's known subdirectories are forgotten. */
  private moveAside(path: string, stats: BigIntStats, backupHas: string): void {
    const settings = this.pool.mainThreadSettings();
    this.context.report(runSync(moveAside(this.targetRoot, path, stats, settings.asideTag, backupHas)));
    if (stats.isDirectory()) this.forgetDirsUnder(path);
  }

  private restoreDir(entry: ParsedEntry & { type: 'dir' }, ancestors: string[] | undefined): void {
    this.context.result.dirs += 1;
    const job: DirMetadataJob = { kind: 'dir-metadata', path: entry.path, ...jobMetadataOf(entry) };
    this.dirs.push({ path: entry.path, depth: entry.components.length, job });
    if (entry.path === ROOT_PATH) return;
    this.checkParents(entry.path, entry.path, entry.components, ancestors);
    const abs = this.abs(entry.path);
    if (this.realDirs.get(parentPath(entry.path)) === true) {
      // in a directory this run created, the name is free (bar a duplicate manifest path): no lstat,
      // which on a network file system is a round trip
      try {
        mkdirSync(abs, 0o700);
        this.realDirs.set(entry.path, true);
        return;
      } catch (error) {
        if (errnoCode(error) !== 'EEXIST') throw error;
      }
    }
    const stats = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
    if (stats?.isDirectory()) {
      // without root, an existing directory must be writable by us to receive the backup's children
      const mode = Number(stats.mode & 0o7777n);
      if (!this.context.chown && (mode & 0o700) !== 0o700) chmodSync(abs, mode | 0o700);
      this.realDirs.set(entry.path, false);
      return;
    }
    this.changedDirs = true;
    if (stats) this.moveAside(entry.path, stats, 'a directory');
    mkdirSync(abs, 0o700);
    this.realDirs.set(entry.path, true);
  }

  private async restoreHardlink(entry: ParsedEntry & { type: 'hardlink' }, linkToComponents: string[]): Promise<void> {
    const linkTo = entry.link_to;
    this.checkParents(entry.path, entry.path, entry.components);
    this.checkParents(`${entry.path} (link_to)`, entry.link_to, linkToComponents);
    const existingAbs = this.abs(linkTo);
    const existing = await lstat(existingAbs).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') throw new ManifestError(`"${entry.path}": its link_to "${linkTo}" was not restored`);
      throw error;
    });
    if (!existing.isFile()) throw new UnsafePathError(`"${entry.path}": its link_to "${linkTo}" is not a regular file in the target`);
    const abs = this.abs(entry.path);
    try {
      await link(existingAbs, abs);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      const current = await lstat(abs, { bigint: true });
      if (!(current.ino === BigInt(existing.ino) && current.dev === BigInt(existing.dev))) {
        const backupHas = `a hard link of ${JSON.stringify(linkTo)}`;
        if (current.isFile()) {
          // a file of the same type: replaced, as any file's content is
          await unlink(abs);
          this.context.report({ path: entry.path, what: 'content', action: 'repaired', why: `the target had another file at this name, the backup has ${backupHas}` });
        } else {
          this.moveAside(entry.path, current, backupHas);
        }
        await link(existingAbs, abs);
      }
    }
    this.context.result.hardlinks += 1;
  }
}

function isEmptyDirectory(path: string): boolean {
  const dir = opendirSync(path);
  try {
    return dir.readSync() === null;
  } finally {
    dir.closeSync();
  }
}

interface WorkerPlan {
  workers: number;
  /** per worker (1: blocking calls) */
  jobsInFlight: number;
  batchJobs: number;
  /** a batch closes at this many bytes of files; a file bigger is a batch alone */
  batchBytes: number;
  /** batches queued or running at most (the manifest is read no faster than the workers copy) */
  maxOutstanding: number;
  /** on a local disk, with a core beside the main thread's: a re-run may hand the back part of the
   * manifest to a resume scout (where files there may be trusted by size and mtime: runRestore) */
  scout: boolean;
  /** the network file system the backup or the target is on, if any */
  network?: string;
  /** the backup is on a local file system (only the target is remote) */
  backupLocal: boolean;
}

/**
 * The copy workers a run starts, the jobs each has in flight, and the jobs a batch takes. Files in
 * flight: as configured, else as many as the file systems want (defaultFilesInFlight); workers no
 * more than the batches need. Batch size: large batches save messages on a local disk; on a network
 * file system, where each file costs milliseconds, small ones keep every worker's lanes busy.
 */
function planWorkers(summary: BackupSummary, options: RunOptions, backupRoot: string, targetRoot: string): WorkerPlan {
  const { network, backupLocal } = restoreFileSystems({ source: backupRoot, target: targetRoot, networkFileSystem: options.networkFileSystem });
  const averageFileBytes = summary.files > 0 ? summary.bytes / summary.files : 0;
  const shape = workerShape(options.concurrency ?? defaultFilesInFlight(network !== undefined, averageFileBytes), network !== undefined);
  const batchJobs = Math.max(1, Math.min(network ? 2 * shape.jobsInFlight : BATCH_MAX_JOBS, Math.ceil(summary.entries / (4 * shape.workers))));
  // with jobs in flight, a batch must hold enough bytes to give every lane a file (a megabyte or so
  // each): 16 MiB batches of MiB-sized files left most of a worker's lanes idle (on latfs, the mixed
  // set with one worker of 128 lanes: 13.3 s with them, 11.9 s with 128 MiB ones)
  const batchBytes = network ? Math.max(BATCH_MAX_BYTES, shape.jobsInFlight * LANE_BYTES) : BATCH_MAX_BYTES;
  const batches = Math.ceil(summary.entries / batchJobs) + Math.ceil(summary.bytes / batchBytes);
  // and no more workers than files (symlinks alone: one): each costs ~90 ms of CPU to start, and a
  // restore of one file started three (a 1-file restore: 0.29–0.31 s → 0.24–0.25 s here)
  const workers = Math.max(1, Math.min(shape.workers, batches, summary.files));
  return {
    workers, jobsInFlight: shape.jobsInFlight, batchJobs, batchBytes,
    scout: network === undefined && availableParallelism() >= 2,
    maxOutstanding: (network ? 3 : 2) * workers, backupLocal,
    ...(network ? { network } : {}),
  };
}

/** Restores the backup at `options.source` over the share root at `options.target`. */
export async function runRestore(options: RunOptions): Promise<RunResult> {
  return await runWithContext(options, async (context) => {
    const { reporter } = context;
    reporter.setPhase('scanning');
    const { sourceRoot: backupRoot, targetRoot } = await resolveRoots(options, { source: 'backup root', target: 'target share' });
    const summary = await readSummary(backupRoot);
    reporter.setTotals(summary.files, summary.bytes);
    // the workers start (loading their code) while the manifest is checked
    const plan = planWorkers(summary, options, backupRoot, targetRoot);
    context.log(`${plan.workers} copy workers, ${plan.jobsInFlight} file(s) in flight each, batches of up to ${plan.batchJobs} files${plan.network ? ` (${plan.network}: a network file system)` : ''}; CRC-32: ${crc32Implementation()}`);
    // the restore id names what this restore moves aside; a run without one (tests, the bench) gets a
    // random one, so that its aside names are still its own
    const restoreId = options.runId ?? randomUUID();
    const pool = new CopyWorkerPool({
      kernelCopy: plan.network === undefined, workers: plan.workers, jobsInFlight: plan.jobsInFlight, backupLocal: plan.backupLocal, dataRoot: `${backupRoot}/${DATA_DIR}`, targetRoot, chown: context.chown,
      verifyExisting: options.verifyExisting ?? 'checksum', asideTag: asideTag(restoreId), onBytes: (bytes) => reporter.addBytes(bytes),
    });
    // a restore into an empty share will copy everything: its workers load while the manifest is
    // checked. Over a tree already there (a resumed restore), they start with the first job, if any.
    const resumed = !isEmptyDirectory(targetRoot);
    if (!resumed) pool.start();
    const stopWorkers = () => pool.stop();
    options.signal?.addEventListener('abort', stopWorkers, { once: true });
    const manifestPath = `${backupRoot}/${MANIFEST_FILE}`;
    const manifestBytes = statSync(manifestPath).size;
    // files this same restore already wrote and verified (a retry, a redrive) are trusted by size and
    // mtime: how far it got is on its own progress record, out of the tenant's reach
    // (checkpoint.ts). Over an empty share there is nothing to trust: no read.
    const store = options.runId !== undefined ? options.checkpoint : undefined;
    let saved: RestoreCheckpoint | undefined;
    if (store && resumed) saved = await store.read().catch((error: unknown) => void context.log(`checkpoint read failed (every file in place is read to compare it): ${(error as Error).message}`));
    const trustedBelow = saved?.runId === restoreId ? Math.min(saved.verifiedBelow, manifestBytes) : 0;
    if (trustedBelow > 0) context.log(`this restore verified the entries before manifest byte ${trustedBelow} of ${manifestBytes} in an earlier attempt: files there are trusted by size and mtime`);
    const checkpoint = store ? new CheckpointWriter(store, restoreId, trustedBelow, context.log) : undefined;
    const trustFilesBelow = options.verifyExisting === 'size-mtime' ? Infinity : trustedBelow;
    // a re-run over a tree already there, with a core to spare, and files after the scout's start
    // that may be trusted by size and mtime: a scout looks ahead (resume-scout.ts). It starts while
    // the manifest is checked (its thread takes ~0.1 s to load): it only reads and looks, and what it
    // finds is used once the check has passed.
    const scout = resumed && plan.scout && summary.entries >= (options.scoutMinEntries ?? SCOUT_MIN_ENTRIES) && trustFilesBelow > scoutFromByte(manifestBytes)
      ? new ResumeScout({ manifestPath, manifestBytes, entries: summary.entries, targetRoot, chown: context.chown, trustFilesBelow, stopFlag: pool.mainThreadSettings().stopFlag })
      : undefined;
    try {
      const started = performance.now();
      const elapsed = () => `${(performance.now() - started).toFixed(0)} ms`;
      await checkManifest(manifestPath, summary, context);
      context.log(`manifest checked at ${elapsed()}`);
      context.throwIfStopped();

      reporter.setPhase('copying');
      if (scout && options.scoutFirst) await scout.finished;
      const run = new RestoreRun(context, backupRoot, targetRoot, pool, plan, trustedBelow, checkpoint, scout);
      let tally: ManifestTally;
      try {
        tally = await run.copy(manifestPath, manifestBytes);
      } finally {
        if (scout) context.log(`the resume scout found ${scout.foundCount} entries in place ahead of the main thread`);
        await checkpoint?.finish(run.checkpointOffset());
      }

      context.log(`files copied at ${elapsed()}`);
      reporter.setPhase('verifying');
      tally.check(summary);
      const { result } = context;
      if (result.files !== summary.files || result.bytes !== summary.bytes) {
        throw new ManifestError(`restored ${result.files} files and ${result.bytes} bytes, the backup has ${summary.files} files and ${summary.bytes} bytes`);
      }
      await run.applyDirMetadata();
      context.log(`directory metadata applied at ${elapsed()}; ${pool.startedWorkers} copy workers were started`);
    } finally {
      options.signal?.removeEventListener('abort', stopWorkers);
      await Promise.all([pool.close(), scout?.close()]);
    }
  });
}
