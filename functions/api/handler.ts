// The API Lambda: one middy handler for every route of api.md (API Gateway HTTP API, payload 2.0,
// JWT authorizer). Thin: it parses the request (route, identity, microversion, body), calls the
// route's operation, and shapes every outcome, failures included, as the API's JSON.
import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { DynamoRepository } from '../adapters/repository.ts';
import { DynamoShareTypeCatalog } from '../adapters/share-type-catalog.ts';
import { StepFunctionsStarter } from '../adapters/starter.ts';
import { createStorageBackend } from '../adapters/storage.ts';
import { loadConfig } from '../config.ts';
import { ApiError, badMediaType, badRequest, internalFault, methodNotAllowed, notFound, overLimit } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import {
  BACKUPS_MIN_VERSION, EXPERIMENTAL_HEADER, MAX_VERSION, MIN_VERSION, VERSION_HEADER, atLeast, formatVersion, parseMicroversion,
  type Microversion,
} from '../domain/microversion.ts';
import { assertPathProject, callerFromClaims } from '../domain/policy.ts';
import type { ApiDependencies, OperationResult } from './context.ts';
import { logger, metrics } from './observability.ts';
import { openApiDocument } from './openapi.ts';
import { matchRoute } from './routes.ts';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiResult = APIGatewayProxyStructuredResultV2;

/** api.md "Limits": a request body over 64 KiB is a 413. */
export const MAX_BODY_BYTES = 64 * 1024;

const VERSION_UPDATED = '2024-10-02T00:00:00Z';

function versionDocument(origin: string) {
  return {
    id: 'v2.0',
    status: 'CURRENT',
    version: formatVersion(MAX_VERSION),
    min_version: formatVersion(MIN_VERSION),
    updated: VERSION_UPDATED,
    links: [
      { rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/api-ref/shared-file-system/' },
      { rel: 'self', href: `${origin}/v2/` },
    ],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.share+json;version=1' }],
  };
}

function lowerCaseHeaders(headers: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (typeof v === 'string') out[k.toLowerCase()] = v;
  return out;
}

/**
 * A body must be declared JSON (api.md "Errors": 415 otherwise). The media type is compared without
 * its parameters and case-insensitively, as webob's Request.content_type does for Manila, so
 * `application/json; charset=utf-8` is JSON. No Content-Type at all is read as JSON: clients that
 * omit it keep working, and nothing else could be meant.
 */
function assertJsonMediaType(contentType: string | undefined): void {
  if (contentType === undefined || contentType.trim() === '') return;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw badMediaType(`Unsupported Content-Type "${contentType.slice(0, 100)}": request bodies must be application/json.`);
  }
}

/** The JSON body, or undefined when there is none; 415 when not declared JSON, 413 over the limit, 400 when it is not JSON. */
function parseBody(event: ApiEvent, contentType: string | undefined): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  assertJsonMediaType(contentType);
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) throw overLimit(`Request body of ${bytes.length} bytes exceeds the limit of ${MAX_BODY_BYTES} bytes.`);
  const text = bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`Malformed request body: ${(err as Error).message.slice(0, 200)}`);
  }
}

/** Claims as API Gateway's JWT authorizer passes them; absent when the request carried no token. */
function claimsOf(event: ApiEvent): Record<string, unknown> | undefined {
  const authorizer = (event.requestContext as { authorizer?: { jwt?: { claims?: unknown } } } | undefined)?.authorizer;
  const claims = authorizer?.jwt?.claims;
  return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
}

export type DependencyResolver = () => ApiDependencies;

/** The request → response function, without middy: tests call it with hand-built events. */
export async function handleRequest(event: ApiEvent, resolveDeps: DependencyResolver): Promise<ApiResult> {
  const headers = lowerCaseHeaders(event?.headers);
  const experimental = headers[EXPERIMENTAL_HEADER.toLowerCase()];
  let version: Microversion | undefined;
  let answer: OperationResult;
  try {
    const method = String(event?.requestContext?.http?.method ?? 'GET');
    const rawPath = String(event?.rawPath ?? '/');
    const proto = headers['x-forwarded-proto'] ?? 'http';
    const host = headers.host ?? event?.requestContext?.domainName ?? 'localhost';
    const origin = `${proto}://${host}`;
    const match = matchRoute(method, rawPath);
    switch (match.kind) {
      case 'versions':
        version = MAX_VERSION;
        answer = { status: 300, body: { versions: [versionDocument(origin)] } };
        break;
      case 'version':
        version = MAX_VERSION;
        answer = { status: 200, body: { version: versionDocument(origin) } };
        break;
      case 'openapi':
        answer = { status: 200, body: openApiDocument() };
        break;
      case 'not_found':
        throw notFound(`No resource at ${rawPath.slice(0, 200)}.`);
      case 'method_not_allowed': {
        const error = methodNotAllowed(`Method ${method.slice(0, 20)} is not allowed on ${rawPath.slice(0, 200)}; allowed: ${match.allowed.join(', ')}.`);
        error.headers.Allow = match.allowed.join(', ');
        throw error;
      }
      case 'route': {
        const { route, params, projectId } = match;
        const caller = callerFromClaims(claimsOf(event));
        version = parseMicroversion(headers[VERSION_HEADER.toLowerCase()]);
        if (route.backupApi && !atLeast(version, BACKUPS_MIN_VERSION)) {
          throw notFound(`Share backups need API microversion ${formatVersion(BACKUPS_MIN_VERSION)} or later (requested ${formatVersion(version)}).`);
        }
        assertPathProject(caller, projectId);
        const pathId = params.id;
        if (pathId !== undefined && !isUuid(pathId)) throw notFound(`${route.resource} ${String(pathId).slice(0, 100)} could not be found.`);
        const body = route.method === 'POST' || route.method === 'PUT' ? parseBody(event, headers['content-type']) : undefined;
        const deps = resolveDeps();
        answer = await route.operation({
          caller, version, params, body,
          query: event.queryStringParameters,
          baseUrl: `${origin}/v2${projectId === undefined ? '' : `/${encodeURIComponent(projectId)}`}`,
          requestUrl: `${origin}${rawPath}`,
          deps,
          now: deps.now ?? (() => new Date().toISOString()),
          newId: deps.newId ?? randomUUID,
        });
        break;
      }
    }
  } catch (err) {
    let error: ApiError;
    if (err instanceof ApiError) {
      error = err;
    } else {
      // only genuine internal failures get here (a storage or AWS service fault, a bad deployment)
      logger.error('request failed', { error: err as Error });
      error = internalFault('The server has either erred or is incapable of performing the requested operation.');
    }
    answer = { status: error.code, body: error.toBody(), headers: error.headers };
  }
  return {
    statusCode: answer.status,
    headers: {
      'Content-Type': 'application/json',
      Vary: VERSION_HEADER,
      ...(version ? { [VERSION_HEADER]: formatVersion(version) } : {}),
      ...(experimental !== undefined ? { [EXPERIMENTAL_HEADER]: experimental } : {}),
      ...answer.headers,
    },
    body: answer.body === undefined ? '' : JSON.stringify(answer.body),
  };
}

let defaults: ApiDependencies | undefined;

/** Built once per container from the environment (functions/config.ts); AWS endpoints and credentials as functions/adapters/aws-http.ts reads them. */
export function defaultDependencies(): ApiDependencies {
  if (!defaults) {
    const config = loadConfig(process.env);
    defaults = {
      repository: new DynamoRepository(
        { shares: config.sharesTable, backups: config.backupsTable, restores: config.restoresTable, reports: config.reportsTable, shareTypes: config.shareTypesTable },
      ),
      shareTypeCatalog: new DynamoShareTypeCatalog(config.shareTypes, config.shareTypesTable),
      starter: new StepFunctionsStarter(
        { restore: config.restoreStateMachineArn, backup: config.backupStateMachineArn },
      ),
      storage: createStorageBackend(config),
      settings: { drivers: config.drivers, shareTypes: config.shareTypes, availabilityZone: config.availabilityZone, backupQuota: config.backupQuota },
    };
  }
  return defaults;
}

/** Flushes the metrics a request recorded (none for most requests, so nothing is printed then). */
const publishMetrics = (): middy.MiddlewareObj => ({
  after: () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  },
});

export function buildHandler(resolveDeps: DependencyResolver = defaultDependencies) {
  return middy<ApiEvent, ApiResult, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(publishMetrics())
    .handler((event: ApiEvent) => handleRequest(event, resolveDeps));
}

export const handler = buildHandler();
