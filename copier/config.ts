// The copier's environment (docs/developer-reference.md, "The copier's contract") → run options.
import { ConfigError } from './errors.ts';
import type { DynamoProgressTargets } from './progress/dynamo-progress.ts';
import type { ReportTarget } from './progress/dynamo-report.ts';

export type CopierMode = 'backup' | 'restore';

export interface CopierConfig {
  mode: CopierMode;
  source: string;
  target: string;
  concurrency?: number;
  failAfterFiles?: number;
  /** restore: COPIER_NETWORK_FS ("true"/"false"), overrides the detection of a network file system */
  networkFileSystem?: boolean;
  /** restore: COPIER_VERIFY_EXISTING, how a file already in the target counts as restored
   * ('checksum', the default; 'size-mtime', an administrator's opt-in: copy-jobs.ts VerifyExisting) */
  verifyExisting?: 'size-mtime' | 'checksum';
  /** restore: COPIER_RUN_ID, else PROGRESS_ID: the restore's id, the same for its retries and
   * redrives (names what it moves aside: conflicts.ts) */
  runId?: string;
  /** restore: COPIER_CHECKSUM, what every file written is verified with ("crc32" or "sha256") */
  checksum?: 'crc32' | 'sha256';
  /** undefined when no progress record is configured (PROGRESS_TABLE and PERCENT_TABLE unset) */
  progress?: DynamoProgressTargets;
  /** REPORT_TABLE and the operation's id (COPIER_RUN_ID, else PROGRESS_ID); undefined: entries are only logged and counted */
  report?: ReportTarget;
}

const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`${name} is required`);
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw new ConfigError(`${name} must be an integer, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function loadCopierConfig(env: NodeJS.ProcessEnv): CopierConfig {
  const mode = required(env, 'COPIER_MODE');
  if (mode !== 'backup' && mode !== 'restore') throw new ConfigError(`COPIER_MODE must be "backup" or "restore", got ${JSON.stringify(mode)}`);
  const config: CopierConfig = {
    mode,
    source: required(env, 'COPIER_SOURCE'),
    target: required(env, 'COPIER_TARGET'),
    concurrency: integer(env, 'COPIER_CONCURRENCY', 1, 1024),
    failAfterFiles: integer(env, 'COPIER_FAIL_AFTER_FILES', 0, Number.MAX_SAFE_INTEGER),
  };
  const verifyExisting = env.COPIER_VERIFY_EXISTING;
  if (verifyExisting !== undefined && verifyExisting !== '') {
    if (verifyExisting !== 'size-mtime' && verifyExisting !== 'checksum') throw new ConfigError(`COPIER_VERIFY_EXISTING must be "size-mtime" or "checksum", got ${JSON.stringify(verifyExisting)}`);
    config.verifyExisting = verifyExisting;
  }
  const checksum = env.COPIER_CHECKSUM;
  if (checksum !== undefined && checksum !== '') {
    if (checksum !== 'crc32' && checksum !== 'sha256') throw new ConfigError(`COPIER_CHECKSUM must be "crc32" or "sha256", got ${JSON.stringify(checksum)}`);
    config.checksum = checksum;
  }
  const network = env.COPIER_NETWORK_FS;
  if (network !== undefined && network !== '') {
    if (network !== 'true' && network !== 'false') throw new ConfigError(`COPIER_NETWORK_FS must be "true" or "false", got ${JSON.stringify(network)}`);
    config.networkFileSystem = network === 'true';
  }
  const progress: DynamoProgressTargets = {};
  if (env.PROGRESS_TABLE) progress.progress = { table: env.PROGRESS_TABLE, id: required(env, 'PROGRESS_ID') };
  if (env.PERCENT_TABLE) {
    const attribute = required(env, 'PERCENT_ATTRIBUTE');
    if (!ATTRIBUTE_NAME.test(attribute)) throw new ConfigError(`PERCENT_ATTRIBUTE ${JSON.stringify(attribute)} is not an attribute name`);
    progress.percent = { table: env.PERCENT_TABLE, id: required(env, 'PERCENT_ID'), attribute };
  }
  // a backup's record learns what the backup holds from the final write (restores are checked against it)
  if (progress.progress && mode === 'backup') progress.recordMeasured = true;
  if (progress.progress || progress.percent) config.progress = progress;
  const runId = env.COPIER_RUN_ID || env.PROGRESS_ID;
  if (runId) config.runId = runId;
  if (env.REPORT_TABLE) {
    if (!runId) throw new ConfigError('REPORT_TABLE needs COPIER_RUN_ID (the backup or restore id its entries belong to)');
    config.report = { table: env.REPORT_TABLE, operationId: runId };
  }
  return config;
}
