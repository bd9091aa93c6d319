// The CLI's view of the service: configuration as OpenStack users expect it (flags, then
// OS_* environment, then the local stack's defaults), and an HTTP client that turns every failure
// into one plain sentence (the API's own message when it sent one).

/** The endpoint `npm start` listens on. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8786';
/** The newest microversion this CLI speaks; also the service's maximum. */
export const MAX_API_VERSION = '2.91';
export const MIN_API_VERSION = '2.0';

/** A failure the user should read: printed as it is on stderr, exit code 1. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** The API answered with an error status. */
export class ApiError extends CliError {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiVersion {
  major: number;
  minor: number;
}

export function parseApiVersion(text: string): ApiVersion {
  const match = /^(\d+)\.(\d+)$/.exec(text.trim());
  if (!match) throw new CliError(`Invalid API version "${text}": expected MAJOR.MINOR, such as ${MAX_API_VERSION}.`);
  return { major: Number(match[1]), minor: Number(match[2]) };
}

export function compareApiVersions(a: ApiVersion, b: ApiVersion): number {
  return a.major - b.major || a.minor - b.minor;
}

export function formatApiVersion(version: ApiVersion): string {
  return `${version.major}.${version.minor}`;
}

export interface ClientSettings {
  endpoint: string;
  token: string | undefined;
  apiVersion: string;
}

/** The API's error body is `{"<name>": {"code": N, "message": "..."}}`. */
function apiMessage(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const values = Object.values(body as Record<string, unknown>);
  if (values.length !== 1) return undefined;
  const inner = values[0];
  if (inner === null || typeof inner !== 'object') return undefined;
  const message = (inner as Record<string, unknown>).message;
  return typeof message === 'string' && message !== '' ? message : undefined;
}

export interface ShareClient {
  readonly endpoint: string;
  readonly apiVersion: ApiVersion;
  /** Sends a request under /v2 and returns the parsed JSON body (undefined when there is none). */
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Fails with a clear message when the chosen microversion is below `minimum`. */
  requireApiVersion(minimum: string, what: string): void;
}

export function createClient(settings: ClientSettings): ShareClient {
  // OpenStack catalogs often list the versioned URL; accept it as well as the root
  const endpoint = settings.endpoint.trim().replace(/\/+$/, '').replace(/\/v2$/, '');
  try {
    new URL(endpoint);
  } catch {
    throw new CliError(`Invalid endpoint "${settings.endpoint}": expected a URL such as ${DEFAULT_ENDPOINT}.`);
  }
  const apiVersion = parseApiVersion(settings.apiVersion);
  if (compareApiVersions(apiVersion, parseApiVersion(MIN_API_VERSION)) < 0 || compareApiVersions(apiVersion, parseApiVersion(MAX_API_VERSION)) > 0) {
    throw new CliError(`API version ${settings.apiVersion} is not supported: use ${MIN_API_VERSION} to ${MAX_API_VERSION}.`);
  }

  const request = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    if (!settings.token) {
      throw new CliError('No token given: pass --os-token or set OS_TOKEN (npm start prints one for the local stack).');
    }
    const headers: Record<string, string> = {
      'x-auth-token': settings.token,
      'x-openstack-manila-api-version': formatApiVersion(apiVersion),
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${endpoint}/v2${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CliError(`Could not reach the share service at ${endpoint} (${why}); is it running (npm start) and is --os-endpoint right?`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const message = apiMessage(parsed) ?? `The service answered ${method} ${path} with HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}.`;
      throw new ApiError(message, response.status);
    }
    return parsed as T;
  };

  return {
    endpoint,
    apiVersion,
    request,
    requireApiVersion(minimum, what) {
      if (compareApiVersions(apiVersion, parseApiVersion(minimum)) < 0) {
        throw new CliError(`${what} is only available with API version >= ${minimum}; --os-share-api-version is ${formatApiVersion(apiVersion)}.`);
      }
    },
  };
}
