// The copier's process entry point: the Fargate task's command, and locally the child process the
// Step Functions facade spawns. Reads the environment, runs one backup or restore, and prints one
// JSON line on stderr: {"done","ms",…counts} (done-line.ts) and exits 0, or {"error","reason"} and
// exits 1 (failure), 2 (bad configuration) or 143 (SIGTERM).
import { runBackup } from './backup/index.ts';
import { loadCopierConfig } from './config.ts';
import { doneLine } from './done-line.ts';
import { describeFailure, StoppedError } from './errors.ts';
import { DynamoProgressSink } from './progress/dynamo-progress.ts';
import { DynamoReportSink } from './progress/dynamo-report.ts';
import { runRestore } from './restore/index.ts';
import { DynamoCheckpointStore } from './restore/checkpoint.ts';

function log(message: string): void {
  process.stderr.write(`copier: ${message}\n`);
}

async function main(): Promise<number> {
  const stop = new AbortController();
  let roots: { source: string; target: string } | undefined;
  process.once('SIGTERM', () => {
    log('SIGTERM: finishing the files in flight, starting no new ones');
    stop.abort(new StoppedError('stopped by SIGTERM'));
  });
  try {
    const config = loadCopierConfig(process.env);
    roots = { source: config.source, target: config.target };
    const run = config.mode === 'backup' ? runBackup : runRestore;
    const started = Date.now();
    const result = await run({
      source: config.source,
      target: config.target,
      concurrency: config.concurrency,
      failAfterFiles: config.failAfterFiles,
      verifyExisting: config.verifyExisting,
      runId: config.runId,
      checkpoint: config.mode === 'restore' && config.progress?.progress ? new DynamoCheckpointStore(config.progress.progress) : undefined,
      checksum: config.checksum,
      networkFileSystem: config.networkFileSystem,
      progress: config.progress ? new DynamoProgressSink(config.progress) : undefined,
      report: config.report ? new DynamoReportSink(config.report, undefined, { onWriteError: (error) => log(`report write failed: ${(error as Error).message}`) }) : undefined,
      signal: stop.signal,
      log,
    });
    process.stderr.write(`${doneLine(config.mode, Date.now() - started, result)}\n`);
    return 0;
  } catch (error) {
    const failure = describeFailure(error, roots);
    process.stderr.write(`${JSON.stringify({ error: failure.error, reason: failure.reason })}\n`);
    return failure.exitCode;
  }
}

// exit explicitly: idle SDK sockets must not keep a finished task alive (stderr is a pipe or a file,
// written synchronously, so nothing printed is lost)
process.exit(await main());
