// The console's hosted UI sign-in (console/src/auth/cognito.ts) with fake sessionStorage, location
// and fetch on globalThis; Web Crypto is Node's own (the same API as the browser's).
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  base64url, codeChallengeS256, completeSignIn, createCodeVerifier, PENDING_SIGN_IN_KEY, signOutUrl, startSignIn, type CognitoConsoleConfig,
} from '../../console/src/auth/cognito.ts';

const config: CognitoConsoleConfig = {
  domain: 'https://share-backup-dev-111111111111.auth.eu-west-1.amazoncognito.com',
  clientId: 'console-client-id',
  redirectUri: 'https://d111111abcdef8.cloudfront.net/',
  scopes: ['openid', 'email', 'profile'],
};

class FakeStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null { return this.items.get(key) ?? null; }
  setItem(key: string, value: string): void { this.items.set(key, String(value)); }
  removeItem(key: string): void { this.items.delete(key); }
}

let storage: FakeStorage;
let assigned: string[];
let fetchMock: ReturnType<typeof vi.fn>;

function tokenAnswer(status: number, body: unknown) {
  return { ok: status >= 200 && status < 300, status, json: async () => body };
}

beforeEach(() => {
  storage = new FakeStorage();
  assigned = [];
  fetchMock = vi.fn(async () => tokenAnswer(200, { access_token: 'access.jwt', id_token: 'id.jwt', refresh_token: 'r', expires_in: 3600, token_type: 'Bearer' }));
  vi.stubGlobal('sessionStorage', storage);
  vi.stubGlobal('location', { assign: (url: string) => assigned.push(url) });
  vi.stubGlobal('fetch', fetchMock);
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

/** Runs startSignIn and returns the authorize URL it went to. */
async function started(): Promise<URL> {
  await startSignIn(config);
  expect(assigned).toHaveLength(1);
  return new URL(assigned[0]!);
}

describe('PKCE', () => {
  it('computes the S256 challenge of RFC 7636 appendix B', async () => {
    expect(await codeChallengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('encodes base64url without padding like Node does, for every length remainder', () => {
    for (const length of [0, 1, 2, 3, 4, 5, 31, 32, 33]) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 73 + 251) % 256);
      expect(base64url(bytes), String(length)).toBe(Buffer.from(bytes).toString('base64url'));
    }
  });

  it('creates verifiers of 43 to 128 unreserved characters, different each time', () => {
    const verifiers = Array.from({ length: 20 }, () => createCodeVerifier());
    for (const v of verifiers) expect(v).toMatch(/^[A-Za-z0-9\-._~]{43,128}$/);
    expect(new Set(verifiers).size).toBe(20);
  });
});

describe('startSignIn', () => {
  it('goes to the hosted UI authorize endpoint with code, S256 challenge and state, keeping verifier and state in sessionStorage', async () => {
    const url = await started();
    expect(`${url.origin}${url.pathname}`).toBe(`${config.domain}/oauth2/authorize`);
    const q = url.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe(config.clientId);
    expect(q.get('redirect_uri')).toBe(config.redirectUri);
    expect(q.get('scope')).toBe('openid email profile');
    expect(q.get('code_challenge_method')).toBe('S256');
    const pending = JSON.parse(storage.getItem(PENDING_SIGN_IN_KEY)!) as { verifier: string; state: string };
    expect(Object.keys(pending).sort()).toEqual(['state', 'verifier']);
    expect(q.get('state')).toBe(pending.state);
    expect(pending.state.length).toBeGreaterThanOrEqual(16);
    expect(pending.verifier).toMatch(/^[A-Za-z0-9\-._~]{43,128}$/);
    expect(q.get('code_challenge')).toBe(createHash('sha256').update(pending.verifier).digest('base64url'));
  });

  it('tolerates a trailing slash on the domain', async () => {
    await startSignIn({ ...config, domain: `${config.domain}/` });
    expect(assigned[0]).toMatch(/amazoncognito\.com\/oauth2\/authorize\?/);
  });
});

describe('completeSignIn', () => {
  it('is null on an ordinary page load (no code), leaving a started sign-in alone', async () => {
    await started();
    expect(await completeSignIn(config, new URL('https://d111111abcdef8.cloudfront.net/shares'))).toBeNull();
    expect(storage.getItem(PENDING_SIGN_IN_KEY)).not.toBeNull();
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('exchanges the code with the verifier at the token endpoint and returns the tokens', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000, toFake: ['Date'] });
    const state = (await started()).searchParams.get('state')!;
    const { verifier } = JSON.parse(storage.getItem(PENDING_SIGN_IN_KEY)!) as { verifier: string };
    const tokens = await completeSignIn(config, new URL(`${config.redirectUri}?code=the-code&state=${encodeURIComponent(state)}`));
    expect(tokens).toEqual({ accessToken: 'access.jwt', idToken: 'id.jwt', expiresAt: 1_700_000_000_000 + 3_600_000 });
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [url, init] = fetchMock.mock.calls[0] as [string, { method: string; headers: Record<string, string>; body: string }];
    expect(url).toBe(`${config.domain}/oauth2/token`);
    expect(init.method).toBe('POST');
    expect(init.headers['Content-Type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(init.body))).toEqual({
      grant_type: 'authorization_code', client_id: config.clientId, code: 'the-code', redirect_uri: config.redirectUri, code_verifier: verifier,
    });
    expect(storage.items.size).toBe(0);
  });

  it('refuses a state that is not the one this tab stored, without calling the token endpoint', async () => {
    await started();
    await expect(completeSignIn(config, new URL(`${config.redirectUri}?code=c&state=forged`))).rejects.toThrow(/state mismatch/);
    expect(fetchMock).not.toHaveBeenCalled();
    expect(storage.items.size).toBe(0);
  });

  it('refuses a code when no sign-in was started in this tab', async () => {
    await expect(completeSignIn(config, new URL(`${config.redirectUri}?code=c&state=s`))).rejects.toThrow(/no sign-in was started/);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('throws the hosted UI\'s error= with its description, and clears the started sign-in', async () => {
    await started();
    const url = new URL(`${config.redirectUri}?error=access_denied&error_description=${encodeURIComponent('User is disabled.')}&state=x`);
    await expect(completeSignIn(config, url)).rejects.toThrow('Sign-in failed: the sign-in service answered access_denied: User is disabled.');
    expect(storage.items.size).toBe(0);
  });

  it('throws when the token endpoint refuses the code, naming its error', async () => {
    fetchMock.mockResolvedValueOnce(tokenAnswer(400, { error: 'invalid_grant' }));
    const state = (await started()).searchParams.get('state')!;
    await expect(completeSignIn(config, new URL(`${config.redirectUri}?code=used&state=${state}`))).rejects.toThrow(/HTTP 400: invalid_grant/);
    expect(storage.items.size).toBe(0);
  });

  it('throws when the token endpoint cannot be reached or answers without tokens', async () => {
    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'));
    let state = (await started()).searchParams.get('state')!;
    await expect(completeSignIn(config, new URL(`${config.redirectUri}?code=c&state=${state}`))).rejects.toThrow(/could not be reached \(Failed to fetch\)/);
    fetchMock.mockResolvedValueOnce(tokenAnswer(200, { access_token: 'a' }));
    assigned = [];
    state = (await started()).searchParams.get('state')!;
    await expect(completeSignIn(config, new URL(`${config.redirectUri}?code=c&state=${state}`))).rejects.toThrow(/without access_token, id_token and expires_in/);
  });
});

describe('signOutUrl', () => {
  it('is the hosted UI logout endpoint with the client id and the console as logout_uri', () => {
    const url = new URL(signOutUrl(config));
    expect(`${url.origin}${url.pathname}`).toBe(`${config.domain}/logout`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ client_id: config.clientId, logout_uri: config.redirectUri });
  });
});
