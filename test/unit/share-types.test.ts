// Issue 20: the pure rules of share types an admin manages through the API
// (functions/domain/share-types.ts), each against the Manila source it follows.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../functions/domain/errors.ts';
import type { Caller } from '../../functions/domain/policy.ts';
import {
  DEFAULT_SHARE_TYPE_CONFIG, DEFAULT_SHARE_TYPE_ID, SERVICE_EXTRA_SPECS, allShareTypes, assertNotConfigured, assertSpecDeletable,
  assertTypeChangeAllowed, assertValidKeyNames, findCatalogType, parseAccessProject, parseBooleanSpec, parseNewShareType,
  parseShareTypeConfig, parseShareTypeUpdate, shareTypeAccessView, shareTypeView, typeVisibleTo, validateExtraSpecs,
  type ShareTypeSnapshot, type StoredShareType,
} from '../../functions/domain/share-types.ts';

const v = (minor: number) => ({ major: 2, minor });
const admin: Caller = { userId: 'a', projectId: 'admin', roles: new Set(['admin', 'member', 'reader']) };
const member: Caller = { userId: 'm', projectId: 'alpha', roles: new Set(['member', 'reader']) };
const PRIVATE_ID = '99999999-8888-4777-8666-555555555555';

/** The ApiError a rule throws: its code and message. */
function refusal(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('no refusal');
}

const stored = (over: Partial<StoredShareType> = {}): StoredShareType => ({
  id: PRIVATE_ID, name: 'private', description: null, is_public: false,
  extra_specs: { ...SERVICE_EXTRA_SPECS, 'capabilities:tier': 'gold' }, projects: ['beta'], created_at: '2026-01-01T00:00:00Z', ...over,
});
const snapshot: ShareTypeSnapshot = { config: DEFAULT_SHARE_TYPE_CONFIG, stored: [stored()] };

describe('share type configuration: allow_api_changes', () => {
  it('defaults to true, takes true or false, refuses anything else', () => {
    const types = [{ id: DEFAULT_SHARE_TYPE_ID, name: 'default' }];
    expect(parseShareTypeConfig({ types }).allow_api_changes).toBe(true);
    expect(parseShareTypeConfig({ types, allow_api_changes: false }).allow_api_changes).toBe(false);
    expect(parseShareTypeConfig({ types, allow_api_changes: true }).allow_api_changes).toBe(true);
    expect(() => parseShareTypeConfig({ types, allow_api_changes: 'no' })).toThrow(/allow_api_changes/);
    expect(DEFAULT_SHARE_TYPE_CONFIG.allow_api_changes).toBe(true);
  });

  it('assertTypeChangeAllowed: a member 403 (manila/policies/share_type.py: create/update/delete are admin), an admin 405 when the configuration forbids changes', () => {
    expect(refusal(() => assertTypeChangeAllowed(member, DEFAULT_SHARE_TYPE_CONFIG, 'share_type:create')).code).toBe(403);
    expect(() => assertTypeChangeAllowed(admin, DEFAULT_SHARE_TYPE_CONFIG, 'share_type:create')).not.toThrow();
    const off = refusal(() => assertTypeChangeAllowed(admin, { ...DEFAULT_SHARE_TYPE_CONFIG, allow_api_changes: false }, 'share_type:create'));
    expect(off).toMatchObject({ code: 405, message: expect.stringContaining('allow_api_changes') });
  });

  it('assertNotConfigured: a configured type is 403 naming SHARE_TYPES; a stored one passes', () => {
    const configured = DEFAULT_SHARE_TYPE_CONFIG.types[0]!;
    expect(refusal(() => assertNotConfigured(snapshot, configured))).toMatchObject({ code: 403, message: expect.stringContaining('SHARE_TYPES') });
    expect(() => assertNotConfigured(snapshot, stored())).not.toThrow();
  });
});

describe('extra specs (manila/api/v2/share_types_extra_specs.py _verify_extra_specs, manila/share/share_types.py)', () => {
  it('the required driver_handles_share_servers: missing, not a boolean, or true are 400 (get_valid_required_extra_specs)', () => {
    expect(refusal(() => validateExtraSpecs({}, true))).toEqual({ code: 400, message: "Required extra specs 'driver_handles_share_servers' not specified." });
    expect(refusal(() => validateExtraSpecs({ driver_handles_share_servers: 'maybe' }, true)).message).toBe('Value of required extra_spec driver_handles_share_servers is not valid');
    expect(refusal(() => validateExtraSpecs({ driver_handles_share_servers: true }, true)).message).toMatch(/no share servers/);
    expect(refusal(() => validateExtraSpecs({ driver_handles_share_servers: '<is> True' }, true)).message).toMatch(/no share servers/);
    expect(validateExtraSpecs({ driver_handles_share_servers: false }, true)).toEqual({ driver_handles_share_servers: 'False' });
    // without requireAll (the extra spec routes), it need not be there
    expect(validateExtraSpecs({ a: 'b' }, false)).toEqual({ a: 'b' });
  });

  it('a SERVICE_EXTRA_SPECS key with another value is 400 naming it; false in any spelling is stored as "False"', () => {
    expect(refusal(() => validateExtraSpecs({ snapshot_support: true }, false)).message).toMatch(/snapshot_support/);
    expect(refusal(() => validateExtraSpecs({ mount_snapshot_support: 'True' }, false)).message).toMatch(/mount_snapshot_support/);
    expect(refusal(() => validateExtraSpecs({ revert_to_snapshot_support: 'x' }, false)).code).toBe(400);
    expect(validateExtraSpecs({ snapshot_support: 'false', create_share_from_snapshot_support: false, mount_snapshot_support: '<is> False' }, false))
      .toEqual({ snapshot_support: 'False', create_share_from_snapshot_support: 'False', mount_snapshot_support: 'False' });
  });

  it('capabilities this service has not (replication, encryption, ...) cannot be claimed', () => {
    for (const key of ['replication_type', 'encryption_support', 'mount_point_name_support', 'provisioning:max_share_size']) {
      expect(refusal(() => validateExtraSpecs({ [key]: 'x' }, false))).toMatchObject({ code: 400, message: expect.stringContaining(key) });
    }
  });

  it('values are strings of 1–255 or booleans (stored "True"/"False", like str() of a bool); keys 1–255', () => {
    expect(validateExtraSpecs({ thin_provisioning: true, other: false }, false)).toEqual({ thin_provisioning: 'True', other: 'False' });
    expect(refusal(() => validateExtraSpecs({ a: '' }, false)).message).toBe('Invalid extra_spec: a: ');
    expect(refusal(() => validateExtraSpecs({ a: 'x'.repeat(256) }, false)).code).toBe(400);
    expect(refusal(() => validateExtraSpecs({ a: 3 }, false)).message).toBe('Invalid extra_spec: a: 3');
    expect(refusal(() => validateExtraSpecs({ a: { b: 'c' } }, false)).code).toBe(400);
    expect(refusal(() => validateExtraSpecs({ ['k'.repeat(256)]: 'v' }, false)).code).toBe(400);
    expect(refusal(() => validateExtraSpecs(['a'], false)).code).toBe(400);
  });

  it('key names: letters, digits, _ . : - (manila/api/common.py validate_key_names)', () => {
    expect(() => assertValidKeyNames(['capabilities:tier', 'a.b-c_d', 'é'])).not.toThrow();
    expect(refusal(() => assertValidKeyNames(['a b'])).message).toBe('Key names can only contain alphanumeric characters, underscores, periods, colons and hyphens.');
  });

  it('the required spec and the service facts cannot be deleted (share_types_extra_specs.py _delete: 403)', () => {
    expect(refusal(() => assertSpecDeletable('driver_handles_share_servers'))).toEqual({ code: 403, message: "Extra spec 'driver_handles_share_servers' can't be deleted." });
    expect(refusal(() => assertSpecDeletable('snapshot_support')).code).toBe(403);
    expect(() => assertSpecDeletable('capabilities:tier')).not.toThrow();
  });

  it('boolean spec values as Manila reads them (parse_boolean_extra_spec, strutils.bool_from_string)', () => {
    expect(['True', 'yes', '1', 'on', '<is> True', ' <is>true'].map(parseBooleanSpec)).toEqual([true, true, true, true, true, true]);
    expect(['False', 'no', '0', 'off', '<is> False', false].map(parseBooleanSpec)).toEqual([false, false, false, false, false, false]);
    expect(parseBooleanSpec('maybe')).toBeUndefined();
  });
});

describe('create and update bodies (manila/api/v2/share_types.py _create, update)', () => {
  const specs = { driver_handles_share_servers: 'False' };

  it('create: share_type or volume_type; is_public in either spelling; the service specs merged in', () => {
    const created = parseNewShareType({ share_type: { name: 'n', extra_specs: specs, 'os-share-type-access:is_public': false } }, v(91));
    expect(created).toEqual({ name: 'n', description: null, is_public: false, extra_specs: { ...SERVICE_EXTRA_SPECS } });
    expect(parseNewShareType({ volume_type: { name: 'n', extra_specs: specs } }, v(91)).is_public).toBe(true);
    expect(parseNewShareType({ share_type: { name: 'n', extra_specs: specs, 'share_type_access:is_public': 'false' } }, v(91)).is_public).toBe(false);
    expect(refusal(() => parseNewShareType({ share_type: { name: 'n', extra_specs: specs, 'share_type_access:is_public': 'x' } }, v(91))).code).toBe(400);
    expect(refusal(() => parseNewShareType({ share: {} }, v(91))).code).toBe(400);
    expect(refusal(() => parseNewShareType(undefined, v(91))).code).toBe(400);
  });

  it('create: below 2.24 snapshot_support is not defaulted to True as Manila does (set_defaults): it stays False, the truth', () => {
    expect(parseNewShareType({ share_type: { name: 'n', extra_specs: specs } }, v(23)).extra_specs.snapshot_support).toBe('False');
  });

  it('create: name 1–255 and description ≤ 255, else "Type name or description is not valid."; description only from 2.41', () => {
    const invalid = 'Type name or description is not valid.';
    expect(refusal(() => parseNewShareType({ share_type: { extra_specs: specs } }, v(91))).message).toBe(invalid);
    expect(refusal(() => parseNewShareType({ share_type: { name: '', extra_specs: specs } }, v(91))).message).toBe(invalid);
    expect(refusal(() => parseNewShareType({ share_type: { name: 'x'.repeat(256), extra_specs: specs } }, v(91))).message).toBe(invalid);
    expect(refusal(() => parseNewShareType({ share_type: { name: 'n', description: 'd'.repeat(256), extra_specs: specs } }, v(91))).message).toBe(invalid);
    expect(parseNewShareType({ share_type: { name: 'x'.repeat(255), description: 'd'.repeat(255), extra_specs: specs } }, v(91)).description).toHaveLength(255);
    expect(refusal(() => parseNewShareType({ share_type: { name: 'n', description: 'd', extra_specs: specs } }, v(40))).message).toMatch(/^'description' key is not supported by this microversion/);
    expect(refusal(() => parseNewShareType({ share_type: { name: 'n' } }, v(91))).message).toBe("Required extra specs 'driver_handles_share_servers' not specified.");
    // tempest's client sends extra_specs None when none are given (shares_client.py create_share_type)
    expect(refusal(() => parseNewShareType({ share_type: { name: 'n', extra_specs: null } }, v(91))).code).toBe(400);
  });

  it('update: Manila\'s messages; an empty description clears it (manila/share/share_types.py update)', () => {
    expect(parseShareTypeUpdate({ share_type: { name: 'n2' } })).toEqual({ name: 'n2' });
    expect(parseShareTypeUpdate({ share_type: { description: '' } })).toEqual({ description: null });
    expect(parseShareTypeUpdate({ volume_type: { 'share_type_access:is_public': 'true' } })).toEqual({ is_public: true });
    expect(refusal(() => parseShareTypeUpdate({ share_type: {} })).message).toBe('Specify share type name, description, share_type_access:is_public or a combination thereof.');
    expect(refusal(() => parseShareTypeUpdate({ share_type: { name: '  ' } })).message).toBe('Share type name cannot be empty.');
    expect(refusal(() => parseShareTypeUpdate({ share_type: { name: 'x'.repeat(256) } })).message).toBe('Share type name cannot be greater than 255 characters in length.');
    expect(refusal(() => parseShareTypeUpdate({ share_type: { description: 'x'.repeat(256) } })).message).toBe('Share type description cannot be greater than 255 characters in length.');
    expect(refusal(() => parseShareTypeUpdate({ share_type: { 'share_type_access:is_public': 'sure' } })).message).toBe('share_type_access:is_public has a non-boolean value.');
  });

  it('access actions take a project id valid under the claims schema (Manila asks a UUID: a deliberate difference)', () => {
    expect(parseAccessProject({ project: 'beta' }, 'addProjectAccess')).toBe('beta');
    expect(parseAccessProject({ project: '6a1d8a7c-0f8e-4a43-9d0a-1c2b3c4d5e6f' }, 'addProjectAccess')).toBe('6a1d8a7c-0f8e-4a43-9d0a-1c2b3c4d5e6f');
    expect(refusal(() => parseAccessProject({ project: 'no/slash' }, 'addProjectAccess')).message).toMatch(/^Bad project format/);
    expect(refusal(() => parseAccessProject({}, 'addProjectAccess')).code).toBe(400);
    expect(refusal(() => parseAccessProject('beta', 'addProjectAccess')).code).toBe(400);
  });
});

describe('visibility and views (manila/db/sqlalchemy/api.py _share_type_get_query, manila/api/views/types.py)', () => {
  it('a member sees public types and private ones its project has access to; an admin every type', () => {
    expect(typeVisibleTo(member, stored())).toBe(false);
    expect(typeVisibleTo({ ...member, projectId: 'beta' }, stored())).toBe(true);
    expect(typeVisibleTo(admin, stored())).toBe(true);
    expect(typeVisibleTo(member, stored({ is_public: true }))).toBe(true);
  });

  it('the catalog finds configured and stored types by id or name, and lists them by name', () => {
    expect(findCatalogType(snapshot, 'private')?.id).toBe(PRIVATE_ID);
    expect(findCatalogType(snapshot, PRIVATE_ID.toUpperCase())?.name).toBe('private');
    expect(findCatalogType(snapshot, DEFAULT_SHARE_TYPE_ID)?.name).toBe('default');
    expect(allShareTypes({ ...snapshot, stored: [stored({ name: 'aaa' }), stored({ id: 'x', name: 'zzz' })] }).map((t) => t.name)).toEqual(['aaa', 'default', 'zzz']);
  });

  it('a non-admin view: tenant-visible specs only, required filtered alike, inferred optional specs from 2.24 (ViewBuilder.show, add_inferred_optional_extra_specs)', () => {
    const bare: StoredShareType = stored({ extra_specs: { driver_handles_share_servers: 'False', 'capabilities:tier': 'gold' } });
    const old = shareTypeView(bare, v(23), false, false);
    expect(old.extra_specs).toEqual({ driver_handles_share_servers: 'False' });
    const now = shareTypeView(bare, v(91), false, false);
    expect(now.extra_specs).toEqual({
      driver_handles_share_servers: 'False', snapshot_support: false, create_share_from_snapshot_support: false,
      revert_to_snapshot_support: false, mount_snapshot_support: false,
    });
    expect(now.required_extra_specs).toEqual({ driver_handles_share_servers: 'False' });
    // an admin sees exactly what is set
    expect(shareTypeView(bare, v(91), false, true).extra_specs).toEqual(bare.extra_specs);
    expect(shareTypeView(bare, v(91), true, true)).toMatchObject({ is_default: true, description: null, 'share_type_access:is_public': false });
  });

  it('the access list view (ViewBuilder.share_type_access)', () => {
    expect(shareTypeAccessView(stored())).toEqual({ share_type_access: [{ share_type_id: PRIVATE_ID, project_id: 'beta' }] });
  });
});
