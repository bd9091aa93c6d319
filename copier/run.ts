// What runBackup and runRestore share: their options, result, and the wrapper that turns a failure
// into a progress record's fail_reason.
import { mkdir, realpath } from 'node:fs/promises';
import { cpus } from 'node:os';
import { ConfigError, describeFailure, FaultInjectedError, StoppedError } from './errors.ts';
import { isSameOrUnder } from './fs/paths.ts';
import type { ChecksumAlgorithm } from './fs/checksum.ts';
import { ProgressReporter, type ProgressSink } from './progress/progress.ts';
import type { ReportEntry, ReportSink } from './progress/report.ts';
import type { CheckpointStore } from './restore/checkpoint.ts';

export interface RunOptions {
  /** backup: the share's root; restore: the backup's root (manifest.jsonl, summary.json, data/) */
  source: string;
  /** backup: the backup's root; restore: the share's root */
  target: string;
  /** files in flight: backup, promises (default: defaultConcurrency()); restore, spread over copy
   * worker threads (default and shape: worker-pool.ts defaultFilesInFlight, workerShape) */
  concurrency?: number;
  /** where progress goes; none: no progress writes */
  progress?: ProgressSink;
  /** minimum time between progress writes (1000 ms) */
  progressIntervalMs?: number;
  /** test-only fault switch: fail once this many files were written */
  failAfterFiles?: number;
  /** stops the run: no new entry starts, large copies stop between chunks */
  signal?: AbortSignal;
  /** restore: how a file already in the target is recognised as restored (copy-jobs.ts
   * VerifyExisting): 'checksum' (default), its content is read and compared; 'size-mtime', an
   * administrator's opt-in, a file with the manifest's size and mtime is trusted unread */
  verifyExisting?: 'size-mtime' | 'checksum';
  /** restore: the restore's id (COPIER_RUN_ID, else PROGRESS_ID), the same for every retry and
   * redrive of one restore; its first 8 characters name what the restore moves aside (default: a
   * random id) */
  runId?: string;
  /** restore: where this restore keeps its checkpoint (restore/checkpoint.ts: how far it wrote and
   * verified, for a retry to trust); used only with `runId`. None: every file in place is read. */
  checkpoint?: CheckpointStore;
  /** restore: what every file written is verified with (default 'crc32' where the manifest records
   * it, else 'sha256'; checksum.ts says why) */
  checksum?: ChecksumAlgorithm;
  /** restore: whether the backup or the target is on a network file system (many files in flight,
   * asynchronously); default: detected from statfs (worker-pool.ts networkFileSystem) */
  networkFileSystem?: boolean;
  /** restore: a re-run over a tree already there lets a scout thread look ahead in a manifest of at
   * least this many entries (default 20,000; resume-scout.ts) */
  scoutMinEntries?: number;
  /** test-only: the main thread starts copying once the resume scout has ended, so that every hint
   * it can give is there to be used */
  scoutFirst?: boolean;
  /** restore uid/gid (default: when running as root) */
  chown?: boolean;
  /** one human-readable line per call (main.ts: stderr) */
  log?: (message: string) => void;
  /** where the per-entry report goes (report.ts); none: entries are only logged and counted */
  report?: ReportSink;
}

export interface RunResult {
  /** manifest entries written (backup) or applied (restore) */
  entries: number;
  /** regular files copied (`file` entries) */
  files: number;
  /** bytes of those files */
  bytes: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  /** backup only: device nodes, which a tenant share has no place for (each is a report entry too) */
  skipped: number;
  /** restore only: files and symlinks already in place (a resumed restore), counted in files/symlinks too */
  unchanged: number;
  /** report entries (report.ts): what the run could not keep or had to resolve */
  warnings: number;
}

export function defaultConcurrency(): number {
  return Math.max(8, 4 * cpus().length);
}

export function emptyResult(): RunResult {
  return { entries: 0, files: 0, bytes: 0, dirs: 0, symlinks: 0, hardlinks: 0, skipped: 0, unchanged: 0, warnings: 0 };
}

export interface RunContext {
  options: RunOptions;
  concurrency: number;
  chown: boolean;
  reporter: ProgressReporter;
  log: (message: string) => void;
  result: RunResult;
  throwIfStopped(): void;
  /** count a written regular file; trips the fault switch */
  fileWritten(bytes: number): void;
  /** one report entry: counted as a warning, logged, and handed to the report sink */
  report(entry: ReportEntry): void;
}

export function stopError(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error ? signal.reason : new StoppedError('stopped');
}

/** Builds the context of one run and runs `body`; on failure the reason goes to the progress record. */
export async function runWithContext(options: RunOptions, body: (context: RunContext) => Promise<void>): Promise<RunResult> {
  const concurrency = options.concurrency ?? defaultConcurrency();
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigError(`concurrency must be a positive integer, got ${concurrency}`);
  const failAfter = options.failAfterFiles;
  if (failAfter !== undefined && (!Number.isInteger(failAfter) || failAfter < 0)) throw new ConfigError(`failAfterFiles must be a non-negative integer, got ${failAfter}`);
  const log = options.log ?? (() => undefined);
  const reporter = new ProgressReporter(options.progress, {
    intervalMs: options.progressIntervalMs,
    onWriteError: (error) => log(`progress write failed: ${(error as Error).message}`),
  });
  const chown = options.chown ?? process.getuid?.() === 0;
  if (!chown && options.chown === undefined) log('not running as root: ownership (uid/gid) is not copied, files belong to the copier\'s user');
  const result = emptyResult();
  const context: RunContext = {
    options,
    concurrency,
    chown,
    reporter,
    log,
    result,
    throwIfStopped() {
      if (options.signal?.aborted) throw stopError(options.signal);
    },
    fileWritten(bytes) {
      result.files += 1;
      result.bytes += bytes;
      reporter.fileDone();
      if (failAfter !== undefined && result.files >= failAfter) throw new FaultInjectedError(`fault injected after ${failAfter} files`);
    },
    report(entry) {
      result.warnings += 1;
      // the record's count follows as progress does: exact at the final write, success or failure
      reporter.warning();
      log(`report: ${JSON.stringify(entry.path)} ${entry.what} ${entry.action}: ${entry.why}`);
      options.report?.add(entry);
    },
  };
  try {
    if (failAfter === 0) throw new FaultInjectedError('fault injected after 0 files');
    await body(context);
    await options.report?.close();
    reporter.setPhase('done');
    await reporter.finish();
    return result;
  } catch (error) {
    await options.report?.close().catch((closeError: unknown) => log(`report write failed: ${(closeError as Error).message}`));
    await reporter.fail(describeFailure(error, { source: options.source, target: options.target }).reason);
    throw error;
  }
}

/**
 * The run's two roots as real paths (the target is created if missing). Roots that overlap are
 * refused: a copy into its own source would read what it writes.
 */
export async function resolveRoots(options: RunOptions, names: { source: string; target: string }): Promise<{ sourceRoot: string; targetRoot: string }> {
  const sourceRoot = await realpath(options.source).catch((error: unknown) => {
    throw new ConfigError(`the ${names.source} ${options.source} cannot be used: ${(error as Error).message}`);
  });
  await mkdir(options.target, { recursive: true });
  const targetRoot = await realpath(options.target);
  if (isSameOrUnder(sourceRoot, targetRoot) || isSameOrUnder(targetRoot, sourceRoot)) {
    throw new ConfigError(`the ${names.source} and the ${names.target} overlap`);
  }
  return { sourceRoot, targetRoot };
}
