// The whole service on one machine, in one process: DynamoDB Local, the Step Functions facade
// running the real ASL files, and the HTTP gateway in front of the real API handler. Only the
// environment differs from AWS; the handlers are the same modules, imported after it is set.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import { createTables, startDynamoDbLocal, waitForDynamoDb, type RunningDynamoDbLocal } from './dynamodb-local.ts';
import {
  DEFAULT_API_PORT,
  DEFAULT_TABLE_PREFIX,
  LOCAL_ACCOUNT_ID,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  findFreePort,
  tableNames,
  type TableNames,
} from './env.ts';
import { consoleRoutes } from './console-routes.ts';
import { startGateway, type GatewayEvent } from './gateway.ts';
import { openIdentity, type Identity } from './identity.ts';
import { lambdaContext, lambdaFunctionArn } from './lambda-context.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const API_FUNCTION = 'share-backup-api';
const WORKFLOW_FUNCTION = 'share-backup-workflow';

/** The COPIER_* variables of the stack's environment, for the copier child processes. */
export function copierSettingsFrom(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('COPIER_') && e[1] !== undefined));
}

export interface LocalStackOptions {
  /** data folder: DynamoDB files, storage, signing key */
  dataDir: string;
  host?: string;
  /** API port; 0: a free one; default 8786 */
  port?: number;
  /** Step Functions facade port; 0 or omitted: a free one */
  sfnPort?: number;
  /** an existing DynamoDB (Local) to use instead of starting one */
  dynamodbEndpoint?: string;
  /** start DynamoDB Local in memory instead of on disk under <dataDir>/dynamodb */
  dynamodbInMemory?: boolean;
  tablePrefix?: string;
  /** passed to the handlers as BACKUP_DRIVERS / BACKUP_DRIVERS_FILE */
  backupDrivers?: string;
  backupDriversFile?: string;
  region?: string;
  /** told of every failed write under dataDir the stack itself makes (e.g. ENOSPC) */
  onDataWriteFailure?: (err: unknown) => void;
  /** the built web console served at /console/ (default console/dist) */
  consoleDir?: string;
}

export interface LocalStack {
  apiUrl: string;
  /** the web console (local/console-routes.ts) */
  consoleUrl: string;
  sfnEndpoint: string;
  dynamodbEndpoint: string;
  dataDir: string;
  storageRoot: string;
  tables: TableNames;
  stateMachineArns: { restore: string; backup: string };
  identity: Identity;
  stop(): Promise<void>;
}

/** What a Lambda handler module looks like from here: the handler may ignore the context. */
interface LambdaModule {
  handler(event: never, context: Context): Promise<unknown>;
}

/** The ${Name} values of the ASL files, as the CDK stack passes them on AWS. */
export function definitionSubstitutions(tables: TableNames, region: string, accountId: string): Record<string, string> {
  return {
    SharesTable: tables.shares,
    BackupsTable: tables.backups,
    RestoresTable: tables.restores,
    ReportsTable: tables.reports,
    WorkflowFunctionArn: lambdaFunctionArn(WORKFLOW_FUNCTION, region, accountId),
    ClusterArn: `arn:aws:ecs:${region}:${accountId}:cluster/share-backup-local`,
    CopierImage: 'share-backup-copier:local',
    CopierTaskRoleArn: `arn:aws:iam::${accountId}:role/share-backup-copier-task`,
    CopierExecutionRoleArn: `arn:aws:iam::${accountId}:role/share-backup-copier-execution`,
    CopierLogGroup: '/share-backup/local/copier',
    Region: region,
    CopierSubnetIds: 'subnet-local',
    CopierSecurityGroupIds: 'sg-local',
    SharesFileSystemId: 'local-shares',
    BackupsFileSystemId: 'local-backups',
  };
}

export function stateMachineArn(name: string, region: string, accountId: string): string {
  return `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const region = options.region ?? LOCAL_REGION;
  const accountId = LOCAL_ACCOUNT_ID;
  const host = options.host ?? '127.0.0.1';
  const dataDir = resolve(options.dataDir);
  const storageRoot = join(dataDir, 'storage');
  mkdirSync(join(storageRoot, 'shares'), { recursive: true });
  mkdirSync(join(storageRoot, 'backups'), { recursive: true });
  const tables = tableNames(options.tablePrefix ?? DEFAULT_TABLE_PREFIX);
  const stateMachineArns = {
    restore: stateMachineArn('restore', region, accountId),
    backup: stateMachineArn('backup', region, accountId),
  };

  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        console.error('[local] stop failed', err);
      }
    }
  };

  try {
    const identity = await openIdentity(dataDir);

    let dynamodbEndpoint = options.dynamodbEndpoint;
    if (dynamodbEndpoint) {
      await waitForDynamoDb(dynamodbEndpoint);
    } else {
      const dynamo: RunningDynamoDbLocal = await startDynamoDbLocal(
        options.dynamodbInMemory ? {} : { path: join(dataDir, 'dynamodb') },
      );
      stops.push(dynamo.stop);
      dynamodbEndpoint = dynamo.endpoint;
    }
    await createTables(dynamodbEndpoint, tables);

    // The facade's port must be known before the handlers are imported: their SDK clients read
    // AWS_ENDPOINT_URL_SFN when they are created.
    const sfnPort = options.sfnPort || (await findFreePort(host));
    const sfnEndpoint = `http://${host}:${sfnPort}`;
    const handlerEnv: Record<string, string> = {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
      AWS_ENDPOINT_URL_SFN: sfnEndpoint,
      SHARES_TABLE: tables.shares,
      BACKUPS_TABLE: tables.backups,
      RESTORES_TABLE: tables.restores,
      REPORTS_TABLE: tables.reports,
      SHARE_TYPES_TABLE: tables.shareTypes,
      RESTORE_STATE_MACHINE_ARN: stateMachineArns.restore,
      BACKUP_STATE_MACHINE_ARN: stateMachineArns.backup,
      STORAGE_BACKEND: 'local',
      LOCAL_STORAGE_ROOT: storageRoot,
    };
    // a session token or profile from the developer's shell must not mix with the dummy keys
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    Object.assign(process.env, handlerEnv);
    if (options.backupDrivers !== undefined) process.env.BACKUP_DRIVERS = options.backupDrivers;
    if (options.backupDriversFile !== undefined) process.env.BACKUP_DRIVERS_FILE = options.backupDriversFile;

    const workflow = (await import('../functions/workflow/handler.ts')) as unknown as LambdaModule;
    const api = (await import('../functions/api/handler.ts')) as unknown as LambdaModule;
    const { startStepFunctionsFacade } = await import('./stepfunctions/server.ts');

    const workflowFunctionArn = lambdaFunctionArn(WORKFLOW_FUNCTION, region, accountId);
    const facade = await startStepFunctionsFacade({
      host,
      port: sfnPort,
      definitionsDir: join(REPO_ROOT, 'statemachine'),
      substitutions: definitionSubstitutions(tables, region, accountId),
      region,
      accountId,
      dataDir,
      lambdaHandlers: {
        [workflowFunctionArn]: (payload: unknown) => workflow.handler(payload as never, lambdaContext(WORKFLOW_FUNCTION)),
      },
      dynamodbEndpoint,
      localStorageRoot: storageRoot,
      onDataWriteFailure: options.onDataWriteFailure,
      copierCommand: [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'copier', 'main.ts')],
      copierEnv: {
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
        // Operator tuning (COPIER_CONCURRENCY) and the test-only fault switch (COPIER_FAIL_AFTER_FILES)
        // reach the copier as a task definition's environment would on Fargate; the container's own
        // COPIER_MODE/SOURCE/TARGET are applied after these and win.
        ...copierSettingsFrom(process.env),
      },
    });
    stops.push(facade.stop);

    const gateway = await startGateway({
      host,
      port: options.port ?? DEFAULT_API_PORT,
      functionName: API_FUNCTION,
      handler: (event: GatewayEvent, context: Context) => api.handler(event as never, context),
      verifyToken: (token) => identity.verifyToken(token),
      localRoutes: consoleRoutes({ distDir: options.consoleDir ?? join(REPO_ROOT, 'console', 'dist'), identity }),
    });
    stops.push(gateway.stop);

    return {
      apiUrl: gateway.url,
      consoleUrl: `${gateway.url}/console/`,
      sfnEndpoint: facade.endpoint,
      dynamodbEndpoint,
      dataDir,
      storageRoot,
      tables,
      stateMachineArns: { ...stateMachineArns, ...pickArns(facade.stateMachineArns) },
      identity,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The facade's own list of ARNs (by name or as a list), folded into {restore, backup}. */
function pickArns(arns: unknown): Partial<{ restore: string; backup: string }> {
  const list = Array.isArray(arns) ? arns : typeof arns === 'object' && arns !== null ? Object.values(arns) : [];
  const found: Partial<{ restore: string; backup: string }> = {};
  for (const arn of list) {
    if (typeof arn !== 'string') continue;
    if (arn.endsWith(':stateMachine:restore')) found.restore = arn;
    if (arn.endsWith(':stateMachine:backup')) found.backup = arn;
  }
  return found;
}
