// Sign-in to the web console through the Cognito hosted UI: OAuth 2.0 authorization code grant with
// PKCE (RFC 7636, S256) for a public client (no secret). Browser code with no dependency beyond
// Web Crypto, fetch and sessionStorage; it reads them from globalThis through the small interfaces
// below, so it typechecks with or without the DOM lib and tests can stand in fakes.
//
//   startSignIn(config)          → stores code_verifier + state in sessionStorage, goes to /oauth2/authorize
//   completeSignIn(config, url)  → on the redirect back: checks state, POSTs the code to /oauth2/token
//   signOutUrl(config)           → /logout, which ends the hosted UI session and returns to the console
//
// The config is the `cognito` part of console-config.json, which the CDK deployment writes
// (cdk/console-stack.ts); its redirectUri is also the sign-out URL registered for the app client.

/** The `cognito` object of console-config.json. */
export interface CognitoConsoleConfig {
  /** the hosted UI's base URL, https://<prefix>.auth.<region>.amazoncognito.com (a trailing / is tolerated) */
  domain: string;
  /** the console's app client id (a public client: no secret) */
  clientId: string;
  /** where the hosted UI sends the browser back: the console's root URL, https://<distribution>/ */
  redirectUri: string;
  /** OAuth scopes, e.g. ["openid", "email", "profile"] */
  scopes: string[];
}

export interface CognitoTokens {
  /** send as `Authorization: Bearer <accessToken>`; carries project_id and roles */
  accessToken: string;
  idToken: string;
  /** when the access token expires, in milliseconds since the epoch (Date.now() clock) */
  expiresAt: number;
}

/** The sessionStorage key of a started sign-in (verifier and state; nothing else is stored). */
export const PENDING_SIGN_IN_KEY = 'share-backup.console.sign-in';

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}
interface LocationLike {
  assign(url: string): void;
}
interface CryptoLike {
  getRandomValues<T extends Uint8Array>(array: T): T;
  subtle: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> };
}
interface FetchResponseLike {
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}
type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string }) => Promise<FetchResponseLike>;

interface BrowserGlobals {
  sessionStorage: StorageLike;
  location: LocationLike;
  crypto: CryptoLike;
  fetch: FetchLike;
}

function browser(): BrowserGlobals {
  return globalThis as unknown as BrowserGlobals;
}

function base(config: CognitoConsoleConfig): string {
  return config.domain.replace(/\/+$/, '');
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Base64url without padding (RFC 4648 §5), as PKCE and JWTs use it. */
export function base64url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    out += BASE64URL[b0 >> 2]!;
    out += BASE64URL[((b0 & 0x03) << 4) | ((b1 ?? 0) >> 4)]!;
    if (b1 !== undefined) out += BASE64URL[((b1 & 0x0f) << 2) | ((b2 ?? 0) >> 6)]!;
    if (b2 !== undefined) out += BASE64URL[b2 & 0x3f]!;
  }
  return out;
}

function randomToken(bytes: number): string {
  return base64url(browser().crypto.getRandomValues(new Uint8Array(bytes)));
}

/** A code_verifier: 32 random octets, base64url-encoded, 43 characters (RFC 7636 §4.1 allows 43 to 128). */
export function createCodeVerifier(): string {
  return randomToken(32);
}

/** The S256 code_challenge of a verifier: BASE64URL(SHA-256(ASCII(code_verifier))) (RFC 7636 §4.2). */
export async function codeChallengeS256(verifier: string): Promise<string> {
  const digest = await browser().crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

interface PendingSignIn {
  verifier: string;
  state: string;
}

function readPending(): PendingSignIn | undefined {
  const text = browser().sessionStorage.getItem(PENDING_SIGN_IN_KEY);
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<PendingSignIn>;
    return typeof value.verifier === 'string' && typeof value.state === 'string' ? { verifier: value.verifier, state: value.state } : undefined;
  } catch {
    return undefined;
  }
}

function clearPending(): void {
  browser().sessionStorage.removeItem(PENDING_SIGN_IN_KEY);
}

/** Sends the browser to the hosted UI; the promise settles just before the page goes away. */
export async function startSignIn(config: CognitoConsoleConfig): Promise<void> {
  const verifier = createCodeVerifier();
  const state = randomToken(16);
  const challenge = await codeChallengeS256(verifier);
  browser().sessionStorage.setItem(PENDING_SIGN_IN_KEY, JSON.stringify({ verifier, state } satisfies PendingSignIn));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: config.scopes.join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  browser().location.assign(`${base(config)}/oauth2/authorize?${query.toString()}`);
}

function signInError(message: string): Error {
  return new Error(`Sign-in failed: ${message}`);
}

/**
 * Completes a sign-in on the page the hosted UI redirected to: null when `url` carries no `code`
 * (an ordinary page load); the tokens when the code is exchanged. Throws an Error saying what went
 * wrong when the hosted UI reported an error, no sign-in was started in this tab, the state does not
 * match, or the token endpoint refused. The pending sign-in is cleared in every case but null: a
 * code is good for one exchange only. The caller should then drop code and state from the address
 * bar (history.replaceState).
 */
export async function completeSignIn(config: CognitoConsoleConfig, url: URL): Promise<CognitoTokens | null> {
  const params = url.searchParams;
  const error = params.get('error');
  if (error !== null) {
    clearPending();
    const description = params.get('error_description');
    throw signInError(`the sign-in service answered ${error}${description ? `: ${description}` : ''}.`);
  }
  const code = params.get('code');
  if (code === null) return null;

  const pending = readPending();
  clearPending();
  if (!pending) throw signInError('no sign-in was started in this browser tab (or it was already completed). Sign in again.');
  if (params.get('state') !== pending.state) throw signInError('the answer does not belong to the sign-in this tab started (state mismatch). Sign in again.');

  let response: FetchResponseLike;
  try {
    response = await browser().fetch(`${base(config)}/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: config.clientId,
        code,
        redirect_uri: config.redirectUri,
        code_verifier: pending.verifier,
      }).toString(),
    });
  } catch (cause) {
    throw new Error(`Sign-in failed: the token endpoint could not be reached (${cause instanceof Error ? cause.message : String(cause)}).`, { cause });
  }
  const body = await response.json().catch(() => undefined) as Record<string, unknown> | undefined;
  if (!response.ok) {
    const reason = typeof body?.error === 'string' ? `: ${body.error}${typeof body.error_description === 'string' ? ` (${body.error_description})` : ''}` : '';
    throw signInError(`the token exchange was refused with HTTP ${response.status}${reason}. Sign in again.`);
  }
  const accessToken = body?.access_token;
  const idToken = body?.id_token;
  const expiresIn = body?.expires_in;
  if (typeof accessToken !== 'string' || typeof idToken !== 'string' || typeof expiresIn !== 'number') {
    throw signInError('the token endpoint answered without access_token, id_token and expires_in.');
  }
  return { accessToken, idToken, expiresAt: Date.now() + expiresIn * 1000 };
}

/** The hosted UI's sign-out: ends its session and sends the browser back to the console. */
export function signOutUrl(config: CognitoConsoleConfig): string {
  const query = new URLSearchParams({ client_id: config.clientId, logout_uri: config.redirectUri });
  return `${base(config)}/logout?${query.toString()}`;
}
