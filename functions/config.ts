// The composition root's view of the environment. Every deployment-specific value (table names,
// state machine ARNs, storage, endpoints) arrives here as an environment variable, so the same
// handler modules run on AWS and on one machine. AWS SDK endpoints come from the SDK's own
// AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SFN / AWS_ENDPOINT_URL_EFS variables.
import { loadDriverConfig, type DriverConfig } from './domain/drivers.ts';
import { loadShareTypeConfig, type ShareTypeConfig } from './domain/share-types.ts';

export interface ServiceConfig {
  sharesTable: string;
  backupsTable: string;
  restoresTable: string;
  /** per-entry reports of backups and restores (copier/progress/report.ts) */
  reportsTable: string;
  /** share types an admin created through the API (the configured ones are in shareTypes) */
  shareTypesTable: string;
  restoreStateMachineArn: string;
  backupStateMachineArn: string;
  drivers: DriverConfig;
  shareTypes: ShareTypeConfig;
  /** "local" (directories under localStorageRoot) or "efs" (access points on EFS file systems) */
  storageBackend: 'local' | 'efs';
  localStorageRoot: string;
  efsSharesFileSystemId: string;
  efsBackupsFileSystemId: string;
  availabilityZone: string;
  /** max backups per project (413 beyond) */
  backupQuota: number;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new Error(`environment variable ${name} is required`);
  return v;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const storageBackend = (env.STORAGE_BACKEND ?? 'local') as ServiceConfig['storageBackend'];
  return {
    sharesTable: required(env, 'SHARES_TABLE'),
    backupsTable: required(env, 'BACKUPS_TABLE'),
    restoresTable: required(env, 'RESTORES_TABLE'),
    reportsTable: required(env, 'REPORTS_TABLE'),
    shareTypesTable: required(env, 'SHARE_TYPES_TABLE'),
    restoreStateMachineArn: required(env, 'RESTORE_STATE_MACHINE_ARN'),
    backupStateMachineArn: required(env, 'BACKUP_STATE_MACHINE_ARN'),
    drivers: loadDriverConfig(env),
    shareTypes: loadShareTypeConfig(env),
    storageBackend,
    localStorageRoot: storageBackend === 'local' ? required(env, 'LOCAL_STORAGE_ROOT') : '',
    efsSharesFileSystemId: env.EFS_SHARES_FILE_SYSTEM_ID ?? '',
    efsBackupsFileSystemId: env.EFS_BACKUPS_FILE_SYSTEM_ID ?? '',
    availabilityZone: env.AVAILABILITY_ZONE ?? 'nova',
    backupQuota: Number(env.BACKUP_QUOTA ?? 100),
  };
}
