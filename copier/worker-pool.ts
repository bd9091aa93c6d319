// The main thread's side of the copy workers: a fixed set of worker_threads, a queue of batches, one
// batch per worker at a time. Stopping sets a flag in shared memory that every worker reads between
// jobs, so SIGTERM takes effect within one file (or one chunk of a large file).
import { createRequire } from 'node:module';
import { statfsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BatchRequest, SerializedError, WorkerInit, WorkerMessage } from './copy-worker.ts';
import type { Job, JobOutcome, VerifyExisting } from './sync-copy.ts';

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
  return NETWORK_FILE_SYSTEMS[Number(statfsSync(path).type)];
}

/**
 * Copy workers when COPIER_CONCURRENCY is not set. Each worker has one file in flight. On a local
 * disk a small file's time is mostly system calls: 4 workers on 2 cores measured best
 * (docs/performance.md), more cores take more, up to 16. On a network file system (EFS) a worker
 * mostly waits for round trips (~10 per file of 0.5–3 ms each), so many more are in flight: 8 per
 * core, 16 to 64; each worker costs ~10 MB and ~25 ms of CPU to start.
 */
export function defaultCopyWorkers(network = false): number {
  const cores = availableParallelism();
  return network ? Math.min(64, Math.max(16, 8 * cores)) : Math.min(16, Math.max(4, 2 * cores));
}

export interface BatchResult {
  /** one per job completed, in order; fewer than the jobs when the batch failed or was stopped */
  outcomes: JobOutcome[];
  error?: SerializedError;
}

interface Pending {
  request: BatchRequest;
  resolve: (result: BatchResult) => void;
  reject: (error: unknown) => void;
}

/**
 * How to start a worker. Bundled, the worker is a JavaScript file next to this one. From source, a
 * worker does not see a module loader registered in its parent (tsx, vitest) on Node 20, so it
 * starts from a line of CommonJS that installs tsx's require hook and then loads the TypeScript.
 */
function workerSource(): { source: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { source: new URL('./copy-worker.js', import.meta.url), eval: false };
  const tsxRequireHook = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const worker = fileURLToPath(new URL('./copy-worker.ts', import.meta.url));
  return { source: `require(${JSON.stringify(tsxRequireHook)}).register(); require(${JSON.stringify(worker)});`, eval: true };
}

export interface CopyWorkerPoolOptions {
  workers: number;
  /** real paths of the backup's data directory and of the target share's root: jobs carry only
   * manifest paths (less to copy into each worker message) */
  dataRoot: string;
  targetRoot: string;
  chown: boolean;
  verifyExisting: VerifyExisting;
  /** bytes of large files, reported while they stream */
  onBytes: (bytes: number) => void;
}

export class CopyWorkerPool {
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  private readonly idle: Worker[] = [];
  private readonly running = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private readonly all: Worker[] = [];
  private nextId = 1;
  private broken: unknown;

  constructor(options: CopyWorkerPoolOptions) {
    const { source, eval: evaluate } = workerSource();
    const workerData: WorkerInit = { dataRoot: options.dataRoot, targetRoot: options.targetRoot, chown: options.chown, verifyExisting: options.verifyExisting, stopBuffer: this.stopFlag.buffer as SharedArrayBuffer };
    for (let i = 0; i < options.workers; i++) {
      const worker = new Worker(source, { workerData, eval: evaluate });
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'bytes') {
          options.onBytes(message.bytes);
          return;
        }
        const pending = this.running.get(worker);
        this.running.delete(worker);
        this.idle.push(worker);
        pending?.resolve({ outcomes: message.outcomes, ...(message.error ? { error: message.error } : {}) });
        this.dispatch();
      });
      // a worker that dies (it could not load, or ran out of memory) fails its batch and the pool
      worker.on('error', (error) => this.fail(worker, error));
      worker.on('exit', (code) => {
        if (this.running.has(worker)) this.fail(worker, new Error(`copy worker exited with code ${code}`));
      });
      this.all.push(worker);
      this.idle.push(worker);
    }
  }

  /** Batches queued or running. */
  get outstanding(): number {
    return this.queue.length + this.running.size;
  }

  /** Runs one batch on the next free worker. */
  run(jobs: Job[]): Promise<BatchResult> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, jobs }, resolve, reject });
      this.dispatch();
    });
  }

  /** Workers finish the job they are on and start no other. */
  stop(): void {
    Atomics.store(this.stopFlag, 0, 1);
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((worker) => worker.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const pending = this.queue.shift()!;
      this.running.set(worker, pending);
      worker.postMessage(pending.request);
    }
  }

  private fail(worker: Worker, error: unknown): void {
    this.broken ??= error;
    const pending = this.running.get(worker);
    this.running.delete(worker);
    pending?.reject(error);
    for (const queued of this.queue.splice(0)) queued.reject(error);
  }
}
