// Storage backends: where a share's tree and a backup's tree live (docs/developer-reference.md
// "Storage layout"). The API provisions and removes them; the copier reads and writes them.
import type { ServiceConfig } from '../config.ts';
import type { ShareProto } from '../domain/records.ts';
import { EfsStorageBackend } from './storage-efs.ts';
import { LocalStorageBackend } from './storage-local.ts';

export interface ProvisionedShare {
  /** the backend's handle on the share's root (locally the share id, on AWS the access point id) */
  access_point_id: string;
  /** what a client mounts: locally the absolute directory, on AWS <host>:/shares/<id> */
  export_path: string;
}

export interface StoredItem {
  id: string;
  access_point_id: string;
}

export interface StorageBackend {
  readonly name: 'local' | 'efs';
  /** protocols of the shares this backend serves (api.md "Backup drivers") */
  readonly protocols: readonly ShareProto[];
  provisionShare(shareId: string): Promise<ProvisionedShare>;
  deleteShare(share: StoredItem): Promise<void>;
  /** bytes stored in the share, or undefined when this backend cannot measure them */
  usedBytes(share: StoredItem): Promise<number | undefined>;
  provisionBackup(backupId: string): Promise<{ access_point_id: string }>;
  deleteBackup(backup: StoredItem): Promise<void>;
}

export function createStorageBackend(config: ServiceConfig): StorageBackend {
  if (config.storageBackend === 'efs') {
    return new EfsStorageBackend({
      sharesFileSystemId: config.efsSharesFileSystemId,
      backupsFileSystemId: config.efsBackupsFileSystemId,
    });
  }
  if (config.storageBackend === 'local') return new LocalStorageBackend(config.localStorageRoot);
  throw new Error(`STORAGE_BACKEND must be "local" or "efs", not "${String(config.storageBackend)}"`);
}
