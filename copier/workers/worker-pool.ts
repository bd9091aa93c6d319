// The main thread's side of the copy workers: a fixed set of worker_threads, a queue of batches, one
// batch per worker at a time. Stopping sets a flag in shared memory that every worker reads between
// jobs, so SIGTERM takes effect within one file (or one chunk of a large file).
import type { Worker } from 'node:worker_threads';
import type { BatchRequest, SerializedError, WorkerInit, WorkerMessage } from './copy-worker.ts';
import type { Job, JobOutcome, JobSettings } from '../jobs/copy-jobs.ts';
import { startWorker } from './worker-source.ts';

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

/** dataRoot and targetRoot (copy-jobs.ts JobSettings) are real paths: jobs carry only manifest
 * paths (less to copy into each worker message). */
export interface CopyWorkerPoolOptions extends Pick<JobSettings, 'dataRoot' | 'targetRoot' | 'chown' | 'verifyExisting' | 'asideTag'> {
  workers: number;
  /** per worker: 1, one job at a time with blocking calls (a local disk); more, that many jobs in
   * flight with asynchronous calls (a network file system) */
  jobsInFlight: number;
  /** large files copied by the kernel and verified by reading the copy back */
  kernelCopy: boolean;
  /** with jobs in flight: the backup is on a local file system (its calls are made blocking) */
  backupLocal: boolean;
  /** bytes of large files, reported while they stream */
  onBytes: (bytes: number) => void;
}

interface WorkerState {
  worker: Worker;
  /** batches sent and not answered, by id */
  running: Map<number, Pending>;
}

export class CopyWorkerPool {
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  private readonly states: WorkerState[] = [];
  private readonly queue: Pending[] = [];
  /** batches a worker holds at once: with jobs in flight, the next batch is there before the last
   * job of the one before ends, so its lanes never wait for a batch's slowest file */
  private readonly batchesPerWorker: number;
  private nextId = 1;
  private broken: unknown;
  private started = false;
  private readonly workerData: WorkerInit;
  private readonly options: CopyWorkerPoolOptions;

  constructor(options: CopyWorkerPoolOptions) {
    this.batchesPerWorker = options.jobsInFlight > 1 ? 2 : 1;
    this.workerData = {
      dataRoot: options.dataRoot, targetRoot: options.targetRoot, umask: process.umask(), chown: options.chown, verifyExisting: options.verifyExisting, asideTag: options.asideTag,
      stopBuffer: this.stopFlag.buffer as SharedArrayBuffer, jobsInFlight: options.jobsInFlight, backupLocal: options.backupLocal, kernelCopy: options.kernelCopy,
    };
    this.options = options;
  }

  /** The settings the workers run jobs with, for the few the main thread runs itself (restore/run.ts). */
  mainThreadSettings(): JobSettings {
    const init = this.workerData;
    return { dataRoot: init.dataRoot, targetRoot: init.targetRoot, chown: init.chown, verifyExisting: init.verifyExisting, asideTag: init.asideTag, stopFlag: this.stopFlag, umask: init.umask, kernelCopy: init.kernelCopy };
  }

  /**
   * Starts every worker (once). A caller that knows batches will come calls it early, so that the
   * workers load while it prepares (a restore into an empty share). Otherwise run() starts them one
   * at a time, when every started worker is busy: a resumed restore over a tree mostly in place
   * needs one or two (a worker costs ~90 ms of CPU to start here), or none.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    while (this.states.length < this.options.workers) this.startWorker();
  }

  private startWorker(): void {
    const { options, workerData } = this;
    const worker = startWorker('copy-worker', { workerData });
    const state: WorkerState = { worker, running: new Map() };
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'bytes') {
        options.onBytes(message.bytes);
        return;
      }
      const pending = state.running.get(message.id);
      state.running.delete(message.id);
      pending?.resolve({ outcomes: message.outcomes, ...(message.error ? { error: message.error } : {}) });
      this.dispatch();
    });
    // a worker that dies (it could not load, or ran out of memory) fails its batches and the pool
    worker.on('error', (error) => this.fail(state, error));
    worker.on('exit', (code) => {
      if (state.running.size > 0) this.fail(state, new Error(`copy worker exited with code ${code}`));
    });
    this.states.push(state);
  }

  /** How many workers were started (none when every job was done by the main thread). */
  get startedWorkers(): number {
    return this.states.length;
  }

  /** Runs one batch on the next free worker. */
  run(jobs: Job[]): Promise<BatchResult> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, jobs }, resolve, reject });
      this.dispatch();
      // every started worker busy: one more, if the pool has room
      if (this.queue.length > 0 && this.states.length < this.options.workers) {
        this.startWorker();
        this.dispatch();
      }
    });
  }

  /** Workers finish the jobs they are on and start no other. */
  stop(): void {
    Atomics.store(this.stopFlag, 0, 1);
  }

  async close(): Promise<void> {
    await Promise.all(this.states.map((state) => state.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      // the least loaded worker, if it has room
      let least: WorkerState | undefined;
      for (const state of this.states) if (!least || state.running.size < least.running.size) least = state;
      if (!least || least.running.size >= this.batchesPerWorker) return;
      const pending = this.queue.shift()!;
      least.running.set(pending.request.id, pending);
      least.worker.postMessage(pending.request);
    }
  }

  private fail(state: WorkerState, error: unknown): void {
    this.broken ??= error;
    for (const pending of state.running.values()) pending.reject(error);
    state.running.clear();
    for (const queued of this.queue.splice(0)) queued.reject(error);
  }
}
