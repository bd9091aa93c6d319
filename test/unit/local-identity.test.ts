import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, SignJWT, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { SIGNING_KEY_FILE, TOKEN_AUDIENCE, TOKEN_ISSUER, openIdentity } from '../../local/identity.ts';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'identity-test-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('local identity', () => {
  it('mints a token whose claims verify', async () => {
    const identity = await openIdentity(freshDir());
    const token = await identity.mintToken({ project: 'p1', roles: ['member', 'reader'], sub: 'alice' });
    const claims = await identity.verifyToken(token);
    expect(claims).toMatchObject({ sub: 'alice', project_id: 'p1', roles: ['member', 'reader'], iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE });
    expect(claims.exp! - claims.iat!).toBe(12 * 3600);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: identity.kid });
  });

  it('keeps one key per data folder, private to its owner, and reuses it', async () => {
    const dir = freshDir();
    const first = await openIdentity(dir);
    const token = await first.mintToken({ project: 'p1', roles: ['admin'] });
    const keyFile = join(dir, SIGNING_KEY_FILE);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(keyFile, 'utf8')) as { kid: string; privateJwk: { d?: string } };
    expect(stored.kid).toBe(first.kid);
    expect(stored.privateJwk.d).toBeTypeOf('string');
    expect(first.publicJwk).not.toHaveProperty('d');

    const again = await openIdentity(dir);
    expect(again.kid).toBe(first.kid);
    await expect(again.verifyToken(token)).resolves.toMatchObject({ sub: 'user-p1', roles: ['admin'] });
  });

  it('agrees on one key when two processes open a new folder at once', async () => {
    const dir = freshDir();
    const [a, b] = await Promise.all([openIdentity(dir), openIdentity(dir)]);
    expect(a.kid).toBe(b.kid);
    await expect(b.verifyToken(await a.mintToken({ project: 'p', roles: ['member'] }))).resolves.toBeTruthy();
  });

  it('rejects tokens of another folder, expired ones, tampered ones and garbage', async () => {
    const mine = await openIdentity(freshDir());
    const other = await openIdentity(freshDir());
    await expect(mine.verifyToken(await other.mintToken({ project: 'p', roles: ['member'] }))).rejects.toThrow();
    await expect(mine.verifyToken(await mine.mintToken({ project: 'p', roles: ['member'], expiresIn: -60 }))).rejects.toMatchObject({
      code: 'ERR_JWT_EXPIRED',
    });
    const good = await mine.mintToken({ project: 'p', roles: ['member'] });
    const [header, payload, signature] = good.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), roles: ['admin'] })).toString('base64url');
    await expect(mine.verifyToken(`${header}.${forged}.${signature}`)).rejects.toThrow();
    await expect(mine.verifyToken('not-a-jwt')).rejects.toThrow();
  });

  it('rejects a token signed with the right algorithm but for another audience or issuer', async () => {
    const dir = freshDir();
    const identity = await openIdentity(dir);
    const stored = JSON.parse(readFileSync(join(dir, SIGNING_KEY_FILE), 'utf8')) as { privateJwk: Record<string, string> };
    const { importJWK } = await import('jose');
    const key = await importJWK(stored.privateJwk, 'ES256');
    const sign = (iss: string, aud: string) =>
      new SignJWT({ project_id: 'p', roles: ['member'] }).setProtectedHeader({ alg: 'ES256' }).setSubject('u').setIssuer(iss).setAudience(aud).setExpirationTime('1h').sign(key);
    await expect(identity.verifyToken(await sign(TOKEN_ISSUER, 'someone-else'))).rejects.toThrow(/aud/);
    await expect(identity.verifyToken(await sign('elsewhere', TOKEN_AUDIENCE))).rejects.toThrow(/iss/);
    await expect(identity.verifyToken(await sign(TOKEN_ISSUER, TOKEN_AUDIENCE))).resolves.toMatchObject({ sub: 'u' });
    // a key that is not ours, even with a matching kid, does not pass
    const { privateKey } = await generateKeyPair('ES256');
    const foreign = await new SignJWT({ project_id: 'p', roles: ['admin'] })
      .setProtectedHeader({ alg: 'ES256', kid: identity.kid }).setSubject('u').setIssuer(TOKEN_ISSUER).setAudience(TOKEN_AUDIENCE).setExpirationTime('1h').sign(privateKey);
    await expect(identity.verifyToken(foreign)).rejects.toThrow();
  });
});

describe('strict claims (issue 20): a token whose claims are malformed is refused with a message naming the claim', () => {
  async function signer() {
    const dir = freshDir();
    const identity = await openIdentity(dir);
    const stored = JSON.parse(readFileSync(join(dir, SIGNING_KEY_FILE), 'utf8')) as { privateJwk: Record<string, string> };
    const { importJWK } = await import('jose');
    const key = await importJWK(stored.privateJwk, 'ES256');
    const sign = (claims: Record<string, unknown>, iat?: number) => {
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).setSubject('u').setIssuer(TOKEN_ISSUER).setAudience(TOKEN_AUDIENCE);
      if (iat !== undefined) jwt.setIssuedAt(iat);
      return jwt.setExpirationTime(Math.floor(Date.now() / 1000) + 3600).sign(key);
    };
    return { identity, sign };
  }

  it.each([
    [{ project_id: ['a', 'b'], roles: ['member'] }, /project_id/],
    [{ project_id: 42, roles: ['member'] }, /project_id/],
    [{ project_id: 'a/../b', roles: ['member'] }, /project_id/],
    [{ project_id: 'p', roles: [' admin '] }, /role name/],
    [{ project_id: 'p', roles: 'admin, member' }, /role name/],
    [{ project_id: 'p', roles: [42] }, /roles/],
    [{ roles: ['member'] }, /project_id/],
  ])('refuses %j', async (claims, message) => {
    const { identity, sign } = await signer();
    await expect(identity.verifyToken(await sign(claims))).rejects.toThrow(message);
  });

  it('refuses an iat a year ahead, accepts one within the clock skew; "Admin" verifies but is not a role the API grants', async () => {
    const { identity, sign } = await signer();
    const now = Math.floor(Date.now() / 1000);
    await expect(identity.verifyToken(await sign({ project_id: 'p', roles: ['member'] }, now + 365 * 86400))).rejects.toThrow(/iat|issued in the future/);
    await expect(identity.verifyToken(await sign({ project_id: 'p', roles: ['member'] }, now + 30))).resolves.toMatchObject({ project_id: 'p' });
    await expect(identity.verifyToken(await sign({ project_id: 'p', roles: ['Admin'] }))).resolves.toMatchObject({ roles: ['Admin'] });
  });

  it('mintToken refuses a project id the API would refuse', async () => {
    const identity = await openIdentity(freshDir());
    await expect(identity.mintToken({ project: 'a/../b', roles: ['member'] })).rejects.toThrow(/project id/);
  });
});
