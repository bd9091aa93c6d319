// Starts the local stack the way a developer does (`node --import tsx local/start.ts`), as a
// child process with its own data folder and table prefix on the run's shared DynamoDB Local,
// and gives tests what they need to talk to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import type { DriverConfig } from '../../../functions/domain/drivers.ts';
import { READY_MARKER, type TableNames } from '../../../local/env.ts';
import { openIdentity, type Identity } from '../../../local/identity.ts';
import { exited, waitForExit } from '../../../local/processes.ts';
import type { LocalStack } from '../../../local/stack.ts';
import { removeTree, removeTreeSync } from './trees.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const START_TIMEOUT_MS = 60_000;
const OUTPUT_TAIL_CHARS = 20_000;

export interface StartStackOptions {
  /** backup driver configuration (BACKUP_DRIVERS) */
  drivers?: DriverConfig | unknown;
  /** extra environment for the stack process (wins over everything else) */
  env?: Record<string, string | undefined>;
  /** reuse a data folder (e.g. to test a restart); default: a fresh temporary one */
  dataDir?: string;
  /** reuse a table prefix (with dataDir, a restart sees the same data); default: a unique one */
  tablePrefix?: string;
}

export interface RequestOptions {
  /** an object is sent as JSON; a string as it is */
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** the body parsed as JSON, or undefined when it is not JSON */
  json: unknown;
  text: string;
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** named in the timeout error */
  what?: string;
}

export interface TestStack {
  apiUrl: string;
  sfnEndpoint: string;
  dynamodbEndpoint: string;
  dataDir: string;
  storageRoot: string;
  tablePrefix: string;
  tables: TableNames;
  stateMachineArns: { restore: string; backup: string };
  /** the child process's output so far (for diagnostics) */
  output(): { stdout: string; stderr: string };
  /** a JWT signed with this stack's key */
  token(project: string, roles: string[] | string, user?: string): Promise<string>;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  waitFor<T>(probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, options?: WaitForOptions): Promise<T>;
  /**
   * Stops the process. A data folder this helper created is removed unless keepData is true (a
   * later startStack({dataDir, tablePrefix}) then sees the same data); one the caller gave stays
   * unless keepData is false. (A process 'exit' handler alone left folders behind: vitest's
   * workers do not always exit through it.)
   */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** What `npm start` prints after its READY_MARKER: the running stack's addresses. */
type ReadyLine = Omit<LocalStack, 'identity' | 'stop'>;


function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // gone already
    }
  }
}

/** Polls until probe returns a value other than undefined, null or false. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 30_000, intervalMs = 200, what = 'condition' }: WaitForOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const because = lastError instanceof Error ? `: last error ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${because}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Data folders this helper made, removed when the test process exits. */
const createdDataDirs = new Set<string>();
let cleanupRegistered = false;

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'share-backup-stack-'));
  createdDataDirs.add(dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.on('exit', () => {
      for (const created of createdDataDirs) {
        try {
          removeTreeSync(created);
        } catch {
          // a leftover temporary folder is not worth failing the run for
        }
      }
    });
  }
  return dir;
}

export async function startStack(options: StartStackOptions = {}): Promise<TestStack> {
  const dataDir = options.dataDir ?? newDataDir();
  const tablePrefix = options.tablePrefix ?? `t${randomBytes(4).toString('hex')}-`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    SFN_PORT: '0',
    DATA_DIR: dataDir,
    DYNAMODB_ENDPOINT: inject('dynamodbEndpoint'),
    TABLE_PREFIX: tablePrefix,
  };
  delete env.DYNAMODB_IN_MEMORY;
  delete env.BACKUP_DRIVERS_FILE;
  delete env.BACKUP_DRIVERS;
  // vitest's own variables would make tsx-run code believe it is inside a test worker
  delete env.VITEST;
  delete env.VITEST_WORKER_ID;
  delete env.VITEST_POOL_ID;
  if (options.drivers !== undefined) env.BACKUP_DRIVERS = JSON.stringify(options.drivers);
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }

  // its own process group, so stop() also reaches the copiers it spawned
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'local', 'start.ts')], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const killOnExit = () => killGroup(child, 'SIGKILL');
  process.on('exit', killOnExit);

  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  });
  // stdout is read to the end, always: a full pipe would block the stack's logging
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<ReadyLine>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`the local stack did not report ready within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    lines.on('line', (line) => {
      stdout = (stdout + line + '\n').slice(-OUTPUT_TAIL_CHARS);
      if (line.startsWith(`${READY_MARKER} `)) {
        clearTimeout(timer);
        try {
          resolveReady(JSON.parse(line.slice(READY_MARKER.length + 1)) as ReadyLine);
        } catch (err) {
          reject(err as Error);
        }
      }
    });
    // 'close' rather than 'exit': by then all of its stderr has been read for the error message
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the local stack exited before it was ready (code ${code}, signal ${signal})`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });

  let stopped = false;
  const stop = async ({ keepData = options.dataDir !== undefined }: { keepData?: boolean } = {}) => {
    if (!stopped) {
      stopped = true;
      process.off('exit', killOnExit);
      if (!exited(child)) {
        killGroup(child, 'SIGTERM');
        if (!(await waitForExit(child, 10_000))) {
          killGroup(child, 'SIGKILL');
          await waitForExit(child, 5_000);
        }
      }
      // copiers may still be shutting down in the group
      killGroup(child, 'SIGKILL');
    }
    if (!keepData) {
      await removeTree(dataDir);
      createdDataDirs.delete(dataDir);
    }
  };

  let info: ReadyLine;
  try {
    info = await ready;
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`);
  }

  let identity: Promise<Identity> | undefined;
  const token = async (project: string, roles: string[] | string, user?: string) => {
    identity ??= openIdentity(dataDir);
    const roleList = Array.isArray(roles) ? roles : roles.split(',');
    return (await identity).mintToken({ project, roles: roleList, sub: user });
  };

  const request = async (method: string, path: string, { body, token: jwt, headers = {} }: RequestOptions = {}): Promise<ApiResponse> => {
    const sent: Record<string, string> = { ...headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(sent).some((h) => h.toLowerCase() === 'content-type')) sent['content-type'] = 'application/json';
    }
    if (jwt !== undefined) sent['x-auth-token'] = jwt;
    const response = await fetch(`${info.apiUrl}${path}`, { method, headers: sent, body: payload });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, json, text };
  };

  return {
    ...info,
    tablePrefix,
    output: () => ({ stdout, stderr }),
    token,
    request,
    waitFor,
    stop,
  };
}
