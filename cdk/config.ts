// What a deployment (a "stage") may configure, read from CDK context: cdk.json's `stages` entry for
// the stage selected with `-c stage=<name>`, then any top-level `-c key=value` that overrides it
// (CI passes account and region from repository variables this way).
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { parseShareTypeConfig, type ShareTypeConfig } from '../functions/domain/share-types.ts';

export interface StageConfig {
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
  /** API stage throttling */
  throttle: { rateLimit: number; burstLimit: number };
  /** how long API, Lambda, workflow, copier and flow logs are kept (logRetentionDays in context) */
  logRetention: RetentionDays;
  /** NAT gateways of the VPC (1 keeps cost down; one per AZ survives an AZ outage) */
  natGateways: number;
  availabilityZone?: string;
  backupQuota?: number;
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
    tenantCidrs: stringList(get('tenantCidrs'), 'tenantCidrs') ?? DEFAULTS.tenantCidrs,
    throttle: throttle ?? DEFAULTS.throttle,
    logRetention: retention(optionalNumber(get('logRetentionDays'), 'logRetentionDays') ?? DEFAULTS.logRetentionDays),
    natGateways: optionalNumber(get('natGateways'), 'natGateways') ?? DEFAULTS.natGateways,
    availabilityZone: optionalString(get('availabilityZone'), 'availabilityZone'),
    backupQuota: optionalNumber(get('backupQuota'), 'backupQuota'),
    alarmEmails: stringList(get('alarmEmails'), 'alarmEmails') ?? [],
    alarmHttpsUrls,
    apiLatencyP99Millis: optionalNumber(get('apiLatencyP99Millis'), 'apiLatencyP99Millis') ?? DEFAULTS.apiLatencyP99Millis,
    workflowLogLevel: workflowLogLevel as WorkflowLogLevel,
    workflowLogExecutionData: optionalBoolean(get('workflowLogExecutionData'), 'workflowLogExecutionData') ?? DEFAULTS.workflowLogExecutionData,
  };
}
