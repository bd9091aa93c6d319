// The API Lambda as deployed: bundled by cdk/api-bundle.ts (the options the stack uses), then
// imported by a plain `node` with a Lambda-like environment (credentials in AWS_ACCESS_KEY_ID & co,
// as Lambda gives them) and asked to create and list a share against DynamoDB Local: the signed
// calls (functions/adapters/aws-http.ts) and the build-time validators work in the bundle itself.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_BUNDLE_FILE, API_NODE_OPTIONS, API_SIZE_BUDGET_BYTES, bundleApi } from '../../cdk/api-bundle.ts';
import { createTables, startDynamoDbLocal, type RunningDynamoDbLocal } from '../../local/dynamodb-local.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/env.ts';

const run = promisify(execFile);
let dir: string;
let bundle: string;
let dynamo: RunningDynamoDbLocal | undefined;
const tables = { shares: 'bundle-shares', backups: 'bundle-backups', restores: 'bundle-restores', reports: 'bundle-reports', shareTypes: 'bundle-share-types' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'api-bundle-'));
  await bundleApi(join(dir, 'out'));
  bundle = join(dir, 'out', API_BUNDLE_FILE);
  dynamo = await startDynamoDbLocal();
  await createTables(dynamo.endpoint, tables);
}, 120_000);

afterAll(async () => {
  await dynamo?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('API Lambda bundle', () => {
  it(`stays under ${API_SIZE_BUDGET_BYTES / 1000} kB, with an external map without sources and no --enable-source-maps`, async () => {
    const size = (await stat(bundle)).size;
    console.info(`API bundle: ${(size / 1000).toFixed(1)} kB`);
    expect(size).toBeLessThanOrEqual(API_SIZE_BUDGET_BYTES);
    const map = JSON.parse(await readFile(`${bundle}.map`, 'utf8')) as { sources: string[]; sourcesContent?: unknown };
    expect(map.sourcesContent).toBeUndefined();
    expect(map.sources.some((source) => source.endsWith('functions/api/handler.ts'))).toBe(true);
    expect(API_NODE_OPTIONS ?? '').not.toContain('--enable-source-maps');
  });

  it('holds neither ajv\'s compiler, the X-Ray SDK, nor any AWS SDK client', async () => {
    const metafile = await bundleApi(join(dir, 'again'));
    // what the output holds (esbuild also lists inputs it read and shook out entirely)
    const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined)!;
    const inputs = Object.entries(output.inputs).filter(([, input]) => input.bytesInOutput > 0).map(([path]) => path);
    expect(inputs.some((input) => input.endsWith('functions/api/handler.ts'))).toBe(true);
    for (const unwanted of ['node_modules/ajv/dist/core.js', 'node_modules/ajv/dist/compile/', 'aws-xray-sdk-core', '@aws-sdk/nested-clients', '@aws-sdk/client-', '@aws-sdk/lib-dynamodb', '@aws-sdk/credential-provider-node', '@aws-sdk/core/', '@smithy/core/dist-es/submodules/protocols/HttpProtocol.js', '@smithy/core/dist-es/submodules/event-streams']) {
      expect(inputs.filter((input) => input.includes(unwanted)), unwanted).toEqual([]);
    }
  });

  it('creates and lists a share through DynamoDB Local, imported by plain node with Lambda-like credentials', async () => {
    const script = `
      const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
      const context = { functionName: 'api', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:${LOCAL_REGION}:000000000000:function:api', memoryLimitInMB: '512', awsRequestId: 'r', getRemainingTimeInMillis: () => 29000 };
      const event = (method, path, body) => ({
        version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: '', headers: { host: 'api.test', 'x-forwarded-proto': 'https', 'content-type': 'application/json' },
        requestContext: { http: { method, path }, authorizer: { jwt: { claims: { sub: 'u', project_id: 'alpha', roles: '[member reader]' } } } },
        body: body === undefined ? undefined : JSON.stringify(body), isBase64Encoded: false,
      });
      const answers = [];
      for (const [method, path, body] of [['GET', '/'], ['POST', '/v2/alpha/shares', { share: { share_proto: 'NFS', size: 1, name: 'bundled' } }], ['GET', '/v2/alpha/shares'], ['POST', '/v2/alpha/shares', { share: { share_proto: 'NFS', size: 'one' } }]]) {
        const answer = await handler(event(method, path, body), context);
        answers.push({ status: answer.statusCode, body: answer.body ? JSON.parse(answer.body) : undefined });
      }
      process.stdout.write(JSON.stringify(answers));`;
    const env = {
      PATH: process.env.PATH, AWS_REGION: LOCAL_REGION, AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo!.endpoint, AWS_LAMBDA_FUNCTION_NAME: 'api', POWERTOOLS_SERVICE_NAME: 'share-backup-api',
      SHARES_TABLE: tables.shares, BACKUPS_TABLE: tables.backups, RESTORES_TABLE: tables.restores, REPORTS_TABLE: tables.reports, SHARE_TYPES_TABLE: tables.shareTypes,
      RESTORE_STATE_MACHINE_ARN: `arn:aws:states:${LOCAL_REGION}:000000000000:stateMachine:restore`, BACKUP_STATE_MACHINE_ARN: `arn:aws:states:${LOCAL_REGION}:000000000000:stateMachine:backup`,
      STORAGE_BACKEND: 'local', LOCAL_STORAGE_ROOT: join(dir, 'storage'),
    };
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env });
    const [versions, created, listed, invalid] = JSON.parse(stdout) as { status: number; body: Record<string, unknown> }[];
    expect(versions!.status).toBe(300);
    expect(created!.status).toBeLessThan(300);
    const id = (created!.body.share as { id: string }).id;
    expect(listed!.status).toBe(200);
    expect((listed!.body.shares as { id: string; name: string }[]).map((s) => [s.id, s.name])).toEqual([[id, 'bundled']]);
    // the build-time validator's answer, as the run-time compile gave it
    expect(invalid!.status).toBe(400);
    expect(JSON.stringify(invalid!.body)).toContain('Invalid input for field share.size: must be integer.');
  }, 60_000);
});
