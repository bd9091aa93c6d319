// The signed-in session: a bearer token kept in sessionStorage (gone with the tab), and what the
// console reads from its claims (project, roles) to show only what the caller may do. The API
// decides for real; hiding a button only spares a 403.
import type { ConsoleConfig } from '../config.ts';

export interface Session {
  token: string;
  project: string;
  roles: string[];
  /** ms since the epoch */
  expiresAt: number;
}

const KEY = 'share-console-session';

function claimsOf(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
  return JSON.parse(json) as Record<string, unknown>;
}

/** Roles as the API reads them: an array, or a string of names ("[a b]", "a,b"). */
function rolesOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return value.replace(/[[\]"]/g, ' ').split(/[\s,]+/).filter((r) => r !== '');
  return [];
}

export function sessionFromToken(token: string, expiresAt?: number): Session {
  const claims = claimsOf(token);
  return {
    token,
    project: String(claims.project_id ?? ''),
    roles: rolesOf(claims.roles),
    expiresAt: expiresAt ?? (typeof claims.exp === 'number' ? claims.exp * 1000 : Date.now() + 3600_000),
  };
}

export function loadSession(): Session | undefined {
  try {
    const stored = sessionStorage.getItem(KEY);
    if (!stored) return undefined;
    const session = JSON.parse(stored) as Session;
    return session.expiresAt > Date.now() ? session : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session | undefined): void {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
}

export const mayChange = (s: Session) => s.roles.includes('member') || s.roles.includes('admin');
export const isAdmin = (s: Session) => s.roles.includes('admin');

/** Local mode only: the local gateway's POST /local/token mints a token for any project and role. */
export async function localSignIn(project: string, role: string): Promise<Session> {
  const res = await fetch('/local/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ project, roles: role === 'admin' ? ['admin', 'member'] : [role] }),
  });
  const body = (await res.json().catch(() => ({}))) as { token?: string; message?: string };
  if (!res.ok || !body.token) throw new Error(body.message ?? `Sign-in failed (HTTP ${res.status})`);
  return sessionFromToken(body.token);
}

/** The Cognito sign-in module (written with the AWS hosting stack), if this build has it. */
interface CognitoModule {
  startSignIn(config: ConsoleConfig): Promise<void>;
  completeSignIn(config: ConsoleConfig, url: URL): Promise<{ accessToken: string; idToken: string; expiresAt: number } | null>;
}

// import.meta.glob resolves at build time: an empty map when ./cognito.ts is not there, so the
// console builds and typechecks without it and says so at run time in cognito mode.
const cognitoModules = import.meta.glob<CognitoModule>('./cognito.ts');

async function cognito(): Promise<CognitoModule> {
  const load = cognitoModules['./cognito.ts'];
  if (!load) throw new Error('This console was built without Cognito sign-in (console/src/auth/cognito.ts is missing).');
  return load();
}

export async function startCognitoSignIn(config: ConsoleConfig): Promise<void> {
  await (await cognito()).startSignIn(config);
}

/** After the redirect back from Cognito: the session, or undefined when the URL carries no sign-in. */
export async function completeCognitoSignIn(config: ConsoleConfig, url: URL): Promise<Session | undefined> {
  const tokens = await (await cognito()).completeSignIn(config, url);
  if (!tokens) return undefined;
  // the access token goes to the API; the ID token carries the project and roles when the access token does not
  const access = sessionFromToken(tokens.accessToken, tokens.expiresAt);
  if (access.project) return access;
  const id = sessionFromToken(tokens.idToken, tokens.expiresAt);
  return { ...id, token: tokens.accessToken };
}
