// The local storage backend: folders under LOCAL_STORAGE_ROOT, usage, removal, and refusal of
// ids that could name a folder outside the root.
import { existsSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LocalStorageBackend } from '../../functions/adapters/storage-local.ts';

const ID = '5f0e2a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b';

/** A fresh folder, removed when the test ends. */
function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'storage-local-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

describe('local storage backend', () => {
  it('provisions, measures and removes a share; provisions and removes a backup', async () => {
    const root = tempRoot();
    const storage = new LocalStorageBackend(root);
    expect(storage.protocols).toEqual(['NFS', 'CIFS']);
    const share = await storage.provisionShare(ID);
    expect(share).toEqual({ access_point_id: ID, export_path: join(root, 'shares', ID) });
    mkdirSync(join(share.export_path, 'sub'));
    writeFileSync(join(share.export_path, 'a'), 'x'.repeat(10));
    writeFileSync(join(share.export_path, 'sub/b'), 'y'.repeat(5));
    symlinkSync('/etc/passwd', join(share.export_path, 'link'));
    expect(await storage.usedBytes({ id: ID, access_point_id: ID })).toBe(15);
    await storage.deleteShare({ id: ID, access_point_id: ID });
    expect(existsSync(share.export_path)).toBe(false);
    expect(await storage.usedBytes({ id: ID, access_point_id: ID })).toBe(0);
    expect(await storage.provisionBackup(ID)).toEqual({ access_point_id: ID });
    expect(existsSync(join(root, 'backups', ID))).toBe(true);
    await storage.deleteBackup({ id: ID, access_point_id: ID });
    expect(existsSync(join(root, 'backups', ID))).toBe(false);
  });

  it('refuses ids that are not UUIDs', async () => {
    const storage = new LocalStorageBackend(tempRoot());
    await expect(storage.provisionShare('../../etc')).rejects.toThrow(/not a UUID/);
    await expect(storage.deleteBackup({ id: '/', access_point_id: '/' })).rejects.toThrow(/not a UUID/);
  });
});
