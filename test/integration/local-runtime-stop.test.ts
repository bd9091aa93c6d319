// Stopping `npm start`: SIGTERM or SIGINT to npm or to the stack's node process stops everything
// it started (DynamoDB Local, the copiers, the reaper) and frees its ports; a SIGKILL of its whole
// process group, while a copier runs, leaves nothing behind either. Each test runs the real
// `npm start` and finds what it started in /proc. A Java start costs a core for seconds: the
// tests where DynamoDB Local was the process left behind start their own (in memory), the others
// use the run's shared one.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { READY_MARKER } from '../../local/env.ts';
import { openIdentity } from '../../local/identity.ts';
import { waitForExit } from '../../local/processes.ts';
import { REPO_ROOT, waitFor } from './helpers/stack.ts';
import { removeTree } from './helpers/trees.ts';
import { createShare, tenant } from './tenant.ts';

interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** clock ticks after boot: with the pid, names one process even if the pid is reused */
  start: string;
  cmdline: string;
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: the fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // a zombie holds nothing but its pid
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), start: fields[19]!, cmdline };
  } catch {
    return undefined; // gone while we looked
  }
}

function allProcesses(): ProcInfo[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map((name) => readProc(Number(name))).filter((p) => p !== undefined);
}

/** Every process descending from root, and every member of their process groups. */
function startedBy(root: number): ProcInfo[] {
  const all = allProcesses();
  const found = new Map<number, ProcInfo>();
  const rootInfo = all.find((p) => p.pid === root);
  if (rootInfo) found.set(root, rootInfo);
  for (let grew = true; grew; ) {
    grew = false;
    const groups = new Set([...found.values()].map((p) => p.pgid));
    for (const p of all) {
      if (!found.has(p.pid) && (found.has(p.ppid) || groups.has(p.pgid))) {
        found.set(p.pid, p);
        grew = true;
      }
    }
  }
  return [...found.values()];
}

function stillRunning(seen: Map<number, ProcInfo>): ProcInfo[] {
  return [...seen.values()].filter((p) => readProc(p.pid)?.start === p.start);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

interface RunningNpmStart {
  npm: ChildProcess;
  dataDir: string;
  ready: { apiUrl: string; sfnEndpoint: string; dynamodbEndpoint: string; storageRoot: string };
  /** the addresses it listened on itself (the shared DynamoDB Local's is not its own) */
  ownUrls: string[];
  /** every process seen started by it so far (updated by look()) */
  seen: Map<number, ProcInfo>;
  look(): ProcInfo[];
  output(): string;
}

const started: RunningNpmStart[] = [];

async function npmStart({ ownDynamoDb }: { ownDynamoDb: boolean }): Promise<RunningNpmStart> {
  const dataDir = mkdtempSync(join(tmpdir(), 'share-backup-stop-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', SFN_PORT: '0', DATA_DIR: dataDir, DYNAMODB_IN_MEMORY: '1' };
  for (const name of ['DYNAMODB_ENDPOINT', 'TABLE_PREFIX', 'BACKUP_DRIVERS', 'BACKUP_DRIVERS_FILE', 'VITEST', 'VITEST_WORKER_ID', 'VITEST_POOL_ID']) delete env[name];
  if (!ownDynamoDb) Object.assign(env, { DYNAMODB_ENDPOINT: inject('dynamodbEndpoint'), TABLE_PREFIX: `stop${randomBytes(4).toString('hex')}-` });
  // detached: npm leads a process group, as it does when started from a terminal
  const npm = spawn('npm', ['start'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  npm.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
  const ready = await new Promise<RunningNpmStart['ready']>((resolve, reject) => {
    createInterface({ input: npm.stdout! }).on('line', (line) => {
      output += `${line}\n`;
      if (line.startsWith(`${READY_MARKER} `)) resolve(JSON.parse(line.slice(READY_MARKER.length + 1)) as RunningNpmStart['ready']);
    });
    npm.once('exit', (code, signal) => reject(new Error(`npm start exited before it was ready (${code ?? signal}):\n${output}`)));
  });
  const seen = new Map<number, ProcInfo>();
  const look = () => {
    const now = startedBy(npm.pid!);
    for (const p of now) seen.set(p.pid, p);
    return now;
  };
  look();
  const ownUrls = [ready.apiUrl, ready.sfnEndpoint, ...(ownDynamoDb ? [ready.dynamodbEndpoint] : [])];
  const run: RunningNpmStart = { npm, dataDir, ready, ownUrls, seen, look, output: () => output };
  started.push(run);
  return run;
}

const portOf = (url: string) => Number(new URL(url).port);

/** What a stop must leave: no process it started, every port it listened on free again. */
async function expectNothingLeft(run: RunningNpmStart, withinMs: number): Promise<void> {
  const left = await waitFor(() => {
    const running = stillRunning(run.seen);
    return running.length === 0 ? [] : false;
  }, { timeoutMs: withinMs, what: 'every process npm start started to exit' }).catch(() => stillRunning(run.seen));
  expect(left.map((p) => `${p.pid} ${p.cmdline}`), run.output()).toEqual([]);
  for (const url of run.ownUrls) {
    expect(await portIsFree(portOf(url)), `port of ${url} is free`).toBe(true);
  }
}

afterEach(async () => {
  // whatever a failed test left: end it, so the next tests (and the machine) are not affected
  for (const run of started.splice(0)) {
    for (const p of stillRunning(run.seen)) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    await removeTree(run.dataDir);
  }
});

describe('stopping npm start', () => {
  const expectStarted = (run: RunningNpmStart, ...what: string[]) => {
    const commands = [...run.seen.values()].map((p) => p.cmdline);
    for (const command of what) expect(commands.some((c) => c.includes(command)), commands.join('\n')).toBe(true);
  };

  for (const [signal, ownDynamoDb] of [['SIGTERM', true], ['SIGINT', false]] as const) {
    it(`${signal} to the npm process stops everything it started and frees its ports${ownDynamoDb ? ' (DynamoDB Local too)' : ''}`, async () => {
      const run = await npmStart({ ownDynamoDb });
      expectStarted(run, 'local/start.ts', ...(ownDynamoDb ? ['DynamoDBLocal.jar'] : []));
      run.npm.kill(signal);
      expect(await waitForExit(run.npm, 20_000), 'npm exits').toBe(true);
      await expectNothingLeft(run, 5000);
    }, 120_000);
  }

  it('SIGTERM to the stack\'s node process stops everything and frees its ports', async () => {
    const run = await npmStart({ ownDynamoDb: false });
    // the process that runs local/start.ts itself: the innermost one naming it (not a shell or a
    // launcher in between)
    const naming = [...run.seen.values()].filter((p) => p.cmdline.includes('local/start.ts'));
    const node = naming.find((p) => !naming.some((child) => child.ppid === p.pid));
    expect(node, run.output()).toBeDefined();
    process.kill(node!.pid, 'SIGTERM');
    expect(await waitForExit(run.npm, 20_000), 'npm exits').toBe(true);
    await expectNothingLeft(run, 5000);
  }, 120_000);

  it('SIGKILL of its process group while a copier runs leaves nothing after a few seconds (DynamoDB Local neither)', async () => {
    const run = await npmStart({ ownDynamoDb: true });
    const identity = await openIdentity(run.dataDir);
    const member = tenant(run.ready.apiUrl, 'demo', await identity.mintToken({ project: 'demo', roles: ['member'] }));
    const share = await createShare(member, { name: 'busy' });
    for (let i = 0; i < 20; i++) writeFileSync(join(share.export_locations[0].path, `file-${i}`), Buffer.alloc(1024 * 1024, i));

    const res = await member.post('/v2/share-backups', { share_backup: { share_id: share.id } });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    const copier = await waitFor(() => run.look().find((p) => p.cmdline.includes('copier/main.ts')), {
      timeoutMs: 30_000, intervalMs: 10, what: 'the backup\'s copier to start',
    });
    // A copier stuck in its copy (a hung NFS server) never ends by itself: stopping it here makes
    // the test independent of how fast this machine copies 20 MiB.
    process.kill(copier.pid, 'SIGSTOP');
    run.look();
    expectStarted(run, 'local/start.ts', 'DynamoDBLocal.jar', 'copier/main.ts');

    process.kill(-run.npm.pid!, 'SIGKILL');
    await expectNothingLeft(run, 5000);
  }, 120_000);
});
