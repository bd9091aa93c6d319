// What the local gateway serves besides the API, on the same port (never the Lambda's business):
//   /console/…             the built web console (console/dist); /console redirects to /console/
//   /console-config.json   {"mode": "local"} (also /console/console-config.json, next to index.html)
//   POST /local/token      {"project", "roles"} → {"token"}: the local sign-in page's token mint
//   GET /  from a browser  (Accept: text/html, no JSON) a redirect to /console/; API clients keep
//                          getting the version document
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { PROJECT_ID_PATTERN } from '../functions/domain/claims.ts';
import type { Identity } from './identity.ts';

export const CONSOLE_PATH = '/console/';
const ROLES = ['reader', 'member', 'admin'];
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export type LocalRoute = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage, limit = 4096): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

/** A browser asking for a page, not an API client asking for JSON. */
export function wantsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.toLowerCase().split(',').map((t) => t.split(';')[0]!.trim());
  return types.includes('text/html') && !types.includes('application/json');
}

export function consoleRoutes(options: { distDir: string; identity: Identity }): LocalRoute {
  const root = normalize(options.distDir);
  const projectPattern = new RegExp(PROJECT_ID_PATTERN);
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'POST' && path === '/local/token') {
      let body: { project?: unknown; roles?: unknown };
      try {
        body = (await readJson(req)) as typeof body;
      } catch {
        sendJson(res, 400, { message: 'The body must be JSON: {"project": "...", "roles": ["member"]}.' });
        return true;
      }
      const roles = Array.isArray(body.roles) ? body.roles : [];
      if (typeof body.project !== 'string' || !projectPattern.test(body.project)) {
        sendJson(res, 400, { message: 'A project id is letters, digits, "-" and "_" (at most 64), starting with a letter or digit.' });
        return true;
      }
      if (roles.length === 0 || !roles.every((r) => typeof r === 'string' && ROLES.includes(r))) {
        sendJson(res, 400, { message: `Roles must be some of: ${ROLES.join(', ')}.` });
        return true;
      }
      const token = await options.identity.mintToken({ project: body.project, roles: roles as string[], sub: `console-${body.project}-${roles.join('-')}` });
      sendJson(res, 200, { token, local: true });
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') return false;
    if (path === '/console-config.json' || path === `${CONSOLE_PATH}console-config.json`) {
      sendJson(res, 200, { mode: 'local' });
      return true;
    }
    if (path === '/' && wantsHtml(req.headers.accept)) {
      res.writeHead(302, { location: CONSOLE_PATH, vary: 'Accept' });
      res.end();
      return true;
    }
    if (path === '/console') {
      res.writeHead(301, { location: CONSOLE_PATH });
      res.end();
      return true;
    }
    if (!path.startsWith(CONSOLE_PATH)) return false;
    let relative: string;
    try {
      relative = decodeURIComponent(path.slice(CONSOLE_PATH.length)) || 'index.html';
    } catch {
      relative = '';
    }
    const file = normalize(join(root, relative));
    if (relative === '' || !file.startsWith(root + sep)) {
      sendJson(res, 404, { message: 'Not Found' });
      return true;
    }
    try {
      const content = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        // hashed asset names never change; index.html must be read again after a rebuild
        'cache-control': relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
      res.end(method === 'HEAD' ? undefined : content);
    } catch {
      const built = relative === 'index.html' ? ' (the console is not built: run npm run build:console)' : '';
      sendJson(res, 404, { message: `Not Found${built}` });
    }
    return true;
  };
}
