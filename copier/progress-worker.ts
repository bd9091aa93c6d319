// The progress writer (a worker thread, progress-thread.ts): makes the DynamoDB progress writes, so
// that the AWS SDK loads (~0.2 s of CPU) and its requests run beside the copy instead of in front of
// it and between its batches. One reply per request, in order.
import { parentPort, workerData } from 'node:worker_threads';
import { DynamoProgressSink, type DynamoProgressTargets } from './dynamo-progress.ts';
import type { ProgressRequest, ProgressReply } from './progress-thread.ts';

const port = parentPort;
if (!port) throw new Error('progress-worker.ts runs as a worker thread');
const sink = new DynamoProgressSink(workerData as DynamoProgressTargets);

port.on('message', (request: ProgressRequest) => {
  const done = request.type === 'write' ? sink.write(request.snapshot) : sink.fail(request.reason);
  done.then(
    () => port.postMessage({ id: request.id } satisfies ProgressReply),
    (error: unknown) => port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) } satisfies ProgressReply),
  );
});
