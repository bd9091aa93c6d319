// The stateless half: the API (HTTP API + JWT authorizer + Lambda), the workflow Lambda, the two
// Step Functions state machines built from statemachine/*.asl.json (the files the local facade
// runs), the copier's image, cluster and roles, and, unless an OIDC issuer is configured, the
// Cognito user pool that issues tokens. Everything here can be replaced by a redeploy: the data
// lives in DataStack.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Arn, ArnFormat, AssetHashType, CfnOutput, type CfnElement, Duration, IgnoreMode, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
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
import { API_BUNDLE_FILE, API_NODE_OPTIONS, bundleApiSync } from './api-bundle.ts';
import type { StageConfig } from './config.ts';
import { addPreflightRoutes, ConsoleSignIn, consoleCorsPreflight, type ConsoleSiteStack } from './console-stack.ts';
import { copierLogGroupName, copierTaskRoleName, type DataStack } from './data-stack.ts';
import { Monitoring } from './monitoring.ts';
import { PROJECT_INDEX } from '../functions/adapters/tables.ts';
import { PROJECT_ATTRIBUTE, ROLE_GROUPS } from './lambda/pre-token-generation.ts';

/** Routes API Gateway serves without a token: version discovery and the OpenAPI document. */
const ANONYMOUS_PATHS = ['/', '/v2', '/v2/openapi.json'];

export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The attributes the copier writes (copier/progress/dynamo-progress.ts), plus the key it addresses them by. */
export const COPIER_PROGRESS_ATTRIBUTES = [
  'id', 'phase', 'files_total', 'files_done', 'bytes_total', 'bytes_done', 'eta_seconds', 'updated_at', 'fail_reason',
  'progress', 'restore_progress', 'warnings', 'files', 'bytes',
  // a restore's checkpoint (copier/restore/checkpoint.ts)
  'verified_run_id', 'verified_below',
];

/** The attributes of a report item (copier/progress/dynamo-report.ts): entries, and the summary at seq 0. */
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
  /** the web console's site (cdk/console-stack.ts): its origin gets CORS, its URL a sign-in client */
  consoleSite?: ConsoleSiteStack;
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
  readonly monitoring: Monitoring;
  userPool?: cognito.UserPool;
  preTokenGenerationFunction?: NodejsFunction;
  consoleSignIn?: ConsoleSignIn;

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
      sid: 'WriteCopierLogStreams',
      // the awslogs driver's streams, <awslogs-stream-prefix>/<container>/<task id>; not
      // `${logGroupArn}:log-stream:...`: a log group's Arn attribute already ends in ":*"
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.formatArn({
        service: 'logs', resource: 'log-group', resourceName: `${copierLogGroupName(config.stage)}:log-stream:copier/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      })],
    }));

    // access points are created at runtime (one per share and backup): their ids cannot be listed
    const anyAccessPoint = this.formatArn({ service: 'elasticfilesystem', resource: 'access-point', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    this.copierTaskRole = new iam.Role(this, 'CopierTaskRole', {
      // named: the file systems' policies (DataStack) allow this role by name
      roleName: copierTaskRoleName(config.stage, this.region),
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com', {
        conditions: { ArnLike: { 'aws:SourceArn': this.formatArn({ service: 'ecs', resource: '*' }) }, StringEquals: { 'aws:SourceAccount': this.account } },
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
      // copier/progress/dynamo-report.ts: new items, never reads, updates or deletes. One task role serves
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
        ArnLike: { 'elasticfilesystem:AccessPointArn': anyAccessPoint },
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
        // failures only and no inputs/outputs by default; more per stage (config.ts workflowLogLevel)
        level: sfn.LogLevel[config.workflowLogLevel],
        includeExecutionData: config.workflowLogExecutionData,
      },
    })])) as Record<WorkflowName, sfn.StateMachine>;
    if (config.workflowLogLevel !== 'ALL') {
      for (const machine of Object.values(this.stateMachines)) {
        acknowledge(machine, {
          'AwsSolutions-SF1': `Logs at ${config.workflowLogLevel} by default (config.ts workflowLogLevel): ALL would write every state's input and output (record ids, project ids, share paths) to CloudWatch Logs for every execution; Step Functions keeps each execution's full history for 90 days, and a stage being debugged sets workflowLogLevel ALL.`,
        });
      }
    }
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
      // bundled by cdk/api-bundle.ts, whose esbuild options the bench (`npm run bench -- api`) measures
      code: lambda.Code.fromAsset(REPO_ROOT, {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // (never pulled: the local bundling below always succeeds or throws)
          image: lambda.Runtime.NODEJS_22_X.bundlingImage,
          local: { tryBundle: (outputDir) => (bundleApiSync(outputDir), true) },
        },
      }),
      handler: `${API_BUNDLE_FILE.replace(/\.mjs$/, '')}.handler`,
      description: 'Manila-compatible share backup API (HTTP API payload 2.0)',
      logGroup: logGroup('ApiFunctionLogs', `/aws/lambda/${prefix}-api`),
      environment: {
        ...(API_NODE_OPTIONS === undefined ? {} : { NODE_OPTIONS: API_NODE_OPTIONS }),
        POWERTOOLS_SERVICE_NAME: 'share-backup-api',
        SHARES_TABLE: data.tables.shares.tableName,
        BACKUPS_TABLE: data.tables.backups.tableName,
        RESTORES_TABLE: data.tables.restores.tableName,
        REPORTS_TABLE: data.tables.reports.tableName,
        SHARE_TYPES_TABLE: data.tables.shareTypes.tableName,
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
      sid: 'ShareTypes',
      // functions/api/share-types.ts: an admin's types (read by id or all, created, changed, deleted)
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'],
      resources: [data.tables.shareTypes.tableArn],
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
      resources: [anyAccessPoint],
      conditions: { StringEquals: { 'elasticfilesystem:CreateAction': 'CreateAccessPoint' } },
    }));
    this.apiFunction.addToRolePolicy(new iam.PolicyStatement({
      sid: 'DeleteShareAndBackupAccessPoints',
      actions: ['elasticfilesystem:DeleteAccessPoint'],
      resources: [anyAccessPoint],
      // only access points the service tagged (functions/adapters/storage-efs.ts: Name share-<id> | backup-<id>)
      conditions: { StringLike: { 'aws:ResourceTag/Name': ['share-*', 'backup-*'] } },
    }));

    const identity = this.identity(config, prefix, logGroup);
    // the web console (cdk/console-stack.ts): its app client's tokens are accepted too
    const consoleSite = this.userPool && config.console ? props.consoleSite : undefined;
    if (consoleSite && this.userPool && config.console) {
      this.consoleSignIn = new ConsoleSignIn(this, 'ConsoleSignIn', { userPool: this.userPool, site: consoleSite, stage: config.stage, console: config.console });
    }
    const authorizer = new HttpJwtAuthorizer('JwtAuthorizer', identity.issuer, {
      authorizerName: `${prefix}-jwt`,
      jwtAudience: [...identity.audience, ...(this.consoleSignIn ? [this.consoleSignIn.client.userPoolClientId] : [])],
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
      corsPreflight: consoleSite && config.console ? consoleCorsPreflight(consoleSite, config.console) : undefined,
    });
    if (consoleSite) addPreflightRoutes(this.api, integration);
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

    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      stateMachines: this.stateMachines,
      functions: [this.apiFunction, this.workflowFunction, ...(this.preTokenGenerationFunction ? [this.preTokenGenerationFunction] : [])],
      api: this.api,
      tables: data.tables,
      cluster: this.cluster,
      copierLogGroup,
    });

    this.acknowledgeFindings(workflowRole, copierLogGroupName(config.stage));
  }

  private nodeFunction(id: string, props: NodejsFunctionProps & { entry: string; logGroup: logs.ILogGroup }): NodejsFunction {
    // not the default role's AWSLambdaBasicExecutionRole (logs on "*"): the function's own log group only
    const role = new iam.Role(this, `${id}ServiceRole`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.functionName ?? id}: writes its own log group`,
    });
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'WriteOwnLogGroup',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [props.logGroup.logGroupArn],
    }));
    return new NodejsFunction(this, id, {
      role,
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
      // (the API function's code and NODE_OPTIONS are cdk/api-bundle.ts's: it passes both)
      environment: props.code ? props.environment : { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
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
      // the ASL's dynamodb:getItem/updateItem tasks name these three; report items are the copier's
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [data.tables.shares, data.tables.backups, data.tables.restores].map((t) => t.tableArn),
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'RegisterCopierTaskDefinitions',
      // RegisterTaskDefinition takes a task-definition resource (IAM service authorization reference): the copier-* families
      actions: ['ecs:RegisterTaskDefinition'],
      resources: [Arn.format({ service: 'ecs', resource: 'task-definition', resourceName: 'copier-*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, this)],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'DeregisterCopierTaskDefinitions',
      // DeregisterTaskDefinition has no resource type (IAM service authorization reference)
      actions: ['ecs:DeregisterTaskDefinition'],
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
      // the users: kept on delete and replacement, not after a failed first create (data-stack.ts STATEFUL)
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
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
  private acknowledgeFindings(workflowRole: iam.Role, copierLogGroup: string): void {
    const logicalId = (construct: Construct) => this.resolve(this.getLogicalId(construct.node.defaultChild as CfnElement)) as string;
    // a literal with @aws-cdk/core:enablePartitionLiterals and a known region, else cdk-nag's <AWS::Partition>
    const resolvedPartition: unknown = this.resolve(this.partition);
    const partition = typeof resolvedPartition === 'string' ? resolvedPartition : '<AWS::Partition>';
    const functions = [this.apiFunction, this.workflowFunction, ...(this.preTokenGenerationFunction ? [this.preTokenGenerationFunction] : [])];
    for (const fn of functions) {
      acknowledge(fn, {
        'AwsSolutions-L1': 'Node.js 22 is the runtime the code, its bundles and the copier image are built and tested for; a newer runtime is a code change with its own test run, not a silent stack default.',
      });
      // on the function's role only (nodeFunction): its own log group's streams, and X-Ray
      acknowledge(fn.role as iam.Role, {
        'AwsSolutions-IAM5[Resource::*]': 'Only xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) are on Resource "*": neither supports resource-level permissions.',
      });
    }
    acknowledge(this.apiFunction.role as iam.Role, {
      [`AwsSolutions-IAM5[Resource::arn:${partition}:elasticfilesystem:${this.region}:${this.account}:access-point/*]`]:
        'Access points are created at runtime, one per share and backup, so their ids cannot be listed; TagResource is limited to CreateAccessPoint calls and DeleteAccessPoint to access points tagged share-*/backup-* by the service. CreateAccessPoint itself is limited to the two file systems.',
    });
    acknowledge(workflowRole, {
      'AwsSolutions-IAM5[Resource::*]':
        'On Resource "*", none supporting resource-level permissions: ecs:DeregisterTaskDefinition (RegisterTaskDefinition is limited to the copier-* families); the log delivery actions Step Functions logging needs (logs:CreateLogDelivery, logs:GetLogDelivery, logs:UpdateLogDelivery, logs:DeleteLogDelivery, logs:ListLogDeliveries, logs:PutResourcePolicy, logs:DescribeResourcePolicies, logs:DescribeLogGroups; PutResourcePolicy writes the account\'s CloudWatch Logs resource policy); X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords, xray:GetSamplingRules, xray:GetSamplingTargets).',
      [`AwsSolutions-IAM5[Resource::arn:${partition}:ecs:${this.region}:${this.account}:task-definition/copier-*]`]:
        'A task definition is registered per run (family copier-<restore or backup id>), so RegisterTaskDefinition and RunTask must accept any copier-* family and revision; RunTask is conditioned on this cluster.',
      [`AwsSolutions-IAM5[Resource::arn:${partition}:ecs:${this.region}:${this.account}:task/<${logicalId(this.cluster)}>/*]`]:
        'Task ids are assigned by ECS at RunTask; DescribeTasks/StopTask are limited to tasks of this cluster.',
    });
    acknowledge(this.copierExecutionRole, {
      'AwsSolutions-IAM5[Resource::*]': 'Only ecr:GetAuthorizationToken is on Resource "*": it does not support resource-level permissions; the image pulls (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability) are limited to the CDK bootstrap\'s container-assets repository (cdk-<qualifier>-container-assets-<account>-<region>), which holds the images of every CDK app bootstrapped in this account and region, not only the copier\'s.',
      [`AwsSolutions-IAM5[Resource::arn:${partition}:logs:${this.region}:${this.account}:log-group:${copierLogGroup}:log-stream:copier/*]`]:
        'Log stream names contain the task id, assigned at RunTask (awslogs: copier/<container>/<task id>); writes are limited to the copier/ streams of the copier log group.',
    });
    for (const path of ANONYMOUS_PATHS) {
      const route = this.api.node.findChild(`GET${path.replace(/\//g, '--')}`);
      acknowledge(route, {
        'AwsSolutions-APIG4': 'Version discovery (GET / and GET /v2) is anonymous in OpenStack: clients read the supported microversions before they authenticate; GET /v2/openapi.json describes the API. These documents hold no tenant data; every other route has the JWT authorizer.',
      });
    }
  }
}
