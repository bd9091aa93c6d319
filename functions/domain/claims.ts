// The token claims the API reads, validated by one schema (api.md "Authentication"). API Gateway's
// JWT authorizer has checked the signature, issuer, audience and expiry; this module decides whether
// what the token says is usable: who (sub), which project (project_id), which roles, and whether its
// times are sane. Anything else is a 401 that says which claim is wrong. The local gateway's identity
// (local/identity.ts) applies the same rules to the claims it verifies, before they are rendered.
import type { ErrorObject } from 'ajv';
import { claims as validate } from '../validators.generated.js';
import { unauthorized } from './errors.ts';

/** How far a token's clocks may be ahead of ours (iat, nbf) before it is refused. */
export const CLOCK_SKEW_SECONDS = 60;

/**
 * Project ids are path segments (/v2/{project_id}) and key prefixes: letters, digits, `-` and `_`,
 * starting with a letter or digit (Keystone's ids are 32 hex digits). No `/`, `.`, spaces or brackets,
 * so neither "a/../b" nor API Gateway's rendering of an array claim ("[a b]") passes.
 */
export const PROJECT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';

/** Seconds since the epoch: a JSON number, or the decimal string API Gateway renders it as. */
const epochSeconds = { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^[0-9]{1,12}$' }] } as const;

/** Compiled at build time into functions/validators.generated.js (functions/validators-generate.ts). */
export const claimsSchema = {
  type: 'object',
  required: ['sub', 'project_id'],
  properties: {
    sub: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^\\u0000-\\u001f]+$' },
    project_id: { type: 'string', pattern: PROJECT_ID_PATTERN },
    // a real array of names, or one string: API Gateway's "[member reader]", a JSON array, or a
    // comma/space separated list (the Cognito trigger's "member,reader")
    roles: { anyOf: [{ type: 'array', maxItems: 64, items: { type: 'string', maxLength: 255 } }, { type: 'string', maxLength: 4096 }] },
    iat: epochSeconds,
    nbf: epochSeconds,
    exp: epochSeconds,
  },
} as const;

function describe(error: ErrorObject): string {
  const claim = error.instancePath.split('/').filter(Boolean)[0] ?? String((error.params as { missingProperty?: string }).missingProperty ?? 'claims');
  if (error.keyword === 'required') return `the token has no ${claim} claim`;
  if (claim === 'project_id') return 'the project_id claim must be a string of letters, digits, "-" and "_" (at most 64)';
  if (claim === 'roles') return 'the roles claim must be a list of role names';
  if (claim === 'sub') return 'the sub claim must be a non-empty string';
  return `the ${claim} claim must be seconds since the epoch`;
}

export interface ValidClaims {
  sub: string;
  projectId: string;
  /** the role names exactly as the token carries them */
  roleNames: string[];
}

/**
 * A role name: letters, digits, `_`, `-`, `.`, `:` (Keystone's names, e.g. "load-balancer_member").
 * Whitespace is refused, not trimmed, so " admin " is an error rather than admin; and since API
 * Gateway renders an array claim by joining with single spaces ("[member reader]"), a name with a
 * space inside would otherwise come out as two roles.
 */
const ROLE_NAME = /^[A-Za-z0-9_.:-]{1,255}$/;

/** Role names of a roles claim, exactly as written (no trimming, no case folding); a malformed one is a 401. */
function roleNamesOf(claim: unknown): string[] {
  if (claim === undefined) return [];
  let names: unknown[];
  if (Array.isArray(claim)) {
    names = claim;
  } else {
    const text = claim as string;
    let parsed: unknown;
    if (text.startsWith('[')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (Array.isArray(parsed)) names = parsed;
    // API Gateway's rendering of an array claim: "[member reader]"; an empty list is "[]"
    else if (text.startsWith('[') && text.endsWith(']')) names = text === '[]' ? [] : text.slice(1, -1).split(' ');
    // the Cognito trigger's "member,reader", or a space separated list
    else names = text === '' ? [] : text.split(text.includes(',') ? ',' : ' ');
  }
  for (const name of names) {
    if (typeof name !== 'string' || !ROLE_NAME.test(name)) {
      throw unauthorized(`Invalid token: role name ${JSON.stringify(String(name)).slice(0, 60)} is not a role name (letters, digits, "_", "-", ".", ":"; no spaces).`);
    }
  }
  return names as string[];
}

/** Validates the claims; throws a 401 naming the claim that is wrong. `nowSeconds` is injectable for tests. */
export function validateClaims(claims: Record<string, unknown> | undefined, nowSeconds = Math.floor(Date.now() / 1000)): ValidClaims {
  if (claims === undefined) {
    throw unauthorized('Authentication required: send a valid token (Authorization: Bearer <JWT> or X-Auth-Token) carrying sub and project_id.');
  }
  if (!validate(claims)) throw unauthorized(`Invalid token: ${describe(validate.errors![0]!)}.`);
  const seconds = (name: 'iat' | 'nbf' | 'exp') => (claims[name] === undefined ? undefined : Number(claims[name]));
  const iat = seconds('iat');
  if (iat !== undefined && iat > nowSeconds + CLOCK_SKEW_SECONDS) throw unauthorized('Invalid token: it was issued in the future (iat); check the issuer\'s clock.');
  const nbf = seconds('nbf');
  if (nbf !== undefined && nbf > nowSeconds + CLOCK_SKEW_SECONDS) throw unauthorized('Invalid token: it is not valid yet (nbf).');
  const exp = seconds('exp');
  if (exp !== undefined && exp < nowSeconds - CLOCK_SKEW_SECONDS) throw unauthorized('Invalid token: it has expired (exp).');
  if (iat !== undefined && exp !== undefined && exp < iat) throw unauthorized('Invalid token: it expires before it was issued (exp < iat).');
  return { sub: claims.sub as string, projectId: claims.project_id as string, roleNames: roleNamesOf(claims.roles) };
}
