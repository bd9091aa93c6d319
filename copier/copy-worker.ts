// A copy worker (worker_threads): runs batches of restore jobs (copy-jobs.ts), one at a time with
// blocking calls or several in flight (syscalls.ts says when which), and answers each batch with one
// message. It stops between jobs (and between chunks of a large
// file) once the shared stop flag is set; the first failing job ends its batch.
import { parentPort, workerData } from 'node:worker_threads';
import { CopyBuffers, jobSteps, type Job, type JobOutcome, type JobSettings, type VerifyExisting } from './copy-jobs.ts';
import { runAsync, runSync } from './syscalls.ts';

export interface WorkerInit {
  dataRoot: string;
  targetRoot: string;
  chown: boolean;
  verifyExisting: VerifyExisting;
  stopBuffer: SharedArrayBuffer;
  umask: number;
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

/** A failure, sent as plain data: restore.ts turns it back into the copier error of that name. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
}

export type WorkerMessage =
  | { type: 'bytes'; bytes: number }
  | { type: 'done'; id: number; outcomes: JobOutcome[]; error?: SerializedError };

function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
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

/** Lanes: each runs one job at a time, asynchronously; their buffers are reused job after job. The
 * lanes are shared by every batch this worker has (the pool sends the next before one ends). */
const freeLanes: CopyBuffers[] = [];
const waitingForLane: ((lane: CopyBuffers) => void)[] = [];

function takeLane(): Promise<CopyBuffers> | CopyBuffers {
  return freeLanes.pop() ?? new Promise((resolve) => waitingForLane.push(resolve));
}

function releaseLane(lane: CopyBuffers): void {
  const next = waitingForLane.shift();
  if (next) next(lane);
  else freeLanes.push(lane);
}

/** A batch's jobs in flight together, as many as there are free lanes. Outcomes are reported in
 * job order, up to the first job that failed. */
async function runBatchInFlight(request: BatchRequest): Promise<void> {
  const outcomes: (JobOutcome | undefined)[] = [];
  let failure: { index: number; error: unknown } | undefined;
  const running: Promise<void>[] = [];
  for (const [index, job] of request.jobs.entries()) {
    const lane = await takeLane();
    if (Atomics.load(settings.stopFlag, 0) !== 0 || failure) {
      releaseLane(lane);
      break;
    }
    running.push(runAsync(jobSteps(job, settings, lane), localRoot).then(
      (outcome) => void (outcomes[index] = outcome),
      (error: unknown) => {
        if (!failure || index < failure.index) failure = { index, error };
      },
    ).finally(() => releaseLane(lane)));
  }
  await Promise.all(running);
  const done: JobOutcome[] = [];
  for (const outcome of outcomes) {
    if (!outcome) break;
    done.push(outcome);
  }
  reply(request.id, failure ? done.slice(0, failure.index) : done, failure ? serializeError(failure.error) : undefined);
}

if (init.jobsInFlight <= 1) {
  const buffers = new CopyBuffers();
  port.on('message', (request: BatchRequest) => runBatchBlocking(request, buffers));
} else {
  for (let i = 0; i < init.jobsInFlight; i++) freeLanes.push(new CopyBuffers());
  port.on('message', (request: BatchRequest) => void runBatchInFlight(request));
}
