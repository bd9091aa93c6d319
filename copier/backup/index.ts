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
//
// Fidelity (docs/user-guide.md, "Fidelity"): names of any bytes (read as Buffers, kept as names.ts
// decodes them), mtimes to the nanosecond (futimens on the data files), FIFOs and sockets (in the
// manifest only: a restore makes them with mknod), extended attributes and POSIX ACLs (in the
// manifest's `xattrs`: the backup store, EFS, keeps none), sparse files (data extents only, holes
// recreated in the data file, `sparse` in the manifest). What cannot be kept is a report entry:
// device nodes (skipped), xattrs the share will not list or read.
import { createHash } from 'node:crypto';
import { opendirSync, lstatSync, type BigIntStats } from 'node:fs';
import { link, lstat, mkdir, open, opendir, readlink, rename, rm, symlink, lchown, writeFile, type FileHandle } from 'node:fs/promises';
import { ConfigError, errnoCode, UnsafePathError } from '../errors.ts';
import { applyMetadata, copyFileHashing, createFile, DIR_FLAGS, openSource, type FileMetadata } from '../fs/fs-ops.ts';
import { fsx, fsxCall, splitNs, xattrNames, xattrRefused } from '../fs/fsx.ts';
import { networkFileSystem } from '../plan/io-plan.ts';
import { DATA_DIR, MANIFEST_FILE, SUMMARY_FILE, serializeManifestEntry, type BackupSummary, type ManifestEntry } from '../manifest/entries.ts';
import { decodeName, encodeName, fsTarget, type FsPath } from '../fs/names.ts';
import { childPath, manifestPathComponents, ROOT_PATH, underRoot } from '../fs/paths.ts';
import { PathTaskPool } from './path-task-pool.ts';
import { resolveRoots, runWithContext, stopError, type RunContext, type RunOptions, type RunResult } from '../run.ts';

type WalkKind = 'dir' | 'file' | 'symlink' | 'fifo' | 'socket' | 'device';

interface WalkItem {
  path: string;
  kind: WalkKind;
}

function kindOf(entry: { isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }): WalkKind | undefined {
  if (entry.isDirectory()) return 'dir';
  if (entry.isFile()) return 'file';
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isFIFO()) return 'fifo';
  if (entry.isSocket()) return 'socket';
  if (entry.isBlockDevice() || entry.isCharacterDevice()) return 'device';
  return undefined; // DT_UNKNOWN: the file system did not say
}

function vanished(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** An entry's lstat, or undefined when it is gone since the walk saw it. */
async function lstatUnlessVanished(abs: FsPath): Promise<BigIntStats | undefined> {
  try {
    return await lstat(abs, { bigint: true });
  } catch (error) {
    if (vanished(error)) return undefined;
    throw error;
  }
}

/**
 * Depth-first walk, a directory before what it holds. One open directory handle per level of depth;
 * entries come from the kernel in batches. Names that disappear while walking are skipped.
 */
async function* walk(root: string, path: string = ROOT_PATH): AsyncGenerator<WalkItem> {
  if (path === ROOT_PATH) yield { path, kind: 'dir' };
  let dir;
  try {
    // names as bytes: a name that is not UTF-8 would come back with U+FFFD in it, a name that does
    // not exist (names.ts)
    dir = await opendir(underRoot(root, path) as string, { bufferSize: 256, encoding: 'buffer' as BufferEncoding });
  } catch (error) {
    if (vanished(error)) return;
    throw error;
  }
  for await (const dirent of dir) {
    const child = childPath(path, decodeName(dirent.name as unknown as Buffer));
    let kind = kindOf(dirent);
    if (kind === undefined) {
      try {
        kind = kindOf(await lstat(underRoot(root, child))) ?? 'device';
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
  // (paths as bytes: names.ts)
  const slash = Buffer.from('/');
  const pending: Buffer[] = [Buffer.from(root)];
  while (pending.length > 0) {
    const dirPath = pending.pop()!;
    let dir;
    try {
      dir = opendirSync(dirPath, { bufferSize: 256, encoding: 'buffer' as BufferEncoding });
    } catch (error) {
      if (vanished(error)) continue;
      throw error;
    }
    try {
      for (let dirent = dir.readSync(); dirent !== null; dirent = dir.readSync()) {
        const abs = Buffer.concat([dirPath, slash, dirent.name as unknown as Buffer]);
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

/** A device node's kind and numbers, for its report entry. */
function deviceOf(stats: BigIntStats): string {
  const rdev = Number(stats.rdev);
  // glibc's major()/minor() for Linux's dev_t
  const major = ((rdev >>> 8) & 0xfff) | Number((stats.rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
  return `a ${stats.isBlockDevice() ? 'block' : 'character'} device (${major}:${minor})`;
}

class BackupRun {
  private readonly pool: PathTaskPool;
  private readonly inodes = new Map<string, InodeCopy>();
  private readonly dirMetadata: DirMetadata[] = [];
  private readonly dataRoot: string;
  /** native calls on the share made blocking: it is on a local disk (a few µs each, against ten
   * times that for a hand-off to libuv's thread pool); on a network file system each is a round
   * trip and goes to the pool */
  private readonly shareLocal: boolean;
  private readonly backupLocal: boolean;
  /** the share's file system lists no xattrs (ENOTSUP): reported once, not asked again */
  private xattrsUnsupported = false;

  constructor(private readonly context: RunContext, private readonly shareRoot: string, backupRoot: string, private readonly manifest: ManifestWriter) {
    this.pool = new PathTaskPool(context.concurrency);
    this.dataRoot = `${backupRoot}/${DATA_DIR}`;
    this.shareLocal = networkFileSystem(shareRoot) === undefined;
    this.backupLocal = networkFileSystem(backupRoot) === undefined;
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
        case 'fifo':
        case 'socket':
          await this.pool.submit(item.path, () => this.copySpecial(item.path, item.kind as 'fifo' | 'socket'));
          break;
        case 'device':
          await this.pool.submit(item.path, () => this.skipDevice(item.path));
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
        await applyMetadata(handle, dir.metadata, this.backupLocal);
      } finally {
        await handle.close();
      }
    }
  }

  private owner(uid: bigint, gid: bigint) {
    return this.context.chown ? { uid: Number(uid), gid: Number(gid) } : undefined;
  }

  /**
   * The entry's extended attributes (POSIX ACLs among them), name → base64, or undefined when it
   * has none. Through the open descriptor of a file, else by name without following. What cannot
   * be read is a report entry; a share whose file system lists none (ENOTSUP) is reported once.
   */
  private async xattrsOf(path: string, at: number | FsPath): Promise<Record<string, string> | undefined> {
    if (this.xattrsUnsupported) return undefined;
    const native = fsx();
    let list: Buffer;
    try {
      if (typeof at === 'number') list = this.shareLocal ? native.flistxattr(at) : await fsxCall<Buffer>((callback) => native.flistxattr(at, callback));
      else list = this.shareLocal ? native.llistxattr(at) : await fsxCall<Buffer>((callback) => native.llistxattr(at, callback));
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOTSUP' && path === ROOT_PATH) {
        this.xattrsUnsupported = true;
        this.context.report({ path, what: 'xattrs', action: 'not-kept', why: 'the share\'s file system does not list extended attributes (ENOTSUP): none are backed up' });
        return undefined;
      }
      if (vanished(error)) return undefined;
      if (!xattrRefused(code)) throw error;
      this.context.report({ path, what: 'xattrs', action: 'not-kept', why: `the extended attributes could not be listed (${code})` });
      return undefined;
    }
    if (list.length === 0) return undefined;
    const xattrs: Record<string, string> = {};
    let found = false;
    for (const name of xattrNames(list)) {
      const rawName = name.isWellFormed() ? name : encodeName(name);
      try {
        const value = typeof at === 'number'
          ? (this.shareLocal ? native.fgetxattr(at, rawName) : await fsxCall<Buffer>((callback) => native.fgetxattr(at, rawName, callback)))
          : (this.shareLocal ? native.lgetxattr(at, rawName) : await fsxCall<Buffer>((callback) => native.lgetxattr(at, rawName, callback)));
        xattrs[name] = value.toString('base64');
        found = true;
      } catch (error) {
        const code = errnoCode(error);
        if (code === 'ENODATA' || vanished(error)) continue; // removed since it was listed
        if (!xattrRefused(code)) throw error;
        this.context.report({ path, what: name.startsWith('system.posix_acl_') ? 'acl' : 'xattrs', action: 'not-kept', why: `the extended attribute ${JSON.stringify(name)} could not be read (${code})` });
      }
    }
    return found ? xattrs : undefined;
  }

  private async copyDir(path: string): Promise<void> {
    const abs = underRoot(this.shareRoot, path);
    const stats = await lstatUnlessVanished(abs);
    if (!stats) return;
    if (!stats.isDirectory()) return; // replaced meanwhile; the walk will not find anything under it
    const mode = Number(stats.mode & 0o7777n);
    const xattrs = await this.xattrsOf(path, abs);
    await mkdir(underRoot(this.dataRoot, path), 0o700);
    this.dirMetadata.push({ path, metadata: { mode, mtimeNs: stats.mtimeNs.toString(), owner: this.owner(stats.uid, stats.gid) } });
    this.manifest.append({ path, type: 'dir', mode, uid: Number(stats.uid), gid: Number(stats.gid), mtime_ns: stats.mtimeNs.toString(), size: 0, ...(xattrs ? { xattrs } : {}) });
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
          // (the inode's xattrs are on its first path's line)
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
      const xattrs = await this.xattrsOf(path, source.fd);
      const result = await copyFileHashing({
        source,
        size: Number(stats.size),
        label: JSON.stringify(path),
        metadata: { mode, mtimeNs: stats.mtimeNs.toString(), owner: this.owner(stats.uid, stats.gid) },
        signal: this.context.options.signal,
        // fewer 512-byte blocks than the size needs: it may have holes
        sparse: stats.blocks * 512n < stats.size,
        blocking: this.backupLocal,
        createTarget: () => createFile(underRoot(this.dataRoot, path), async () => {
          throw new ConfigError(`${JSON.stringify(path)} already exists in the backup's data`);
        }),
        onBytes: (bytes) => this.context.reporter.addBytes(bytes),
      });
      this.manifest.append({ ...common, type: 'file', size: result.size, sha256: result.sha256, crc32: result.crc32, ...(result.sparse ? { sparse: true } : {}), ...(xattrs ? { xattrs } : {}) });
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
      target = decodeName(await readlink(abs, { encoding: 'buffer' }));
    } catch (error) {
      if (vanished(error) || errnoCode(error) === 'EINVAL') return;
      throw error;
    }
    const xattrs = await this.xattrsOf(path, abs);
    const copy = underRoot(this.dataRoot, path);
    await symlink(fsTarget(target), copy);
    const owner = this.owner(stats.uid, stats.gid);
    if (owner) await lchown(copy, owner.uid, owner.gid);
    const [seconds, nanoseconds] = splitNs(stats.mtimeNs);
    if (this.backupLocal) fsx().lutimens(copy, seconds, nanoseconds);
    else await fsxCall((callback) => fsx().lutimens(copy, seconds, nanoseconds, callback));
    this.manifest.append({ path, type: 'symlink', mode: Number(stats.mode & 0o7777n), uid: Number(stats.uid), gid: Number(stats.gid), mtime_ns: stats.mtimeNs.toString(), size: 0, target, ...(xattrs ? { xattrs } : {}) });
    this.context.result.entries += 1;
    this.context.result.symlinks += 1;
  }

  /** A FIFO or socket: a manifest line only (no data; a restore makes it with mknod). */
  private async copySpecial(path: string, type: 'fifo' | 'socket'): Promise<void> {
    const abs = underRoot(this.shareRoot, path);
    const stats = await lstatUnlessVanished(abs);
    if (!stats) return;
    if (!(type === 'fifo' ? stats.isFIFO() : stats.isSocket())) return; // replaced meanwhile
    const xattrs = await this.xattrsOf(path, abs);
    this.manifest.append({ path, type, mode: Number(stats.mode & 0o7777n), uid: Number(stats.uid), gid: Number(stats.gid), mtime_ns: stats.mtimeNs.toString(), size: 0, ...(xattrs ? { xattrs } : {}) });
    this.context.result.entries += 1;
  }

  /** A device node: not backed up (it has no place in a tenant share), and reported. */
  private async skipDevice(path: string): Promise<void> {
    let stats;
    try {
      stats = await lstat(underRoot(this.shareRoot, path), { bigint: true });
    } catch (error) {
      if (vanished(error)) return;
      throw error;
    }
    this.context.result.skipped += 1;
    const what = stats.isBlockDevice() || stats.isCharacterDevice() ? deviceOf(stats) : 'an entry of an unknown type';
    this.context.report({ path, what: 'entry', action: 'skipped', why: `${what} is not backed up: device nodes have no place in a tenant share` });
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
    const summary: BackupSummary = { version: 2, entries: result.entries, files: result.files, bytes: result.bytes, manifest_sha256: manifest.sha256(), created_at: new Date().toISOString() };
    await writeFile(`${backupRoot}/${SUMMARY_FILE}.partial`, `${JSON.stringify(summary)}\n`, { mode: 0o600 });
    await rename(`${backupRoot}/${SUMMARY_FILE}.partial`, `${backupRoot}/${SUMMARY_FILE}`);
  });
}
