// How a restore spreads over copy workers: how many start, how many files each has in flight, and
// what a batch holds. The file systems' side (how many files in flight they want, network or local)
// is plan/io-plan.ts's; this is the restore's use of it for one backup.
import { availableParallelism } from 'node:os';
import type { BackupSummary } from '../manifest/entries.ts';
import { defaultFilesInFlight, restoreFileSystems, workerShape } from '../plan/io-plan.ts';
import type { RunOptions } from '../run.ts';

/** A batch closes at this many jobs (fewer where it takes that to keep every worker busy: see
 * planWorkers) or bytes; a file bigger than the byte limit is a batch alone. */
const BATCH_MAX_JOBS = 128;
const BATCH_MAX_BYTES = 16 * 1024 * 1024;
/** With jobs in flight, a batch takes at least this many bytes per lane (see planWorkers). */
const LANE_BYTES = 1024 * 1024;

export interface WorkerPlan {
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
export function planWorkers(summary: BackupSummary, options: RunOptions, backupRoot: string, targetRoot: string): WorkerPlan {
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
