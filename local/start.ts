// `npm start`: the whole service on this machine (see docs/developer-reference.md, "The local
// runtime"). Settings come from the environment:
//   PORT (8786; 0 = any free port)   DATA_DIR (.local)   SFN_PORT (0 = any free port)
//   DYNAMODB_ENDPOINT (use a running DynamoDB Local)   DYNAMODB_IN_MEMORY=1 (nothing on disk)
//   BACKUP_DRIVERS / BACKUP_DRIVERS_FILE (driver configuration)   TABLE_PREFIX (local-)
// Data (DynamoDB files, storage, the token signing key) lives in DATA_DIR and survives restarts.
// The last line of the banner, `LOCAL_STACK_READY {...}`, is for programs that start us.
import { DEFAULT_API_PORT, READY_MARKER, portFromEnv, resolveDataDir } from './env.ts';
import { mkdirSync } from 'node:fs';
import { LOW_SPACE_BYTES, SpaceReserve, formatBytes, freeBytes } from './disk.ts';
import { startLocalStack, type LocalStack } from './stack.ts';
import { buildConsole } from '../console/build.mjs';

function flag(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes'].includes(value.toLowerCase());
}

async function main(): Promise<void> {
  const env = process.env;
  const dataDir = resolveDataDir(env);
  mkdirSync(dataDir, { recursive: true });
  // the web console is built by npm ci; build it again here if its sources changed since
  try {
    if (await buildConsole({ quiet: true })) process.stdout.write('console: built console/dist\n');
  } catch (err) {
    process.stderr.write(`console: the build failed, the web console may be out of date: ${(err as Error).message}\n`);
  }
  const reserve = new SpaceReserve(dataDir);
  reserve.start();
  const stack: LocalStack = await startLocalStack({
    dataDir,
    onDataWriteFailure: (err) => reserve.writeFailed(err),
    port: portFromEnv(env.PORT, DEFAULT_API_PORT),
    sfnPort: portFromEnv(env.SFN_PORT, 0),
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT || undefined,
    dynamodbInMemory: flag(env.DYNAMODB_IN_MEMORY),
    tablePrefix: env.TABLE_PREFIX || undefined,
    backupDrivers: env.BACKUP_DRIVERS || undefined,
    backupDriversFile: env.BACKUP_DRIVERS_FILE || undefined,
  });

  // npm forwards SIGINT and SIGTERM to us, and a terminal's Ctrl+C also reaches us directly (we
  // share its process group): one Ctrl+C can arrive twice within milliseconds. Only a signal that
  // comes after this long counts as the impatient second Ctrl+C.
  const REPEAT_AFTER_MS = 1000;
  let stoppingSince: number | undefined;
  const shutdown = (reason: string) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < REPEAT_AFTER_MS) return;
      // a second Ctrl+C: the user does not want to wait for an orderly stop (DynamoDB Local goes
      // by our exit handler, copiers by the reaper)
      process.stderr.write(`${reason} again: exiting now\n`);
      process.exit(130);
    }
    stoppingSince = Date.now();
    process.stderr.write(`\n${reason}: stopping the local stack...\n`);
    stack.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));

  // Whoever started us (npm, a shell, a test) may die without passing a signal on (SIGKILL): we
  // are then adopted by another process, and stop rather than hold the ports and the data folder.
  const parent = process.ppid;
  const PARENT_POLL_MS = 500;
  setInterval(() => {
    if (process.ppid !== parent) shutdown(`parent process ${parent} exited`);
  }, PARENT_POLL_MS).unref();

  const memberToken = await stack.identity.mintToken({ project: 'demo', roles: ['member'], sub: 'demo-member' });
  const adminToken = await stack.identity.mintToken({ project: 'demo', roles: ['admin', 'member'], sub: 'demo-admin' });
  // A restart on a full disk works (reads need no space), but every backup will fail: say so here,
  // where the developer looks, rather than only in the reason of the first failed backup.
  const free = freeBytes(stack.dataDir);
  // (without its reserve, a failed backup may not even be recorded: see SpaceReserve)
  const diskWarning = free !== undefined && (free < LOW_SPACE_BYTES || !reserve.isHeld)
    ? [`  WARNING: the data folder's file system has ${formatBytes(free)} free: backups and restores will fail`, '  with "no space left on device" until space is freed there.', '']
    : [];
  const banner = [
    '',
    'Share backup service: local stack is up',
    '',
    `  Console        ${stack.consoleUrl}   (web console; sign in as any project and role)`,
    `  API            ${stack.apiUrl}   (Manila API, microversion 2.91; OpenAPI at ${stack.apiUrl}/v2/openapi.json)`,
    `  data folder    ${stack.dataDir}   (delete it to start from scratch)`,
    `  DynamoDB       ${stack.dynamodbEndpoint}   tables ${Object.values(stack.tables).join(', ')}`,
    `  Step Functions ${stack.sfnEndpoint}`,
    '',
    ...diskWarning,
    '  Tokens for project "demo" (valid 12 hours):',
    `  MEMBER_TOKEN=${memberToken}`,
    `  ADMIN_TOKEN=${adminToken}`,
    '',
    '  More tokens:  npm run --silent token -- --project <id> --roles reader|member|admin [--user <id>]',
    '',
    '  Try:',
    `    curl -s ${stack.apiUrl}/`,
    `    curl -s -H "X-Auth-Token: $MEMBER_TOKEN" ${stack.apiUrl}/v2/shares`,
    `    curl -s -H "Authorization: Bearer $MEMBER_TOKEN" ${stack.apiUrl}/v2/share-backups/detail`,
    '',
    '  Ctrl+C stops everything.',
    '',
  ];
  process.stdout.write(`${banner.join('\n')}\n`);
  const ready = {
    apiUrl: stack.apiUrl,
    consoleUrl: stack.consoleUrl,
    sfnEndpoint: stack.sfnEndpoint,
    dynamodbEndpoint: stack.dynamodbEndpoint,
    dataDir: stack.dataDir,
    storageRoot: stack.storageRoot,
    tables: stack.tables,
    stateMachineArns: stack.stateMachineArns,
  };
  process.stdout.write(`${READY_MARKER} ${JSON.stringify(ready)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`local stack failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
