// Who may do what (api.md "Policy"). Pure: the caller's identity comes from the JWT claims that
// API Gateway's authorizer verified; this module only interprets them.
import { validateClaims } from './claims.ts';
import { forbidden } from './errors.ts';

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
 * The roles a caller has: the names this service knows, matched exactly. "Admin" or " admin " is not
 * admin: a role name that differs from Keystone's is a different role, and guessing would let a
 * mistyped or hostile role grant more than was meant. Other names (Keystone tokens carry many) are ignored.
 */
export function rolesFromNames(names: readonly string[]): Set<Role> {
  return new Set(names.filter((name): name is Role => (KNOWN_ROLES as readonly string[]).includes(name)));
}

/** The roles of a roles claim in any of the shapes functions/domain/claims.ts accepts; none when it is malformed. */
export function parseRoles(claim: unknown): Set<Role> {
  try {
    return rolesFromNames(validateClaims({ sub: 'u', project_id: 'p', roles: claim }).roleNames);
  } catch {
    return new Set();
  }
}

/** The caller from JWT claims; throws 401 when the claims are missing, malformed or not yet (or no longer) valid. */
export function callerFromClaims(claims: Record<string, unknown> | undefined, nowSeconds?: number): Caller {
  const valid = validateClaims(claims, nowSeconds);
  return { userId: valid.sub, projectId: valid.projectId, roles: rolesFromNames(valid.roleNames) };
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
