// The local gateway's own routes for the web console (local/console-routes.ts): the built files
// under /console/, the config, the local token mint, the browser redirect of GET /, and that the
// API behind them still answers API clients.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleRoutes, wantsHtml } from '../../local/console-routes.ts';
import { startGateway, type RunningGateway } from '../../local/gateway.ts';
import { openIdentity, type Identity } from '../../local/identity.ts';

function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${gateway.url}`, { path }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let dir: string;
let identity: Identity;
let gateway: RunningGateway;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'console-routes-'));
  const dist = join(dir, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(dist, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'not served');
  identity = await openIdentity(join(dir, 'data'));
  gateway = await startGateway({
    port: 0,
    handler: async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api: event.rawPath }) }),
    verifyToken: (token) => identity.verifyToken(token),
    localRoutes: consoleRoutes({ distDir: dist, identity }),
  });
});

afterAll(async () => {
  await gateway?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('local console routes', () => {
  it('serves the built console under /console/ and nothing outside it', async () => {
    const index = await fetch(`${gateway.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await index.text()).toContain('<title>console</title>');
    const script = await fetch(`${gateway.url}/console/assets/app.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    // raw paths (fetch would normalise them): an escaped "../" never reaches outside the folder
    for (const path of ['/console/..%2fsecret.txt', '/console/%2e%2e/secret.txt', '/console/assets/..%2f..%2fsecret.txt']) {
      const answer = await rawGet(path);
      expect(answer.body, path).not.toContain('not served');
    }
    expect((await rawGet('/console/..%2fsecret.txt')).status).toBe(404);
    expect((await fetch(`${gateway.url}/console`, { redirect: 'manual' })).headers.get('location')).toBe('/console/');
  });

  it('answers the local config', async () => {
    for (const path of ['/console-config.json', '/console/console-config.json']) {
      expect(await (await fetch(gateway.url + path)).json()).toEqual({ mode: 'local' });
    }
  });

  it('sends a browser at / to the console, and API clients to the API', async () => {
    const browser = await fetch(`${gateway.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }, redirect: 'manual' });
    expect(browser.status).toBe(302);
    expect(browser.headers.get('location')).toBe('/console/');
    expect(await (await fetch(`${gateway.url}/`)).json()).toEqual({ api: '/' });
    expect(await (await fetch(`${gateway.url}/`, { headers: { accept: 'application/json' } })).json()).toEqual({ api: '/' });
    expect(await (await fetch(`${gateway.url}/v2`, { headers: { accept: 'text/html' } })).json()).toEqual({ api: '/v2' });
    expect(wantsHtml('text/html, application/json')).toBe(false);
  });

  it('mints a token for a project and roles, and refuses bad ones', async () => {
    const res = await fetch(`${gateway.url}/local/token`, { method: 'POST', body: JSON.stringify({ project: 'p-1', roles: ['reader'] }) });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const claims = await identity.verifyToken(token);
    expect(claims).toMatchObject({ project_id: 'p-1', roles: ['reader'] });
    for (const body of [{ project: 'a/../b', roles: ['member'] }, { project: 'p', roles: ['root'] }, { project: 'p', roles: [] }, 'not json']) {
      const bad = await fetch(`${gateway.url}/local/token`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(((await bad.json()) as { message: string }).message).toBeTruthy();
    }
  });
});
