// Who may do what (api.md "Policy"). Pure: the caller's identity comes from the JWT claims that
// API Gateway's authorizer verified; this module only interprets them.
import { forbidden, unauthorized } from './errors.ts';

export type Role = 'reader' | 'member' | 'admin';

export interface Caller {
  userId: string;
  projectId: string;
  roles: ReadonlySet<Role>;
}

export type Action =
  | 'list' | 'show'
  | 'create' | 'update' | 'delete' | 'restore' | 'extend' | 'shrink'
  | 'reset_status' | 'all_tenants';

const READER_ACTIONS: ReadonlySet<Action> = new Set(['list', 'show']);
const MEMBER_ACTIONS: ReadonlySet<Action> = new Set([...READER_ACTIONS, 'create', 'update', 'delete', 'restore', 'extend', 'shrink']);

const KNOWN_ROLES: readonly Role[] = ['reader', 'member', 'admin'];

/**
 * Reads a roles claim in every shape it arrives in: a real array, API Gateway's rendering of an
 * array claim ("[member reader]"), a JSON array string, or a comma/space separated string.
 */
export function parseRoles(claim: unknown): Set<Role> {
  let names: unknown[] = [];
  if (Array.isArray(claim)) {
    names = claim;
  } else if (typeof claim === 'string') {
    const text = claim.trim();
    let parsed: unknown;
    if (text.startsWith('[')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    names = Array.isArray(parsed) ? parsed : text.replace(/^\[|\]$/g, '').split(/[\s,]+/);
  }
  const roles = new Set<Role>();
  for (const name of names) {
    if (typeof name !== 'string') continue;
    const role = name.trim().replace(/^["']|["']$/g, '').toLowerCase();
    if ((KNOWN_ROLES as readonly string[]).includes(role)) roles.add(role as Role);
  }
  return roles;
}

/** The caller from JWT claims; throws 401 when the claims do not name a user and a project. */
export function callerFromClaims(claims: Record<string, unknown> | undefined): Caller {
  const sub = claims?.sub;
  const projectId = claims?.project_id;
  if (typeof sub !== 'string' || sub === '' || typeof projectId !== 'string' || projectId === '') {
    throw unauthorized('Authentication required: send a valid token (Authorization: Bearer <JWT> or X-Auth-Token) carrying sub and project_id.');
  }
  return { userId: sub, projectId, roles: parseRoles(claims?.roles) };
}

export function isAdmin(caller: Caller): boolean {
  return caller.roles.has('admin');
}

/** Roles imply one another as in Keystone's default role hierarchy: admin ⊃ member ⊃ reader. */
export function may(caller: Caller, action: Action): boolean {
  if (caller.roles.has('admin')) return true;
  if (caller.roles.has('member')) return MEMBER_ACTIONS.has(action);
  if (caller.roles.has('reader')) return READER_ACTIONS.has(action);
  return false;
}

export function assertMay(caller: Caller, action: Action, what: string): void {
  if (!may(caller, action)) {
    throw forbidden(`Policy doesn't allow ${what} to be performed (roles: ${[...caller.roles].join(', ') || 'none'}).`);
  }
}

/** A resource of another project is "known but the tenant has no permission": 403 for non-admins. */
export function ownsOrAdmin(caller: Caller, resource: { project_id: string }): boolean {
  return isAdmin(caller) || resource.project_id === caller.projectId;
}

export function assertOwns(caller: Caller, resource: { project_id: string; id: string }, kind: string): void {
  if (!ownsOrAdmin(caller, resource)) {
    throw forbidden(`${kind} ${resource.id} belongs to another project.`);
  }
}

/** /v2/{project_id}/...: a non-admin may only name their own project. */
export function assertPathProject(caller: Caller, pathProjectId: string | undefined): void {
  if (pathProjectId !== undefined && pathProjectId !== caller.projectId && !isAdmin(caller)) {
    throw forbidden(`Project ${pathProjectId} in the path is not the token's project.`);
  }
}
