// Restore: stream a backup's manifest and write its tree over the target share's root.
//
// Manila's semantics: backup files are written over the target; target entries the backup does not
// have are left alone (a directory in both is merged). Where the target has an entry of another type
// than the backup's (a directory where the backup has a file, a symlink where it has a directory,
// …), the target's entry is renamed aside to "<name>.restore-<first 8 characters of the restore
// id>" and reported, never deleted and never followed (jobs/conflicts.ts). Directories get their
// mode and mtime after everything under them was written.
//
// Safety: every path is validated (fs/paths.ts) before use; every directory an entry is written
// into must be a real directory in the target (target-dirs.ts). Names are created with
// O_EXCL|O_NOFOLLOW (symlinks, hard links) or freed after an lstat, and directory metadata is set
// through an O_NOFOLLOW|O_DIRECTORY descriptor, so no write goes through a symlink. Two entries
// whose paths overlap are never in flight together (in-flight-paths.ts).
//
// The phases, each in its own file: read summary.json and plan the workers (plan.ts); read this
// restore's checkpoint (checkpoint.ts) and start a resume scout where it helps
// (workers/resume-scout.ts); check the manifest (manifest-check.ts); copy (run.ts: batches.ts to
// the copy workers, workers/worker-pool.ts); check the counts; apply directory metadata. Progress
// reaches DynamoDB at most once a second (progress/progress.ts).
import { randomUUID } from 'node:crypto';
import { opendirSync, statSync } from 'node:fs';
import { ManifestError } from '../errors.ts';
import { crc32Implementation } from '../fs/checksum.ts';
import { asideTag } from '../jobs/conflicts.ts';
import { DATA_DIR, MANIFEST_FILE } from '../manifest/entries.ts';
import { resolveRoots, runWithContext, type RunOptions, type RunResult } from '../run.ts';
import { ResumeScout, scoutFromByte } from '../workers/resume-scout.ts';
import { CopyWorkerPool } from '../workers/worker-pool.ts';
import { CheckpointWriter, type RestoreCheckpoint } from './checkpoint.ts';
import { checkManifest, readSummary, type ManifestTally } from './manifest-check.ts';
import { planWorkers } from './plan.ts';
import { RestoreRun } from './run.ts';

/** A re-run's manifest has a resume scout from this many entries on (below, the ~90 ms of CPU a
 * thread costs to start here buys little); RunOptions.scoutMinEntries overrides it. */
const SCOUT_MIN_ENTRIES = 20_000;

function isEmptyDirectory(path: string): boolean {
  const dir = opendirSync(path);
  try {
    return dir.readSync() === null;
  } finally {
    dir.closeSync();
  }
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
    // that may be trusted by size and mtime: a scout looks ahead (workers/resume-scout.ts). It starts while
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
      const run = new RestoreRun(context, targetRoot, pool, plan, trustedBelow, checkpoint, scout);
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
