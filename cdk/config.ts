// What a deployment (a "stage") may configure, read from CDK context: cdk.json's `stages` entry for
// the stage selected with `-c stage=<name>`, then any top-level `-c key=value` that overrides it
// (CI passes account and region from repository variables this way).
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { parseShareTypeConfig, type ShareTypeConfig } from '../functions/domain/share-types.ts';

export interface StageConfig extends MonitoringStageConfig {
  /** the stage's name: prefixes stack names and physical names (tables, log groups) */
  stage: string;
  account: string;
  region: string;
  /** an existing OIDC issuer (https URL); absent: the stack creates a Cognito user pool */
  oidcIssuer?: string;
  /** audiences (client ids) the JWT authorizer accepts from that issuer */
  oidcAudience?: string[];
  /** the backup drivers (admin guide "Backup drivers"), passed to both Lambdas as BACKUP_DRIVERS */
  backupDrivers?: unknown;
  /** the share types (admin guide "Share types"), validated at synth, passed to the API Lambda as SHARE_TYPES */
  shareTypes?: ShareTypeConfig;
  /** CIDRs of tenant networks allowed to mount shares over NFS (port 2049) */
  tenantCidrs: string[];
  /**
   * IAM principals (role ARNs of tenant instances, or account ARNs) the shares file system's policy
   * lets mount a share through its access point (`mount -t efs -o tls,iam,accesspoint=...`)
   */
  tenantPrincipals: string[];
  /** API stage throttling */
  throttle: { rateLimit: number; burstLimit: number };
  /** how long API, Lambda, workflow, copier and flow logs are kept (logRetentionDays in context) */
  logRetention: RetentionDays;
  /** NAT gateways of the VPC (1 keeps cost down; one per AZ survives an AZ outage) */
  natGateways: number;
  availabilityZone?: string;
  backupQuota?: number;
  /** the web console on CloudFront with Cognito hosted UI sign-in (cdk/console-stack.ts); absent with an oidcIssuer or `"console": false` */
  console?: ConsoleStageConfig;
}

export interface ConsoleStageConfig {
  /** the Cognito hosted UI's domain prefix, https://<prefix>.auth.<region>.amazoncognito.com: unique in the region across all accounts */
  domainPrefix: string;
  /** also accept http://localhost:5173/ (the console's dev server) as redirect URL and CORS origin: development stages only */
  localhost: boolean;
  /** the folder deployed as the site (the console's build output); default console/dist */
  dist?: string;
  /** a custom domain for the site and its ACM certificate (us-east-1): gives TLS 1.2+ to viewers; absent: the *.cloudfront.net name */
  domainName?: string;
  certificateArn?: string;
}

export interface MonitoringStageConfig {
  /** cdk/monitoring.ts: e-mail addresses subscribed to the stage's alarm topic (each confirms once) */
  alarmEmails: string[];
  /** cdk/monitoring.ts: HTTPS endpoints subscribed to the alarm topic (e.g. a chat or paging webhook) */
  alarmHttpsUrls: string[];
  /** cdk/monitoring.ts: the API's p99 latency (ms) over 5 minutes above which an alarm fires */
  apiLatencyP99Millis: number;
  /** the state machines' log level: ERROR by default (failures only), ALL for a stage being debugged */
  workflowLogLevel: WorkflowLogLevel;
  /** whether the state machines log execution data (inputs, outputs: record ids, paths, reasons); off by default */
  workflowLogExecutionData: boolean;
}

export const WORKFLOW_LOG_LEVELS = ['OFF', 'FATAL', 'ERROR', 'ALL'] as const;
export type WorkflowLogLevel = (typeof WORKFLOW_LOG_LEVELS)[number];

const DEFAULTS = {
  tenantCidrs: [] as string[],
  tenantPrincipals: [] as string[],
  throttle: { rateLimit: 50, burstLimit: 100 },
  logRetentionDays: 90,
  natGateways: 1,
  apiLatencyP99Millis: 5000,
  workflowLogLevel: 'ERROR' as WorkflowLogLevel,
  workflowLogExecutionData: false,
};

/** Context values arrive as strings from the command line (-c key=value) and as JSON from cdk.json. */
function parsed(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text.startsWith('[') || text.startsWith('{')) return JSON.parse(text) as unknown;
  return value;
}

function stringList(value: unknown, name: string): string[] | undefined {
  const v = parsed(value);
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v;
  throw new Error(`context ${name} must be a list of strings or a comma-separated string`);
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`context ${name} must be a string`);
  return value;
}

function optionalNumber(value: unknown, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`context ${name} must be a number`);
  return n;
}

function optionalBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`context ${name} must be true or false`);
}

/** CloudWatch Logs accepts only certain retention periods (1, 3, 5, 7, 14, 30, 60, 90, ... days). */
function retention(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter((v): v is RetentionDays => typeof v === 'number' && v !== RetentionDays.INFINITE);
  if (!allowed.includes(days as RetentionDays)) throw new Error(`context logRetentionDays must be one of ${allowed.join(', ')}`);
  return days as RetentionDays;
}

const RESERVED_PREFIX_WORDS = ['aws', 'amazon', 'cognito'];

function consoleConfig(value: unknown, stage: string, account: string, oidcIssuer: string | undefined): ConsoleStageConfig | undefined {
  const v = parsed(value);
  if (v === false || v === 'false') return undefined;
  if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) throw new Error('context console must be an object or false');
  // the console signs in through the Cognito user pool the stack creates; an external issuer has none
  if (oidcIssuer) {
    if (v !== undefined) throw new Error('context console needs the Cognito user pool: it cannot be used with oidcIssuer (set "console": false)');
    return undefined;
  }
  const c = (v ?? {}) as Record<string, unknown>;
  const domainPrefix = optionalString(c.domainPrefix, 'console.domainPrefix') ?? `share-backup-${stage}-${account}`;
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(domainPrefix) || RESERVED_PREFIX_WORDS.some((w) => domainPrefix.includes(w))) {
    throw new Error(`context console.domainPrefix ${domainPrefix}: lower-case letters, digits and hyphens (at most 63), without ${RESERVED_PREFIX_WORDS.join(', ')}`);
  }
  const localhost = c.localhost === undefined ? false : c.localhost === true || c.localhost === 'true';
  const domainName = optionalString(c.domainName, 'console.domainName');
  const certificateArn = optionalString(c.certificateArn, 'console.certificateArn');
  if (Boolean(domainName) !== Boolean(certificateArn)) throw new Error('context console.domainName and console.certificateArn go together');
  if (certificateArn && !certificateArn.startsWith('arn:aws:acm:us-east-1:')) throw new Error('context console.certificateArn must be an ACM certificate in us-east-1 (CloudFront)');
  return { domainPrefix, localhost, dist: optionalString(c.dist, 'console.dist'), domainName, certificateArn };
}

export function stageConfigFrom(node: Node): StageConfig {
  const stage = optionalString(node.tryGetContext('stage'), 'stage') ?? 'dev';
  const stages = (parsed(node.tryGetContext('stages')) ?? {}) as Record<string, Record<string, unknown>>;
  const fromFile = stages[stage] ?? {};
  const get = (key: string): unknown => node.tryGetContext(key) ?? fromFile[key];

  const account = optionalString(get('account'), 'account');
  const region = optionalString(get('region'), 'region');
  if (!account || !region) {
    throw new Error(`stage ${stage}: set account and region (cdk.json "stages".${stage}, or -c account=... -c region=...)`);
  }
  const oidcIssuer = optionalString(get('oidcIssuer'), 'oidcIssuer');
  const oidcAudience = stringList(get('oidcAudience'), 'oidcAudience');
  if (oidcIssuer && !oidcIssuer.startsWith('https://')) throw new Error('context oidcIssuer must be an https URL');
  if (oidcIssuer && !oidcAudience?.length) throw new Error('context oidcIssuer needs oidcAudience (the client ids tokens are issued for)');
  const throttle = parsed(get('throttle')) as StageConfig['throttle'] | undefined;
  const tenantCidrs = stringList(get('tenantCidrs'), 'tenantCidrs') ?? DEFAULTS.tenantCidrs;
  const tenantPrincipals = stringList(get('tenantPrincipals'), 'tenantPrincipals') ?? DEFAULTS.tenantPrincipals;
  for (const principal of tenantPrincipals) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:(root|role\/.+)$/.test(principal)) throw new Error(`context tenantPrincipals: ${principal} is not an IAM role or account ARN`);
  }
  // NFS from tenant networks without a principal the file system policy allows: every mount would be refused
  if (tenantCidrs.length && !tenantPrincipals.length) throw new Error('context tenantCidrs needs tenantPrincipals (the IAM roles tenants mount shares with)');
  const workflowLogLevel = optionalString(get('workflowLogLevel'), 'workflowLogLevel') ?? DEFAULTS.workflowLogLevel;
  if (!(WORKFLOW_LOG_LEVELS as readonly string[]).includes(workflowLogLevel)) throw new Error(`context workflowLogLevel must be one of ${WORKFLOW_LOG_LEVELS.join(', ')}`);
  const alarmHttpsUrls = stringList(get('alarmHttpsUrls'), 'alarmHttpsUrls') ?? [];
  for (const url of alarmHttpsUrls) if (!url.startsWith('https://')) throw new Error(`context alarmHttpsUrls: ${url} is not an https URL`);
  return {
    stage,
    account,
    region,
    oidcIssuer,
    oidcAudience,
    backupDrivers: parsed(get('backupDrivers')),
    // a configuration the API would refuse at its first request fails the synth instead
    shareTypes: get('shareTypes') === undefined ? undefined : parseShareTypeConfig(parsed(get('shareTypes'))),
    tenantCidrs,
    tenantPrincipals,
    throttle: throttle ?? DEFAULTS.throttle,
    logRetention: retention(optionalNumber(get('logRetentionDays'), 'logRetentionDays') ?? DEFAULTS.logRetentionDays),
    natGateways: optionalNumber(get('natGateways'), 'natGateways') ?? DEFAULTS.natGateways,
    availabilityZone: optionalString(get('availabilityZone'), 'availabilityZone'),
    backupQuota: optionalNumber(get('backupQuota'), 'backupQuota'),
    console: consoleConfig(get('console'), stage, account, oidcIssuer),
    alarmEmails: stringList(get('alarmEmails'), 'alarmEmails') ?? [],
    alarmHttpsUrls,
    apiLatencyP99Millis: optionalNumber(get('apiLatencyP99Millis'), 'apiLatencyP99Millis') ?? DEFAULTS.apiLatencyP99Millis,
    workflowLogLevel: workflowLogLevel as WorkflowLogLevel,
    workflowLogExecutionData: optionalBoolean(get('workflowLogExecutionData'), 'workflowLogExecutionData') ?? DEFAULTS.workflowLogExecutionData,
  };
}
