// Backup: walk a share's root (streamed, one directory handle per level), copy it into the backup's
// data/ as a faithful tree (modes, mtimes, ownership when root, symlinks, hard links), and write
// manifest.jsonl (parents before children) and summary.json.
//
// Totals: a counting pre-pass (phase "scanning") walks the tree once with synchronous opendir/lstat,
// which is cheap on a local disk (a few µs per entry) and gives a byte-accurate percent during the
// copy. A live share can change in between: the manifest records what was copied, and the percent
// stays ≤ 99 until the end.
//
// Order: a directory's line is written when the walk reaches it (before anything under it); file,
// symlink and hard-link lines when their copy is complete, so parents always come first, and a hard
// link's line comes after the line of the inode's first path.
//
// Idempotence: a re-run (a retried workflow step) clears what an earlier attempt left in the backup's
// root; the manifest is written as manifest.jsonl.partial and renamed, and summary.json comes last,
// so a backup root with a summary is complete.
import { createHash } from 'node:crypto';
import { opendirSync, lstatSync } from 'node:fs';
import { link, lstat, mkdir, open, opendir, readlink, rename, rm, symlink, lchown, lutimes, writeFile, type FileHandle } from 'node:fs/promises';
import { ConfigError, errnoCode, UnsafePathError } from './errors.ts';
import { applyMetadata, copyFileHashing, createFile, DIR_FLAGS, openSource, type FileMetadata } from './fs-ops.ts';
import { DATA_DIR, MANIFEST_FILE, SUMMARY_FILE, nsToSeconds, serializeManifestEntry, type BackupSummary, type ManifestEntry } from './manifest.ts';
import { childPath, manifestPathComponents, ROOT_PATH, underRoot } from './paths.ts';
import { PathTaskPool } from './pool.ts';
import { resolveRoots, runWithContext, stopError, type RunContext, type RunOptions, type RunResult } from './run.ts';

type WalkKind = 'dir' | 'file' | 'symlink' | 'other';

interface WalkItem {
  path: string;
  kind: WalkKind;
}

function kindOf(entry: { isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean }): WalkKind {
  if (entry.isDirectory()) return 'dir';
  if (entry.isFile()) return 'file';
  if (entry.isSymbolicLink()) return 'symlink';
  return 'other';
}

function vanished(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Depth-first walk, a directory before what it holds. One open directory handle per level of depth;
 * entries come from the kernel in batches. Names that disappear while walking are skipped.
 */
async function* walk(root: string, path: string = ROOT_PATH): AsyncGenerator<WalkItem> {
  if (path === ROOT_PATH) yield { path, kind: 'dir' };
  let dir;
  try {
    dir = await opendir(underRoot(root, path), { bufferSize: 256 });
  } catch (error) {
    if (vanished(error)) return;
    throw error;
  }
  for await (const dirent of dir) {
    const child = childPath(path, dirent.name);
    let kind = kindOf(dirent);
    if (kind === 'other' && !(dirent.isFIFO() || dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice())) {
      // the file system did not say (DT_UNKNOWN): ask
      try {
        kind = kindOf(await lstat(underRoot(root, child)));
      } catch (error) {
        if (vanished(error)) continue;
        throw error;
      }
    }
    yield { path: child, kind };
    if (kind === 'dir') yield* walk(root, child);
  }
}

/** The counting pre-pass: regular files (each inode once) and their bytes. */
function countTree(root: string, context: RunContext): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const linkedInodes = new Set<string>();
  const pending: string[] = [root];
  while (pending.length > 0) {
    const dirPath = pending.pop()!;
    let dir;
    try {
      dir = opendirSync(dirPath, { bufferSize: 256 });
    } catch (error) {
      if (vanished(error)) continue;
      throw error;
    }
    try {
      for (let dirent = dir.readSync(); dirent !== null; dirent = dir.readSync()) {
        const abs = `${dirPath}/${dirent.name}`;
        if (dirent.isDirectory()) {
          pending.push(abs);
          continue;
        }
        if (dirent.isSymbolicLink() || dirent.isFIFO() || dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice()) continue;
        const stats = lstatSync(abs, { throwIfNoEntry: false });
        if (!stats) continue;
        if (stats.isDirectory()) pending.push(abs);
        if (!stats.isFile()) continue;
        if (stats.nlink > 1) {
          const key = `${stats.dev}:${stats.ino}`;
          if (linkedInodes.has(key)) continue;
          linkedInodes.add(key);
        }
        files += 1;
        bytes += stats.size;
      }
    } finally {
      dir.closeSync();
    }
    context.throwIfStopped();
  }
  return { files, bytes };
}

/** Appends manifest lines in the order given, in batches. */
class ManifestWriter {
  private buffered: string[] = [];
  private bufferedBytes = 0;
  private writing: Promise<void> = Promise.resolve();
  /** sha256 of every byte written, for summary.json's manifest_sha256 */
  private readonly digest = createHash('sha256');

  constructor(private readonly handle: FileHandle) {}

  append(entry: ManifestEntry): void {
    const line = `${serializeManifestEntry(entry)}\n`;
    this.buffered.push(line);
    this.bufferedBytes += line.length;
    if (this.bufferedBytes >= 256 * 1024) this.flush();
  }

  private flush(): void {
    if (this.buffered.length === 0) return;
    const text = this.buffered.join('');
    this.buffered = [];
    this.bufferedBytes = 0;
    this.digest.update(text, 'utf8');
    this.writing = this.writing.then(() => this.handle.appendFile(text, 'utf8'));
  }

  /** The manifest's sha256 (hex), once closed. */
  sha256(): string {
    return this.digest.digest('hex');
  }

  async close(): Promise<void> {
    this.flush();
    try {
      await this.writing;
    } finally {
      await this.handle.close();
    }
  }
}

interface InodeCopy {
  /** the manifest path of the inode's first name */
  path: string;
  /** settles when that copy and its manifest line are done */
  done: Promise<void>;
}

interface DirMetadata {
  path: string;
  metadata: FileMetadata;
}

class BackupRun {
  private readonly pool: PathTaskPool;
  private readonly inodes = new Map<string, InodeCopy>();
  private readonly dirMetadata: DirMetadata[] = [];
  private readonly dataRoot: string;

  constructor(private readonly context: RunContext, private readonly shareRoot: string, backupRoot: string, private readonly manifest: ManifestWriter) {
    this.pool = new PathTaskPool(context.concurrency);
    this.dataRoot = `${backupRoot}/${DATA_DIR}`;
  }

  async copy(): Promise<void> {
    const signal = this.context.options.signal;
    for await (const item of walk(this.shareRoot)) {
      if (signal?.aborted || this.pool.failed) break;
      // a name a restore would refuse must not make a backup that cannot be restored
      try {
        manifestPathComponents(item.path);
      } catch (error) {
        throw new UnsafePathError(`cannot back up ${JSON.stringify(item.path)}: ${(error as Error).message}`);
      }
      switch (item.kind) {
        case 'dir':
          await this.copyDir(item.path);
          break;
        case 'file':
          await this.pool.submit(item.path, () => this.copyFile(item.path));
          break;
        case 'symlink':
          await this.pool.submit(item.path, () => this.copySymlink(item.path));
          break;
        case 'other':
          this.context.result.skipped += 1;
          this.context.log(`skipped ${JSON.stringify(item.path)}: sockets, FIFOs and device nodes are not backed up`);
          break;
      }
    }
    await this.pool.drain();
    if (signal?.aborted) throw stopError(signal);
  }

  async applyDirMetadata(): Promise<void> {
    for (let i = this.dirMetadata.length - 1; i >= 0; i--) {
      const dir = this.dirMetadata[i]!;
      const handle = await open(underRoot(this.dataRoot, dir.path), DIR_FLAGS);
      try {
        await applyMetadata(handle, dir.metadata);
      } finally {
        await handle.close();
      }
    }
  }

  private owner(uid: bigint, gid: bigint) {
    return this.context.chown ? { uid: Number(uid), gid: Number(gid) } : undefined;
  }

  private async copyDir(path: string): Promise<void> {
    let stats;
    try {
      stats = await lstat(underRoot(this.shareRoot, path), { bigint: true });
    } catch (error) {
      if (vanished(error)) return;
      throw error;
    }
    if (!stats.isDirectory()) return; // replaced meanwhile; the walk will not find anything under it
    const mode = Number(stats.mode & 0o7777n);
    await mkdir(underRoot(this.dataRoot, path), 0o700);
    this.dirMetadata.push({ path, metadata: { mode, mtime: nsToSeconds(stats.mtimeNs), owner: this.owner(stats.uid, stats.gid) } });
    this.manifest.append({ path, type: 'dir', mode, uid: Number(stats.uid), gid: Number(stats.gid), mtime_ns: stats.mtimeNs.toString(), size: 0 });
    this.context.result.entries += 1;
    this.context.result.dirs += 1;
  }

  private async copyFile(path: string): Promise<void> {
    let source;
    try {
      source = await openSource(underRoot(this.shareRoot, path));
    } catch (error) {
      // gone, or replaced by a symlink since the walk saw it: not this file any more
      if (vanished(error) || errnoCode(error) === 'ELOOP') return;
      throw error;
    }
    let firstCopy: { resolve: () => void } | undefined;
    try {
      const stats = await source.stat({ bigint: true });
      if (!stats.isFile()) return;
      const mode = Number(stats.mode & 0o7777n);
      const common = { path, mode, uid: Number(stats.uid), gid: Number(stats.gid), mtime_ns: stats.mtimeNs.toString() };
      if (stats.nlink > 1n) {
        const key = `${stats.dev}:${stats.ino}`;
        const first = this.inodes.get(key);
        if (first) {
          await source.close();
          source = undefined;
          await first.done;
          await link(underRoot(this.dataRoot, first.path), underRoot(this.dataRoot, path));
          this.manifest.append({ ...common, type: 'hardlink', size: Number(stats.size), link_to: first.path });
          this.context.result.entries += 1;
          this.context.result.hardlinks += 1;
          return;
        }
        let resolve = () => undefined as void;
        const done = new Promise<void>((r) => (resolve = r));
        firstCopy = { resolve };
        this.inodes.set(key, { path, done });
      }
      const result = await copyFileHashing({
        source,
        size: Number(stats.size),
        label: JSON.stringify(path),
        metadata: { mode, mtime: nsToSeconds(stats.mtimeNs), owner: this.owner(stats.uid, stats.gid) },
        signal: this.context.options.signal,
        createTarget: () => createFile(underRoot(this.dataRoot, path), async () => {
          throw new ConfigError(`${JSON.stringify(path)} already exists in the backup's data`);
        }),
        onBytes: (bytes) => this.context.reporter.addBytes(bytes),
      });
      this.manifest.append({ ...common, type: 'file', size: result.size, sha256: result.sha256, crc32: result.crc32 });
      this.context.result.entries += 1;
      this.context.fileWritten(result.size);
    } finally {
      firstCopy?.resolve();
      await source?.close();
    }
  }

  private async copySymlink(path: string): Promise<void> {
    const abs = underRoot(this.shareRoot, path);
    let stats;
    let target;
    try {
      stats = await lstat(abs, { bigint: true });
      if (!stats.isSymbolicLink()) return;
      target = await readlink(abs);
    } catch (error) {
      if (vanished(error) || errnoCode(error) === 'EINVAL') return;
      throw error;
    }
    const copy = underRoot(this.dataRoot, path);
    await symlink(target, copy);
    const owner = this.owner(stats.uid, stats.gid);
    if (owner) await lchown(copy, owner.uid, owner.gid);
    const mtime = nsToSeconds(stats.mtimeNs);
    await lutimes(copy, mtime, mtime);
    this.manifest.append({ path, type: 'symlink', mode: Number(stats.mode & 0o7777n), uid: Number(stats.uid), gid: Number(stats.gid), mtime_ns: stats.mtimeNs.toString(), size: 0, target });
    this.context.result.entries += 1;
    this.context.result.symlinks += 1;
  }
}

/** Backs up the share root at `options.source` into the backup root at `options.target`. */
export async function runBackup(options: RunOptions): Promise<RunResult> {
  return await runWithContext(options, async (context) => {
    const { reporter } = context;
    reporter.setPhase('scanning');
    const { sourceRoot: shareRoot, targetRoot: backupRoot } = await resolveRoots(options, { source: 'share root', target: 'backup root' });
    const partialManifest = `${backupRoot}/${MANIFEST_FILE}.partial`;
    // an earlier attempt's leftovers: the summary first, so the root never looks complete meanwhile
    await rm(`${backupRoot}/${SUMMARY_FILE}`, { force: true });
    await Promise.all([DATA_DIR, MANIFEST_FILE, `${MANIFEST_FILE}.partial`].map((name) => rm(`${backupRoot}/${name}`, { recursive: true, force: true })));

    const totals = countTree(shareRoot, context);
    reporter.setTotals(totals.files, totals.bytes);

    reporter.setPhase('copying');
    const manifest = new ManifestWriter(await open(partialManifest, 'wx', 0o600));
    const run = new BackupRun(context, shareRoot, backupRoot, manifest);
    try {
      await run.copy();
    } finally {
      await manifest.close();
    }

    reporter.setPhase('verifying');
    await run.applyDirMetadata();
    await rename(partialManifest, `${backupRoot}/${MANIFEST_FILE}`);
    const { result } = context;
    // what was copied is what the manifest says; the pre-pass count was only an estimate
    reporter.setTotals(result.files, result.bytes);
    const summary: BackupSummary = { version: 1, entries: result.entries, files: result.files, bytes: result.bytes, manifest_sha256: manifest.sha256(), created_at: new Date().toISOString() };
    await writeFile(`${backupRoot}/${SUMMARY_FILE}.partial`, `${JSON.stringify(summary)}\n`, { mode: 0o600 });
    await rename(`${backupRoot}/${SUMMARY_FILE}.partial`, `${backupRoot}/${SUMMARY_FILE}`);
  });
}
