// restoreTargetEligibility (functions/domain/restore-rules.ts): the console's picker and the API
// agree, because both run the same checks; here, that its answers are the API's own messages.
import { describe, expect, it } from 'vitest';
import { GIB, newShareEligibility, restoreTargetEligibility } from '../../functions/domain/restore-rules.ts';

const backup = { id: 'b1', share_id: 'src', size: 1, bytes: 10 };
const share = { id: 'other', status: 'available' as const, size: 1, share_proto: 'NFS' as const };
const driver = { name: 'nfs', support_restore_to_target: true, restore_protocols: ['NFS' as const] };

describe('restoreTargetEligibility', () => {
  it('accepts an available share that is large enough', () => {
    expect(restoreTargetEligibility(backup, share, driver)).toEqual({ eligible: true });
  });
  it('refuses a busy share with the API message', () => {
    expect(restoreTargetEligibility(backup, { ...share, status: 'backup_creating' }, driver)).toEqual({
      eligible: false, reason: 'Share other status must be available to restore onto it, not backup_creating.',
    });
  });
  it('refuses a share smaller than the backup, declared or measured', () => {
    expect(restoreTargetEligibility({ ...backup, size: 2 }, share, driver)).toEqual({
      eligible: false, reason: 'Share size 1 is too small to restore backup of size 2.',
    });
    const big = restoreTargetEligibility({ ...backup, bytes: 2 * GIB }, share, driver);
    expect(big.eligible).toBe(false);
    expect(!big.eligible && big.reason).toMatch(/too small to restore backup b1: it holds 2147483648 bytes/);
  });
  it('refuses a protocol the driver does not restore onto, and another share when the driver cannot', () => {
    expect(restoreTargetEligibility(backup, { ...share, share_proto: 'CIFS' }, driver)).toMatchObject({ eligible: false, reason: expect.stringMatching(/cannot restore onto a CIFS share/) });
    const legacy = { ...driver, name: 'legacy', support_restore_to_target: false };
    expect(restoreTargetEligibility(backup, share, legacy)).toMatchObject({ eligible: false, reason: expect.stringMatching(/does not support restoring to another share/) });
    expect(restoreTargetEligibility(backup, { ...share, id: 'src' }, legacy)).toEqual({ eligible: true });
  });
  it('skips the driver checks when the driver is unknown', () => {
    expect(restoreTargetEligibility(backup, { ...share, share_proto: 'CIFS' })).toEqual({ eligible: true });
  });
});

describe('newShareEligibility', () => {
  it('accepts a backup whose driver restores to another share, or whose driver is unknown', () => {
    expect(newShareEligibility(backup, driver)).toEqual({ eligible: true });
    expect(newShareEligibility(backup)).toEqual({ eligible: true });
  });
  it("refuses a driver that restores only onto the source share, with the API's message", () => {
    expect(newShareEligibility(backup, { ...driver, name: 'legacy', support_restore_to_target: false })).toEqual({
      eligible: false,
      reason: 'Backup driver legacy does not support restoring to another share (support_restore_to_target is false), so it cannot create a share from backup b1.',
    });
  });
});
