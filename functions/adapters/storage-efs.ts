// The `efs` backend: one access point per share on the shares file system (rooted at
// /shares/<id>) and one per backup on the backups file system (rooted at /backups/<id>). EFS
// creates the root directory on first use with the CreationInfo owner and mode.
// The two calls are EFS's REST JSON API (CreateAccessPoint, DeleteAccessPoint) over aws-http.ts.
import type { ShareProto } from '../domain/records.ts';
import { AwsHttpClient, AwsRequestError, EFS } from './aws-http.ts';
import type { ProvisionedShare, StorageBackend, StoredItem } from './storage.ts';

export interface EfsStorageOptions {
  sharesFileSystemId: string;
  backupsFileSystemId: string;
  /** identity every NFS request through the access point gets; absent: the client's own */
  posixUser?: { Uid: number; Gid: number };
  client?: AwsHttpClient;
}

/** A share's export location on EFS: the arguments of `mount -t efs` (amazon-efs-utils) before the mount point. */
export const efsExportPath = (fileSystemId: string, accessPointId: string) => `-o tls,iam,accesspoint=${accessPointId} ${fileSystemId}:/`;

/** What CreateAccessPoint takes (the fields the service sends). */
interface CreateAccessPointInput {
  ClientToken: string;
  FileSystemId: string;
  RootDirectory: { Path: string; CreationInfo: { OwnerUid: number; OwnerGid: number; Permissions: string } };
  Tags: { Key: string; Value: string }[];
  PosixUser?: { Uid: number; Gid: number };
}

const ACCESS_POINTS = '/2015-02-01/access-points';

export class EfsStorageBackend implements StorageBackend {
  readonly name = 'efs' as const;
  readonly protocols: readonly ShareProto[] = ['NFS'];
  private readonly client: AwsHttpClient;

  constructor(private readonly options: EfsStorageOptions) {
    if (!options.sharesFileSystemId || !options.backupsFileSystemId) {
      throw new Error('the efs storage backend needs EFS_SHARES_FILE_SYSTEM_ID and EFS_BACKUPS_FILE_SYSTEM_ID');
    }
    this.client = options.client ?? new AwsHttpClient(EFS);
  }

  private async createAccessPoint(fileSystemId: string, path: string, kind: 'share' | 'backup', id: string): Promise<string> {
    const input: CreateAccessPointInput = {
      // the record id as client token: a retried provision returns the same access point
      ClientToken: id,
      FileSystemId: fileSystemId,
      RootDirectory: { Path: path, CreationInfo: { OwnerUid: 0, OwnerGid: 0, Permissions: '0755' } },
      Tags: [
        { Key: 'Name', Value: `${kind}-${id}` },
        { Key: `${kind}_id`, Value: id },
      ],
      ...(this.options.posixUser ? { PosixUser: this.options.posixUser } : {}),
    };
    const out = await this.client.rest<{ AccessPointId?: string }>('POST', ACCESS_POINTS, input);
    if (!out.AccessPointId) throw new Error(`EFS CreateAccessPoint for ${kind} ${id} returned no AccessPointId`);
    return out.AccessPointId;
  }

  private async deleteAccessPoint(accessPointId: string): Promise<void> {
    try {
      await this.client.rest('DELETE', `${ACCESS_POINTS}/${encodeURIComponent(accessPointId)}`);
    } catch (err) {
      // already gone: deleting is idempotent
      if (!(err instanceof AwsRequestError && err.type === 'AccessPointNotFound')) throw err;
    }
  }

  async provisionShare(shareId: string): Promise<ProvisionedShare> {
    const path = `/shares/${shareId}`;
    const accessPointId = await this.createAccessPoint(this.options.sharesFileSystemId, path, 'share', shareId);
    // The file system admits mounts only through an access point and only IAM-authorized ones (its
    // policy allows the configured tenant principals, and denies the rest), so the export location
    // is what a tenant pastes after `mount -t efs` (amazon-efs-utils): the share's access point over
    // TLS, with the instance's IAM credentials (`iam`); the access point confines the mount to /shares/<id>.
    return { access_point_id: accessPointId, export_path: efsExportPath(this.options.sharesFileSystemId, accessPointId) };
  }

  /**
   * Removes the access point. The directory's bytes stay on the file system until a cleanup
   * task that mounts it removes them: the API Lambda does not mount the shares file system.
   */
  async deleteShare(share: StoredItem): Promise<void> {
    await this.deleteAccessPoint(share.access_point_id);
  }

  /** EFS reports usage per file system, not per directory, and this Lambda does not mount it. */
  async usedBytes(): Promise<undefined> {
    return undefined;
  }

  async provisionBackup(backupId: string): Promise<{ access_point_id: string }> {
    return { access_point_id: await this.createAccessPoint(this.options.backupsFileSystemId, `/backups/${backupId}`, 'backup', backupId) };
  }

  async deleteBackup(backup: StoredItem): Promise<void> {
    await this.deleteAccessPoint(backup.access_point_id);
  }
}
