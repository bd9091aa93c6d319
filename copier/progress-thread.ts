// A progress sink whose writes run on their own worker thread (progress-worker.ts): the AWS SDK is
// loaded there, in parallel with the run, not on the main thread before it starts.
import type { Worker } from 'node:worker_threads';
import type { DynamoProgressTargets } from './dynamo-progress.ts';
import type { ProgressSink, ProgressSnapshot } from './progress.ts';
import { startWorker } from './worker-source.ts';

export type ProgressRequest = { id: number; type: 'write'; snapshot: ProgressSnapshot } | { id: number; type: 'fail'; reason: string };
export interface ProgressReply {
  id: number;
  /** the write failed (progress is best effort: the reporter logs it) */
  error?: string;
}

export class ThreadProgressSink implements ProgressSink {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private broken: Error | undefined;

  constructor(targets: DynamoProgressTargets) {
    this.worker = startWorker('progress-worker', { workerData: targets });
    // the thread never keeps the process alive on its own: the run's end does (main.ts exits)
    this.worker.unref();
    this.worker.on('message', (reply: ProgressReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.error === undefined) waiting?.resolve();
      else waiting?.reject(new Error(reply.error));
    });
    const breakDown = (error: Error) => {
      this.broken ??= error;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', breakDown);
    this.worker.on('exit', (code) => breakDown(new Error(`the progress writer exited with code ${code}`)));
  }

  write(snapshot: ProgressSnapshot): Promise<void> {
    return this.request({ type: 'write', snapshot });
  }

  fail(reason: string): Promise<void> {
    return this.request({ type: 'fail', reason });
  }

  private request(request: { type: 'write'; snapshot: ProgressSnapshot } | { type: 'fail'; reason: string }): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...request } as ProgressRequest);
    });
  }
}
