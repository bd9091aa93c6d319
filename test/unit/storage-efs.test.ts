// The efs storage backend against a stand-in EFS endpoint (a local HTTP server): the access point
// requests it sends (REST JSON, signed) and how it reads EFS's answers.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsHttpClient, EFS } from '../../functions/adapters/aws-http.ts';
import { EfsStorageBackend } from '../../functions/adapters/storage-efs.ts';

const ID = '5f0e2a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b';

interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: Record<string, unknown> | undefined }
let seen: Seen[] = [];
/** method + url → [status, body, headers] */
let answers: Record<string, [number, object | undefined, Record<string, string>?]> = {};
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: request.method!, url: request.url!, headers: request.headers, body: text ? JSON.parse(text) as Record<string, unknown> : undefined });
      const [status, body, headers] = answers[`${request.method} ${request.url}`] ?? [500, { message: 'unexpected' }];
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(body === undefined ? '' : JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = [];
  answers = {};
});

function backend(posixUser?: { Uid: number; Gid: number }) {
  const client = new AwsHttpClient(EFS, { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_EFS: endpoint, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' });
  return new EfsStorageBackend({ sharesFileSystemId: 'fs-shares', backupsFileSystemId: 'fs-backups', client, ...(posixUser ? { posixUser } : {}) });
}

describe('efs storage backend', () => {
  it('creates a share access point rooted at /shares/<id> and exports the access point as `mount -t efs` takes it', async () => {
    answers['POST /2015-02-01/access-points'] = [200, { AccessPointId: 'fsap-123' }];
    const share = await backend().provisionShare(ID);
    expect(share).toEqual({ access_point_id: 'fsap-123', export_path: '-o tls,iam,accesspoint=fsap-123 fs-shares:/' });
    const [request] = seen;
    expect(request!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/elasticfilesystem\/aws4_request/);
    expect(request!.body).toMatchObject({
      ClientToken: ID,
      FileSystemId: 'fs-shares',
      RootDirectory: { Path: `/shares/${ID}`, CreationInfo: { OwnerUid: 0, OwnerGid: 0, Permissions: '0755' } },
    });
    expect(request!.body!.Tags).toContainEqual({ Key: 'share_id', Value: ID });
    expect(request!.body!.PosixUser).toBeUndefined();
  });

  it('creates a backup access point on the backups file system, with a PosixUser when configured', async () => {
    answers['POST /2015-02-01/access-points'] = [200, { AccessPointId: 'fsap-456' }];
    expect(await backend({ Uid: 1000, Gid: 1000 }).provisionBackup(ID)).toEqual({ access_point_id: 'fsap-456' });
    expect(seen[0]!.body).toMatchObject({ FileSystemId: 'fs-backups', RootDirectory: { Path: `/backups/${ID}` }, PosixUser: { Uid: 1000, Gid: 1000 } });
  });

  it('deletes access points, quietly when they are already gone, and serves NFS only', async () => {
    answers['DELETE /2015-02-01/access-points/fsap-1'] = [204, undefined];
    answers['DELETE /2015-02-01/access-points/fsap-gone'] = [404, { ErrorCode: 'AccessPointNotFound', Message: 'gone' }, { 'x-amzn-errortype': 'AccessPointNotFound:http://internal.amazon.com/' }];
    const storage = backend();
    await storage.deleteShare({ id: ID, access_point_id: 'fsap-1' });
    await storage.deleteBackup({ id: ID, access_point_id: 'fsap-gone' });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['DELETE /2015-02-01/access-points/fsap-1', 'DELETE /2015-02-01/access-points/fsap-gone']);
    expect(storage.protocols).toEqual(['NFS']);
    expect(await storage.usedBytes()).toBeUndefined();
  });

  it('surfaces other EFS failures', async () => {
    answers['POST /2015-02-01/access-points'] = [403, { ErrorCode: 'AccessPointLimitExceeded', Message: 'too many' }, { 'x-amzn-errortype': 'AccessPointLimitExceeded:http://internal.amazon.com/' }];
    await expect(backend().provisionShare(ID)).rejects.toThrow('AccessPointLimitExceeded');
    expect(seen).toHaveLength(1); // a 4xx is not retried
  });
});
