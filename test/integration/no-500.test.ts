// No input gives a 500: random methods, paths, ids, headers and bodies against every route of the
// running stack; every answer must be below 500, and every 4xx must carry the contract's error shape.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SHARE_TYPE_ID } from '../../functions/domain/share-types.ts';
import { startStack } from './helpers/stack.ts';
import { createShare, tenant } from './tenant.ts';

const ERROR_NAMES: Record<number, string> = {
  400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 404: 'itemNotFound', 405: 'methodNotAllowed',
  406: 'computeFault', 409: 'conflictingRequest', 413: 'overLimit', 415: 'badMediaType', 422: 'unprocessableEntity',
};

let stack: Awaited<ReturnType<typeof startStack>>;
let tokens: string[];
let shareId: string;

beforeAll(async () => {
  stack = await startStack();
  const member = await stack.token('fuzz', ['member', 'reader']);
  tokens = [member, await stack.token('fuzz', ['reader']), await stack.token('admin', ['admin']), 'not-a-jwt', `${member.slice(0, -4)}AAAA`, ''];
  shareId = (await createShare(tenant(stack.apiUrl, 'fuzz', member))).id;
});
afterAll(async () => { await stack?.stop(); });

const ROUTES = [
  '/', '/v2', '/v2/{project}/shares', '/v2/shares', '/v2/shares/detail', '/v2/shares/{id}', '/v2/shares/{id}/action',
  '/v2/shares/{id}/export_locations', '/v2/share-backups', '/v2/share-backups/detail', '/v2/share-backups/{id}',
  '/v2/share-backups/{id}/action', '/v2/share-restores', '/v2/share-restores/{id}', '/v2/{project}/share-backups/{id}/action',
  '/v2/types', '/v2/types/default', '/v2/types/{id}', '/v2/types/{id}/extra_specs', '/v2/shares/{id}/metadata', '/v2/shares/{id}/metadata/{id}',
  // share types an admin manages (issue 20): {id} is also the default type's id
  '/v2/types/{id}/extra_specs/{id}', '/v2/types/{id}/action', '/v2/types/{id}/share_type_access', '/v2/types/{id}/os-share-type-access',
];

const idArb = fc.oneof(
  fc.constant('SHARE'), fc.uuid().map(String), fc.string({ maxLength: 40 }), fc.constantFrom('..', '%2e%2e', 'detail', '%00', '%ZZ', 'ö', ' '),
);
const bodyArb = fc.oneof(
  fc.constant(undefined), fc.json({ maxDepth: 4 }), fc.string({ maxLength: 200 }),
  fc.record({ share: fc.dictionary(fc.constantFrom('share_proto', 'size', 'name', 'description', 'backup_id'), fc.jsonValue({ maxDepth: 2 })) }).map((o) => JSON.stringify(o)),
  fc.record({ share_backup: fc.dictionary(fc.constantFrom('share_id', 'name', 'description', 'backup_options'), fc.jsonValue({ maxDepth: 2 })) }).map((o) => JSON.stringify(o)),
  fc.record({ restore: fc.oneof(fc.constant(null), fc.string(), fc.uuid().map(String), fc.jsonValue({ maxDepth: 2 })) }).map((o) => JSON.stringify(o)),
  fc.dictionary(fc.constantFrom('extend', 'shrink', 'reset_status', 'restore', 'os-extend'), fc.jsonValue({ maxDepth: 2 })).map((o) => JSON.stringify(o)),
  // share type create/update bodies, extra specs and access actions (functions/api/share-types.ts)
  fc.record({
    share_type: fc.dictionary(
      fc.constantFrom('name', 'description', 'extra_specs', 'share_type_access:is_public', 'os-share-type-access:is_public'),
      fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.dictionary(fc.constantFrom('driver_handles_share_servers', 'snapshot_support', 'a b', 'x'), fc.oneof(fc.boolean(), fc.string({ maxLength: 8 })))),
    ),
  }).map((o) => JSON.stringify(o)),
  fc.record({ extra_specs: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.boolean(), fc.string({ maxLength: 300 })))) }).map((o) => JSON.stringify(o)),
  fc.dictionary(fc.constantFrom('addProjectAccess', 'removeProjectAccess'), fc.oneof(fc.record({ project: fc.jsonValue({ maxDepth: 1 }) }), fc.jsonValue({ maxDepth: 2 }))).map((o) => JSON.stringify(o)),
  fc.nat({ max: 3 }).map((n) => 'x'.repeat(n * 40_000)),
);
const headerArb = fc.record({
  'x-openstack-manila-api-version': fc.oneof(fc.constantFrom('2.0', '2.79', '2.80', '2.90', '2.91', '2.92', '3.0', 'latest', '', '2.', 'abc', '1.99'), fc.string({ maxLength: 8 })),
  'content-type': fc.constantFrom('application/json', 'text/plain', 'application/xml', ''),
}, { requiredKeys: [] });

describe('no request gives a 500', () => {
  it('holds for random methods, paths, ids, headers, queries and bodies', async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      fc.constantFrom(...ROUTES), idArb, fc.constantFrom('fuzz', 'other', randomUUID()),
      fc.string({ maxLength: 40 }).map((q) => encodeURIComponent(q)), fc.constantFrom('', 'limit=', 'limit=-1', 'limit=5&offset=x', 'sort_dir=up', 'sort_key=drop', 'all_tenants=1', 'share_id=zz'),
      bodyArb, headerArb, fc.nat({ max: tokens.length - 1 }),
      async (method, route, id, project, rawQuery, query, body, headers, tokenIndex) => {
        const path = route.replace('{id}', id === 'SHARE' ? (route.startsWith('/v2/types') ? DEFAULT_SHARE_TYPE_ID : shareId) : encodeURIComponent(id)).replace('{project}', project);
        const token = tokens[tokenIndex]!;
        const res = await fetch(`${stack.apiUrl}${path}?${query}&q=${rawQuery}`, {
          method,
          headers: { ...headers, ...(token ? { 'x-auth-token': token } : {}) },
          body: method === 'GET' || method === 'OPTIONS' || body === undefined ? undefined : body,
        });
        const text = await res.text();
        expect(res.status, `${method} ${path} ${text}`).toBeLessThan(500);
        if (res.status >= 400) {
          const json = JSON.parse(text);
          const name = ERROR_NAMES[res.status];
          expect(name, `unexpected status ${res.status} for ${method} ${path}`).toBeDefined();
          expect(json[name!], `${method} ${path} ${text}`).toMatchObject({ code: res.status, message: expect.any(String) });
        }
      },
    ), { numRuns: 400 });
  });
});
