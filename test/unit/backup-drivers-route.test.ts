// GET /v2/backup-drivers (ext): the configured drivers' restore capabilities, for any role.
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { ApiDependencies } from '../../functions/api/context.ts';
import { handleRequest } from '../../functions/api/handler.ts';
import { parseDriverConfig } from '../../functions/domain/drivers.ts';

const drivers = parseDriverConfig({
  default_driver: 'nfs',
  drivers: [
    { name: 'nfs', use_data_manager: false, support_restore_to_target: true, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
    { name: 'legacy', use_data_manager: false, support_restore_to_target: false, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
  ],
});

function get(path: string, roles: string, version = '2.91'): APIGatewayProxyEventV2WithJWTAuthorizer {
  return {
    version: '2.0', rawPath: path, rawQueryString: '',
    headers: { host: 'api.test', 'x-openstack-manila-api-version': version },
    requestContext: {
      http: { method: 'GET', path },
      authorizer: { jwt: { claims: { sub: 'u1', project_id: 'p1', roles }, scopes: null } },
    },
  } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
}

describe('GET /v2/backup-drivers', () => {
  const deps = { settings: { drivers, availabilityZone: 'az', backupQuota: 10 } } as unknown as ApiDependencies;

  it('lists every driver with what it restores onto, to a reader', async () => {
    const res = await handleRequest(get('/v2/backup-drivers', '[reader]'), () => deps);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body as string)).toEqual({
      backup_drivers: [
        { name: 'nfs', default: true, support_restore_to_target: true, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
        { name: 'legacy', default: false, support_restore_to_target: false, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
      ],
    });
  });

  it('is part of the backup API (2.80+)', async () => {
    expect((await handleRequest(get('/v2/backup-drivers', '[reader]', '2.79'), () => deps)).statusCode).toBe(404);
  });
});
