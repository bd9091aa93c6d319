// A copy worker (worker_threads): runs batches of restore jobs with synchronous I/O (sync-copy.ts)
// and answers each batch with one message. It stops between jobs (and between chunks of a large
// file) once the shared stop flag is set; the first failing job ends its batch.
import { parentPort, workerData } from 'node:worker_threads';
import { CopyBuffers, runJob, type Job, type JobOutcome, type JobSettings, type VerifyExisting } from './sync-copy.ts';

export interface WorkerInit {
  dataRoot: string;
  targetRoot: string;
  chown: boolean;
  verifyExisting: VerifyExisting;
  stopBuffer: SharedArrayBuffer;
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
const buffers = new CopyBuffers();
// large files report their bytes as they stream; small ones are counted when their batch is done
const settings: JobSettings = {
  dataRoot: init.dataRoot,
  targetRoot: init.targetRoot,
  chown: init.chown,
  verifyExisting: init.verifyExisting,
  stopFlag: new Int32Array(init.stopBuffer),
  onBytes: (bytes) => port.postMessage({ type: 'bytes', bytes } satisfies WorkerMessage),
};

port.on('message', (request: BatchRequest) => {
  const outcomes: JobOutcome[] = [];
  let error: SerializedError | undefined;
  try {
    for (const job of request.jobs) {
      if (Atomics.load(settings.stopFlag, 0) !== 0) break;
      outcomes.push(runJob(job, settings, buffers));
    }
  } catch (thrown) {
    error = serializeError(thrown);
  }
  port.postMessage({ type: 'done', id: request.id, outcomes, ...(error ? { error } : {}) } satisfies WorkerMessage);
});
