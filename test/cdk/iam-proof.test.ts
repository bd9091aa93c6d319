// The IAM proof: every AWS call the code makes (found in the source: test/cdk/helpers/code-calls.ts)
// is evaluated, as the concrete request AWS authorizes, against the synthesized roles' identity
// policies and, for EFS client access, the file system policy, with @cloud-copilot/iam-simulate
// (AGPL, a devDependency of this test only). Each must be Allowed; requests the design rules out
// must be Denied. A call in the code without a case here fails the proof.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anonymousPrincipal, runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../cdk/app.ts';
import { REPO_ROOT, WORKFLOWS } from '../../cdk/service-stack.ts';
import { loadCopierConfig } from '../../copier/config.ts';
import { DynamoProgressSink } from '../../copier/progress/dynamo-progress.ts';
import { DynamoReportSink } from '../../copier/progress/dynamo-report.ts';
import type { GetItemInput, UpdateItemInput } from '../../copier/progress/dynamodb-http.ts';
import type { ProgressSnapshot } from '../../copier/progress/progress.ts';
import { DynamoCheckpointStore } from '../../copier/restore/checkpoint.ts';
import { efsExportPath } from '../../functions/adapters/storage-efs.ts';
import { aslCalls, sdkCalls, taskStates, type Caller, type CodeCall } from './helpers/code-calls.ts';
import { TemplateResolver, type CfnTemplate, type PolicyDocument, type ResolvedRole } from './helpers/cfn-resolve.ts';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const PARTITION = 'aws';
const OTHER_ACCOUNT = '444455556666';
/** tenant instance roles the test stage lets mount shares (cdk.json "tenantPrincipals") */
const TENANT_ROLE = `arn:${PARTITION}:iam::${ACCOUNT}:role/tenant-a-instances`;
const TENANT_ROLE_OTHER_ACCOUNT = `arn:${PARTITION}:iam::${OTHER_ACCOUNT}:role/tenant-b-instances`;

// ---- synthesis (once, at collection, so every case is its own test) ----------------------------
const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const outdir = mkdtempSync(join(tmpdir(), 'cdk-iam-proof-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
const built = buildApp({
  outdir,
  context: {
    ...cdkJson.context,
    account: ACCOUNT,
    region: REGION,
    [`availability-zones:account=${ACCOUNT}:region=${REGION}`]: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    tenantCidrs: ['10.20.0.0/16'],
    tenantPrincipals: [TENANT_ROLE, TENANT_ROLE_OTHER_ACCOUNT],
    // no Lambda bundling: the proof reads policies, not code bundles
    'aws:cdk:bundling-stacks': [],
  },
});
const dataStack = built.data.stackName;
const serviceStack = built.service.stackName;
const resolver = new TemplateResolver({
  [dataStack]: Template.fromStack(built.data).toJSON() as CfnTemplate,
  [serviceStack]: Template.fromStack(built.service).toJSON() as CfnTemplate,
}, { account: ACCOUNT, region: REGION, partition: PARTITION });

const arn = (service: string, resource: string, region = REGION) => `arn:${PARTITION}:${service}:${region}:${ACCOUNT}:${resource}`;

const roles: Record<Caller, ResolvedRole> = {
  api: resolver.role(serviceStack, 'ApiFunctionServiceRole'),
  workflowFunction: resolver.role(serviceStack, 'WorkflowFunctionServiceRole'),
  preTokenGeneration: resolver.role(serviceStack, 'PreTokenGenerationFunctionServiceRole'),
  stateMachine: resolver.role(serviceStack, 'WorkflowRole'),
  copierTask: resolver.role(serviceStack, 'CopierTaskRole'),
  copierExecution: resolver.role(serviceStack, 'CopierExecutionRole'),
};

/** The deployed values of the ASL's ${Substitutions} (the same for both machines). */
const substitutions = (() => {
  const id = resolver.logicalIdOf(serviceStack, 'AWS::StepFunctions::StateMachine', 'RestoreStateMachine');
  const machine = resolver.template(serviceStack).Resources[id]!;
  return resolver.resolve(machine.Properties!.DefinitionSubstitutions, serviceStack) as Record<string, string>;
})();
const substituted = (text: string) => text.replace(/\$\{(\w+)\}/g, (_, name: string) => {
  if (!(name in substitutions)) throw new Error(`no substitution ${name}`);
  return substitutions[name]!;
});

const fileSystems = Object.fromEntries(Object.entries(resolver.template(dataStack).Resources)
  .filter(([, r]) => r.Type === 'AWS::EFS::FileSystem')
  .map(([id, r]) => [resolver.ref(dataStack, id), {
    arn: resolver.getAtt(dataStack, id, 'Arn'),
    policy: resolver.resolve(r.Properties!.FileSystemPolicy, dataStack) as PolicyDocument,
  }]));
const fileSystem = (id: string) => {
  const found = fileSystems[id];
  if (!found) throw new Error(`no file system ${id}`);
  return found;
};
const tableArn = (name: string) => arn('dynamodb', `table/${name}`);
function apiEnvironment(name: string): string {
  const id = resolver.logicalIdOf(serviceStack, 'AWS::Lambda::Function', 'ApiFunction');
  const environment = resolver.resolve(resolver.template(serviceStack).Resources[id]!.Properties!.Environment, serviceStack) as { Variables: Record<string, string> };
  const value = environment.Variables[name];
  if (value === undefined) throw new Error(`the API function has no ${name}`);
  return value;
}
const tables = {
  shares: tableArn(substitutions.SharesTable!),
  backups: tableArn(substitutions.BackupsTable!),
  restores: tableArn(substitutions.RestoresTable!),
  reports: tableArn(substitutions.ReportsTable!),
  // only the API uses it, so no state machine names it: read from the API function's environment
  shareTypes: tableArn(apiEnvironment('SHARE_TYPES_TABLE')),
};
const sharesFs = fileSystem(substitutions.SharesFileSystemId!);
const backupsFs = fileSystem(substitutions.BackupsFileSystemId!);
const clusterArn = substitutions.ClusterArn!;
const clusterName = clusterArn.split('/').pop()!;

// ---- the concrete requests -------------------------------------------------------------------
type Expect = 'Allowed' | 'Denied';
interface Case {
  name: string;
  caller: Caller | 'tenant' | 'tenantOtherAccount' | 'otherPrincipal';
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
  /** the resource's own policy (EFS file system policy) */
  resourcePolicy?: PolicyDocument;
  expect: Expect;
  /** the code calls (CodeCall.call) this request is one of */
  covers?: string[];
  /** an unsigned request (an NFS mount without efs-utils' `iam` option) */
  anonymous?: boolean;
}

const SESSION = 'proof-session';
function principalOf(c: Case): { principal: string; roleArn: string; account: string; identity: ResolvedRole['policies'] } {
  switch (c.caller) {
    case 'tenant': return { principal: TENANT_ROLE.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/') + `/${SESSION}`, roleArn: TENANT_ROLE, account: ACCOUNT, identity: [] };
    case 'otherPrincipal': {
      const role = `arn:${PARTITION}:iam::${ACCOUNT}:role/some-other-instances`;
      return { principal: `arn:${PARTITION}:sts::${ACCOUNT}:assumed-role/some-other-instances/${SESSION}`, roleArn: role, account: ACCOUNT, identity: [] };
    }
    case 'tenantOtherAccount': {
      // a cross-account tenant needs its own account's identity policy as well as the file system's
      const identity: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'elasticfilesystem:Client*', Resource: sharesFs.arn }] };
      return {
        principal: `arn:${PARTITION}:sts::${OTHER_ACCOUNT}:assumed-role/tenant-b-instances/${SESSION}`, roleArn: TENANT_ROLE_OTHER_ACCOUNT, account: OTHER_ACCOUNT,
        identity: [{ name: 'tenant-b', policy: identity }],
      };
    }
    default: {
      const role = roles[c.caller];
      return { principal: `arn:${PARTITION}:sts::${ACCOUNT}:assumed-role/${role.name}/${SESSION}`, roleArn: role.arn, account: ACCOUNT, identity: role.policies };
    }
  }
}

async function decide(c: Case): Promise<{ result: string; detail: string }> {
  const p = principalOf(c);
  const simulation: Simulation = {
    request: {
      principal: c.anonymous ? anonymousPrincipal : p.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: ACCOUNT },
      contextVariables: { ...(c.anonymous ? {} : { 'aws:PrincipalArn': p.roleArn, 'aws:PrincipalAccount': p.account }), 'aws:SecureTransport': 'true', ...c.context },
    },
    identityPolicies: c.anonymous ? [] : p.identity,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(c.resourcePolicy ? { resourcePolicy: c.resourcePolicy } : {}),
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === 'error') throw new Error(`${c.name}: simulation refused: ${JSON.stringify(response.errors)}`);
  return { result: response.overallResult, detail: JSON.stringify(response.resultType === 'single' ? response.result.analysis : response.results).slice(0, 3000) };
}

const TASK_ID = '0123456789abcdef0123456789abcdef';
const RUN = 'a1b2c3d4-0000-4000-8000-000000000001';
const AP = 'fsap-0123456789abcdef0';
const accessPointArn = arn('elasticfilesystem', `access-point/${AP}`);
const apiLogStream = (fnLogGroup: string) => arn('logs', `log-group:${fnLogGroup}:log-stream:2026/12/05/[$LATEST]0123456789abcdef0123456789abcdef`);

/** A Lambda's log group name, from its LoggingConfig (the group it writes to). */
function lambdaLogGroup(functionNamePrefix: string): string {
  const id = resolver.logicalIdOf(serviceStack, 'AWS::Lambda::Function', functionNamePrefix);
  const fn = resolver.template(serviceStack).Resources[id]!;
  const config = resolver.resolve(fn.Properties!.LoggingConfig, serviceStack) as { LogGroup?: string } | undefined;
  if (!config?.LogGroup) throw new Error(`${id} names no log group`);
  return config.LogGroup;
}

function logCases(caller: Caller, logGroup: string, label: string): Case[] {
  return ['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
    name: `${label}: ${action} on its own log stream`, caller, action, resource: apiLogStream(logGroup), expect: 'Allowed' as const,
  }));
}

/** The dynamodb:Attributes of a request: key attributes plus every attribute it names. */
const updateAttributes = (input: UpdateItemInput) => [...new Set([...Object.keys(input.Key), ...Object.values(input.ExpressionAttributeNames ?? {})])];

/** The copier's DynamoDB requests, made by its own sinks (recorded, not sent) for one workflow's task environment. */
async function copierDynamoRequests(machine: string): Promise<Case[]> {
  const definition = JSON.parse(readFileSync(join(REPO_ROOT, 'statemachine', `${machine}.asl.json`), 'utf8')) as Parameters<typeof taskStates>[1];
  const register = taskStates(machine, definition).find((t) => t.resource.endsWith(':registerTaskDefinition'))!;
  const container = (register.parameters.ContainerDefinitions as { Environment: { Name: string; Value?: string }[] }[])[0]!;
  const env = Object.fromEntries(container.Environment.map((e) => [e.Name, e.Value === undefined ? RUN : substituted(e.Value)]));
  const config = loadCopierConfig(env);
  const updates: UpdateItemInput[] = [];
  const gets: GetItemInput[] = [];
  const puts: { table: string; items: Record<string, unknown>[]; batch: boolean }[] = [];
  const client = {
    updateItem: async (input: UpdateItemInput) => void updates.push(input),
    getItem: async (input: GetItemInput) => (gets.push(input), undefined),
    putItem: async (table: string, item: Record<string, unknown>) => void puts.push({ table, items: [item], batch: false }),
    batchPutItems: async (table: string, items: Record<string, unknown>[]) => (puts.push({ table, items, batch: true }), []),
  };
  const snapshot = (phase: ProgressSnapshot['phase']): ProgressSnapshot => ({
    phase, files_total: 10, files_done: phase === 'done' ? 10 : 3, bytes_total: 100, bytes_done: 30, warnings: 1, eta_seconds: 4, updated_at: '2026-12-05T00:00:00Z', percent: '30',
  });
  const progress = new DynamoProgressSink(config.progress!, client);
  for (const phase of ['scanning', 'copying', 'verifying', 'done'] as const) await progress.write(snapshot(phase));
  await progress.fail('ENOSPC while copying', snapshot('copying'));
  if (config.mode === 'restore') {
    const checkpoint = new DynamoCheckpointStore(config.progress!.progress!, client);
    await checkpoint.read();
    await checkpoint.write({ runId: RUN, verifiedBelow: 4096 });
  }
  const report = new DynamoReportSink(config.report!, client);
  for (let i = 0; i < 30; i++) report.add({ path: `dir/file-${i}`, what: 'entry', action: i === 0 ? 'moved-aside' : 'skipped', why: 'exists on the target', ...(i === 0 ? { moved_to: 'dir/file-0.moved' } : {}) });
  await report.close();

  const cases: Case[] = [];
  const tableOf = (name: string) => tableArn(name);
  const seen = new Set<string>();
  const add = (c: Case) => {
    const key = `${c.action} ${c.resource} ${JSON.stringify(c.context)}`;
    if (seen.has(key)) return;
    seen.add(key);
    cases.push(c);
  };
  for (const input of updates) {
    const attributes = updateAttributes(input);
    add({
      name: `copier (${machine}): dynamodb:UpdateItem ${input.TableName} [${attributes.join(', ')}]`, caller: 'copierTask', action: 'dynamodb:UpdateItem',
      resource: tableOf(input.TableName), context: { 'dynamodb:Attributes': attributes }, expect: 'Allowed', covers: ['dynamodb:UpdateItem'],
    });
  }
  for (const input of gets) {
    const attributes = [...new Set([...Object.keys(input.Key), ...Object.values(input.ExpressionAttributeNames ?? {})])];
    add({
      name: `copier (${machine}): dynamodb:GetItem ${input.TableName} [${attributes.join(', ')}] (its checkpoint)`, caller: 'copierTask', action: 'dynamodb:GetItem',
      resource: tableOf(input.TableName), context: { 'dynamodb:Attributes': attributes, ...(input.ProjectionExpression ? { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' } : {}) },
      expect: 'Allowed', covers: ['dynamodb:GetItem'],
    });
  }
  for (const put of puts) {
    const action = put.batch ? 'dynamodb:BatchWriteItem' : 'dynamodb:PutItem';
    const attributes = [...new Set(put.items.flatMap((item) => Object.keys(item)))];
    add({
      name: `copier (${machine}): ${action} ${put.table} [${attributes.join(', ')}]`, caller: 'copierTask', action,
      resource: tableOf(put.table), context: { 'dynamodb:Attributes': attributes }, expect: 'Allowed', covers: [action],
    });
  }
  expect(updates.length, 'progress writes').toBeGreaterThan(0);
  expect(puts.length, 'report writes').toBeGreaterThan(0);
  return cases;
}

/** The concrete request(s) of a call the ASL makes (state machine) or makes AWS make (the copier's task). */
function aslCase(call: CodeCall): Case[] {
  const [action, qualifier] = call.call.split(' ') as [string, string | undefined];
  const base = { caller: call.caller, action, expect: 'Allowed' as const, covers: [call.call] };
  const taskDefinition = arn('ecs', `task-definition/copier-${RUN}:1`);
  switch (action) {
    case 'dynamodb:GetItem':
    case 'dynamodb:UpdateItem':
      return [{ ...base, name: `state machine: ${action} ${substituted(qualifier!)}`, resource: tableArn(substituted(qualifier!)) }];
    case 'lambda:InvokeFunction':
      return [{ ...base, name: `state machine: ${action} the workflow function`, resource: substituted(qualifier!) }];
    case 'ecs:RegisterTaskDefinition':
    case 'ecs:DeregisterTaskDefinition':
      // DeregisterTaskDefinition has no resource type: IAM authorizes it on "*"
      return [{ ...base, name: `state machine: ${action} copier-<id>`, resource: action === 'ecs:RegisterTaskDefinition' ? taskDefinition : '*' }];
    case 'iam:PassRole':
      return (['CopierTaskRoleArn', 'CopierExecutionRoleArn'] as const).map((name) => ({
        ...base, name: `state machine: iam:PassRole ${name} to ECS tasks`, resource: substitutions[name]!, context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
      }));
    case 'ecs:RunTask':
      return [{ ...base, name: 'state machine: ecs:RunTask copier-<id> on the copier cluster', resource: taskDefinition, context: { 'ecs:cluster': clusterArn } }];
    case 'ecs:DescribeTasks':
    case 'ecs:StopTask':
      return [{ ...base, name: `state machine: ${action} a copier task`, resource: arn('ecs', `task/${clusterName}/${TASK_ID}`), context: { 'ecs:cluster': clusterArn } }];
    case 'events:PutTargets':
    case 'events:PutRule':
    case 'events:DescribeRule':
      return [{ ...base, name: `state machine: ${action} rule/StepFunctionsGetEventsForECSTaskRule (.sync)`, resource: arn('events', 'rule/StepFunctionsGetEventsForECSTaskRule') }];
    case 'ecr:GetAuthorizationToken':
      return [{ ...base, name: 'copier execution role: ecr:GetAuthorizationToken', resource: '*' }];
    case 'ecr:BatchGetImage':
    case 'ecr:GetDownloadUrlForLayer': {
      const repository = substitutions.CopierImage!.replace(/^[^/]+\//, '').replace(/[:@].*$/, '');
      return [{ ...base, name: `copier execution role: ${action} on the image asset's repository ${repository}`, resource: arn('ecr', `repository/${repository}`) }];
    }
    case 'logs:CreateLogStream':
    case 'logs:PutLogEvents': {
      // awslogs: <awslogs-stream-prefix>/<container name>/<task id>
      const group = substituted(qualifier!);
      return [{
        ...base, name: `copier execution role: ${action} on ${group}:log-stream:copier/copier/<task id> (Denied before the fix: the resource was the group Arn, ending ":*", + ":log-stream:copier/*")`,
        resource: arn('logs', `log-group:${group}:log-stream:copier/copier/${TASK_ID}`),
      }];
    }
    case 'elasticfilesystem:ClientMount':
    case 'elasticfilesystem:ClientWrite': {
      const fs = fileSystem(substituted(qualifier!));
      return [{
        ...base, name: `copier task role: ${action} ${fs.arn === sharesFs.arn ? 'shares' : 'backups'} file system through an access point (identity + file system policy)`,
        resource: fs.arn, resourcePolicy: fs.policy,
        context: { 'elasticfilesystem:AccessPointArn': accessPointArn, 'elasticfilesystem:AccessedViaMountTarget': 'true' },
      }];
    }
    default:
      throw new Error(`${call.source}: ${call.call} has no request shape in the IAM proof`);
  }
}

const codeCalls = [...sdkCalls(REPO_ROOT), ...aslCalls(REPO_ROOT, WORKFLOWS)];
const uniqueAslCalls = [...new Map(aslCalls(REPO_ROOT, WORKFLOWS).map((c) => [`${c.caller} ${c.call}`, c])).values()];

const mountContext = { 'elasticfilesystem:AccessPointArn': accessPointArn, 'elasticfilesystem:AccessedViaMountTarget': 'true' };
const CLIENT_ACTIONS = ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'];

const apiCases: Case[] = [
  // functions/adapters/repository.ts: items and lists
  ...(['shares', 'backups', 'restores'] as const).map((t): Case => ({ name: `api: dynamodb:GetItem ${t}`, caller: 'api', action: 'dynamodb:GetItem', resource: tables[t], expect: 'Allowed', covers: ['dynamodb:GetItem'] })),
  { name: 'api: dynamodb:GetItem reports (the summary item)', caller: 'api', action: 'dynamodb:GetItem', resource: tables.reports, expect: 'Allowed', covers: ['dynamodb:GetItem'] },
  { name: 'api: dynamodb:PutItem shares (create)', caller: 'api', action: 'dynamodb:PutItem', resource: tables.shares, expect: 'Allowed', covers: ['dynamodb:PutItem'] },
  ...(['shares', 'backups'] as const).map((t): Case => ({ name: `api: dynamodb:UpdateItem ${t}`, caller: 'api', action: 'dynamodb:UpdateItem', resource: tables[t], expect: 'Allowed', covers: ['dynamodb:UpdateItem'] })),
  ...(['shares', 'backups'] as const).map((t): Case => ({ name: `api: dynamodb:DeleteItem ${t}`, caller: 'api', action: 'dynamodb:DeleteItem', resource: tables[t], expect: 'Allowed', covers: ['dynamodb:DeleteItem'] })),
  ...(['shares', 'backups', 'restores'] as const).map((t): Case => ({ name: `api: dynamodb:Query ${t}/index/by_project (a project's list)`, caller: 'api', action: 'dynamodb:Query', resource: `${tables[t]}/index/by_project`, expect: 'Allowed', covers: ['dynamodb:Query'] })),
  { name: 'api: dynamodb:Query reports (a report\'s entries)', caller: 'api', action: 'dynamodb:Query', resource: tables.reports, expect: 'Allowed', covers: ['dynamodb:Query'] },
  // all_tenants lists of an admin: paginateScan
  ...(['shares', 'backups', 'restores'] as const).map((t): Case => ({ name: `api: dynamodb:Scan ${t} (admin all_tenants list)`, caller: 'api', action: 'dynamodb:Scan', resource: tables[t], expect: 'Allowed', covers: ['dynamodb:Scan'] })),
  // share types an admin manages (functions/api/share-types.ts): items, the list, and the type with
  // its name claim written, renamed or deleted in one transaction
  ...(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'] as const).map((action): Case => ({
    name: `api: ${action} shareTypes`, caller: 'api', action, resource: tables.shareTypes, expect: 'Allowed', covers: [action, ...(action === 'dynamodb:GetItem' || action === 'dynamodb:Scan' ? [] : ['dynamodb:TransactWriteItems'])],
  })),
  // the claims: TransactWriteItems is authorized item by item
  ...([
    ['claimBackup', 'dynamodb:PutItem', 'backups'], ['claimBackup', 'dynamodb:UpdateItem', 'shares'],
    ['releaseBackupClaim', 'dynamodb:DeleteItem', 'backups'], ['releaseBackupClaim', 'dynamodb:UpdateItem', 'shares'],
    ['claimRestore', 'dynamodb:UpdateItem', 'backups'], ['claimRestore', 'dynamodb:UpdateItem', 'shares'], ['claimRestore', 'dynamodb:PutItem', 'restores'],
    ['releaseRestoreClaim', 'dynamodb:UpdateItem', 'backups'], ['releaseRestoreClaim', 'dynamodb:UpdateItem', 'shares'], ['releaseRestoreClaim', 'dynamodb:DeleteItem', 'restores'],
  ] as const).map(([claim, action, t]): Case => ({ name: `api: TransactWriteItems (${claim}): ${action} ${t}`, caller: 'api', action, resource: tables[t], expect: 'Allowed', covers: ['dynamodb:TransactWriteItems'] })),
  // functions/adapters/starter.ts
  ...(['restore', 'backup'] as const).map((m): Case => ({ name: `api: states:StartExecution ${m}`, caller: 'api', action: 'states:StartExecution', resource: arn('states', `stateMachine:share-backup-dev-${m}`), expect: 'Allowed', covers: ['states:StartExecution'] })),
  // functions/adapters/storage-efs.ts: CreateAccessPoint with tags (also authorizes TagResource), DeleteAccessPoint of a tagged one
  ...([['shares', sharesFs], ['backups', backupsFs]] as const).flatMap(([label, fs]): Case[] => [
    {
      name: `api: elasticfilesystem:CreateAccessPoint on the ${label} file system, tagged Name=${label === 'shares' ? 'share' : 'backup'}-<id>`, caller: 'api', action: 'elasticfilesystem:CreateAccessPoint', resource: fs.arn,
      context: { [`aws:RequestTag/Name`]: `${label === 'shares' ? 'share' : 'backup'}-${RUN}`, 'aws:TagKeys': ['Name', `${label === 'shares' ? 'share' : 'backup'}_id`] }, expect: 'Allowed', covers: ['elasticfilesystem:CreateAccessPoint'],
    },
  ]),
  {
    name: 'api: elasticfilesystem:TagResource of the access point CreateAccessPoint creates', caller: 'api', action: 'elasticfilesystem:TagResource', resource: accessPointArn,
    context: { 'elasticfilesystem:CreateAction': 'CreateAccessPoint', 'aws:RequestTag/Name': `share-${RUN}`, 'aws:TagKeys': ['Name', 'share_id'] }, expect: 'Allowed', covers: ['elasticfilesystem:CreateAccessPoint'],
  },
  ...(['share', 'backup'] as const).map((kind): Case => ({
    name: `api: elasticfilesystem:DeleteAccessPoint of a ${kind}'s access point (tagged Name=${kind}-<id>)`, caller: 'api', action: 'elasticfilesystem:DeleteAccessPoint', resource: accessPointArn,
    context: { 'aws:ResourceTag/Name': `${kind}-${RUN}` }, expect: 'Allowed', covers: ['elasticfilesystem:DeleteAccessPoint'],
  })),
];

const logGroupCases: Case[] = [
  ...logCases('api', lambdaLogGroup('ApiFunction'), 'api function'),
  ...logCases('workflowFunction', lambdaLogGroup('WorkflowFunction'), 'workflow function'),
  ...logCases('preTokenGeneration', lambdaLogGroup('PreTokenGenerationFunction'), 'pre-token-generation function'),
];

const copierExtraCases: Case[] = [
  // the copier restores ownership and modes as root: root access through the access point
  ...[sharesFs, backupsFs].map((fs): Case => ({
    name: `copier task role: elasticfilesystem:ClientRootAccess ${fs === sharesFs ? 'shares' : 'backups'} file system through an access point`,
    caller: 'copierTask', action: 'elasticfilesystem:ClientRootAccess', resource: fs.arn, resourcePolicy: fs.policy, context: mountContext, expect: 'Allowed',
  })),
];

/**
 * The mount a tenant makes with the export location the API returns (functions/adapters/storage-efs.ts):
 * `mount -t efs <export path> /mnt/share`. efs-utils' options decide the request: `tls` (encrypted
 * transport), `iam` (signed with the instance's credentials; without it the mount is anonymous),
 * `accesspoint=` (the elasticfilesystem:AccessPointArn condition key).
 */
function tenantMount(exportPath: string): { resource: string; anonymous: boolean; context: Record<string, string> } {
  const match = exportPath.match(/^-o (\S+) (fs-[0-9a-z]+):\/$/);
  if (!match) throw new Error(`export location ${exportPath} is not "-o <options> <fs-id>:/"`);
  const options = new Map(match[1]!.split(',').map((o) => o.split('=') as [string, string | undefined]));
  const accessPoint = options.get('accesspoint');
  return {
    resource: fileSystem(match[2]!).arn,
    anonymous: !options.has('iam'),
    context: {
      'aws:SecureTransport': options.has('tls') ? 'true' : 'false',
      'elasticfilesystem:AccessedViaMountTarget': 'true',
      ...(accessPoint ? { 'elasticfilesystem:AccessPointArn': arn('elasticfilesystem', `access-point/${accessPoint}`) } : {}),
    },
  };
}
const exportPath = efsExportPath(substitutions.SharesFileSystemId!, AP);
const tenantCases: Case[] = [
  ...CLIENT_ACTIONS.map((action): Case => ({
    name: `tenant (in tenantPrincipals) mounting the export location "${exportPath.replace(substitutions.SharesFileSystemId!, 'fs-…').replace(AP, 'fsap-…')}": ${action} (file system policy alone)`,
    caller: 'tenant', action, resourcePolicy: sharesFs.policy, expect: 'Allowed', ...tenantMount(exportPath),
  })),
  {
    name: 'tenant in another account (in tenantPrincipals, with its own identity policy) mounting the export location: elasticfilesystem:ClientWrite',
    caller: 'tenantOtherAccount', action: 'elasticfilesystem:ClientWrite', resourcePolicy: sharesFs.policy, expect: 'Allowed', ...tenantMount(exportPath),
  },
];

const deniedCases: Case[] = [
  // the copier
  { name: 'copier: dynamodb:UpdateItem of another attribute (status) of its restore', caller: 'copierTask', action: 'dynamodb:UpdateItem', resource: tables.restores, context: { 'dynamodb:Attributes': ['id', 'status'] }, expect: 'Denied' },
  { name: 'copier: dynamodb:UpdateItem asking for the item back (ReturnValues ALL_NEW)', caller: 'copierTask', action: 'dynamodb:UpdateItem', resource: tables.restores, context: { 'dynamodb:Attributes': ['id', 'phase'], 'dynamodb:ReturnValues': 'ALL_NEW' }, expect: 'Denied' },
  { name: 'copier: dynamodb:UpdateItem on the shares table', caller: 'copierTask', action: 'dynamodb:UpdateItem', resource: tables.shares, context: { 'dynamodb:Attributes': ['id', 'phase'] }, expect: 'Denied' },
  { name: 'copier: dynamodb:PutItem of a record into the backups table', caller: 'copierTask', action: 'dynamodb:PutItem', resource: tables.backups, context: { 'dynamodb:Attributes': ['id', 'phase'] }, expect: 'Denied' },
  { name: 'copier: dynamodb:PutItem of a report item with another attribute', caller: 'copierTask', action: 'dynamodb:PutItem', resource: tables.reports, context: { 'dynamodb:Attributes': ['operation_id', 'seq', 'status'] }, expect: 'Denied' },
  { name: 'copier: dynamodb:GetItem of a whole restore record', caller: 'copierTask', action: 'dynamodb:GetItem', resource: tables.restores, context: { 'dynamodb:Attributes': ['id', 'project_id', 'status'], 'dynamodb:Select': 'ALL_ATTRIBUTES' }, expect: 'Denied' },
  { name: 'copier: dynamodb:DeleteItem on the restores table', caller: 'copierTask', action: 'dynamodb:DeleteItem', resource: tables.restores, expect: 'Denied' },
  { name: 'copier: dynamodb:UpdateItem on another stage\'s table', caller: 'copierTask', action: 'dynamodb:UpdateItem', resource: tableArn('share-backup-prod-restores'), context: { 'dynamodb:Attributes': ['id', 'phase'] }, expect: 'Denied' },
  { name: 'copier: elasticfilesystem:ClientMount of another file system', caller: 'copierTask', action: 'elasticfilesystem:ClientMount', resource: arn('elasticfilesystem', 'file-system/fs-0aaaaaaaaaaaaaaaa'), context: mountContext, expect: 'Denied' },
  { name: 'copier: elasticfilesystem:ClientMount of the shares file system without an access point', caller: 'copierTask', action: 'elasticfilesystem:ClientMount', resource: sharesFs.arn, resourcePolicy: sharesFs.policy, context: { 'elasticfilesystem:AccessedViaMountTarget': 'true' }, expect: 'Denied' },
  { name: 'copier: elasticfilesystem:ClientWrite of the backups file system over plain NFS', caller: 'copierTask', action: 'elasticfilesystem:ClientWrite', resource: backupsFs.arn, resourcePolicy: backupsFs.policy, context: { ...mountContext, 'aws:SecureTransport': 'false' }, expect: 'Denied' },
  // the copier's execution role
  { name: 'copier execution role: logs:PutLogEvents on another log group (the API\'s)', caller: 'copierExecution', action: 'logs:PutLogEvents', resource: apiLogStream(lambdaLogGroup('ApiFunction')), expect: 'Denied' },
  { name: 'copier execution role: logs:PutLogEvents on a stream outside the copier/ prefix', caller: 'copierExecution', action: 'logs:PutLogEvents', resource: arn('logs', `log-group:${substitutions.CopierLogGroup}:log-stream:other/${TASK_ID}`), expect: 'Denied' },
  { name: 'copier execution role: ecr:BatchGetImage of another repository', caller: 'copierExecution', action: 'ecr:BatchGetImage', resource: arn('ecr', 'repository/someone-elses-image'), expect: 'Denied' },
  // the state machines
  { name: 'state machine: ecs:RunTask of another task definition family', caller: 'stateMachine', action: 'ecs:RunTask', resource: arn('ecs', 'task-definition/other-family:3'), context: { 'ecs:cluster': clusterArn }, expect: 'Denied' },
  { name: 'state machine: ecs:RegisterTaskDefinition of another family', caller: 'stateMachine', action: 'ecs:RegisterTaskDefinition', resource: arn('ecs', 'task-definition/other-family:1'), expect: 'Denied' },
  { name: 'state machine: ecs:RunTask copier-<id> on another cluster', caller: 'stateMachine', action: 'ecs:RunTask', resource: arn('ecs', `task-definition/copier-${RUN}:1`), context: { 'ecs:cluster': arn('ecs', 'cluster/default') }, expect: 'Denied' },
  { name: 'state machine: iam:PassRole of the API function\'s role', caller: 'stateMachine', action: 'iam:PassRole', resource: roles.api.arn, context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' }, expect: 'Denied' },
  { name: 'state machine: iam:PassRole of the copier task role to Lambda', caller: 'stateMachine', action: 'iam:PassRole', resource: substitutions.CopierTaskRoleArn!, context: { 'iam:PassedToService': 'lambda.amazonaws.com' }, expect: 'Denied' },
  { name: 'state machine: dynamodb:DeleteItem on the shares table', caller: 'stateMachine', action: 'dynamodb:DeleteItem', resource: tables.shares, expect: 'Denied' },
  { name: 'state machine: dynamodb:UpdateItem of a report item (only the copier writes them)', caller: 'stateMachine', action: 'dynamodb:UpdateItem', resource: tables.reports, expect: 'Denied' },
  // the API
  { name: 'api: dynamodb:DeleteTable shares', caller: 'api', action: 'dynamodb:DeleteTable', resource: tables.shares, expect: 'Denied' },
  { name: 'api: dynamodb:Query shareTypes (no index, no query)', caller: 'api', action: 'dynamodb:Query', resource: tables.shareTypes, expect: 'Denied' },
  { name: 'state machine: dynamodb:PutItem shareTypes (only the API manages types)', caller: 'stateMachine', action: 'dynamodb:PutItem', resource: tables.shareTypes, expect: 'Denied' },
  { name: 'workflow function: dynamodb:GetItem shareTypes', caller: 'workflowFunction', action: 'dynamodb:GetItem', resource: tables.shareTypes, expect: 'Denied' },
  { name: 'copier task role: dynamodb:PutItem shareTypes', caller: 'copierTask', action: 'dynamodb:PutItem', resource: tables.shareTypes, expect: 'Denied' },
  { name: 'api: dynamodb:PutItem into reports (only the copier writes them)', caller: 'api', action: 'dynamodb:PutItem', resource: tables.reports, expect: 'Denied' },
  { name: 'api: elasticfilesystem:CreateAccessPoint on another file system', caller: 'api', action: 'elasticfilesystem:CreateAccessPoint', resource: arn('elasticfilesystem', 'file-system/fs-0aaaaaaaaaaaaaaaa'), expect: 'Denied' },
  { name: 'api: elasticfilesystem:DeleteAccessPoint of an access point the service did not tag', caller: 'api', action: 'elasticfilesystem:DeleteAccessPoint', resource: accessPointArn, context: { 'aws:ResourceTag/Name': 'tenant-made' }, expect: 'Denied' },
  { name: 'api: elasticfilesystem:TagResource outside CreateAccessPoint', caller: 'api', action: 'elasticfilesystem:TagResource', resource: accessPointArn, context: { 'aws:RequestTag/Name': 'share-x', 'aws:TagKeys': ['Name'] }, expect: 'Denied' },
  { name: 'api: elasticfilesystem:ClientMount of the shares file system', caller: 'api', action: 'elasticfilesystem:ClientMount', resource: sharesFs.arn, resourcePolicy: sharesFs.policy, context: mountContext, expect: 'Denied' },
  { name: 'api: states:StartExecution of another state machine', caller: 'api', action: 'states:StartExecution', resource: arn('states', 'stateMachine:other'), expect: 'Denied' },
  { name: 'api: logs:PutLogEvents into the copier\'s log group', caller: 'api', action: 'logs:PutLogEvents', resource: arn('logs', `log-group:${substitutions.CopierLogGroup}:log-stream:copier/copier/${TASK_ID}`), expect: 'Denied' },
  { name: 'api: logs:CreateLogGroup', caller: 'api', action: 'logs:CreateLogGroup', resource: arn('logs', 'log-group:/aws/lambda/anything'), expect: 'Denied' },
  { name: 'workflow function: logs:PutLogEvents into the API function\'s log group', caller: 'workflowFunction', action: 'logs:PutLogEvents', resource: apiLogStream(lambdaLogGroup('ApiFunction')), expect: 'Denied' },
  // tenants
  { name: 'tenant: elasticfilesystem:ClientMount of the backups file system', caller: 'tenant', action: 'elasticfilesystem:ClientMount', resource: backupsFs.arn, resourcePolicy: backupsFs.policy, context: mountContext, expect: 'Denied' },
  { name: 'tenant: elasticfilesystem:ClientMount of the shares file system without an access point', caller: 'tenant', action: 'elasticfilesystem:ClientMount', resource: sharesFs.arn, resourcePolicy: sharesFs.policy, context: { 'elasticfilesystem:AccessedViaMountTarget': 'true' }, expect: 'Denied' },
  { name: 'tenant: elasticfilesystem:ClientMount over plain NFS (no tls)', caller: 'tenant', action: 'elasticfilesystem:ClientMount', resource: sharesFs.arn, resourcePolicy: sharesFs.policy, context: { ...mountContext, 'aws:SecureTransport': 'false' }, expect: 'Denied' },
  { name: 'principal not in tenantPrincipals: elasticfilesystem:ClientMount shares file system', caller: 'otherPrincipal', action: 'elasticfilesystem:ClientMount', resource: sharesFs.arn, resourcePolicy: sharesFs.policy, context: mountContext, expect: 'Denied' },
  {
    name: 'anyone mounting the old export location "-o tls,accesspoint=fsap-… fs-…:/" (no iam: anonymous): elasticfilesystem:ClientMount',
    caller: 'tenant', action: 'elasticfilesystem:ClientMount', resourcePolicy: sharesFs.policy, expect: 'Denied', ...tenantMount(`-o tls,accesspoint=${AP} ${substitutions.SharesFileSystemId}:/`),
  },
];

const copierCases = (await Promise.all(WORKFLOWS.map(copierDynamoRequests))).flat();
const allowedCases: Case[] = [...apiCases, ...logGroupCases, ...uniqueAslCalls.flatMap(aslCase), ...copierCases, ...copierExtraCases, ...tenantCases];

describe('IAM proof: every request the code makes is Allowed', () => {
  it.each(allowedCases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const { result, detail } = await decide(c);
    expect(result, detail).toBe('Allowed');
  });
});

describe('IAM proof: requests outside the design are Denied', () => {
  it.each(deniedCases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const { result, detail } = await decide(c);
    expect(result, detail).toMatch(/Denied/);
  });
});

describe('IAM proof: coverage', () => {
  it('has an Allowed case for every AWS call found in the code (SDK commands, raw DynamoDB targets, ASL Task resources)', () => {
    const missing = codeCalls.filter((call) => !allowedCases.some((c) => c.caller === call.caller && c.covers?.includes(call.call)));
    expect(missing.map((m) => `${m.caller} ${m.call} (${m.source})`)).toEqual([]);
    // the scan found what the code is known to call, so an empty scan cannot pass
    const found = new Set(codeCalls.map((c) => `${c.caller} ${c.call.split(' ')[0]}`));
    for (const known of ['api dynamodb:TransactWriteItems', 'api dynamodb:Scan', 'api states:StartExecution', 'api elasticfilesystem:CreateAccessPoint',
      'copierTask dynamodb:UpdateItem', 'copierTask dynamodb:BatchWriteItem', 'copierTask elasticfilesystem:ClientWrite', 'stateMachine ecs:RunTask',
      'copierExecution logs:CreateLogStream', 'copierExecution ecr:BatchGetImage']) expect(found.has(known), known).toBe(true);
  });

  it('resolves every policy to concrete, partition-aware ARNs (no literal arn:aws: in the templates\' policies)', () => {
    const policies = JSON.stringify([resolver.template(serviceStack), resolver.template(dataStack)].flatMap((t) => Object.values(t.Resources)
      .filter((r) => ['AWS::IAM::Policy', 'AWS::IAM::Role', 'AWS::EFS::FileSystem'].includes(r.Type))
      .map((r) => [r.Properties?.PolicyDocument, r.Properties?.AssumeRolePolicyDocument, r.Properties?.FileSystemPolicy, r.Properties?.Policies])));
    // the tenant principals are ARNs the stage configures, not ARNs the stacks format
    expect(policies.replaceAll(TENANT_ROLE, '').replaceAll(TENANT_ROLE_OTHER_ACCOUNT, '')).not.toMatch(/arn:aws:/);
    for (const role of Object.values(roles)) expect(role.policies.length, role.logicalId).toBeGreaterThan(0);
  });
});
