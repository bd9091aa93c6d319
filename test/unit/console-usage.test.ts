// latestMeasuredBackups (console/src/usage.ts): the shares page's "Used" column.
import { describe, expect, it } from 'vitest';
import { latestMeasuredBackups } from '../../console/src/usage.ts';

const b = (share_id: string, created_at: string, status = 'available', bytes: number | null = 100) => ({ share_id, created_at, status, bytes });

describe('latestMeasuredBackups', () => {
  it('picks the latest available backup per share, whatever the order', () => {
    const got = latestMeasuredBackups([
      b('s1', '2026-01-01T00:00:00Z', 'available', 1),
      b('s1', '2026-01-03T00:00:00Z', 'available', 3),
      b('s2', '2026-01-02T00:00:00Z', 'available', 2),
      b('s1', '2026-01-02T00:00:00Z', 'available', 2),
    ]);
    expect(got.get('s1')?.bytes).toBe(3);
    expect(got.get('s2')?.bytes).toBe(2);
    expect(got.size).toBe(2);
  });
  it('skips backups that are not available or were not measured', () => {
    const got = latestMeasuredBackups([
      b('s1', '2026-01-01T00:00:00Z', 'available', 1),
      b('s1', '2026-01-05T00:00:00Z', 'creating', null),
      b('s1', '2026-01-04T00:00:00Z', 'error', 9),
      b('s1', '2026-01-03T00:00:00Z', 'available', null),
      b('s2', '2026-01-02T00:00:00Z', 'deleting', 5),
    ]);
    expect(got.get('s1')?.bytes).toBe(1);
    expect(got.has('s2')).toBe(false);
  });
  it('answers an empty map for no backups', () => {
    expect(latestMeasuredBackups([]).size).toBe(0);
  });
});
