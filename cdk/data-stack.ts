// The stateful half of the deployment: the network the file systems live in, the two EFS file
// systems (shares and backups) and the DynamoDB tables. Nothing here is replaced by a
// redeploy of the service: tables and file systems are retained, tables are deletion-protected
// with point-in-time recovery, and the service stack only references them.
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { ArnFormat } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { TABLES, type TableDefinition } from '../functions/adapters/tables.ts';
import type { StageConfig } from './config.ts';

export interface DataStackProps extends StackProps {
  config: StageConfig;
}

export type ServiceTables = Record<TableDefinition['logicalName'], dynamodb.Table>;

const NFS_PORT = 2049;

/**
 * Kept when the stack is deleted or the resource replaced, but deleted when the stack's first
 * create rolls back (CloudFormation's RetainExceptOnCreate): plain RETAIN would leave the named,
 * deletion-protected tables behind and the retry of a failed first deploy would fail on them.
 */
export const STATEFUL = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;

export class DataStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly tables: ServiceTables;
  readonly sharesFileSystem: efs.FileSystem;
  readonly backupsFileSystem: efs.FileSystem;
  /** the copier tasks' security group: the only one the file systems admit NFS from (besides tenant CIDRs) */
  readonly copierSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: config.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      // DynamoDB traffic of the copier stays off the NAT gateway
      gatewayEndpoints: { DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
      flowLogs: {
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'VpcFlowLogs', {
            retention: config.logRetention,
            removalPolicy: STATEFUL,
          })),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });

    this.tables = Object.fromEntries(TABLES.map((def) => [def.logicalName, this.table(def, config.stage)])) as ServiceTables;

    this.copierSecurityGroup = new ec2.SecurityGroup(this, 'CopierSecurityGroup', {
      vpc: this.vpc,
      description: 'Copier Fargate tasks: NFS to the file systems, HTTPS to ECR, DynamoDB and CloudWatch Logs',
      allowAllOutbound: true,
    });

    this.sharesFileSystem = this.fileSystem('Shares', config);
    this.backupsFileSystem = this.fileSystem('Backups', { ...config, tenantCidrs: [], tenantPrincipals: [] });

    new CfnOutput(this, 'SharesFileSystemId', { value: this.sharesFileSystem.fileSystemId });
    new CfnOutput(this, 'BackupsFileSystemId', { value: this.backupsFileSystem.fileSystemId });
  }

  private table(def: TableDefinition, stage: string): dynamodb.Table {
    const table = new dynamodb.Table(this, `${def.logicalName[0]!.toUpperCase()}${def.logicalName.slice(1)}Table`, {
      tableName: `share-backup-${stage}-${def.logicalName}`,
      partitionKey: { name: def.partitionKey, type: dynamodb.AttributeType.STRING },
      ...(def.logicalName === 'reports' ? { sortKey: { name: def.sortKey, type: dynamodb.AttributeType.NUMBER } } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: STATEFUL,
    });
    // reports are read by operation id only (the API checks the backup or restore it belongs to
    // first); share types belong to no project
    if (def.logicalName === 'reports' || def.logicalName === 'shareTypes') return table;
    table.addGlobalSecondaryIndex({
      indexName: def.projectIndex.name,
      partitionKey: { name: def.projectIndex.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: def.projectIndex.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    return table;
  }

  /**
   * An encrypted file system in the private subnets. NFS is admitted from the copier tasks (and
   * tenant networks where configured); its policy refuses unencrypted transport and any mount that
   * does not go through an access point, so a client never sees the file system's root (every
   * share's or backup's directory) — only the one access point its task definition names. Mounts
   * are IAM-authorized (Fargate's `Iam: ENABLED`, efs-utils' `iam` option): the policy allows the
   * copier task role, and on the shares file system the configured tenant principals, each only
   * through an access point of this account and region.
   */
  private fileSystem(name: 'Shares' | 'Backups', config: StageConfig): efs.FileSystem {
    const securityGroup = new ec2.SecurityGroup(this, `${name}FileSystemSecurityGroup`, {
      vpc: this.vpc,
      description: `${name} file system mount targets: NFS from the copier tasks${config.tenantCidrs.length ? ' and tenant networks' : ''}`,
      allowAllOutbound: false,
    });
    securityGroup.addIngressRule(this.copierSecurityGroup, ec2.Port.tcp(NFS_PORT), 'NFS from copier tasks');
    for (const cidr of config.tenantCidrs) securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(NFS_PORT), `NFS from tenant network ${cidr}`);

    const clientActions = ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'];
    // the service creates access points at runtime, one per share and backup
    const accessPoints = this.formatArn({ service: 'elasticfilesystem', resource: 'access-point', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const fileSystemPolicy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'DenyUnencryptedTransport',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: clientActions,
          conditions: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
        new iam.PolicyStatement({
          sid: 'DenyMountsNotThroughAnAccessPoint',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: clientActions,
          conditions: { Null: { 'elasticfilesystem:AccessPointArn': 'true' } },
        }),
        new iam.PolicyStatement({
          sid: 'AllowCopierMountsThroughAccessPoints',
          // the copier task role is in the service stack, deployed after this one (and replaced with
          // it): named by aws:PrincipalArn, which needs no role to exist when this policy is set
          principals: [new iam.AnyPrincipal()],
          actions: clientActions,
          conditions: {
            ArnEquals: { 'aws:PrincipalArn': this.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: copierTaskRoleName(config.stage, this.region), arnFormat: ArnFormat.SLASH_RESOURCE_NAME }) },
            Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' },
            ArnLike: { 'elasticfilesystem:AccessPointArn': accessPoints },
          },
        }),
        ...(config.tenantPrincipals.length ? [new iam.PolicyStatement({
          sid: 'AllowTenantMountsThroughAccessPoints',
          // `mount -t efs -o tls,iam,accesspoint=<the share's access point>` (the export location)
          principals: config.tenantPrincipals.map((arn) => new iam.ArnPrincipal(arn)),
          actions: clientActions,
          conditions: {
            Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' },
            ArnLike: { 'elasticfilesystem:AccessPointArn': accessPoints },
          },
        })] : []),
      ],
    });
    const fileSystem = new efs.FileSystem(this, `${name}FileSystem`, {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup,
      encrypted: true,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      throughputMode: efs.ThroughputMode.ELASTIC,
      enableAutomaticBackups: true,
      lifecyclePolicy: efs.LifecyclePolicy.AFTER_30_DAYS,
      fileSystemPolicy,
      removalPolicy: STATEFUL,
      fileSystemName: `share-backup-${config.stage}-${name.toLowerCase()}`,
    });
    return fileSystem;
  }
}

/**
 * The copier task role's name: the file systems' policies name it (this stack cannot reference the
 * service stack's role). IAM names are global to the account: the region keeps two regions' stages apart.
 */
export const copierTaskRoleName = (stage: string, region: string) => `share-backup-${stage}-${region}-copier-task`;

/** The physical name of a stage's copier log group (also the ASL's ${CopierLogGroup}). */
export const copierLogGroupName = (stage: string) => `/share-backup/${stage}/copier`;
