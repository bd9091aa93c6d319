// Share types are configuration, not data (api.md "Share types"), like backup drivers: read once at
// start from SHARE_TYPES (JSON) or SHARE_TYPES_FILE (path to JSON). Without either there is one type,
// `default`. A Manila client needs a default type to create a share without --share-type
// (manilaclient/osc/v2/share.py CreateShare.take_action asks GET /types/default).
import { readFileSync } from 'node:fs';
import { isUuid } from './ids.ts';

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

/** Manila's required extra specs: only driver_handles_share_servers (manila/share/share_types.py). */
const REQUIRED_EXTRA_SPEC_KEYS = ['driver_handles_share_servers'];

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
}

/** A fixed id, so the default type is the same on every container and every restart. */
export const DEFAULT_SHARE_TYPE_ID = '5b9c8d7e-0a1f-4c3b-9e2d-6f1a2b3c4d5e';

export const DEFAULT_SHARE_TYPE_CONFIG: ShareTypeConfig = {
  default_type: 'default',
  types: [{ id: DEFAULT_SHARE_TYPE_ID, name: 'default', description: 'Shares of this service (NFS, no share servers, no snapshots).', is_public: true, extra_specs: { ...SERVICE_EXTRA_SPECS } }],
};

/** Validates a share type configuration document; throws with a message naming the bad field. */
export function parseShareTypeConfig(doc: unknown): ShareTypeConfig {
  const fail = (why: string): never => { throw new Error(`share type configuration: ${why}`); };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('must be a JSON object');
  const { default_type, types } = doc as Record<string, unknown>;
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
  return { default_type: def, types: parsed };
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
