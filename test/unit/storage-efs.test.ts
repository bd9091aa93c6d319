// The efs storage backend against a mocked EFS client: the access point requests it sends.
import { AccessPointNotFound, CreateAccessPointCommand, DeleteAccessPointCommand, EFSClient } from '@aws-sdk/client-efs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EfsStorageBackend } from '../../functions/adapters/storage-efs.ts';

const ID = '5f0e2a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b';
const efs = mockClient(EFSClient);

function backend(posixUser?: { Uid: number; Gid: number }) {
  return new EfsStorageBackend({
    sharesFileSystemId: 'fs-shares', backupsFileSystemId: 'fs-backups',
    client: new EFSClient({ region: 'eu-west-1' }), ...(posixUser ? { posixUser } : {}),
  });
}

describe('efs storage backend', () => {
  beforeEach(() => efs.reset());

  it('creates a share access point rooted at /shares/<id> and exports the access point as `mount -t efs` takes it', async () => {
    efs.on(CreateAccessPointCommand).resolves({ AccessPointId: 'fsap-123' });
    const share = await backend().provisionShare(ID);
    expect(share).toEqual({ access_point_id: 'fsap-123', export_path: '-o tls,iam,accesspoint=fsap-123 fs-shares:/' });
    const input = efs.commandCalls(CreateAccessPointCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      ClientToken: ID,
      FileSystemId: 'fs-shares',
      RootDirectory: { Path: `/shares/${ID}`, CreationInfo: { OwnerUid: 0, OwnerGid: 0, Permissions: '0755' } },
    });
    expect(input.Tags).toContainEqual({ Key: 'share_id', Value: ID });
    expect(input.PosixUser).toBeUndefined();
  });

  it('creates a backup access point on the backups file system, with a PosixUser when configured', async () => {
    efs.on(CreateAccessPointCommand).resolves({ AccessPointId: 'fsap-456' });
    expect(await backend({ Uid: 1000, Gid: 1000 }).provisionBackup(ID)).toEqual({ access_point_id: 'fsap-456' });
    expect(efs.commandCalls(CreateAccessPointCommand)[0]!.args[0].input).toMatchObject({
      FileSystemId: 'fs-backups', RootDirectory: { Path: `/backups/${ID}` }, PosixUser: { Uid: 1000, Gid: 1000 },
    });
  });

  it('deletes access points, quietly when they are already gone, and serves NFS only', async () => {
    efs.on(DeleteAccessPointCommand, { AccessPointId: 'fsap-gone' }).rejects(new AccessPointNotFound({ message: 'gone', $metadata: {}, ErrorCode: 'AccessPointNotFound' }));
    efs.on(DeleteAccessPointCommand, { AccessPointId: 'fsap-1' }).resolves({});
    const storage = backend();
    await storage.deleteShare({ id: ID, access_point_id: 'fsap-1' });
    await storage.deleteBackup({ id: ID, access_point_id: 'fsap-gone' });
    expect(efs.commandCalls(DeleteAccessPointCommand).map((c) => c.args[0].input.AccessPointId)).toEqual(['fsap-1', 'fsap-gone']);
    expect(storage.protocols).toEqual(['NFS']);
    expect(await storage.usedBytes()).toBeUndefined();
  });

  it('surfaces other EFS failures', async () => {
    efs.on(CreateAccessPointCommand).rejects(new Error('AccessPointLimitExceeded'));
    await expect(backend().provisionShare(ID)).rejects.toThrow('AccessPointLimitExceeded');
  });
});
