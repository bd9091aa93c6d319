// The local stand-in for API Gateway (HTTP API, JWT authorizer, Lambda proxy integration with
// payload format 2.0): a node:http server that turns each request into the event API Gateway
// would send, verifies the bearer token first as the authorizer would, calls the injected
// handler, and writes its result back the way API Gateway interprets a Lambda's answer.
//
// Claims as API Gateway hands them over: the JWT authorizer flattens every claim to a string.
// Numbers and booleans become their text ("exp": "1732700000"), and an array becomes its items
// joined by spaces inside brackets: roles ["member","admin"] arrive as the string
// "[member admin]". Handlers must therefore parse `roles` from that form, and this gateway
// renders it so, to keep local behaviour identical to AWS.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayEventRequestContextV2, APIGatewayProxyEventV2WithRequestContext, Context } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID } from './env.ts';
import { lambdaContext } from './lambda-context.ts';

/** API Gateway's payload limit for HTTP APIs. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const LOCAL_API_ID = 'local';

export type JwtClaims = Record<string, string>;

export interface GatewayAuthorizer {
  jwt: { claims: JwtClaims; scopes: string[] | null };
}

export type GatewayRequestContext = APIGatewayEventRequestContextV2 & { authorizer?: GatewayAuthorizer };
export type GatewayEvent = APIGatewayProxyEventV2WithRequestContext<GatewayRequestContext>;

export type GatewayHandler = (event: GatewayEvent, context: Context) => Promise<unknown>;

export interface GatewayOptions {
  host?: string;
  /** 0: a free port */
  port?: number;
  handler: GatewayHandler;
  /** returns the token's claims or throws; the gateway answers 401 when it throws */
  verifyToken: (token: string) => Promise<Record<string, unknown>>;
  /** the Lambda function name the handler poses as (context.functionName) */
  functionName?: string;
  /** API Gateway gives up on an integration after 30 s with a 503 */
  integrationTimeoutMs?: number;
  /** where handler failures are reported; default stderr */
  logError?: (message: string, error: unknown) => void;
  /**
   * Local-only routes (the web console, its token mint: local/console-routes.ts), tried before the
   * API; one that answers returns true. API Gateway on AWS has nothing like it.
   */
  localRoutes?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  stop(): Promise<void>;
}

interface GatewayResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

const TEXT_TYPES = [
  /^text\//,
  /^application\/(json|javascript|xml|x-www-form-urlencoded|x-yaml|yaml|graphql)\b/,
  /^application\/[\w.+-]+\+(json|xml)\b/,
];

function isTextContentType(contentType: string | undefined): boolean | undefined {
  if (!contentType) return undefined;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return TEXT_TYPES.some((pattern) => pattern.test(type));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Buffer): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** "12/Mar/2020:19:03:58 +0000", the format of requestContext.time. */
export function apiGatewayTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${two(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}

/** A claim value as API Gateway's JWT authorizer passes it on (see the file comment). */
export function renderClaim(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map((item) => renderClaim(item)).join(' ')}]`;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

export function renderClaims(claims: Record<string, unknown>): JwtClaims {
  return Object.fromEntries(Object.entries(claims).map(([name, value]) => [name, renderClaim(value)]));
}

/** The bearer token of a request: `Authorization: Bearer <jwt>` first, else `X-Auth-Token`. */
export function extractToken(headers: Record<string, string>): { token?: string; problem?: string } {
  const authorization = headers['authorization'];
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? { token: match[1] } : { problem: 'the Authorization header must be "Bearer <token>"' };
  }
  const xAuthToken = headers['x-auth-token']?.trim();
  if (xAuthToken !== undefined) return xAuthToken ? { token: xAuthToken } : { problem: 'the X-Auth-Token header is empty' };
  return {};
}

function splitUrl(url: string): { rawPath: string; rawQueryString: string } {
  // absolute-form request targets ("GET http://host/path") are legal HTTP
  let target = url;
  if (!target.startsWith('/')) {
    try {
      const parsed = new URL(target);
      target = parsed.pathname + parsed.search;
    } catch {
      throw new HttpError(400, { message: 'Bad Request' });
    }
  }
  const question = target.indexOf('?');
  return question < 0
    ? { rawPath: target, rawQueryString: '' }
    : { rawPath: target.slice(0, question), rawQueryString: target.slice(question + 1) };
}

/** Query parameters decoded, repeated names joined by commas, as API Gateway does. */
export function parseQueryString(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString === '') return undefined;
  const params: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    params[name] = name in params ? `${params[name]},${value}` : value;
  }
  return Object.keys(params).length > 0 ? params : undefined;
}

/** Headers lower-cased, repeated ones joined by commas; cookies split off into their own list. */
export function collectHeaders(rawHeaders: string[]): { headers: Record<string, string>; cookies?: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (name === 'cookie') {
      cookies.push(...value.split(';').map((c) => c.trim()).filter((c) => c !== ''));
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return cookies.length > 0 ? { headers, cookies } : { headers };
}

export interface RawRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
  localPort: number;
  requestId?: string;
  now?: Date;
  authorizer?: GatewayAuthorizer;
}

/** The API Gateway HTTP API payload 2.0 event for one request (route `$default`, stage `$default`). */
export function buildEvent(request: RawRequest): GatewayEvent {
  const { rawPath, rawQueryString } = splitUrl(request.url);
  const { headers, cookies } = collectHeaders(request.rawHeaders);
  const now = request.now ?? new Date();
  const requestId = request.requestId ?? randomUUID();
  const domainName = (headers['host'] ?? `127.0.0.1:${request.localPort}`).replace(/:\d+$/, '');
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']},${request.sourceIp}` : request.sourceIp;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = String(request.localPort);

  let body: string | undefined;
  let isBase64Encoded = false;
  if (request.body.length > 0) {
    const text = isTextContentType(headers['content-type']) ?? isUtf8(request.body);
    isBase64Encoded = !text;
    body = request.body.toString(text ? 'utf8' : 'base64');
  }
  const queryStringParameters = parseQueryString(rawQueryString);

  const event: GatewayEvent = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: LOCAL_API_ID,
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method: request.method.toUpperCase(),
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: apiGatewayTime(now),
      timeEpoch: now.getTime(),
      ...(request.authorizer ? { authorizer: request.authorizer } : {}),
    },
    // the $default route declares no path variables; an empty map rather than none, so the
    // handler's router owns path parsing either way
    pathParameters: {},
    isBase64Encoded,
    ...(body !== undefined ? { body } : {}),
  };
  return event;
}

function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** How API Gateway reads a Lambda's answer with payload format 2.0. */
export function toGatewayResponse(result: unknown): GatewayResponse {
  const structured = typeof result === 'object' && result !== null && 'statusCode' in result;
  if (!structured) {
    // any other valid JSON: status 200, JSON content type, the value itself as the body
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body, 'utf8') };
  }
  const { statusCode, headers, cookies, body, isBase64Encoded } = result as Record<string, unknown>;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new Error(`the handler answered an invalid statusCode: ${JSON.stringify(statusCode)}`);
  }
  const responseHeaders: Record<string, string | string[]> = {};
  if (typeof headers === 'object' && headers !== null) {
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined && value !== null) responseHeaders[name.toLowerCase()] = String(value);
    }
  }
  if (Array.isArray(cookies) && cookies.length > 0) responseHeaders['set-cookie'] = cookies.map(String);
  const text = typeof body === 'string' ? body : body === undefined || body === null ? '' : JSON.stringify(body);
  return {
    statusCode,
    headers: responseHeaders,
    body: isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8'),
  };
}

/** Reads a request body up to the limit; beyond it the rest is drained and dropped. */
function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((resolveBody, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    let tooLarge = Number.isFinite(declared) && declared > limit;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolveBody({ body: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), tooLarge }));
    req.on('error', reject);
  });
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HttpError(503, { message: 'Service Unavailable' })), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function send(res: ServerResponse, response: GatewayResponse, requestId: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(response.statusCode, { ...response.headers, 'apigw-requestid': requestId });
  res.end(response.body);
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const functionName = options.functionName ?? 'share-backup-api';
  const integrationTimeoutMs = options.integrationTimeoutMs ?? 30_000;
  const logError = options.logError ?? ((message, error) => console.error(`[gateway] ${message}`, error));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      if (options.localRoutes && (await options.localRoutes(req, res))) return;
      const { body, tooLarge } = await readBody(req, MAX_BODY_BYTES);
      if (tooLarge) throw new HttpError(413, { message: 'Request Entity Too Large' });
      const { headers } = collectHeaders(req.rawHeaders);
      const { token, problem } = extractToken(headers);
      let authorizer: GatewayAuthorizer | undefined;
      if (problem) throw unauthorized(problem);
      if (token !== undefined) {
        let claims: Record<string, unknown>;
        try {
          claims = await options.verifyToken(token);
        } catch (err) {
          throw unauthorized(tokenProblem(err));
        }
        const scope = typeof claims.scope === 'string' ? claims.scope.split(' ').filter((s) => s !== '') : null;
        authorizer = { jwt: { claims: renderClaims(claims), scopes: scope } };
      }
      const event = buildEvent({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        rawHeaders: req.rawHeaders,
        body,
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        localPort: req.socket.localPort ?? 0,
        requestId,
        authorizer,
      });
      let result: unknown;
      try {
        result = await withTimeout(options.handler(event, lambdaContext(functionName, requestId, integrationTimeoutMs)), integrationTimeoutMs);
      } catch (err) {
        if (err instanceof HttpError) throw err;
        logError(`handler failed on ${event.requestContext.http.method} ${event.rawPath}`, err);
        throw new HttpError(500, { message: 'Internal Server Error' });
      }
      let response: GatewayResponse;
      try {
        response = toGatewayResponse(result);
      } catch (err) {
        logError('handler answered something API Gateway cannot map', err);
        throw new HttpError(500, { message: 'Internal Server Error' });
      }
      send(res, response, requestId);
    } catch (err) {
      if (err instanceof HttpError) {
        send(res, { statusCode: err.statusCode, headers: { 'content-type': 'application/json', ...err.headers }, body: jsonBody(err.body) }, requestId);
        return;
      }
      logError('request failed', err);
      send(res, { statusCode: 500, headers: { 'content-type': 'application/json' }, body: jsonBody({ message: 'Internal Server Error' }) }, requestId);
    }
  }

  const server = createServer((req, res) => {
    req.on('error', () => res.destroy());
    res.on('error', () => undefined);
    void handle(req, res);
  });
  // Node closes a keep-alive connection after 5 s idle; a client that pauses longer (the CLI or a
  // test writing a large tree, an rsync comparison between two calls) then sends its next request
  // on a socket the server is closing and gets "other side closed". Keep idle connections for a
  // minute, as load balancers in front of API Gateway commonly do; headersTimeout must exceed it.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // unparseable HTTP never reaches the handler: answer 400 and close, never crash
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"message":"Bad Request"}');
    else socket.destroy();
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen({ host, port: options.port ?? 0 }, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    server,
    stop: () =>
      new Promise<void>((resolveStop) => {
        server.close(() => resolveStop());
        server.closeAllConnections();
      }),
  };
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, { unauthorized: { code: 401, message } }, { 'www-authenticate': 'Bearer' });
}

function tokenProblem(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ERR_JWT_EXPIRED') return 'the token has expired';
  const detail = err instanceof Error ? err.message : String(err);
  return `the token is not valid: ${detail}`;
}
