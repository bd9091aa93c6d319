// The CDK app as deployed: synthesized ONCE (bundling is slow) with cdk.json's context and the
// cdk-nag AWS Solutions checks, then its templates are checked for what the deployment promises.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import aslValidator from 'asl-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type ShareBackupApp } from '../../cdk/app.ts';
import { COPIER_CHECKPOINT_ATTRIBUTES, COPIER_PROGRESS_ATTRIBUTES, COPIER_REPORT_ATTRIBUTES, REPO_ROOT, WORKFLOWS } from '../../cdk/service-stack.ts';
import { findTaskStates, substitute } from '../../local/stepfunctions/definitions.ts';
import { DYNAMODB_RESOURCES } from '../../local/stepfunctions/tasks/dynamodb.ts';
import { ECS_RESOURCES } from '../../local/stepfunctions/tasks/ecs.ts';
import { LAMBDA_RESOURCE } from '../../local/stepfunctions/tasks/lambda.ts';
import { acknowledgements, unacknowledgedFindings, unusedAcknowledgements } from './nag.ts';

/**
 * The warning a synth without a built console gives (console-stack.ts: the site is synthesized
 * with a placeholder page; tested on its own in console-stack.test.ts). The validation report
 * lists warnings beside cdk-nag's findings; this one is expected here, where nothing was built.
 */
const isNotConsolePlaceholder = (violation: unknown) => (violation as { ruleName?: string }).ruleName !== 'Annotation::share-backup:console-placeholder';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };

const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const SUBSTITUTION_NAMES = ['SharesTable', 'BackupsTable', 'RestoresTable', 'ReportsTable', 'WorkflowFunctionArn', 'ClusterArn', 'CopierImage',
  'CopierTaskRoleArn', 'CopierExecutionRoleArn', 'CopierLogGroup', 'Region', 'CopierSubnetIds', 'CopierSecurityGroupIds',
  'SharesFileSystemId', 'BackupsFileSystemId'];

let outdir: string;
let built: ShareBackupApp;
let data: Template;
let service: Template;

const resourcesOf = (template: Template, type: string) => template.findResources(type) as Record<string, Resource>;
const actions = (s: Statement) => [s.Action].flat();
function statementsOf(template: Template, roleLogicalIdPrefix: string): Statement[] {
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleLogicalIdPrefix))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'cdk-test-'));
  // in memory, the synth throws when a validation plugin (cdk-nag) reports an unacknowledged
  // finding (as it does under NODE_ENV=test; said here so it does not rest on that)
  built = buildApp({ outdir, context: { ...cdkJson.context, '@aws-cdk/core:appMode': 'inmemory' } });
  built.app.synth();
  data = Template.fromStack(built.data);
  service = Template.fromStack(built.service);
}, 120_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('cdk-nag (AWS Solutions)', () => {
  // (that a finding fails this synth at all: nag-fixture.test.ts, with the same addNagChecks)
  it('finds nothing unacknowledged, and the synth ran it: the validation report lists no plugin with a violation', () => {
    expect(unacknowledgedFindings(built.app)).toEqual([]);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { violations?: unknown[] }[] };
    expect(report.pluginReports.flatMap((p) => p.violations ?? []).filter(isNotConsolePlaceholder)).toEqual([]);
  });

  it('has no acknowledgement that covers no finding, and every one gives a reason', () => {
    expect(unusedAcknowledgements(built.app)).toEqual([]);
    const acks = acknowledgements(built.app).filter((a) => a.rule.startsWith('AwsSolutions-'));
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) expect(a.reason.length, `${a.path} ${a.rule}`).toBeGreaterThan(60);
  });

  it('names, in each acknowledgement of a Resource "*" finding, every action the statements on "*" grant', () => {
    const policies = built.app.node.findAll().filter((c): c is iam.CfnPolicy => c instanceof iam.CfnPolicy);
    for (const a of acknowledgements(built.app).filter((x) => x.rule === 'AwsSolutions-IAM5[Resource::*]')) {
      const under = policies.filter((p) => p.node.path.startsWith(`${a.path}/`));
      expect(under.length, a.path).toBeGreaterThan(0);
      const wildcardActions = under.flatMap((p) => (Stack.of(p).resolve(p.policyDocument) as { Statement: Statement[] }).Statement)
        .filter((st) => st.Resource === '*').flatMap(actions);
      expect(wildcardActions.length, a.path).toBeGreaterThan(0);
      for (const action of wildcardActions) expect(a.reason, `${a.path}: ${action}`).toContain(action);
    }
  });
});

describe('stateful stack', () => {
  it('holds the five tables: retained, deletion-protected, point-in-time recovery, encrypted; by_project index on the three resource tables', () => {
    const tables = Object.values(resourcesOf(data, 'AWS::DynamoDB::Table'));
    expect(tables.map((t) => t.Properties.TableName).sort()).toEqual(['share-backup-dev-backups', 'share-backup-dev-reports', 'share-backup-dev-restores', 'share-backup-dev-shareTypes', 'share-backup-dev-shares']);
    const reports = tables.find((t) => t.Properties.TableName === 'share-backup-dev-reports')!;
    expect(reports.Properties.KeySchema).toEqual([{ AttributeName: 'operation_id', KeyType: 'HASH' }, { AttributeName: 'seq', KeyType: 'RANGE' }]);
    expect(reports.Properties.GlobalSecondaryIndexes).toBeUndefined();
    const shareTypes = tables.find((t) => t.Properties.TableName === 'share-backup-dev-shareTypes')!;
    expect(shareTypes.Properties.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
    expect(shareTypes.Properties.GlobalSecondaryIndexes).toBeUndefined();
    for (const table of tables) {
      expect(table.DeletionPolicy).toBe('RetainExceptOnCreate');
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true });
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      if (table !== reports && table !== shareTypes) expect((table.Properties.GlobalSecondaryIndexes as { IndexName: string }[])[0]!.IndexName).toBe('by_project');
    }
  });

  it('holds two encrypted, retained EFS file systems that refuse plain transport and mounts outside an access point', () => {
    const fileSystems = Object.values(resourcesOf(data, 'AWS::EFS::FileSystem'));
    expect(fileSystems).toHaveLength(2);
    for (const fs of fileSystems) {
      expect(fs.DeletionPolicy).toBe('RetainExceptOnCreate');
      expect(fs.Properties.Encrypted).toBe(true);
      const policy = JSON.stringify(fs.Properties.FileSystemPolicy);
      expect(policy).toContain('"aws:SecureTransport":"false"');
      expect(policy).toContain('"elasticfilesystem:AccessPointArn":"true"');
    }
    // mount targets only in private subnets
    for (const target of Object.values(resourcesOf(data, 'AWS::EFS::MountTarget'))) {
      expect(JSON.stringify(target.Properties.SubnetId)).toMatch(/privateSubnet/);
    }
  });

  it('admits NFS to the file systems only from the copier security group', () => {
    const ingress = Object.values(resourcesOf(data, 'AWS::EC2::SecurityGroupIngress'));
    expect(ingress).toHaveLength(2);
    for (const rule of ingress) {
      expect(rule.Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049 });
      expect(JSON.stringify(rule.Properties.SourceSecurityGroupId)).toContain('CopierSecurityGroup');
    }
  });

  it('keeps every stateful resource on delete and replacement, but not after a failed first create (no debris blocks the retry)', () => {
    const stateful = [
      ...['AWS::DynamoDB::Table', 'AWS::EFS::FileSystem', 'AWS::Logs::LogGroup'].flatMap((type) => Object.entries(resourcesOf(data, type))),
      ...Object.entries(resourcesOf(service, 'AWS::Cognito::UserPool')),
    ];
    expect(stateful.length).toBe(5 + 2 + 1 + 1);
    for (const [id, resource] of stateful) {
      expect(resource.DeletionPolicy, id).toBe('RetainExceptOnCreate');
      expect(resource.UpdateReplacePolicy, id).toBe('Retain');
    }
    // nothing anywhere is plain Retain (kept even when its stack's first create rolls back)
    for (const template of [data, service]) {
      for (const [id, resource] of Object.entries(template.toJSON().Resources as Record<string, Resource>)) expect(resource.DeletionPolicy, id).not.toBe('Retain');
    }
  });

  it('keeps all stateful resources out of the service stack', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::EFS::FileSystem', 'AWS::EC2::VPC']) expect(service.findResources(type)).toEqual({});
  });
});

describe('API', () => {
  it('puts the JWT authorizer on every route but the two version documents and the OpenAPI document', () => {
    const routes = Object.values(resourcesOf(service, 'AWS::ApiGatewayV2::Route'));
    const byKey = Object.fromEntries(routes.map((r) => [r.Properties.RouteKey as string, r.Properties]));
    // the OPTIONS routes: CORS preflights for the web console (test/cdk/console-stack.test.ts)
    expect(Object.keys(byKey).sort()).toEqual(['$default', 'ANY /v2/{proxy+}', 'GET /', 'GET /v2', 'GET /v2/openapi.json', 'OPTIONS /v2/{proxy+}', 'OPTIONS /{proxy+}']);
    for (const [key, route] of Object.entries(byKey)) {
      if (key === 'GET /' || key === 'GET /v2' || key === 'GET /v2/openapi.json' || key.startsWith('OPTIONS ')) expect(route.AuthorizationType, key).toBe('NONE');
      else {
        expect(route.AuthorizationType, key).toBe('JWT');
        expect(route.AuthorizerId, key).toBeDefined();
      }
    }
    const authorizer = Object.values(resourcesOf(service, 'AWS::ApiGatewayV2::Authorizer'))[0]!;
    expect(authorizer.Properties).toMatchObject({ AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'] });
    expect(JSON.stringify(authorizer.Properties.JwtConfiguration)).toContain('cognito-idp.eu-west-1.amazonaws.com');
  });

  it('has access logs and throttling on its stage', () => {
    const stage = Object.values(resourcesOf(service, 'AWS::ApiGatewayV2::Stage'))[0]!;
    expect(stage.Properties.StageName).toBe('$default');
    expect(stage.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    const format = (stage.Properties.AccessLogSettings as { Format: string }).Format;
    expect(format).toContain('$context.requestId');
    expect(format).toContain('$context.authorizer.claims.project_id');
  });

  it('issues Cognito tokens through the pre-token-generation trigger (v2), with the three role groups', () => {
    const pool = Object.values(resourcesOf(service, 'AWS::Cognito::UserPool'))[0]!;
    expect(JSON.stringify(pool.Properties.LambdaConfig)).toContain('"LambdaVersion":"V2_0"');
    expect(pool.Properties.UserPoolTier).toBe('PLUS');
    expect(Object.values(resourcesOf(service, 'AWS::Cognito::UserPoolGroup')).map((g) => g.Properties.GroupName).sort()).toEqual(['admin', 'member', 'reader']);
  });
});

describe('Lambdas', () => {
  it('run Node.js 22 with active tracing, a log group with retention, and the efs environment', () => {
    const functions = Object.values(resourcesOf(service, 'AWS::Lambda::Function'));
    expect(functions.length).toBe(3);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.Handler).toBe('index.handler');
      expect(JSON.stringify(fn.Properties.LoggingConfig)).toContain('LogGroup');
    }
    for (const group of Object.values(resourcesOf(service, 'AWS::Logs::LogGroup'))) expect(group.Properties.RetentionInDays).toBe(30);
    const api = functions.find((f) => f.Properties.FunctionName === 'share-backup-dev-api')!;
    const env = (api.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const name of ['SHARES_TABLE', 'BACKUPS_TABLE', 'RESTORES_TABLE', 'REPORTS_TABLE', 'SHARE_TYPES_TABLE', 'RESTORE_STATE_MACHINE_ARN', 'BACKUP_STATE_MACHINE_ARN',
      'EFS_SHARES_FILE_SYSTEM_ID', 'EFS_BACKUPS_FILE_SYSTEM_ID']) expect(env[name], name).toBeDefined();
    expect(env.STORAGE_BACKEND).toBe('efs');
    // cdk/api-bundle.ts: the map is not read at run time (Node parsed it at every cold start)
    expect(env.NODE_OPTIONS).toBeUndefined();
  });

  it('are bundled as minified ES modules with source maps, the AWS SDK inside (sizes reported)', () => {
    const sizes: Record<string, string> = {};
    for (const fn of Object.values(resourcesOf(service, 'AWS::Lambda::Function'))) {
      const key = (fn.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
      const dir = join(outdir, `asset.${key}`);
      expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(code.split('\n').length).toBeLessThan(200); // minified: the ~380 kB API bundle is a few dozen lines
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//); // the SDK is bundled, not imported from the runtime
      sizes[fn.Properties.FunctionName as string] = `${(statSync(join(dir, 'index.mjs')).size / 1024).toFixed(1)} KiB`;
    }
    console.info('Lambda bundle sizes:', sizes);
    expect(Object.keys(sizes)).toHaveLength(3);
  });
});

describe('workflows', () => {
  const machines = () => Object.values(resourcesOf(service, 'AWS::StepFunctions::StateMachine'));
  const IMPLEMENTED = new Set<string>([...Object.keys(DYNAMODB_RESOURCES), LAMBDA_RESOURCE, ...Object.values(ECS_RESOURCES)]);

  it('are standard state machines whose definition is the ASL file itself, with every substitution', () => {
    expect(machines()).toHaveLength(2);
    for (const name of WORKFLOWS) {
      const machine = machines().find((m) => m.Properties.StateMachineName === `share-backup-dev-${name}`)!;
      expect(machine.Properties.StateMachineType).toBe('STANDARD');
      expect(machine.Properties.DefinitionString).toBe(readFileSync(join(REPO_ROOT, 'statemachine', `${name}.asl.json`), 'utf8'));
      expect(Object.keys(machine.Properties.DefinitionSubstitutions as object).sort()).toEqual([...SUBSTITUTION_NAMES].sort());
      expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
      // failures only, no inputs or outputs: the default of cdk/config.ts (workflowLogLevel, workflowLogExecutionData)
      expect(machine.Properties.LoggingConfiguration).toMatchObject({ Level: 'ERROR', IncludeExecutionData: false });
    }
  });

  it('substitute to valid ASL (asl-validator) whose every Resource the local facade implements', () => {
    for (const machine of machines()) {
      // deploy-time values are CloudFormation expressions: stand in strings of the same shape
      const values = Object.fromEntries(Object.entries(machine.Properties.DefinitionSubstitutions as Record<string, unknown>)
        .map(([name, value]) => [name, typeof value === 'string' ? value : name.endsWith('Arn') ? `arn:aws:states:eu-west-1:111111111111:${name}` : `value-of-${name}`]));
      const definition = JSON.parse(substitute(machine.Properties.DefinitionString as string, values)) as Parameters<typeof findTaskStates>[0];
      const result = aslValidator(structuredClone(definition) as never, { checkPaths: true, checkArn: true });
      expect(result.errorsText('\n')).toBe('');
      for (const { name, resource } of findTaskStates(definition)) expect(IMPLEMENTED.has(resource), `${name}: ${resource}`).toBe(true);
    }
  });

  it('may run copier tasks only on this cluster and pass only the two copier roles', () => {
    const statements = statementsOf(service, 'WorkflowRole');
    const runTask = statements.find((s) => actions(s).includes('ecs:RunTask'))!;
    expect(JSON.stringify(runTask.Resource)).toContain('task-definition/copier-*');
    expect(JSON.stringify(runTask.Condition)).toContain('CopierCluster');
    const passRole = statements.find((s) => actions(s).includes('iam:PassRole'))!;
    expect(JSON.stringify(passRole.Resource)).toMatch(/CopierTaskRole.*CopierExecutionRole/);
    expect(passRole.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    for (const action of ['ecs:RegisterTaskDefinition', 'ecs:DeregisterTaskDefinition', 'ecs:DescribeTasks', 'ecs:StopTask', 'events:PutRule', 'lambda:InvokeFunction']) {
      expect(statements.some((s) => actions(s).includes(action)), action).toBe(true);
    }
    // no other wildcard resource than the actions that have no resource-level permissions
    for (const s of statements.filter((st) => st.Resource === '*')) {
      for (const action of actions(s)) expect(action).toMatch(/^(ecs:(Register|Deregister)TaskDefinition|logs:|xray:)/);
    }
  });
});

describe('monitoring (cdk/monitoring.ts; each alarm: monitoring.test.ts)', () => {
  it('has the alarm topic, the dashboard, and alarms on both state machines, the three Lambdas, the API, the five tables and the copier', () => {
    service.resourceCountIs('AWS::SNS::Topic', 1);
    service.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const names = Object.values(resourcesOf(service, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmName as string);
    expect(names).toHaveLength(2 * 3 + 3 * 2 + 2 + 5 + 1);
    for (const name of names) expect(name).toMatch(/^share-backup-dev-/);
  });
});

describe('copier on Fargate', () => {
  it('runs in a cluster with Container Insights', () => {
    const cluster = Object.values(resourcesOf(service, 'AWS::ECS::Cluster'))[0]!;
    expect(cluster.Properties.ClusterSettings).toEqual([{ Name: 'containerInsights', Value: 'enabled' }]);
  });

  it('task role: EFS client access only through access points, DynamoDB only the progress attributes and a restore\'s checkpoint', () => {
    const statements = statementsOf(service, 'CopierTaskRole');
    expect(statements.flatMap(actions).sort()).toEqual([
      'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem',
      'elasticfilesystem:ClientMount', 'elasticfilesystem:ClientRootAccess', 'elasticfilesystem:ClientWrite',
    ]);
    // report entries: new items in the reports table only, of the report's shape
    const reports = statements.find((s) => actions(s).includes('dynamodb:PutItem'))!;
    expect(actions(reports).sort()).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:PutItem']);
    expect(JSON.stringify(reports.Resource)).toMatch(/ReportsTable/);
    expect(JSON.stringify(reports.Resource)).not.toMatch(/RestoresTable|BackupsTable|SharesTable/);
    expect(reports.Condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes']).toEqual(COPIER_REPORT_ATTRIBUTES);
    const efs = statements.find((s) => actions(s).includes('elasticfilesystem:ClientMount'))!;
    expect(efs.Condition?.Bool).toEqual({ 'elasticfilesystem:AccessedViaMountTarget': 'true' });
    expect(efs.Condition?.ArnLike?.['elasticfilesystem:AccessPointArn']).toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':elasticfilesystem:eu-west-1:111111111111:access-point/*']] });
    expect(JSON.stringify(efs.Resource)).toMatch(/SharesFileSystem.*BackupsFileSystem/);
    const dynamo = statements.find((s) => actions(s).includes('dynamodb:UpdateItem'))!;
    expect(dynamo.Condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes']).toEqual(COPIER_PROGRESS_ATTRIBUTES);
    expect(JSON.stringify(dynamo.Resource)).toMatch(/RestoresTable.*BackupsTable/);
    expect(JSON.stringify(dynamo.Resource)).not.toContain('SharesTable');
    const read = statements.find((s) => actions(s).includes('dynamodb:GetItem'))!;
    expect(read.Condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes']).toEqual(COPIER_CHECKPOINT_ATTRIBUTES);
    expect(JSON.stringify(read.Resource)).toMatch(/RestoresTable/);
    expect(JSON.stringify(read.Resource)).not.toMatch(/BackupsTable|SharesTable/);
  });

  it('image is a Docker asset of copier/Dockerfile, staged without node_modules', () => {
    const assets = JSON.parse(readFileSync(join(outdir, `${built.service.artifactId}.assets.json`), 'utf8')) as { dockerImages: Record<string, { source: { directory: string; dockerFile: string } }> };
    const images = Object.values(assets.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0]!.source.dockerFile).toBe('copier/Dockerfile');
    const staged = join(outdir, images[0]!.source.directory);
    expect(readdirSync(staged).sort()).toEqual(['cdk', 'copier', 'functions', 'native', 'package-lock.json', 'package.json', 'tsconfig.json']);
    // of the API's code, only the signed HTTP client the copier shares (copier/progress/dynamodb-http.ts)
    expect(readdirSync(join(staged, 'functions'), { recursive: true }).sort()).toEqual(['adapters', 'adapters/aws-http.ts']);
    // the bundle's build script and the esbuild options it shares with the API's
    expect(readdirSync(join(staged, 'cdk')).sort()).toEqual(['copier-bundle.ts', 'node-bundle.ts']);
    // the addon's source and build script, never a binary built on this machine
    expect(readdirSync(join(staged, 'native')).sort()).toEqual(['build.mjs', 'fsx.c']);
  });
});
