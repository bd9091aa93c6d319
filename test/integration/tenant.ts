// A tenant's view of the local stack for integration tests: a token-carrying HTTP client and
// polling helpers, so tests read like what a user does with the API.
import { expect } from 'vitest';

export interface ApiAnswer {
  status: number;
  headers: Headers;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test code inspects free-form JSON
}

export interface Tenant {
  project: string;
  token: string;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
  get(path: string): Promise<ApiAnswer>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
  put(path: string, body: unknown): Promise<ApiAnswer>;
  del(path: string): Promise<ApiAnswer>;
}

export function tenant(apiUrl: string, project: string, token: string): Tenant {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> => {
    const res = await fetch(apiUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = text; }
    return { status: res.status, headers: res.headers, json };
  };
  return {
    project, token, call,
    get: (p) => call('GET', p),
    post: (p, b, h) => call('POST', p, b, h),
    put: (p, b) => call('PUT', p, b),
    del: (p) => call('DELETE', p),
  };
}

/** Polls `read` until `done` holds (or `timeoutMs` passes, which fails the test with the last value). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await read();
  }
  return last;
}

export async function createShare(t: Tenant, body: Record<string, unknown> = {}): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await t.post('/v2/shares', { share: { share_proto: 'NFS', size: 1, ...body } });
  expect(res.status, JSON.stringify(res.json)).toBe(202);
  return eventually(async () => (await t.get(`/v2/shares/${res.json.share.id}`)).json.share, (s) => s.status !== 'creating');
}

/** Waits until the share settles out of its transient statuses and returns it. */
export async function settledShare(t: Tenant, id: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return eventually(async () => (await t.get(`/v2/shares/${id}`)).json.share,
    (s) => !['creating', 'backup_creating', 'backup_restoring', 'extending', 'shrinking', 'deleting'].includes(s.status));
}

export async function settledBackup(t: Tenant, id: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return eventually(async () => (await t.get(`/v2/share-backups/${id}`)).json.share_backup,
    (b) => !['creating', 'restoring', 'deleting'].includes(b.status));
}

export async function settledRestore(t: Tenant, id: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return eventually(async () => (await t.get(`/v2/share-restores/${id}`)).json.share_restore,
    (r) => r.status === 'succeeded' || r.status === 'failed');
}

export async function backupShare(t: Tenant, shareId: string, extra: Record<string, unknown> = {}): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await t.post('/v2/share-backups', { share_backup: { share_id: shareId, ...extra } });
  expect(res.status, JSON.stringify(res.json)).toBe(202);
  const backup = await settledBackup(t, res.json.share_backup.id);
  expect(backup.status, JSON.stringify(backup)).toBe('available');
  await settledShare(t, shareId);
  return backup;
}

/** The one error name and body of the contract's error shape, e.g. {badRequest: {code, message}}. */
export function errorOf(answer: ApiAnswer): { name: string; code: number; message: string } {
  const keys = Object.keys(answer.json ?? {});
  expect(keys, JSON.stringify(answer.json)).toHaveLength(1);
  const name = keys[0]!;
  return { name, ...answer.json[name] };
}
