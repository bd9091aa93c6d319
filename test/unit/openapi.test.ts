// The OpenAPI document (functions/api/openapi.ts): valid OpenAPI 3.1, every route of routes.ts in
// it, served without a token at GET /v2/openapi.json, and the checked-in generated files (the
// JSON and the console's client types) exactly what `npm run generate:openapi` writes.
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handleRequest } from '../../functions/api/handler.ts';
import { openApiDocument, openApiPath } from '../../functions/api/openapi.ts';
import { ROUTES } from '../../functions/api/routes.ts';
import { generatedFiles } from '../../scripts/generate-openapi.ts';

type Doc = { openapi: string; paths: Record<string, Record<string, { operationId: string; requestBody?: unknown }>> };

describe('OpenAPI document', () => {
  const doc = openApiDocument() as unknown as Doc;

  it('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(JSON.stringify(doc)) as Record<string, unknown>);
    expect(result.errors, JSON.stringify(result.errors, null, 1)?.slice(0, 2000)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has every route of routes.ts, with unique operation ids', () => {
    for (const route of ROUTES) {
      const operation = doc.paths[openApiPath(route)]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.pattern.join('/')}`).toBeDefined();
    }
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('describes request bodies with the schemas the handlers validate with', async () => {
    const schemas = await import('../../functions/api/schemas.ts');
    const components = (doc as unknown as { components: { schemas: Record<string, { properties: Record<string, unknown> }> } }).components.schemas;
    expect(components.ShareCreateBody!.properties.share).toBe(schemas.shareCreateSchema);
    expect(components.ShareBackupCreateBody!.properties.share_backup).toBe(schemas.backupCreateSchema);
  });

  it('is served at GET /v2/openapi.json without a token', async () => {
    const event = {
      version: '2.0', rawPath: '/v2/openapi.json', rawQueryString: '', headers: { host: 'api.test' },
      requestContext: { http: { method: 'GET', path: '/v2/openapi.json' } },
    } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
    const res = await handleRequest(event, () => { throw new Error('no dependencies needed'); });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body as string)).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it('is checked in as generated, with the console types derived from it', async () => {
    for (const [file, content] of Object.entries(await generatedFiles())) {
      expect(readFileSync(file, 'utf8') === content, `${file} is stale: run npm run generate:openapi`).toBe(true);
    }
  });
});
