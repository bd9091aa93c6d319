// Share types are configuration, not data (api.md "Share types"), like backup drivers: read once at
// start from SHARE_TYPES (JSON) or SHARE_TYPES_FILE (path to JSON). Without either there is one type,
// `default`. A Manila client needs a default type to create a share without --share-type
// (manilaclient/osc/v2/share.py CreateShare.take_action asks GET /types/default).
//
// Since issue 20 an admin may also create, change and delete types through the API (Manila's
// /types routes); those are stored in the shareTypes table, the configured ones stay read-only, and
// `allow_api_changes: false` in the configuration turns the API's changes off.
import { readFileSync } from 'node:fs';
import { PROJECT_ID_PATTERN } from './claims.ts';
import { ApiError, badRequest, forbidden } from './errors.ts';
import { isUuid } from './ids.ts';
import { atLeast, type Microversion } from './microversion.ts';
import { isAdmin, type Caller } from './policy.ts';

/**
 * What every type of this service can truthfully claim: shares have no share servers and the
 * service takes no snapshots, so none of the snapshot capabilities hold. These are Manila's extra
 * spec names and string values ("True"/"False"), as a Manila admin would set them.
 */
export const SERVICE_EXTRA_SPECS: Readonly<Record<string, string>> = {
  driver_handles_share_servers: 'False',
  snapshot_support: 'False',
  create_share_from_snapshot_support: 'False',
  revert_to_snapshot_support: 'False',
  mount_snapshot_support: 'False',
};

/** Manila's required extra specs: only driver_handles_share_servers (manila/common/constants.py ExtraSpecs.REQUIRED). */
export const REQUIRED_EXTRA_SPEC_KEYS = ['driver_handles_share_servers'];

export interface ShareType {
  id: string;
  name: string;
  description: string | null;
  is_public: boolean;
  /** the configured specs merged over SERVICE_EXTRA_SPECS; a capability the service lacks cannot be claimed */
  extra_specs: Record<string, string>;
}

export interface ShareTypeConfig {
  default_type: string;
  types: ShareType[];
  /** may an admin create, change and delete types through the API (default true); the configured ones stay read-only either way */
  allow_api_changes: boolean;
}

/** A fixed id, so the default type is the same on every container and every restart. */
export const DEFAULT_SHARE_TYPE_ID = '5b9c8d7e-0a1f-4c3b-9e2d-6f1a2b3c4d5e';

export const DEFAULT_SHARE_TYPE_CONFIG: ShareTypeConfig = {
  default_type: 'default',
  allow_api_changes: true,
  types: [{ id: DEFAULT_SHARE_TYPE_ID, name: 'default', description: 'Shares of this service (NFS, no share servers, no snapshots).', is_public: true, extra_specs: { ...SERVICE_EXTRA_SPECS } }],
};

/** Validates a share type configuration document; throws with a message naming the bad field. */
export function parseShareTypeConfig(doc: unknown): ShareTypeConfig {
  const fail = (why: string): never => { throw new Error(`share type configuration: ${why}`); };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('must be a JSON object');
  const { default_type, types, allow_api_changes } = doc as Record<string, unknown>;
  if (allow_api_changes !== undefined && typeof allow_api_changes !== 'boolean') fail('"allow_api_changes" must be true or false');
  if (!Array.isArray(types) || types.length === 0) fail('"types" must be a non-empty array');
  const parsed = (types as unknown[]).map((t, i): ShareType => {
    const r = (typeof t === 'object' && t !== null && !Array.isArray(t) ? t : fail(`types[${i}] must be an object`)) as Record<string, unknown>;
    if (typeof r.id !== 'string' || !isUuid(r.id)) fail(`types[${i}].id must be a UUID`);
    if (typeof r.name !== 'string' || r.name === '' || r.name.length > 255) fail(`types[${i}].name must be a non-empty string of at most 255 characters`);
    if (r.description !== undefined && r.description !== null && typeof r.description !== 'string') fail(`types[${i}].description must be a string`);
    const specs = r.extra_specs ?? {};
    if (typeof specs !== 'object' || specs === null || Array.isArray(specs)) fail(`types[${i}].extra_specs must be an object`);
    for (const [key, value] of Object.entries(specs as Record<string, unknown>)) {
      if (typeof value !== 'string') fail(`types[${i}].extra_specs.${key} must be a string`);
      const text = value as string;
      // the service's own capabilities are facts, not settings: claiming one it lacks would mislead clients
      if (key in SERVICE_EXTRA_SPECS && text.toLowerCase() !== SERVICE_EXTRA_SPECS[key]!.toLowerCase()) {
        fail(`types[${i}].extra_specs.${key} must be "${SERVICE_EXTRA_SPECS[key]}" (this service does not support it otherwise)`);
      }
    }
    return {
      id: (r.id as string).toLowerCase(),
      name: r.name as string,
      description: (r.description as string | null | undefined) ?? null,
      is_public: r.is_public !== false,
      extra_specs: { ...(specs as Record<string, string>), ...SERVICE_EXTRA_SPECS },
    };
  });
  const ids = new Set(parsed.map((t) => t.id));
  const names = new Set(parsed.map((t) => t.name));
  if (ids.size !== parsed.length) fail('type ids must be unique');
  if (names.size !== parsed.length) fail('type names must be unique');
  const def = typeof default_type === 'string' ? default_type : parsed[0]!.name;
  if (!names.has(def)) fail(`default_type "${def}" is not among the types`);
  return { default_type: def, types: parsed, allow_api_changes: allow_api_changes !== false };
}

/** Reads the share type configuration from the environment (see docs/admin-guide.md). */
export function loadShareTypeConfig(env: NodeJS.ProcessEnv = process.env): ShareTypeConfig {
  if (env.SHARE_TYPES) return parseShareTypeConfig(JSON.parse(env.SHARE_TYPES));
  if (env.SHARE_TYPES_FILE) return parseShareTypeConfig(JSON.parse(readFileSync(env.SHARE_TYPES_FILE, 'utf8')));
  return DEFAULT_SHARE_TYPE_CONFIG;
}

export function defaultShareType(config: ShareTypeConfig): ShareType {
  return config.types.find((t) => t.name === config.default_type)!;
}

/** By id (a UUID) or by name, as Manila's share create resolves `share_type` (manila/api/v2/shares.py _create). */
export function findShareType(config: ShareTypeConfig, idOrName: string): ShareType | undefined {
  return isUuid(idOrName)
    ? config.types.find((t) => t.id === idOrName.toLowerCase())
    : config.types.find((t) => t.name === idOrName);
}

export function requiredExtraSpecs(type: ShareType): Record<string, string> {
  return Object.fromEntries(Object.entries(type.extra_specs).filter(([key]) => REQUIRED_EXTRA_SPEC_KEYS.includes(key)));
}

// ---------------------------------------------------------------------------------------------
// Share types an admin manages through the API (issue 20). The configured types above stay
// read-only; types created through the API are stored (functions/adapters/share-type-catalog.ts)
// and carry the same SERVICE_EXTRA_SPECS. Pure rules: validation, visibility, the view.
// ---------------------------------------------------------------------------------------------

/** A type created through the API: a ShareType plus the projects a private type is shared with. */
export interface StoredShareType extends ShareType {
  /** projects given access (manila/db/sqlalchemy/api.py share_type_access_add); meaningful for private types */
  projects: string[];
  created_at: string;
  /**
   * set while an admin's delete checks that no share has the type (functions/api/share-types.ts
   * deleteShareType); a share create that finds it set after writing its share backs out
   */
  deleting_since?: string;
}

/** What one request sees of the catalog: the configured types and the stored ones. */
export interface ShareTypeSnapshot {
  config: ShareTypeConfig;
  stored: StoredShareType[];
}

export type CatalogType = ShareType & { projects?: string[] };

/** Every type, sorted by name as Manila's share_type_get_all orders them (manila/db/sqlalchemy/api.py). */
export function allShareTypes(snapshot: ShareTypeSnapshot): CatalogType[] {
  return [...snapshot.config.types, ...snapshot.stored].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function isConfiguredType(snapshot: ShareTypeSnapshot, type: ShareType): boolean {
  return snapshot.config.types.some((t) => t.id === type.id);
}

/** By id or name among configured and stored types (manila/api/v2/shares.py ShareMixin._create resolves both). */
export function findCatalogType(snapshot: ShareTypeSnapshot, idOrName: string): CatalogType | undefined {
  return findShareType(snapshot.config, idOrName)
    ?? (isUuid(idOrName)
      ? snapshot.stored.find((t) => t.id === idOrName.toLowerCase())
      : snapshot.stored.find((t) => t.name === idOrName));
}

/**
 * Who sees a type: an admin every type; anyone else the public types and the private ones their
 * project was given access to (manila/db/sqlalchemy/api.py _share_type_get_query: is_public or
 * projects.any(project_id=context.project_id)).
 */
export function typeVisibleTo(caller: Caller, type: CatalogType): boolean {
  return isAdmin(caller) || type.is_public || (type.projects ?? []).includes(caller.projectId);
}

/**
 * The extra specs a non-admin may see (manila/common/constants.py ExtraSpecs.TENANT_VISIBLE =
 * REQUIRED + OPTIONAL), and the defaults Manila infers for a non-admin from 2.24
 * (ExtraSpecs.INFERRED_OPTIONAL_MAP; snapshot_inherit_share_access_support only from 2.99, beyond
 * the versions served here: ViewBuilder._deferred_inferred_extra_specs).
 */
export const TENANT_VISIBLE_EXTRA_SPECS: readonly string[] = [
  'driver_handles_share_servers',
  'snapshot_support', 'create_share_from_snapshot_support', 'revert_to_snapshot_support', 'replication_type',
  'mount_snapshot_support', 'mount_point_name_support', 'snapshot_inherit_share_access_support', 'availability_zones',
  'encryption_support', 'provisioning:max_share_size', 'provisioning:min_share_size', 'provisioning:max_share_extend_size',
  'provisioning:mount_point_prefix', 'default_qos_type',
];
const INFERRED_OPTIONAL_2_24: Readonly<Record<string, boolean>> = {
  snapshot_support: false, create_share_from_snapshot_support: false, revert_to_snapshot_support: false, mount_snapshot_support: false,
};

/** The extra specs a caller sees: all for an admin, the tenant-visible ones otherwise (manila/api/views/types.py ViewBuilder.show). */
export function visibleExtraSpecs(specs: Record<string, string>, admin: boolean): Record<string, string> {
  return admin ? { ...specs } : Object.fromEntries(Object.entries(specs).filter(([key]) => TENANT_VISIBLE_EXTRA_SPECS.includes(key)));
}

const since = (version: Microversion, minor: number) => atLeast(version, { major: 2, minor });

/**
 * Manila's share type view (manila/api/views/types.py ViewBuilder.show and its versioned
 * modifiers): a non-admin sees only tenant-visible extra specs (required ones filtered the same
 * way) and, from 2.24, the inferred defaults of optional specs the type does not set.
 */
export function shareTypeView(type: ShareType, version: Microversion, isDefault: boolean, admin: boolean) {
  const extraSpecs: Record<string, string | boolean> = visibleExtraSpecs(type.extra_specs, admin);
  if (!admin && since(version, 24)) {
    for (const [key, value] of Object.entries(INFERRED_OPTIONAL_2_24)) if (!(key in extraSpecs)) extraSpecs[key] = value;
  }
  return {
    id: type.id,
    name: type.name,
    extra_specs: extraSpecs,
    required_extra_specs: visibleExtraSpecs(requiredExtraSpecs(type), admin),
    // 2.0–2.6 spelled it like the old extension, 2.7+ like the core API
    ...(since(version, 7) ? { 'share_type_access:is_public': type.is_public } : { 'os-share-type-access:is_public': type.is_public }),
    ...(since(version, 41) ? { description: type.description } : {}),
    ...(since(version, 46) ? { is_default: isDefault } : {}),
  };
}

/** The access list view (manila/api/views/types.py ViewBuilder.share_type_access). */
export function shareTypeAccessView(type: CatalogType) {
  return { share_type_access: (type.projects ?? []).map((project) => ({ share_type_id: type.id, project_id: project })) };
}

/**
 * May this change be made to this type? A member is refused by policy (manila/policies/share_type.py:
 * create, update, delete and the access actions are admin-only; so are the extra spec writes,
 * manila/policies/share_types_extra_spec.py). With allow_api_changes false, every change is 405; a
 * configured type is 403 (it is the deployment's configuration).
 */
export function assertTypeChangeAllowed(caller: Caller, config: ShareTypeConfig, what: string): void {
  if (!isAdmin(caller)) throw forbidden(`Policy doesn't allow ${what} to be performed: only an admin may change share types.`);
  if (!config.allow_api_changes) {
    const error = new ApiError(405, 'Share types are configuration only in this deployment (allow_api_changes is false in SHARE_TYPES): change them there and redeploy.');
    error.headers.Allow = 'GET';
    throw error;
  }
}

export function assertNotConfigured(snapshot: ShareTypeSnapshot, type: ShareType): void {
  if (isConfiguredType(snapshot, type)) {
    throw forbidden(`Share type ${type.name} is defined by the deployment's configuration (SHARE_TYPES) and cannot be changed through the API; change it there.`);
  }
}

// oslo_utils.strutils.bool_from_string's words (strict), and Manila's "<is> True" form
// (manila/share/share_types.py parse_boolean_extra_spec)
const TRUE_SPEC_WORDS = ['1', 't', 'true', 'on', 'y', 'yes'];
const FALSE_SPEC_WORDS = ['0', 'f', 'false', 'off', 'n', 'no'];

/** A boolean extra spec value, or undefined when it is not one. */
export function parseBooleanSpec(value: string | boolean): boolean | undefined {
  if (typeof value === 'boolean') return value;
  const match = /^<is>\s*(True|False)$/i.exec(value.trim());
  const word = (match ? match[1]! : value).trim().toLowerCase();
  if (TRUE_SPEC_WORDS.includes(word)) return true;
  if (FALSE_SPEC_WORDS.includes(word)) return false;
  return undefined;
}

/**
 * Optional specs Manila standardizes that name a capability this service has not (replication,
 * encryption, mount point names, snapshot access inheritance, QoS, size limits it does not enforce):
 * a type claiming one would mislead clients, so setting it is refused, as a SERVICE_EXTRA_SPECS
 * value other than the service's is.
 */
const UNSUPPORTED_SPECS: Readonly<Record<string, string>> = {
  replication_type: 'shares here have no replicas',
  encryption_support: 'shares here are not encrypted by the service',
  mount_point_name_support: 'shares here have no custom mount point names',
  'provisioning:mount_point_prefix': 'shares here have no custom mount point names',
  snapshot_inherit_share_access_support: 'this service takes no snapshots',
  default_qos_type: 'this service has no QoS types',
  'provisioning:max_share_size': 'this service does not enforce share size limits by type',
  'provisioning:min_share_size': 'this service does not enforce share size limits by type',
  'provisioning:max_share_extend_size': 'this service does not enforce share size limits by type',
};

/** Manila's key name rule (manila/api/common.py VALID_KEY_NAME_REGEX, validate_key_names). */
const KEY_NAME = /^[\p{L}\p{N}_.:-]+$/u;

export function assertValidKeyNames(keys: readonly string[]): void {
  if (!keys.every((key) => KEY_NAME.test(key))) {
    throw badRequest('Key names can only contain alphanumeric characters, underscores, periods, colons and hyphens.');
  }
}

const isSpecString = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= 255;
const show = (v: unknown) => (typeof v === 'string' ? v.slice(0, 100) : JSON.stringify(v)?.slice(0, 100) ?? String(v));

/**
 * Validates extra specs to set on a stored type and returns them as stored: strings of 1–255 or
 * booleans (kept as "True"/"False", Manila's str() of a bool), each key 1–255 characters
 * (manila/api/v2/share_types_extra_specs.py _verify_extra_specs). With requireAll, the required
 * driver_handles_share_servers must be present and a boolean (manila/share/share_types.py
 * get_valid_required_extra_specs). Whatever is set must be true of this service.
 */
export function validateExtraSpecs(specs: unknown, requireAll: boolean): Record<string, string> {
  if (!isPlainRecord(specs)) throw badRequest('Invalid input: extra_specs must be an object of key: value.');
  if (requireAll && !('driver_handles_share_servers' in specs)) {
    throw badRequest("Required extra specs 'driver_handles_share_servers' not specified.");
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(specs)) {
    if (!isSpecString(key) || !(isSpecString(value) || typeof value === 'boolean')) {
      throw badRequest(`Invalid extra_spec: ${show(key)}: ${show(value)}`);
    }
    const text = typeof value === 'boolean' ? (value ? 'True' : 'False') : value;
    if (key === 'driver_handles_share_servers') {
      const dhss = parseBooleanSpec(value);
      if (dhss === undefined) throw badRequest('Value of required extra_spec driver_handles_share_servers is not valid');
      if (dhss) throw badRequest('driver_handles_share_servers True is not supported: this service has no share servers (driver_handles_share_servers must be False).');
    } else if (key in SERVICE_EXTRA_SPECS) {
      if (parseBooleanSpec(value) !== false) {
        throw badRequest(`Extra spec ${key} must be "${SERVICE_EXTRA_SPECS[key]}": this service does not support it otherwise.`);
      }
    } else if (key in UNSUPPORTED_SPECS) {
      throw badRequest(`Extra spec ${key} cannot be set: ${UNSUPPORTED_SPECS[key]}.`);
    }
    // the service's own facts are stored as it states them ("False"), whichever spelling set them
    out[key] = key in SERVICE_EXTRA_SPECS ? SERVICE_EXTRA_SPECS[key]! : text;
  }
  return out;
}

/** The specs a stored type carries: the given ones with the service's own facts over them, as configured types have. */
export function withServiceSpecs(specs: Record<string, string>): Record<string, string> {
  return { ...specs, ...SERVICE_EXTRA_SPECS };
}

/** Specs that cannot be deleted: the required one (manila/api/v2/share_types_extra_specs.py _delete) and the service's own facts. */
export function assertSpecDeletable(key: string): void {
  if (REQUIRED_EXTRA_SPEC_KEYS.includes(key) || key in SERVICE_EXTRA_SPECS) {
    throw forbidden(`Extra spec '${key.slice(0, 100)}' can't be deleted.`);
  }
}

export interface NewShareType {
  name: string;
  description: string | null;
  is_public: boolean;
  extra_specs: Record<string, string>;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The type of a create or update body: `share_type` or its old alias `volume_type` (is_valid_body on either). */
export function typeBodyOf(body: unknown): Record<string, unknown> {
  const valid = (key: string) => isPlainRecord(body) && isPlainRecord(body[key]);
  if (valid('share_type')) return (body as Record<string, Record<string, unknown>>).share_type!;
  if (valid('volume_type')) return (body as Record<string, Record<string, unknown>>).volume_type!;
  throw badRequest('The request body must be {"share_type": {...}} (or {"volume_type": {...}}).');
}

/**
 * A create body (manila/api/v2/share_types.py ShareTypesController._create): name 1–255,
 * description only from 2.41 and at most 255, `os-share-type-access:is_public` or
 * `share_type_access:is_public` (default true), the required extra specs present and true of this
 * service. Below 2.24 Manila adds snapshot_support True when absent (set_defaults); here it is
 * False, the truth, as on every type of this service.
 */
export function parseNewShareType(body: unknown, version: Microversion): NewShareType {
  const type = typeBodyOf(body);
  const { name, description } = type;
  if (description !== undefined && description !== null && description !== '' && !since(version, 41)) {
    throw badRequest("'description' key is not supported by this microversion. Use 2.41 or greater microversion to be able to use 'description' in share type.");
  }
  if (typeof name !== 'string' || name === '' || name.length > 255
    || (description !== undefined && description !== null && (typeof description !== 'string' || description.length > 255))) {
    throw badRequest('Type name or description is not valid.');
  }
  const isPublic = type['os-share-type-access:is_public'] ?? type['share_type_access:is_public'] ?? true;
  const publicFlag = typeof isPublic === 'boolean' ? isPublic : typeof isPublic === 'string' ? parseBooleanSpec(isPublic) : undefined;
  if (publicFlag === undefined) throw badRequest('share_type_access:is_public has a non-boolean value.');
  const specs = validateExtraSpecs(type.extra_specs ?? {}, true);
  return { name, description: typeof description === 'string' && description !== '' ? description : null, is_public: publicFlag, extra_specs: withServiceSpecs(specs) };
}

export interface ShareTypeUpdate {
  name?: string;
  /** null clears it (Manila: an empty description becomes None) */
  description?: string | null;
  is_public?: boolean;
}

/** An update body (manila/api/v2/share_types.py ShareTypesController.update, 2.50+), with Manila's messages. */
export function parseShareTypeUpdate(body: unknown): ShareTypeUpdate {
  const type = typeBodyOf(body);
  const { name, description } = type;
  const rawPublic = type['share_type_access:is_public'];
  let isPublic: boolean | undefined;
  if (rawPublic !== undefined && rawPublic !== null) {
    isPublic = typeof rawPublic === 'boolean' ? rawPublic : typeof rawPublic === 'string' ? parseBooleanSpec(rawPublic) : undefined;
    if (isPublic === undefined) throw badRequest('share_type_access:is_public has a non-boolean value.');
  }
  if (name !== undefined && name !== null) {
    if (typeof name !== 'string' || name.trim().length === 0) throw badRequest('Share type name cannot be empty.');
    if (name.length > 255) throw badRequest('Share type name cannot be greater than 255 characters in length.');
  }
  if (description !== undefined && description !== null) {
    if (typeof description !== 'string') throw badRequest('Share type description must be a string.');
    if (description.length > 255) throw badRequest('Share type description cannot be greater than 255 characters in length.');
  }
  if ((name === undefined || name === null) && (description === undefined || description === null) && isPublic === undefined) {
    throw badRequest('Specify share type name, description, share_type_access:is_public or a combination thereof.');
  }
  return {
    // manila/share/share_types.py update: an empty name changes nothing, an empty description clears it
    ...(typeof name === 'string' && name !== '' ? { name } : {}),
    ...(typeof description === 'string' ? { description: description === '' ? null : description } : {}),
    ...(isPublic !== undefined ? { is_public: isPublic } : {}),
  };
}

/**
 * An access action's project (manila/api/v2/share_types.py _check_body). Manila requires a UUID;
 * project ids here are those of the token claims (functions/domain/claims.ts PROJECT_ID_PATTERN).
 */
export function parseAccessProject(value: unknown, action: string): string {
  if (!isPlainRecord(value)) throw badRequest(`Invalid input: ${action} must be {"project": "<project id>"}.`);
  const project = value.project;
  if (typeof project !== 'string' || !new RegExp(PROJECT_ID_PATTERN).test(project)) {
    throw badRequest(`Bad project format: project is not in proper format (${show(project)})`);
  }
  return project;
}
