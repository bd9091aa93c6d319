// The local identity provider: it signs the JWTs that, on AWS, the tenant's identity provider
// would issue and API Gateway's JWT authorizer would verify. One ES256 key pair per data folder,
// kept in <DATA_DIR>/jwt-signing-key.json, so tokens stay valid across restarts.
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SignJWT,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { PROJECT_ID_PATTERN, validateClaims } from '../functions/domain/claims.ts';

export const TOKEN_ISSUER = 'share-backup-local';
export const TOKEN_AUDIENCE = 'share-backup';
export const SIGNING_KEY_FILE = 'jwt-signing-key.json';
const ALGORITHM = 'ES256';

export interface MintTokenOptions {
  project: string;
  roles: string[];
  /** the user id; default `user-<project>` */
  sub?: string;
  /** lifetime: a jose time span ("12h", "30d") or seconds (negative: already expired); default 12 hours */
  expiresIn?: string | number;
}

export interface TokenClaims extends JWTPayload {
  sub: string;
  project_id: string;
  roles: string[];
}

export interface Identity {
  keyFile: string;
  kid: string;
  /** the public key, as a JWKS would publish it */
  publicJwk: JWK;
  mintToken(options: MintTokenOptions): Promise<string>;
  /** the token's claims, or throws (bad signature, expired, wrong issuer/audience, malformed) */
  verifyToken(token: string): Promise<TokenClaims>;
}

interface StoredKey {
  kid: string;
  alg: string;
  privateJwk: JWK;
}

/**
 * Writes the new key so that no reader ever sees half a file and two processes starting together
 * agree on one key: write a private temporary file, then link() it into place, which fails if
 * the name exists (the loser then reads the winner's key).
 */
async function createKeyFile(keyFile: string): Promise<void> {
  const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(privateJwk);
  const stored: StoredKey = { kid, alg: ALGORITHM, privateJwk: { ...privateJwk, kid, alg: ALGORITHM, use: 'sig' } };
  const temporary = `${keyFile}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(temporary, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  try {
    await link(temporary, keyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await rm(temporary, { force: true });
  }
}

async function readKeyFile(keyFile: string): Promise<StoredKey | undefined> {
  try {
    const stored = JSON.parse(await readFile(keyFile, 'utf8')) as StoredKey;
    if (typeof stored.kid !== 'string' || typeof stored.privateJwk?.d !== 'string') {
      throw new Error(`${keyFile} is not a signing key written by the local runtime; delete it to make a new one`);
    }
    return stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The identity of a data folder: loads its signing key, creating one on first use. */
export async function openIdentity(dataDir: string): Promise<Identity> {
  await mkdir(dataDir, { recursive: true });
  const keyFile = join(dataDir, SIGNING_KEY_FILE);
  let stored = await readKeyFile(keyFile);
  if (!stored) {
    await createKeyFile(keyFile);
    stored = await readKeyFile(keyFile);
    if (!stored) throw new Error(`could not create ${keyFile}`);
  }
  const { kid, alg, privateJwk } = stored;
  const { d: _d, ...publicJwk } = privateJwk;
  const privateKey = (await importJWK(privateJwk, alg)) as CryptoKey;
  const publicKey = (await importJWK(publicJwk, alg)) as CryptoKey;

  return {
    keyFile,
    kid,
    publicJwk,
    async mintToken({ project, roles, sub, expiresIn = '12h' }) {
      if (!project) throw new Error('a token needs a project');
      // the API would refuse the token (functions/domain/claims.ts); say so when it is made, not when it is used
      if (!new RegExp(PROJECT_ID_PATTERN).test(project)) throw new Error(`project "${project}" is not a project id: letters, digits, "-" and "_" (at most 64)`);
      return new SignJWT({ project_id: project, roles })
        .setProtectedHeader({ alg, kid, typ: 'JWT' })
        .setSubject(sub ?? `user-${project}`)
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt()
        .setJti(randomUUID())
        // a number is a lifetime in seconds (jose would read it as an absolute time)
        .setExpirationTime(typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn)
        .sign(privateKey);
    },
    async verifyToken(token) {
      const { payload } = await jwtVerify(token, publicKey, {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        algorithms: [alg],
        requiredClaims: ['exp', 'sub'],
      });
      // jose has checked exp and nbf to the second. validateClaims (functions/domain/claims.ts) checks
      // the claims as the token carries them, before the gateway renders them to strings: an array or a
      // number where a string belongs, a malformed role name, an iat beyond the clock skew are refused here
      validateClaims(payload);
      return payload as TokenClaims;
    },
  };
}
