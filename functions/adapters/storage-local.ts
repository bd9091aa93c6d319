// The `local` backend: a share is LOCAL_STORAGE_ROOT/shares/<id>/, a backup
// LOCAL_STORAGE_ROOT/backups/<id>/. Both protocols are directories on one machine.
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isUuid } from '../domain/ids.ts';
import type { ShareProto } from '../domain/records.ts';
import type { ProvisionedShare, StorageBackend, StoredItem } from './storage.ts';

export class LocalStorageBackend implements StorageBackend {
  readonly name = 'local' as const;
  readonly protocols: readonly ShareProto[] = ['NFS', 'CIFS'];
  private readonly root: string;

  constructor(root: string) {
    if (!root) throw new Error('the local storage backend needs LOCAL_STORAGE_ROOT');
    this.root = resolve(root);
  }

  /** Ids become path components: only UUIDs, so nothing can name a folder outside the root. */
  private dir(kind: 'shares' | 'backups', id: string): string {
    if (!isUuid(id)) throw new Error(`refusing a ${kind} folder for an id that is not a UUID: ${JSON.stringify(id)}`);
    return join(this.root, kind, id.toLowerCase());
  }

  shareDir(id: string): string {
    return this.dir('shares', id);
  }

  backupDir(id: string): string {
    return this.dir('backups', id);
  }

  async provisionShare(shareId: string): Promise<ProvisionedShare> {
    const dir = this.shareDir(shareId);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    return { access_point_id: shareId, export_path: dir };
  }

  async deleteShare(share: StoredItem): Promise<void> {
    await rm(this.shareDir(share.id), { recursive: true, force: true });
  }

  async usedBytes(share: StoredItem): Promise<number> {
    return sumBytes(this.shareDir(share.id));
  }

  async provisionBackup(backupId: string): Promise<{ access_point_id: string }> {
    await mkdir(this.backupDir(backupId), { recursive: true, mode: 0o755 });
    return { access_point_id: backupId };
  }

  async deleteBackup(backup: StoredItem): Promise<void> {
    await rm(this.backupDir(backup.id), { recursive: true, force: true });
  }
}

/** Sizes of the regular files under dir (symlinks not followed); a missing dir holds 0 bytes. */
async function sumBytes(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let total = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await sumBytes(path);
    else if (entry.isFile()) total += (await lstat(path)).size;
  }
  return total;
}
