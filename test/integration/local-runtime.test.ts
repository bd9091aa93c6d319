// The local runtime itself: DynamoDB Local and its tables, `npm start` as a child process, and
// the token command, against the run's shared in-memory DynamoDB Local.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTables, localDynamoDbClient, startDynamoDbLocal } from '../../local/dynamodb-local.ts';
import { tableNames } from '../../local/env.ts';
import { openIdentity } from '../../local/identity.ts';
import { REPO_ROOT, startStack, type TestStack } from './helpers/stack.ts';
import { removeTree } from './helpers/trees.ts';

const run = promisify(execFile);

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('DynamoDB Local', () => {
  it('creates the three resource tables with their project index, the reports table and the share types table, and a second call changes nothing', async () => {
    const endpoint = inject('dynamodbEndpoint');
    const names = tableNames(`ct${Date.now()}-`);
    await createTables(endpoint, names);
    await createTables(endpoint, names);
    const client = localDynamoDbClient(endpoint);
    try {
      const { reports, shareTypes, ...resources } = names;
      for (const name of Object.values(resources)) {
        const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
        expect(Table?.TableStatus).toBe('ACTIVE');
        expect(Table?.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
        expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['by_project']);
      }
      const { Table } = await client.send(new DescribeTableCommand({ TableName: reports }));
      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.KeySchema).toEqual([{ AttributeName: 'operation_id', KeyType: 'HASH' }, { AttributeName: 'seq', KeyType: 'RANGE' }]);
      expect(Table?.GlobalSecondaryIndexes).toBeUndefined();
      const types = (await client.send(new DescribeTableCommand({ TableName: shareTypes }))).Table;
      expect(types?.TableStatus).toBe('ACTIVE');
      expect(types?.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
      expect(types?.GlobalSecondaryIndexes).toBeUndefined();
    } finally {
      client.destroy();
    }
  });

  it('keeps data on disk across a restart and leaves no Java process behind', async () => {
    const path = mkdtempSync(join(tmpdir(), 'dynamodb-local-test-'));
    try {
      const first = await startDynamoDbLocal({ path });
      const names = tableNames('persist-');
      let client = localDynamoDbClient(first.endpoint);
      try {
        await createTables(first.endpoint, names);
        await client.send(new PutItemCommand({ TableName: names.shares, Item: { id: { S: 'kept' }, project_id: { S: 'p' }, created_at: { S: '2024' } } }));
      } finally {
        client.destroy();
        await first.stop();
      }
      expect(isRunning(first.pid)).toBe(false);

      const second = await startDynamoDbLocal({ path });
      client = localDynamoDbClient(second.endpoint);
      try {
        await createTables(second.endpoint, names);
        const { Item } = await client.send(new GetItemCommand({ TableName: names.shares, Key: { id: { S: 'kept' } } }));
        expect(Item?.project_id).toEqual({ S: 'p' });
      } finally {
        client.destroy();
        await second.stop();
      }
      expect(isRunning(second.pid)).toBe(false);
    } finally {
      await removeTree(path);
    }
  }, 90_000); // two Java starts, on a busy two-core machine
});

describe('the local stack (npm start)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('serves the version document without a token', async () => {
    const res = await stack.request('GET', '/');
    expect(res.status).toBe(300);
    expect(res.json).toHaveProperty('versions');
    expect(stack.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.tables.shares.startsWith(stack.tablePrefix)).toBe(true);
    expect(stack.stateMachineArns.restore).toMatch(/^arn:aws:states:us-east-1:\d{12}:stateMachine:restore$/);
  });

  it('refuses a bad token at the gateway and accepts a minted one', async () => {
    const bad = await stack.request('GET', '/v2/shares', { token: 'garbage' });
    expect(bad.status).toBe(401);
    expect(bad.json).toMatchObject({ unauthorized: { code: 401 } });
    const good = await stack.request('GET', '/v2/shares', { token: await stack.token('demo', ['member']) });
    expect(good.status).toBe(200);
  });

  it('mints tokens with `npm run --silent token` that verify against the stack key', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'token', '--', '--project', 'proj-cli', '--roles', 'reader,member', '--user', 'carol'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATA_DIR: stack.dataDir },
    });
    const token = stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    expect(stdout).toBe(`${token}\n`);
    const claims = await (await openIdentity(stack.dataDir)).verifyToken(token);
    expect(claims).toMatchObject({ sub: 'carol', project_id: 'proj-cli', roles: ['reader', 'member'] });
    const res = await stack.request('GET', '/v2/shares', { token });
    expect(res.status).not.toBe(401);
  });

  it('keeps its signing key and tables across a restart', async () => {
    const token = await stack.token('demo', ['member']);
    await stack.stop({ keepData: true });
    const restarted = await startStack({ dataDir: stack.dataDir, tablePrefix: stack.tablePrefix });
    try {
      expect(restarted.tables).toEqual(stack.tables);
      const res = await restarted.request('GET', '/v2/shares', { token });
      expect(res.status).toBe(200);
    } finally {
      await restarted.stop({ keepData: false });
    }
  });
});
