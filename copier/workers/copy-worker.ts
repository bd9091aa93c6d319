// A copy worker (worker_threads): runs batches of restore jobs (copy-jobs.ts), one at a time with
// blocking calls or several in flight (syscalls.ts says when which), and answers each batch with one
// message. Jobs in flight start round-robin over their directories (directory-spread.ts). It stops
// between jobs (and between chunks of a large file) once the shared stop flag is set; the first
// failing job ends its batch.
import { parentPort, workerData } from 'node:worker_threads';
import { CopyBuffers, jobSteps, type ErrorWithReports, type Job, type JobOutcome, type JobSettings } from '../jobs/copy-jobs.ts';
import type { ReportEntry } from '../progress/report.ts';
import { DirectorySpreadQueue } from '../plan/directory-spread.ts';
import { parentPath } from '../fs/paths.ts';
import { runAsync, runSync } from '../jobs/syscalls.ts';

/** What a worker starts with: the run's job settings (copy-jobs.ts JobSettings), the stop flag's
 * memory, and how it runs its jobs. */
export interface WorkerInit extends Pick<JobSettings, 'dataRoot' | 'targetRoot' | 'chown' | 'verifyExisting' | 'asideTag' | 'umask'> {
  stopBuffer: SharedArrayBuffer;
  /** 1: one job at a time, blocking in each call; more: that many jobs in flight, asynchronously */
  jobsInFlight: number;
  /** large files copied by the kernel, verified by reading the copy back (copy-jobs.ts) */
  kernelCopy: boolean;
  /** with jobs in flight: the backup is on a local file system, so calls on it block */
  backupLocal: boolean;
}

export interface BatchRequest {
  id: number;
  jobs: Job[];
}

/** A failure, sent as plain data: restore/run.ts turns it back into the copier error of that name. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  /** what the failed job had done and must still be reported (an entry moved aside, …) */
  reports?: ReportEntry[];
}

export type WorkerMessage =
  | { type: 'bytes'; bytes: number }
  | { type: 'done'; id: number; outcomes: JobOutcome[]; error?: SerializedError };

function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const { reports } = error as ErrorWithReports;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}), ...(reports ? { reports } : {}) };
  }
  return { name: 'Error', message: String(error) };
}

const port = parentPort;
if (!port) throw new Error('copy-worker.ts runs as a worker thread');
const init = workerData as WorkerInit;
// large files report their bytes as they stream; small ones are counted when their batch is done
const settings: JobSettings = {
  dataRoot: init.dataRoot,
  targetRoot: init.targetRoot,
  chown: init.chown,
  verifyExisting: init.verifyExisting,
  asideTag: init.asideTag,
  stopFlag: new Int32Array(init.stopBuffer),
  onBytes: (bytes) => port.postMessage({ type: 'bytes', bytes } satisfies WorkerMessage),
  umask: init.umask,
  kernelCopy: init.kernelCopy,
  newFileOwners: new Map(),
};

function reply(id: number, outcomes: JobOutcome[], error: SerializedError | undefined): void {
  port!.postMessage({ type: 'done', id, outcomes, ...(error ? { error } : {}) } satisfies WorkerMessage);
}

/** One job at a time, blocking in each call (a local disk). */
function runBatchBlocking(request: BatchRequest, buffers: CopyBuffers): void {
  const outcomes: JobOutcome[] = [];
  let error: SerializedError | undefined;
  try {
    for (const job of request.jobs) {
      if (Atomics.load(settings.stopFlag, 0) !== 0) break;
      outcomes.push(runSync(jobSteps(job, settings, buffers)));
    }
  } catch (thrown) {
    error = serializeError(thrown);
  }
  reply(request.id, outcomes, error);
}

const localRoot = init.backupLocal ? init.dataRoot : undefined;

/** Lanes: each runs one job at a time, asynchronously, its buffer reused job after job. */
const freeLanes: CopyBuffers[] = [];

/** A batch whose jobs are in flight or waiting for a lane. Outcomes are reported in job order, up
 * to the first job that failed (or that never ran, once the stop flag was set). */
interface BatchInFlight {
  id: number;
  outcomes: (JobOutcome | undefined)[];
  failure?: { index: number; error: unknown };
  /** jobs not yet finished or dropped */
  unfinished: number;
}

interface QueuedJob {
  batch: BatchInFlight;
  index: number;
  job: Job;
}

/** Every batch this worker holds shares the lanes (the pool sends the next before one ends), and
 * their jobs start round-robin over their directories (directory-spread.ts). */
const waiting = new DirectorySpreadQueue<QueuedJob>();

function finishJob(batch: BatchInFlight): void {
  batch.unfinished -= 1;
  if (batch.unfinished > 0) return;
  const done: JobOutcome[] = [];
  for (const outcome of batch.outcomes) {
    if (!outcome) break;
    done.push(outcome);
  }
  const { failure } = batch;
  reply(batch.id, failure ? done.slice(0, failure.index) : done, failure ? serializeError(failure.error) : undefined);
}

/** Starts waiting jobs on the free lanes; a job of a batch that failed, or any once the stop flag is
 * set, is dropped instead. */
function startWaiting(): void {
  while (freeLanes.length > 0) {
    const queued = waiting.shift();
    if (!queued) return;
    const { batch, index, job } = queued;
    if (batch.failure || Atomics.load(settings.stopFlag, 0) !== 0) {
      finishJob(batch);
      continue;
    }
    const lane = freeLanes.pop()!;
    runAsync(jobSteps(job, settings, lane), localRoot).then(
      (outcome) => void (batch.outcomes[index] = outcome),
      (error: unknown) => {
        if (!batch.failure || index < batch.failure.index) batch.failure = { index, error };
      },
    ).finally(() => {
      freeLanes.push(lane);
      finishJob(batch);
      startWaiting();
    });
  }
}

function queueBatch(request: BatchRequest): void {
  if (request.jobs.length === 0) {
    reply(request.id, [], undefined);
    return;
  }
  const batch: BatchInFlight = { id: request.id, outcomes: [], unfinished: request.jobs.length };
  for (const [index, job] of request.jobs.entries()) waiting.push(parentPath(job.path), { batch, index, job });
  startWaiting();
}

if (init.jobsInFlight <= 1) {
  const buffers = new CopyBuffers();
  port.on('message', (request: BatchRequest) => runBatchBlocking(request, buffers));
} else {
  for (let i = 0; i < init.jobsInFlight; i++) freeLanes.push(new CopyBuffers());
  port.on('message', queueBatch);
}
