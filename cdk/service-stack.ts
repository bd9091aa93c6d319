// The stateless half: the API (HTTP API + JWT authorizer + Lambda), the workflow Lambda, the two
// Step Functions state machines built from statemachine/*.asl.json (the files the local facade
// runs), the copier's image, cluster and roles, and, unless an OIDC issuer is configured, the
// Cognito user pool that issues tokens. Everything here can be replaced by a redeploy: the data
// lives in DataStack.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Arn, ArnFormat, CfnOutput, type CfnElement, Duration, IgnoreMode, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { AccessLogField, AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { StageConfig } from './config.ts';
import { copierLogGroupName, type DataStack } from './data-stack.ts';
import { PROJECT_INDEX } from '../functions/adapters/tables.ts';
import { PROJECT_ATTRIBUTE, ROLE_GROUPS } from './lambda/pre-token-generation.ts';

/** Routes API Gateway serves without a token: version discovery and the OpenAPI document. */
const ANONYMOUS_PATHS = ['/', '/v2', '/v2/openapi.json'];

export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The attributes the copier writes (copier/dynamo-progress.ts), plus the key it addresses them by. */
export const COPIER_PROGRESS_ATTRIBUTES = [
  'id', 'phase', 'files_total', 'files_done', 'bytes_total', 'bytes_done', 'eta_seconds', 'updated_at', 'fail_reason',
  'progress', 'restore_progress', 'warnings', 'files', 'bytes',
  // a restore's checkpoint (copier/restore-checkpoint.ts)
  'verified_run_id', 'verified_below',
];

/** The attributes of a report item (copier/dynamo-report.ts): entries, and the summary at seq 0. */
export const COPIER_REPORT_ATTRIBUTES = [
  'operation_id', 'seq', 'path', 'what', 'action', 'why', 'moved_to', 'reported', 'stored', 'truncated',
];

/** What a copier may read: a restore's checkpoint on its own progress record (and the key). */
export const COPIER_CHECKPOINT_ATTRIBUTES = ['id', 'verified_run_id', 'verified_below'];

export const WORKFLOWS = ['restore', 'backup'] as const;
export type WorkflowName = (typeof WORKFLOWS)[number];

export interface ServiceStackProps extends StackProps {
  config: StageConfig;
  data: DataStack;
}

/** Lines of a .dockerignore, as CDK's asset staging takes them (IgnoreMode.DOCKER). */
function dockerignorePatterns(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

function acknowledge(scope: Construct, acknowledgements: Record<string, string>): void {
  for (const [id, reason] of Object.entries(acknowledgements)) Validations.of(scope).acknowledge({ id, reason });
}

export class ServiceStack extends Stack {
  readonly api: apigwv2.HttpApi;
  readonly apiFunction: NodejsFunction;
  readonly workflowFunction: NodejsFunction;
  readonly stateMachines: Record<WorkflowName, sfn.StateMachine>;
  readonly definitionSubstitutions: Record<string, string>;
  readonly copierTaskRole: iam.Role;
  readonly copierExecutionRole: iam.Role;
  readonly cluster: ecs.Cluster;
  userPool?: cognito.UserPool;
  preTokenGenerationFunction?: NodejsFunction;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const prefix = `share-backup-${config.stage}`;
    const logGroup = (name: string, logGroupName: string) => new logs.LogGroup(this, name, {
      logGroupName, retention: config.logRetention, removalPolicy: RemovalPolicy.DESTROY,
    });

    // ---- Lambdas ---------------------------------------------------------------------------
    const driversEnv: Record<string, string> = config.backupDrivers === undefined ? {} : { BACKUP_DRIVERS: JSON.stringify(config.backupDrivers) };
    this.workflowFunction = this.nodeFunction('WorkflowFunction', {
      functionName: `${prefix}-workflow`,
      entry: join(REPO_ROOT, 'functions/workflow/handler.ts'),
      description: 'Pure checks the workflows invoke (driver capability, failure description)',
      logGroup: logGroup('WorkflowFunctionLogs', `/aws/lambda/${prefix}-workflow`),
      environment: { POWERTOOLS_SERVICE_NAME: 'share-backup-workflow', ...driversEnv },
    });

    // ---- copier: image, cluster, roles ----------------------------------------------------------
    const copierImage = new DockerImageAsset(this, 'CopierImage', {
      directory: REPO_ROOT,
      file: 'copier/Dockerfile',
      exclude: dockerignorePatterns(join(REPO_ROOT, 'copier/.dockerignore')),
      ignoreMode: IgnoreMode.DOCKER,
      // the ASL's task definitions name no runtime platform: Fargate runs them on x86_64
      platform: Platform.LINUX_AMD64,
    });
    this.cluster = new ecs.Cluster(this, 'CopierCluster', {
      clusterName: `${prefix}-copier`,
      vpc: data.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const copierLogGroup = logGroup('CopierLogs', copierLogGroupName(config.stage));

    this.copierExecutionRole = new iam.Role(this, 'CopierExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'ECS agent for copier tasks: pulls the copier image, writes its log stream',
    });
    copierImage.repository.grantPull(this.copierExecutionRole);
    this.copierExecutionRole.addToPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [`${copierLogGroup.logGroupArn}:log-stream:copier/*`],
    }));

    this.copierTaskRole = new iam.Role(this, 'CopierTaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com', {
        conditions: { ArnLike: { 'aws:SourceArn': `arn:aws:ecs:${this.region}:${this.account}:*` }, StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      description: 'A copier run: mounts its backup and share through access points, writes progress attributes',
    });
    this.copierTaskRole.addToPolicy(new iam.PolicyStatement({
      sid: 'ProgressAttributesOnly',
      actions: ['dynamodb:UpdateItem'],
      resources: [data.tables.restores.tableArn, data.tables.backups.tableArn],
      conditions: {
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': COPIER_PROGRESS_ATTRIBUTES },
        StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
      },
    }));
    this.copierTaskRole.addToPolicy(new iam.PolicyStatement({
      sid: 'WriteReportEntriesOnly',
      // copier/dynamo-report.ts: new items, never reads, updates or deletes. One task role serves
      // every run, and ECS gives a task's credentials no per-run tag, so dynamodb:LeadingKeys
      // cannot pin a run to its own operation id; the item shape is pinned instead.
      actions: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
      resources: [data.tables.reports.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:Attributes': COPIER_REPORT_ATTRIBUTES } },
    }));
    this.copierTaskRole.addToPolicy(new iam.PolicyStatement({
      sid: 'RestoreCheckpointOnly',
      actions: ['dynamodb:GetItem'],
      resources: [data.tables.restores.tableArn],
      conditions: {
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': COPIER_CHECKPOINT_ATTRIBUTES },
        StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
      },
    }));
    this.copierTaskRole.addToPolicy(new iam.PolicyStatement({
      sid: 'MountThroughAccessPointsOnly',
      actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'],
      resources: [data.sharesFileSystem.fileSystemArn, data.backupsFileSystem.fileSystemArn],
      conditions: {
        Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' },
        ArnLike: { 'elasticfilesystem:AccessPointArn': `arn:aws:elasticfilesystem:${this.region}:${this.account}:access-point/*` },
      },
    }));

    // ---- workflows -------------------------------------------------------------------------
    const subnetIds = data.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds;
    this.definitionSubstitutions = {
      SharesTable: data.tables.shares.tableName,
      BackupsTable: data.tables.backups.tableName,
      RestoresTable: data.tables.restores.tableName,
      ReportsTable: data.tables.reports.tableName,
      WorkflowFunctionArn: this.workflowFunction.functionArn,
      ClusterArn: this.cluster.clusterArn,
      CopierImage: copierImage.imageUri,
      CopierTaskRoleArn: this.copierTaskRole.roleArn,
      CopierExecutionRoleArn: this.copierExecutionRole.roleArn,
      CopierLogGroup: copierLogGroup.logGroupName,
      Region: this.region,
      CopierSubnetIds: subnetIds.join(','),
      CopierSecurityGroupIds: data.copierSecurityGroup.securityGroupId,
      SharesFileSystemId: data.sharesFileSystem.fileSystemId,
      BackupsFileSystemId: data.backupsFileSystem.fileSystemId,
    };
    const workflowRole = this.workflowRole(props, [this.copierTaskRole, this.copierExecutionRole]);
    this.stateMachines = Object.fromEntries(WORKFLOWS.map((name) => [name, new sfn.StateMachine(this, `${name[0]!.toUpperCase()}${name.slice(1)}StateMachine`, {
      stateMachineName: `${prefix}-${name}`,
      stateMachineType: sfn.StateMachineType.STANDARD,
      // the very file the local facade runs; Step Functions substitutes ${Name} at deploy time
      definitionBody: sfn.DefinitionBody.fromString(readFileSync(join(REPO_ROOT, 'statemachine', `${name}.asl.json`), 'utf8')),
      definitionSubstitutions: this.definitionSubstitutions,
      role: workflowRole,
      tracingEnabled: true,
      logs: {
        // vended-logs prefix: keeps the log resource policy CloudWatch needs within its size limit
        destination: logGroup(`${name}WorkflowLogs`, `/aws/vendedlogs/states/${prefix}-${name}`),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
    })])) as Record<WorkflowName, sfn.StateMachine>;
    workflowRole.addToPolicy(new iam.PolicyStatement({
      sid: 'InvokeWorkflowChecks',
      // the ASL invokes the unqualified function ARN: no version or alias wildcard needed
      actions: ['lambda:InvokeFunction'],
      resources: [this.workflowFunction.functionArn],
    }));

    // ---- API -------------------------------------------------------------------------------
    const resourceTables = [data.tables.shares, data.tables.backups, data.tables.restores];
    this.apiFunction = this.nodeFunction('ApiFunction', {
      functionName: `${prefix}-api`,
      entry: join(REPO_ROOT, 'functions/api/handler.ts'),
      description: 'Manila-compatible share backup API (HTTP API payload 2.0)',
      logGroup: logGroup('ApiFunctionLogs', `/aws/lambda/${prefix}-api`),
      environment: {
        POWERTOOLS_SERVICE_NAME: 'share-backup-api',
        SHARES_TABLE: data.tables.shares.tableName,
        BACKUPS_TABLE: data.tables.backups.tableName,
        RESTORES_TABLE: data.tables.restores.tableName,
        REPORTS_TABLE: data.tables.reports.tableName,
        RESTORE_STATE_MACHINE_ARN: this.stateMachines.restore.stateMachineArn,
        BACKUP_STATE_MACHINE_ARN: this.stateMachines.backup.stateMachineArn,
        STORAGE_BACKEND: 'efs',
        EFS_SHARES_FILE_SYSTEM_ID: data.sharesFileSystem.fileSystemId,
        EFS_BACKUPS_FILE_SYSTEM_ID: data.backupsFileSystem.fileSystemId,
        ...driversEnv,
        ...(config.shareTypes !== undefined ? { SHARE_TYPES: JSON.stringify(config.shareTypes) } : {}),
        ...(config.availabilityZone ? { AVAILABILITY_ZONE: config.availabilityZone } : {}),
        ...(config.backupQuota !== undefined ? { BACKUP_QUOTA: String(config.backupQuota) } : {}),
      },
    });
    this.apiFunction.addToRolePolicy(new iam.PolicyStatement({
      sid: 'RecordsAndClaims',
      // what functions/adapters/repository.ts sends: items, transactions (Put/Update/ConditionCheck/Delete), lists
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:Query', 'dynamodb:Scan'],
      resources: resourceTables.map((t) => t.tableArn),
    }));
    this.apiFunction.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ProjectLists',
      actions: ['dynamodb:Query'],
      resources: resourceTables.map((t) => `${t.tableArn}/index/${PROJECT_INDEX}`),
    }));
    this.apiFunction.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ReadReports',
      // the report routes read entries and the summary item; only the copier writes them
      actions: ['dynamodb:GetItem', 'dynamodb:Query'],
      resources: [data.tables.reports.tableArn],
    }));
    for (const machine of Object.values(this.stateMachines)) machine.grantStartExecution(this.apiFunction);
    this.apiFunction.addToRolePolicy(new iam.PolicyStatement({
      sid: 'CreateAccessPointsOnTheServiceFileSystems',
      actions: ['elasticfilesystem:CreateAccessPoint'],
      resources: [data.sharesFileSystem.fileSystemArn, data.backupsFileSystem.fileSystemArn],
    }));
    this.apiFunction.addToRolePolicy(new iam.PolicyStatement({
      sid: 'TagAccessPointsOnCreation',
      actions: ['elasticfilesystem:TagResource'],
      resources: [`arn:aws:elasticfilesystem:${this.region}:${this.account}:access-point/*`],
      conditions: { StringEquals: { 'elasticfilesystem:CreateAction': 'CreateAccessPoint' } },
    }));
    this.apiFunction.addToRolePolicy(new iam.PolicyStatement({
      sid: 'DeleteShareAndBackupAccessPoints',
      actions: ['elasticfilesystem:DeleteAccessPoint'],
      resources: [`arn:aws:elasticfilesystem:${this.region}:${this.account}:access-point/*`],
      // only access points the service tagged (functions/adapters/storage-efs.ts: Name share-<id> | backup-<id>)
      conditions: { StringLike: { 'aws:ResourceTag/Name': ['share-*', 'backup-*'] } },
    }));

    const identity = this.identity(config, prefix, logGroup);
    const authorizer = new HttpJwtAuthorizer('JwtAuthorizer', identity.issuer, {
      authorizerName: `${prefix}-jwt`,
      jwtAudience: identity.audience,
      identitySource: ['$request.header.Authorization'],
    });
    const integration = new HttpLambdaIntegration('ApiIntegration', this.apiFunction, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: `${prefix}-api`,
      description: 'Share backup service (OpenStack Manila share backups, microversion 2.91)',
      createDefaultStage: false,
      // every route but the two version documents: the $default route and /v2/{proxy+}
      defaultAuthorizer: authorizer,
      defaultIntegration: integration,
    });
    this.api.addRoutes({ path: '/v2/{proxy+}', methods: [apigwv2.HttpMethod.ANY], integration });
    for (const path of ANONYMOUS_PATHS) {
      // Manila's version discovery is anonymous: clients read it before they have a token; so is
      // the API's OpenAPI document (no tenant data either)
      this.api.addRoutes({ path, methods: [apigwv2.HttpMethod.GET], integration, authorizer: new apigwv2.HttpNoneAuthorizer() });
    }
    const accessLogs = logGroup('ApiAccessLogs', `/aws/vendedlogs/apigateway/${prefix}-api`);
    new apigwv2.HttpStage(this, 'ApiStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: config.throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify({
          requestId: AccessLogField.contextRequestId(),
          ip: AccessLogField.contextIdentitySourceIp(),
          requestTime: AccessLogField.contextRequestTime(),
          routeKey: AccessLogField.contextRouteKey(),
          path: AccessLogField.contextPath(),
          status: AccessLogField.contextStatus(),
          responseLength: AccessLogField.contextResponseLength(),
          integrationLatency: AccessLogField.contextIntegrationLatency(),
          subject: '$context.authorizer.claims.sub',
          project: '$context.authorizer.claims.project_id',
          authorizerError: '$context.authorizer.error',
        })),
      },
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'JwtIssuer', { value: identity.issuer });
    for (const [name, machine] of Object.entries(this.stateMachines)) new CfnOutput(this, `${name}StateMachineArn`, { value: machine.stateMachineArn });

    this.acknowledgeFindings(workflowRole, copierLogGroup);
  }

  private nodeFunction(id: string, props: NodejsFunctionProps & { entry: string; logGroup: logs.ILogGroup }): NodejsFunction {
    return new NodejsFunction(this, id, {
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(29),
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      ...props,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // bundle the AWS SDK v3 (not the runtime's copy): tree-shaken, and the version we tested
        bundleAwsSDK: true,
        mainFields: ['module', 'main'],
        banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
        ...props.bundling,
      },
    });
  }

  /**
   * The state machines' role: the tables' items, the workflow Lambda, and the copier's ECS task
   * lifecycle (register a task definition, run it on this cluster with the .sync pattern's events
   * rule, deregister it), passing only the two copier roles.
   */
  private workflowRole(props: ServiceStackProps, copierRoles: iam.Role[]): iam.Role {
    const { data } = props;
    const role = new iam.Role(this, 'WorkflowRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      description: 'Restore and backup state machines',
    });
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'ReadAndUpdateRecords',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: Object.values(data.tables).map((t) => t.tableArn),
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'RegisterCopierTaskDefinitions',
      // neither action supports resource-level permissions (IAM service authorization reference)
      actions: ['ecs:RegisterTaskDefinition', 'ecs:DeregisterTaskDefinition'],
      resources: ['*'],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'RunCopierTasksOnThisCluster',
      actions: ['ecs:RunTask'],
      resources: [Arn.format({ service: 'ecs', resource: 'task-definition', resourceName: 'copier-*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, this)],
      conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'WatchAndStopCopierTasks',
      actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
      resources: [Arn.format({ service: 'ecs', resource: 'task', resourceName: `${this.cluster.clusterName}/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, this)],
      conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'RunTaskSyncEventsRule',
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [Arn.format({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForECSTaskRule', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, this)],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'PassOnlyTheCopierRoles',
      actions: ['iam:PassRole'],
      resources: copierRoles.map((r) => r.roleArn),
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    }));
    return role;
  }

  /** The JWT issuer and audiences: a configured OIDC issuer, or a Cognito user pool created here. */
  private identity(config: StageConfig, prefix: string, logGroup: (name: string, logGroupName: string) => logs.LogGroup): { issuer: string; audience: string[] } {
    if (config.oidcIssuer) return { issuer: config.oidcIssuer, audience: config.oidcAudience ?? [] };

    const preTokenGeneration = this.nodeFunction('PreTokenGenerationFunction', {
      functionName: `${prefix}-pre-token-generation`,
      entry: join(REPO_ROOT, 'cdk/lambda/pre-token-generation.ts'),
      description: 'Puts project_id and roles claims into Cognito ID and access tokens',
      logGroup: logGroup('PreTokenGenerationLogs', `/aws/lambda/${prefix}-pre-token-generation`),
      timeout: Duration.seconds(5),
      memorySize: 256,
    });
    const userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `${prefix}-users`,
      // Plus: threat protection (compromised credentials, adaptive authentication) enforced
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true, tempPasswordValidity: Duration.days(3) },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      customAttributes: { [PROJECT_ATTRIBUTE.replace('custom:', '')]: new cognito.StringAttribute({ mutable: true, minLen: 1, maxLen: 255 }) },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    userPool.addTrigger(cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, preTokenGeneration, cognito.LambdaVersion.V2_0);
    for (const role of ROLE_GROUPS) new cognito.CfnUserPoolGroup(this, `${role}Group`, { userPoolId: userPool.userPoolId, groupName: role, description: `API role ${role}` });
    const client = userPool.addClient('CliClient', {
      userPoolClientName: `${prefix}-cli`,
      authFlows: { userSrp: true },
      generateSecret: false,
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      // users may read their project but never write it: only an administrator assigns projects
      readAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }).withCustomAttributes('project_id'),
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }),
    });
    this.userPool = userPool;
    this.preTokenGenerationFunction = preTokenGeneration;
    new CfnOutput(this, 'UserPoolId', { value: userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: client.userPoolClientId });
    return { issuer: `https://cognito-idp.${this.region}.amazonaws.com/${userPool.userPoolId}`, audience: [client.userPoolClientId] };
  }

  /** cdk-nag findings this design accepts, each with the reason a reviewer can check. */
  private acknowledgeFindings(workflowRole: iam.Role, copierLogGroup: logs.LogGroup): void {
    const logicalId = (construct: Construct) => this.resolve(this.getLogicalId(construct.node.defaultChild as CfnElement)) as string;
    const functions = [this.apiFunction, this.workflowFunction, ...(this.preTokenGenerationFunction ? [this.preTokenGenerationFunction] : [])];
    for (const fn of functions) {
      acknowledge(fn, {
        'AwsSolutions-L1': 'Node.js 22 is the runtime the code is written and tested for (the brief fixes it); moving to a newer runtime is a code change with its own tests, not a silent stack default.',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
          'AWS managed AWSLambdaBasicExecutionRole grants only logs:CreateLogGroup/CreateLogStream/PutLogEvents; the function logs to its own log group with a set retention.',
        'AwsSolutions-IAM5[Resource::*]': 'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) do not support resource-level permissions.',
      });
    }
    acknowledge(this.apiFunction, {
      [`AwsSolutions-IAM5[Resource::arn:aws:elasticfilesystem:${this.region}:${this.account}:access-point/*]`]:
        'Access points are created at runtime, one per share and backup, so their ids cannot be listed; TagResource is limited to CreateAccessPoint calls and DeleteAccessPoint to access points tagged share-*/backup-* by the service. CreateAccessPoint itself is limited to the two file systems.',
    });
    acknowledge(workflowRole, {
      'AwsSolutions-IAM5[Resource::*]':
        'ecs:RegisterTaskDefinition and ecs:DeregisterTaskDefinition do not support resource-level permissions; the CloudWatch Logs delivery actions (logs:*LogDelivery*, Describe*) and X-Ray tracing actions Step Functions needs do not either.',
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:${this.region}:${this.account}:task-definition/copier-*]`]:
        'A task definition is registered per run (family copier-<restore or backup id>), so RunTask must accept any revision of the copier-* families; it is conditioned on this cluster.',
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:${this.region}:${this.account}:task/<${logicalId(this.cluster)}>/*]`]:
        'Task ids are assigned by ECS at RunTask; DescribeTasks/StopTask are limited to tasks of this cluster.',
    });
    acknowledge(this.copierExecutionRole, {
      'AwsSolutions-IAM5[Resource::*]': 'ecr:GetAuthorizationToken does not support resource-level permissions; image pulls are limited to the copier asset repository.',
      [`AwsSolutions-IAM5[Resource::<${logicalId(copierLogGroup)}.Arn>:log-stream:copier/*]`]:
        'Log stream names contain the task id, assigned at RunTask; writes are limited to the copier/ streams of the copier log group.',
    });
    for (const path of ANONYMOUS_PATHS) {
      const route = this.api.node.findChild(`GET${path.replace(/\//g, '--')}`);
      acknowledge(route, {
        'AwsSolutions-APIG4': 'Version discovery (GET / and GET /v2) is anonymous in OpenStack: clients read the supported microversions before they authenticate; GET /v2/openapi.json describes the API. These documents hold no tenant data; every other route has the JWT authorizer.',
      });
    }
  }
}
