// How a restore's I/O is shaped by the file systems it runs on: how many files are in flight, over
// how many worker threads, and how big libuv's thread pool must be for them. Kept apart from the
// pool itself so that the image's CommonJS entry (launch.ts) can size the thread pool with it
// before anything else runs.
import { statfsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { CopierConfig } from '../config.ts';
import { defaultConcurrency, type RunOptions } from '../run.ts';

/** statfs magic numbers of file systems reached over a network (each operation a round trip). */
const NETWORK_FILE_SYSTEMS: Record<number, string> = {
  0x6969: 'nfs', // EFS, any NFS
  0x65735546: 'fuse', // s3fs, sshfs, glusterfs, ../shared/tools/latfs
  0xff534d42: 'cifs',
  0xfe534d42: 'smb2',
  0x00c36400: 'ceph',
  0x0bd00bd0: 'lustre', // FSx for Lustre
  0x01021997: 'v9fs',
};

/** The network file system a path is on ('nfs', 'fuse', ...), or undefined for a local one. */
export function networkFileSystem(path: string): string | undefined {
  let type: number;
  try {
    type = Number(statfsSync(path).type);
  } catch {
    return undefined; // not there (yet): the run reports that in its own words
  }
  return NETWORK_FILE_SYSTEMS[type];
}

/** Above this average file size a local restore is bound by CPU and bandwidth, not waits: files
 * over fs-ops.ts WHOLE_FILE_LIMIT (the same 1 MiB; not imported, to keep the launcher small) are
 * copied by the kernel on a local disk (copy-jobs.ts KERNEL_COPY_MIN_BYTES) or in 1 MiB chunks, and checked. */
const LARGE_FILE_BYTES = 1024 * 1024;

/**
 * Files in flight when COPIER_CONCURRENCY is not set. On a local disk a small file's time is mostly
 * system calls, done blocking by one worker thread per file in flight: 4 on 2 cores measured best
 * (docs/performance.md), more cores take more, up to 16. On a network file system (EFS) each file
 * costs ~8 round trips of 0.5–3 ms and its CPU is small: many files in flight win, 64 per core,
 * 64 to 256 (on latfs, 2 cores: 64 in flight 2.05 s, 128 1.69 s, 256 1.71 s for 2,000 files).
 * Locally, when the average file is large, one per core (`averageFileBytes`).
 */
export function defaultFilesInFlight(network: boolean, averageFileBytes = 0): number {
  const cores = availableParallelism();
  if (network) return Math.min(256, Math.max(64, 64 * cores));
  // large files: a worker per core. Each worker costs ~90 ms of CPU to start here (8 × 256 MiB on 2 cores:
  // 2 workers 1.22 s, 4 workers 1.30 s).
  if (averageFileBytes > LARGE_FILE_BYTES) return cores;
  return Math.min(16, Math.max(4, 2 * cores));
}

/**
 * How a number of files in flight is spread over worker threads. Locally, one worker per file,
 * blocking in each call. On a network file system, one worker per core (their JavaScript and
 * hashing run in parallel), each with its share of the files in flight, asynchronously: a worker
 * thread costs ~10 MB and ~90 ms of CPU to start here, which 64 of them would not repay (on
 * latfs, 2 cores, 128 in flight, progress on: 2 workers 2.12–2.42 s, 4 workers 2.43–2.70 s).
 * One worker per two cores was tried in 0.3: faster on 2,000 small files (1.52–1.66 s against
 * 1.74–1.82 s, less CPU), slower on the mixed set (11.7–12.6 s against 9.1–10.4 s), where each
 * cold read of the local backup blocks the one event loop that all 128 jobs share.
 */
export function workerShape(filesInFlight: number, network: boolean): { workers: number; jobsInFlight: number } {
  if (!network) return { workers: filesInFlight, jobsInFlight: 1 };
  const workers = Math.max(1, Math.min(filesInFlight, availableParallelism()));
  return { workers, jobsInFlight: Math.ceil(filesInFlight / workers) };
}

/** libuv's thread pool size for a restore: asynchronous calls run on it, one per thread, so on a
 * network file system it needs a thread per file in flight, and room beside them for the rest of
 * the process (the main thread's manifest reads, the progress writer's DNS lookups), which would
 * otherwise queue behind up to 256 slow file calls. */
export function restoreThreadPoolSize(filesInFlight: number, network: boolean): number {
  return network ? Math.min(1024, filesInFlight + 16) : 4;
}

/** What a restore's file systems are: the network file system its target or backup is on ('nfs',
 * 'fuse', ...; 'configured' when RunOptions.networkFileSystem says so), if any, and whether the
 * backup is on a local one (then its calls block even when the target's go in flight). */
export function restoreFileSystems(options: Pick<RunOptions, 'source' | 'target' | 'networkFileSystem'>): { network?: string; backupLocal: boolean } {
  if (options.networkFileSystem !== undefined) return options.networkFileSystem ? { network: 'configured', backupLocal: false } : { backupLocal: true };
  const backup = networkFileSystem(options.source);
  const network = networkFileSystem(options.target) ?? backup;
  return { ...(network ? { network } : {}), backupLocal: backup === undefined };
}

/** libuv's thread-pool size a copier run wants (backup or restore), from its configuration. */
export function threadPoolSizeFor(config: CopierConfig): number {
  // a backup keeps its files in flight as promises, their I/O on the pool
  if (config.mode === 'backup') return Math.min(128, Math.max(4, config.concurrency ?? defaultConcurrency()));
  const network = restoreFileSystems(config).network !== undefined;
  return restoreThreadPoolSize(config.concurrency ?? defaultFilesInFlight(network), network);
}

/** A restore of fewer files than this is short enough that V8's optimizing compiler costs more
 * than it saves (v8FlagsFor). */
export const SHORT_RESTORE_FILES = 20_000;

/**
 * V8 flags a copier run wants, set by the launcher before the copier's code is loaded (flags are
 * the process's: its worker threads get them too). A short restore (fewer than SHORT_RESTORE_FILES
 * files) runs its JavaScript no further than V8's mid tier (`--max-opt=2`: Maglev on Node 22,
 * Sparkplug on 20), never TurboFan, whose compiles are a cost per isolate that only a long run pays
 * back. `--trace-opt` in a 1.5 s restore of 2,000 files onto latfs: ~0.7 s of compiling on
 * background threads, the generator that restores a file 90–160 ms in each copy worker, while such
 * a restore is CPU-bound on two cores. Measured alternating, cold: 2,000 files onto latfs
 * 1.40–1.43 → 1.33–1.36 s; the mixed set (10,000 files) locally 1.87–2.41 → 1.64–2.21 s; but
 * 50,000 small files locally 4.10–4.41 → 4.58–4.78 s, so a long restore keeps TurboFan.
 */
export function v8FlagsFor(config: CopierConfig, backupFiles: number | undefined): string[] {
  if (config.mode !== 'restore' || backupFiles === undefined) return [];
  return backupFiles < SHORT_RESTORE_FILES ? ['--max-opt=2'] : [];
}
