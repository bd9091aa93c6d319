import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_BODY_BYTES,
  apiGatewayTime,
  buildEvent,
  parseQueryString,
  renderClaim,
  startGateway,
  toGatewayResponse,
  type GatewayEvent,
  type RunningGateway,
} from '../../local/gateway.ts';
import { openIdentity, type Identity } from '../../local/identity.ts';

let dataDir: string;
let identity: Identity;
let gateway: RunningGateway;
const events: GatewayEvent[] = [];
let answer: (event: GatewayEvent) => Promise<unknown> = async () => ({ statusCode: 204 });
const loggedErrors: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
  identity = await openIdentity(dataDir);
  gateway = await startGateway({
    port: 0,
    handler: (event) => {
      events.push(event);
      return answer(event);
    },
    verifyToken: (token) => identity.verifyToken(token),
    integrationTimeoutMs: 1000,
    logError: (message) => loggedErrors.push(message),
  });
});

afterAll(async () => {
  await gateway.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  events.length = 0;
  loggedErrors.length = 0;
  answer = async () => ({ statusCode: 204 });
});

/** Sends raw bytes and returns whatever the server answers before it closes the connection. */
function rawExchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(gateway.port, '127.0.0.1', () => socket.end(bytes));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('event built from a request', () => {
  it('has the API Gateway HTTP API 2.0 shape', async () => {
    answer = async () => ({ statusCode: 200, body: '{}' });
    const before = Date.now();
    const res = await fetch(`${gateway.url}/v2/shares/detail?limit=5&name=a%20b&x=1&x=2&flag`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-OpenStack-Manila-API-Version': '2.91', Cookie: 'a=1; b=2', 'User-Agent': 'tester/1' },
      body: JSON.stringify({ share: { name: 'n' } }),
    });
    expect(res.status).toBe(200);
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/v2/shares/detail',
      rawQueryString: 'limit=5&name=a%20b&x=1&x=2&flag',
      cookies: ['a=1', 'b=2'],
      queryStringParameters: { limit: '5', name: 'a b', x: '1,2', flag: '' },
      isBase64Encoded: false,
      body: '{"share":{"name":"n"}}',
      pathParameters: {},
    });
    expect(event.headers['content-type']).toBe('application/json');
    expect(event.headers['x-openstack-manila-api-version']).toBe('2.91');
    expect(event.headers).not.toHaveProperty('cookie');
    expect(Object.keys(event.headers).every((h) => h === h.toLowerCase())).toBe(true);
    const ctx = event.requestContext;
    expect(ctx).toMatchObject({
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1',
      routeKey: '$default',
      stage: '$default',
      http: { method: 'POST', path: '/v2/shares/detail', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'tester/1' },
    });
    expect(ctx.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ctx.timeEpoch).toBeGreaterThanOrEqual(before);
    expect(ctx.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(ctx.authorizer).toBeUndefined();
    expect(res.headers.get('apigw-requestid')).toBe(ctx.requestId);
  });

  it('has no body, query or cookies when the request has none', async () => {
    await fetch(`${gateway.url}/`);
    const event = events[0]!;
    expect(event.rawPath).toBe('/');
    expect(event.rawQueryString).toBe('');
    expect(event).not.toHaveProperty('body');
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('cookies');
    expect(event.isBase64Encoded).toBe(false);
  });

  it('base64-encodes binary bodies and keeps their bytes', async () => {
    const bytes = Buffer.from([0, 255, 1, 254, 0x80, 0x81]);
    await fetch(`${gateway.url}/upload`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    const event = events[0]!;
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body!, 'base64').equals(bytes)).toBe(true);
  });

  it('joins repeated headers with commas', () => {
    const event = buildEvent({
      method: 'get',
      url: '/x',
      rawHeaders: ['Accept', 'a/b', 'ACCEPT', 'c/d', 'Host', 'api.example.com:8786'],
      body: Buffer.alloc(0),
      sourceIp: '10.0.0.1',
      localPort: 8786,
      now: new Date(Date.UTC(2020, 2, 12, 19, 3, 58)),
    });
    expect(event.headers.accept).toBe('a/b,c/d');
    expect(event.requestContext.domainName).toBe('api.example.com');
    expect(event.requestContext.domainPrefix).toBe('api');
    expect(event.requestContext.http.method).toBe('GET');
    expect(event.requestContext.time).toBe('12/Mar/2020:19:03:58 +0000');
    expect(event.headers['x-forwarded-for']).toBe('10.0.0.1');
  });
});

describe('JWT authorizer', () => {
  it('passes verified claims, arrays rendered as API Gateway does', async () => {
    const token = await identity.mintToken({ project: 'p1', roles: ['member', 'admin'], sub: 'alice' });
    await fetch(`${gateway.url}/v2/shares`, { headers: { authorization: `Bearer ${token}` } });
    const jwt = events[0]!.requestContext.authorizer!.jwt;
    expect(jwt.scopes).toBeNull();
    expect(jwt.claims).toMatchObject({ sub: 'alice', project_id: 'p1', roles: '[member admin]', iss: 'share-backup-local', aud: 'share-backup' });
    expect(jwt.claims.exp).toMatch(/^\d+$/);
  });

  it('accepts X-Auth-Token too', async () => {
    const token = await identity.mintToken({ project: 'p2', roles: ['reader'] });
    await fetch(`${gateway.url}/v2/shares`, { headers: { 'x-auth-token': token } });
    expect(events[0]!.requestContext.authorizer!.jwt.claims).toMatchObject({ project_id: 'p2', roles: '[reader]' });
  });

  it.each([
    ['a garbage bearer token', { authorization: 'Bearer not.a.jwt' }],
    ['an expired token', 'expired'],
    ['a token from another key', 'foreign'],
    ['a non-Bearer Authorization header', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['an empty X-Auth-Token', { 'x-auth-token': ' ' }],
  ] as const)('answers 401 without calling the handler for %s', async (_name, spec) => {
    let headers: Record<string, string>;
    if (spec === 'expired') headers = { authorization: `Bearer ${await identity.mintToken({ project: 'p', roles: ['member'], expiresIn: -5 })}` };
    else if (spec === 'foreign') {
      const otherDir = mkdtempSync(join(tmpdir(), 'gateway-other-'));
      const other = await openIdentity(otherDir);
      headers = { 'x-auth-token': await other.mintToken({ project: 'p', roles: ['admin'] }) };
      rmSync(otherDir, { recursive: true, force: true });
    } else headers = { ...spec };
    const res = await fetch(`${gateway.url}/v2/shares`, { headers });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { unauthorized: { code: number; message: string } };
    expect(body.unauthorized.code).toBe(401);
    expect(body.unauthorized.message).not.toBe('');
    if (spec === 'expired') expect(body.unauthorized.message).toMatch(/expired/);
    expect(events).toHaveLength(0);
  });
});

describe('handler results', () => {
  it('returns a structured result as it is', async () => {
    answer = async () => ({
      statusCode: 202,
      headers: { 'Content-Type': 'application/json', 'X-Count': 3, Vary: 'X-OpenStack-Manila-API-Version' },
      cookies: ['s=1; Path=/', 't=2'],
      body: '{"ok":true}',
    });
    const res = await fetch(`${gateway.url}/x`);
    expect(res.status).toBe(202);
    expect(res.headers.get('x-count')).toBe('3');
    expect(res.headers.get('vary')).toBe('X-OpenStack-Manila-API-Version');
    expect(res.headers.getSetCookie()).toEqual(['s=1; Path=/', 't=2']);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('decodes base64 bodies', async () => {
    answer = async () => ({ statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from([1, 2, 250]).toString('base64'), isBase64Encoded: true });
    const res = await fetch(`${gateway.url}/x`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from([1, 2, 250]));
  });

  it('treats a plain string or object as a 200 JSON body', async () => {
    answer = async () => ({ versions: [] });
    let res = await fetch(`${gateway.url}/x`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ versions: [] });
    answer = async () => 'hello';
    res = await fetch(`${gateway.url}/x`);
    expect(await res.text()).toBe('hello');
    expect(toGatewayResponse(undefined).body.toString()).toBe('null');
  });

  it('answers 500 when the handler throws or answers nonsense, and keeps serving', async () => {
    answer = async () => {
      throw new Error('boom');
    };
    let res = await fetch(`${gateway.url}/x`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'Internal Server Error' });
    answer = async () => ({ statusCode: 'teapot' });
    res = await fetch(`${gateway.url}/x`);
    expect(res.status).toBe(500);
    expect(loggedErrors).toHaveLength(2);
    answer = async () => ({ statusCode: 200, body: 'fine' });
    res = await fetch(`${gateway.url}/x`);
    expect(await res.text()).toBe('fine');
  });

  it('answers 503 when the handler outlives the integration timeout', async () => {
    answer = () => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200 }), 1500));
    const res = await fetch(`${gateway.url}/slow`);
    expect(res.status).toBe(503);
  });
});

describe('bad requests', () => {
  it('refuses a body over 10 MiB with 413 without calling the handler', async () => {
    const res = await fetch(`${gateway.url}/v2/shares`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20) });
    expect(res.status).toBe(413);
    expect(events).toHaveLength(0);
    const atLimit = await fetch(`${gateway.url}/v2/shares`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: Buffer.alloc(MAX_BODY_BYTES, 0x20) });
    expect(atLimit.status).toBe(204);
    expect(events[0]!.body).toHaveLength(MAX_BODY_BYTES);
  });

  it('survives garbage on the wire', async () => {
    const answerText = await rawExchange('\x00\x01 NOT HTTP AT ALL\r\n\r\n');
    expect(answerText).toMatch(/^HTTP\/1\.1 400/);
    const weird = await rawExchange('GET /%%zz?%E0%A4%A=1&&=&a==b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(weird).toMatch(/^HTTP\/1\.1 204/);
    expect(events.at(-1)!.rawPath).toBe('/%%zz');
    const res = await fetch(`${gateway.url}/still-alive`);
    expect(res.status).toBe(204);
  });
});

describe('pure helpers', () => {
  it('render claims and queries like API Gateway', () => {
    expect(renderClaim(['a', 'b'])).toBe('[a b]');
    expect(renderClaim([])).toBe('[]');
    expect(renderClaim(42)).toBe('42');
    expect(renderClaim(true)).toBe('true');
    expect(renderClaim({ k: 'v' })).toBe('{"k":"v"}');
    expect(parseQueryString('')).toBeUndefined();
    expect(parseQueryString('a=1&a=2&b=%2C')).toEqual({ a: '1,2', b: ',' });
    expect(apiGatewayTime(new Date(Date.UTC(2024, 0, 5, 1, 2, 3)))).toBe('05/Jan/2024:01:02:03 +0000');
  });
});
