// Pure domain rules: microversions, roles and policy, list queries, and api.md's check order.
import { describe, expect, it } from 'vitest';
import { parseDriverConfig } from '../../functions/domain/drivers.ts';
import { ApiError } from '../../functions/domain/errors.ts';
import { applyListQuery, parseListQuery } from '../../functions/domain/listing.ts';
import { atLeast, BACKUPS_MIN_VERSION, parseMicroversion } from '../../functions/domain/microversion.ts';
import { callerFromClaims, may, parseRoles, type Caller } from '../../functions/domain/policy.ts';
import type { BackupRecord, ShareRecord } from '../../functions/domain/records.ts';
import {
  backupSizeGiB, checkBackupCreate, checkRestore, checkShareDelete, checkShareFromBackup, checkShrink, checkTargetSize, explainClaimConflict, GIB,
} from '../../functions/domain/rules.ts';

const codeOf = (fn: () => unknown): number | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
};
const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '';
};

describe('microversion', () => {
  it('defaults to 2.91, accepts latest and the range, refuses the rest', () => {
    expect(parseMicroversion(undefined)).toEqual({ major: 2, minor: 91 });
    expect(parseMicroversion('latest')).toEqual({ major: 2, minor: 91 });
    expect(parseMicroversion(' 2.80 ')).toEqual({ major: 2, minor: 80 });
    expect(codeOf(() => parseMicroversion('2'))).toBe(400);
    expect(codeOf(() => parseMicroversion('2.x'))).toBe(400);
    expect(codeOf(() => parseMicroversion('2.92'))).toBe(406);
    expect(codeOf(() => parseMicroversion('1.9'))).toBe(406);
    expect(codeOf(() => parseMicroversion('3.0'))).toBe(406);
    expect(atLeast(parseMicroversion('2.9'), BACKUPS_MIN_VERSION)).toBe(false);
    expect(atLeast(parseMicroversion('2.80'), BACKUPS_MIN_VERSION)).toBe(true);
  });
});

describe('roles and policy', () => {
  it.each([
    ['[member reader]', ['member', 'reader']],
    [['admin'], ['admin']],
    ['["member","reader"]', ['member', 'reader']],
    ['member,reader', ['member', 'reader']],
    ['member reader', ['member', 'reader']],
    // names are exact (issue 20): another spelling is another role, and whitespace makes the claim malformed
    ['[Member]', []],
    ['Admin', []],
    [[' admin '], []],
    ['[ admin ]', []],
    ['member, reader', []],
    ['[superuser]', []],
    [42, []],
  ])('reads roles %j', (claim, roles) => {
    expect([...parseRoles(claim)].sort()).toEqual([...roles].sort());
  });

  it('reader lists and shows; member also writes; admin resets', () => {
    const caller = (roles: string): Caller => callerFromClaims({ sub: 'u', project_id: 'p', roles });
    expect(may(caller('[reader]'), 'show')).toBe(true);
    expect(may(caller('[reader]'), 'restore')).toBe(false);
    expect(may(caller('[member]'), 'list')).toBe(true);
    expect(may(caller('[member]'), 'restore')).toBe(true);
    expect(may(caller('[member]'), 'reset_status')).toBe(false);
    expect(may(caller('[admin]'), 'reset_status')).toBe(true);
    expect(may(caller('[]'), 'list')).toBe(false);
    expect(codeOf(() => callerFromClaims(undefined))).toBe(401);
    expect(codeOf(() => callerFromClaims({ sub: 'u' }))).toBe(401);
  });
});

describe('list queries', () => {
  const spec = { sortKeys: ['name', 'created_at', 'size'], filterKeys: ['status'] };
  const rows = [
    { id: 'a', name: 'x', created_at: '2024-01-01', size: 3, status: 'available' },
    { id: 'b', name: 'y', created_at: '2024-01-03', size: 1, status: 'error' },
    { id: 'c', name: 'z', created_at: '2024-01-02', size: 2, status: 'available' },
  ];

  it('defaults to newest first, filters, pages and says when a page is full', () => {
    expect(applyListQuery(rows, parseListQuery({}, spec)).items.map((r) => r.id)).toEqual(['b', 'c', 'a']);
    const filtered = applyListQuery(rows, parseListQuery({ status: 'available', sort_key: 'size', sort_dir: 'asc' }, spec));
    expect(filtered.items.map((r) => r.id)).toEqual(['c', 'a']);
    const page = applyListQuery(rows, parseListQuery({ limit: '2', offset: '1' }, spec));
    expect(page).toEqual({ items: [rows[2], rows[0]], nextOffset: 3, total: 3 });
    expect(applyListQuery(rows, parseListQuery({ limit: '5' }, spec)).nextOffset).toBeUndefined();
    expect(parseListQuery({ limit: '5000' }, spec).limit).toBe(1000);
  });

  it.each([{ limit: 'x' }, { offset: '-1' }, { sort_key: 'secret' }, { sort_dir: 'up' }, { all_tenants: 'maybe' }, { colour: 'red' }])('refuses %j', (q) => {
    expect(codeOf(() => parseListQuery(q, spec))).toBe(400);
  });
});

const drivers = parseDriverConfig({
  drivers: [
    { name: 'nfs', support_restore_to_target: true, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
    { name: 'legacy', support_restore_to_target: false, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
  ],
});
const member = callerFromClaims({ sub: 'u', project_id: 'alpha', roles: '[member reader]' });
const share = (over: Partial<ShareRecord> = {}): ShareRecord => ({
  id: 's1', project_id: 'alpha', user_id: 'u', name: null, description: null, status: 'available', size: 2, share_proto: 'NFS',
  availability_zone: 'nova', created_at: 't', updated_at: 't', source_backup_id: null, task_state: null, backend: 'local',
  export_path: '/x', access_point_id: 's1', ...over,
});
const backup = (over: Partial<BackupRecord> = {}): BackupRecord => ({
  id: 'b1', project_id: 'alpha', user_id: 'u', share_id: 's0', share_proto: 'NFS', status: 'available', name: null, description: null,
  size: 2, availability_zone: 'nova', created_at: 't', updated_at: 't', progress: '100', restore_progress: '0', backup_type: 'nfs',
  host: 'h', topic: 't', backend: 'local', access_point_id: 'b1', ...over,
});

describe('restore checks, in api.md order', () => {
  const check = (over: Partial<Parameters<typeof checkRestore>[0]>) => () =>
    checkRestore({ caller: member, backupId: 'b1', backup: backup(), targetId: 's1', target: share(), drivers, ...over });

  it('passes a good restore and reports the first failing check', () => {
    expect(check({})().name).toBe('nfs');
    expect(codeOf(check({ backup: undefined, target: undefined }))).toBe(404);
    expect(codeOf(check({ backup: backup({ project_id: 'beta', status: 'error' }) }))).toBe(403);
    expect(codeOf(check({ caller: callerFromClaims({ sub: 'u', project_id: 'alpha', roles: 'reader' }), backup: backup({ status: 'error' }) }))).toBe(403);
    expect(messageOf(check({ backup: backup({ status: 'creating' }), target: undefined }))).toBe('Backup b1 status must be available.');
    expect(codeOf(check({ target: undefined }))).toBe(404);
    expect(codeOf(check({ target: share({ project_id: 'beta', status: 'error' }) }))).toBe(403);
    expect(messageOf(check({ target: share({ status: 'error', size: 1 }) }))).toMatch(/available/);
    expect(messageOf(check({ target: share({ size: 1, share_proto: 'CIFS' }) }))).toBe('Share size 1 is too small to restore backup of size 2.');
    expect(messageOf(check({ target: share({ share_proto: 'CIFS' }), backup: backup({ backup_type: 'legacy' }) }))).toMatch(/CIFS/);
    expect(messageOf(check({ backup: backup({ backup_type: 'legacy' }) }))).toMatch(/support_restore_to_target/);
    expect(check({ backup: backup({ backup_type: 'legacy', share_id: 's1' }) })().name).toBe('legacy');
  });

  // check 4 of api.md "Restore": the target must hold what the backup holds, measured, whatever
  // the declared sizes say (a 1 GiB share can hold 2 GiB where its backend enforces no quota)
  it.each([
    // target GiB, backup declared GiB, backup measured bytes, refused with
    [1, 1, undefined, undefined],
    [1, 1, GIB, undefined],
    [2, 1, 2 * GIB, undefined],
    [1, 2, undefined, 'Share size 1 is too small to restore backup of size 2.'],
    [1, 1, 2 * GIB, 'Share size 1 GiB (1073741824 bytes) is too small to restore backup b1: it holds 2147483648 bytes (2 GiB), more than its declared size of 1 GiB.'],
    [1, 1, GIB + 1, 'Share size 1 GiB (1073741824 bytes) is too small to restore backup b1: it holds 1073741825 bytes (2 GiB), more than its declared size of 1 GiB.'],
    [3, 1, 3 * GIB + 5, 'Share size 3 GiB (3221225472 bytes) is too small to restore backup b1: it holds 3221225477 bytes (4 GiB), more than its declared size of 1 GiB.'],
  ])('target of %i GiB, backup declared %i GiB holding %s bytes: %s', (targetSize, declared, bytes, refusal) => {
    const run = () => checkTargetSize(targetSize, backup({ size: declared, ...(bytes === undefined ? {} : { bytes }) }));
    if (refusal === undefined) expect(run).not.toThrow();
    else expect(messageOf(run)).toBe(refusal);
    // the same rule in checkRestore, at step 4 (after the target's status, before its protocol)
    const restore = check({ target: share({ size: targetSize, share_proto: 'CIFS' }), backup: backup({ size: declared, ...(bytes === undefined ? {} : { bytes }) }) });
    if (refusal === undefined) expect(messageOf(restore)).toMatch(/CIFS/);
    else expect(messageOf(restore)).toBe(refusal);
    expect(messageOf(check({ target: share({ size: targetSize, status: 'error' }), backup: backup({ size: declared, ...(bytes === undefined ? {} : { bytes }) }) }))).toMatch(/available/);
  });

  it.each([
    [1, undefined, 1], [1, GIB, 1], [1, GIB + 1, 2], [1, 2 * GIB, 2], [4, 2 * GIB, 4], [1, 0, 1],
  ])('a backup declared %i GiB holding %s bytes needs %i GiB', (declared, bytes, needed) => {
    expect(backupSizeGiB({ size: declared, ...(bytes === undefined ? {} : { bytes }) })).toBe(needed);
  });

  it('a new share from a backup defaults to the size the backup needs, and refuses a smaller one with both figures', () => {
    const input = { caller: member, backupId: 'b1', proto: undefined, drivers, servedProtocols: ['NFS' as const] };
    expect(checkShareFromBackup({ ...input, backup: backup({ size: 1, bytes: 2 * GIB }), size: undefined }).size).toBe(2);
    expect(messageOf(() => checkShareFromBackup({ ...input, backup: backup({ size: 1, bytes: 2 * GIB }), size: 1 })))
      .toBe('Share size 1 GiB (1073741824 bytes) is too small to restore backup b1: it holds 2147483648 bytes (2 GiB), more than its declared size of 1 GiB.');
  });

  it('explains a lost claim by re-read state', () => {
    expect(explainClaimConflict(backup({ status: 'restoring' }), 'b1', share(), 's1').message).toBe('Backup b1 status must be available.');
    expect(explainClaimConflict(backup(), 'b1', share({ status: 'backup_restoring' }), 's1').code).toBe(400);
    expect(explainClaimConflict(undefined, 'b1', share(), 's1').code).toBe(404);
  });
});

describe('backup create, delete and shrink rules', () => {
  const input = (over: Partial<Parameters<typeof checkBackupCreate>[0]> = {}) => () =>
    checkBackupCreate({ caller: member, shareId: 's1', share: share(), backupType: undefined, drivers, projectBackupCount: 0, quota: 2, ...over });

  it('follows api.md order', () => {
    expect(input()().name).toBe('nfs');
    expect(codeOf(input({ share: undefined }))).toBe(400);
    expect(codeOf(input({ share: share({ project_id: 'beta', status: 'error' }) }))).toBe(403);
    expect(codeOf(input({ share: share({ status: 'backup_creating' }) }))).toBe(400);
    expect(codeOf(input({ backupType: 'tape' }))).toBe(400);
    expect(codeOf(input({ share: share({ share_proto: 'CIFS' }), projectBackupCount: 9 }))).toBe(400);
    expect(codeOf(input({ projectBackupCount: 2 }))).toBe(413);
  });

  it('a share deletes only from available or error and without backups', () => {
    expect(codeOf(() => checkShareDelete(share({ status: 'backup_restoring' }), 0))).toBe(400);
    expect(messageOf(() => checkShareDelete(share(), 3))).toBe('Share still has 3 dependent backups.');
    expect(codeOf(() => checkShareDelete(share({ status: 'error' }), 0))).toBeUndefined();
  });

  it('a shrink keeps the bytes the share holds', () => {
    expect(codeOf(() => checkShrink(share({ size: 3 }), 2, 2 * GIB))).toBeUndefined();
    expect(codeOf(() => checkShrink(share({ size: 3 }), 2, 2 * GIB + 1))).toBe(400);
    expect(codeOf(() => checkShrink(share({ size: 3 }), 2, undefined))).toBe(400);
    expect(codeOf(() => checkShrink(share({ size: 3 }), 3, 0))).toBe(400);
  });
});
