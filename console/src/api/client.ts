// The API client: fetch with the session's token, JSON in and out, and the API's own error
// message on failure. Types come from the API's OpenAPI document (types.generated.ts).
import type { components } from './types.generated.ts';

export type Share = components['schemas']['Share'];
export type ShareBackup = components['schemas']['ShareBackup'];
export type ShareRestore = components['schemas']['ShareRestore'];
export type ReportEntry = components['schemas']['ReportEntry'];
export type Link = components['schemas']['Link'];
export type BackupDriver = components['schemas']['BackupDriver'];
export type ShareCreateBody = components['schemas']['ShareCreateBody'];

export class ApiFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The message of the API's error shape {"<name>": {"code", "message"}}, else the HTTP status. */
function messageOf(status: number, body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    for (const value of Object.values(body)) {
      if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') {
        return (value as { message: string }).message;
      }
    }
    if (typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  }
  return `The API answered HTTP ${status}.`;
}

export interface Api {
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

export function apiClient(base: string, token: () => string | undefined, onUnauthorized: () => void): Api {
  return {
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const headers: Record<string, string> = { accept: 'application/json', 'X-OpenStack-Manila-API-Version': '2.91' };
      const t = token();
      if (t) headers.authorization = `Bearer ${t}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      } catch (err) {
        throw new ApiFailure(0, `The API could not be reached: ${(err as Error).message}`);
      }
      const text = await res.text();
      let json: unknown = undefined;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (res.status === 401) onUnauthorized();
      if (!res.ok) throw new ApiFailure(res.status, messageOf(res.status, json));
      return json as T;
    },
  };
}

/** A list page: the items and whether the API announced a next page. */
export interface Page<T> {
  items: T[];
  hasNext: boolean;
}

export async function listPage<T>(api: Api, path: string, key: string, params: Record<string, string | number | boolean | undefined>): Promise<Page<T>> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') query.set(k, String(v));
  const body = await api.call<Record<string, unknown>>('GET', `${path}?${query.toString()}`);
  const items = (body[key] ?? []) as T[];
  const links = (body[`${key}_links`] ?? []) as Link[];
  return { items, hasNext: links.some((l) => l.rel === 'next') };
}
