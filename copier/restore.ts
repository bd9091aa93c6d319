// Restore: stream a backup's manifest and write its tree over the target share's root.
//
// Manila's semantics: backup files are written over the target; target files the backup does not
// have are left alone; where the backup has a directory or writes a file and the target has a
// symlink (or any other non-directory), that name is replaced, never followed. Directories get their
// mode and mtime after everything under them was written.
//
// Safety: every path is validated (paths.ts) before use, and every directory an entry is written
// into must be a real directory in the target: either one this run created or checked (kept in
// `realDirs`, one string per directory) or, failing that, one lstat says is a directory. Names are
// created with O_EXCL|O_NOFOLLOW (symlinks, hard links) or replaced after an lstat, and directory
// metadata is set through an O_NOFOLLOW|O_DIRECTORY descriptor, so no write goes through a symlink.
// Two entries whose paths overlap are never in flight together (pool.ts), so one entry cannot turn a
// directory another is writing into into a symlink.
//
// The manifest is read twice, both times streamed: first only to parse and validate every line and
// check its counts against summary.json (a malicious, malformed or truncated manifest fails before
// anything is written), then to copy.
import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, open, readFile, realpath, symlink, chmod, lutimes, lchown } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ChecksumMismatchError, ConfigError, errnoCode, ManifestError, SizeMismatchError, UnsafePathError } from './errors.ts';
import { applyMetadata, copyFileHashing, createFile, DIR_FLAGS, openSource, removeExisting, type FileMetadata } from './fs-ops.ts';
import { DATA_DIR, MANIFEST_FILE, SUMMARY_FILE, nsToSeconds, parseManifestLine, parseSummary, type BackupSummary, type ParsedEntry } from './manifest.ts';
import { ancestorPaths, isSameOrUnder, ROOT_PATH, underRoot } from './paths.ts';
import { PathTaskPool } from './pool.ts';
import { runWithContext, stopError, type RunContext, type RunOptions, type RunResult } from './run.ts';

async function* manifestEntries(manifestPath: string): AsyncGenerator<ParsedEntry> {
  const lines = createInterface({ input: createReadStream(manifestPath, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber += 1;
    yield parseManifestLine(line, lineNumber);
  }
}

async function readSummary(backupRoot: string): Promise<BackupSummary> {
  let text: string;
  try {
    text = await readFile(`${backupRoot}/${SUMMARY_FILE}`, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw new ManifestError(`${SUMMARY_FILE} is missing: the backup is incomplete`);
    throw error;
  }
  return parseSummary(text);
}

/** Pass 1: every line parses and is safe, and the manifest matches its summary. */
async function checkManifest(manifestPath: string, summary: BackupSummary, context: RunContext): Promise<void> {
  let entries = 0;
  let files = 0;
  let bytes = 0;
  for await (const entry of manifestEntries(manifestPath)) {
    if (entries === 0 && entry.path !== ROOT_PATH) throw new ManifestError('the manifest does not start with the root "."');
    entries += 1;
    if (entry.type === 'file') {
      files += 1;
      bytes += entry.size;
    }
    if (entries % 4096 === 0) context.throwIfStopped();
  }
  if (entries !== summary.entries || files !== summary.files || bytes !== summary.bytes) {
    throw new ManifestError(`the manifest (${entries} entries, ${files} files, ${bytes} bytes) does not match ${SUMMARY_FILE} (${summary.entries} entries, ${summary.files} files, ${summary.bytes} bytes)`);
  }
}

interface DirMetadata {
  path: string;
  components: string[];
  metadata: FileMetadata;
}

class RestoreRun {
  /** manifest paths known to be real directories in the target (created or checked by this run) */
  private readonly realDirs = new Set<string>([ROOT_PATH]);
  /** directories whose metadata is applied at the end, in manifest order */
  private readonly dirMetadata: DirMetadata[] = [];
  private readonly pool: PathTaskPool;

  constructor(private readonly context: RunContext, private readonly backupRoot: string, private readonly targetRoot: string) {
    this.pool = new PathTaskPool(context.concurrency);
  }

  async copy(manifestPath: string): Promise<void> {
    const signal = this.context.options.signal;
    for await (const entry of manifestEntries(manifestPath)) {
      if (signal?.aborted || this.pool.failed) break;
      this.context.result.entries += 1;
      if (entry.type === 'dir') {
        await this.pool.awaitOverlapping(entry.path);
        if (this.pool.failed) break;
        await this.restoreDir(entry);
        continue;
      }
      if (entry.type === 'hardlink') {
        // in order, with nothing in flight at either name: the inode's first path must be complete,
        // and no other entry may replace a directory on the way to it while the link is made
        await this.pool.awaitOverlapping(entry.path);
        await this.pool.awaitOverlapping(entry.link_to);
        if (this.pool.failed) break;
        await this.restoreHardlink(entry);
        continue;
      }
      await this.pool.submit(entry.path, () => this.restoreEntry(entry));
    }
    await this.pool.drain();
    if (signal?.aborted) throw stopError(signal);
  }

  /** Directory metadata, deepest first (a parent's mode cannot lock the copier out of a child). */
  async applyDirMetadata(): Promise<void> {
    for (let i = this.dirMetadata.length - 1; i >= 0; i--) {
      const dir = this.dirMetadata[i]!;
      // a directory a later entry replaced (or one under it) is no longer this run's to touch
      if (!this.realDirs.has(dir.path) || ancestorPaths(dir.components).some((a) => !this.realDirs.has(a))) continue;
      const handle = await open(underRoot(this.targetRoot, dir.path), DIR_FLAGS);
      try {
        await applyMetadata(handle, dir.metadata);
      } finally {
        await handle.close();
      }
    }
  }

  private metadataOf(entry: ParsedEntry): FileMetadata {
    return {
      mode: entry.mode,
      mtime: nsToSeconds(entry.mtime_ns),
      owner: this.context.chown ? { uid: entry.uid, gid: entry.gid } : undefined,
    };
  }

  private abs(path: string): string {
    return underRoot(this.targetRoot, path);
  }

  /** Every ancestor of the entry must be a real directory of the target: never write through a symlink. */
  private async checkParents(entry: { path: string }, components: string[]): Promise<void> {
    for (const ancestor of ancestorPaths(components)) {
      if (this.realDirs.has(ancestor)) continue;
      let stats;
      try {
        stats = await lstat(this.abs(ancestor));
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') throw new ManifestError(`"${entry.path}": its directory "${ancestor}" is not in the manifest before it`);
        throw error;
      }
      if (!stats.isDirectory()) {
        throw new UnsafePathError(`"${entry.path}": "${ancestor}" in the target is ${stats.isSymbolicLink() ? 'a symlink' : 'not a directory'}; refusing to write through it`);
      }
      this.realDirs.add(ancestor);
    }
  }

  /** Removes whatever is at `path` so a new name can be created there; a directory taken away takes
   * everything this run knew under it. */
  private async replace(path: string): Promise<void> {
    const removed = await removeExisting(this.abs(path));
    if (removed === 'dir') {
      for (const dir of this.realDirs) if (isSameOrUnder(path, dir) && dir !== ROOT_PATH) this.realDirs.delete(dir);
    }
  }

  private async restoreDir(entry: ParsedEntry): Promise<void> {
    this.context.result.dirs += 1;
    this.dirMetadata.push({ path: entry.path, components: entry.components, metadata: this.metadataOf(entry) });
    if (entry.path === ROOT_PATH) return;
    await this.checkParents(entry, entry.components);
    const abs = this.abs(entry.path);
    let stats;
    try {
      stats = await lstat(abs);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
    if (stats?.isDirectory()) {
      // without root, an existing directory must be writable by us to receive the backup's children
      if (!this.context.chown && (stats.mode & 0o700) !== 0o700) await chmod(abs, (stats.mode & 0o7777) | 0o700);
    } else {
      if (stats) await this.replace(entry.path);
      await mkdir(abs, 0o700);
    }
    this.realDirs.add(entry.path);
  }

  private async restoreEntry(entry: ParsedEntry): Promise<void> {
    await this.checkParents(entry, entry.components);
    switch (entry.type) {
      case 'file':
        return await this.restoreFile(entry);
      case 'symlink':
        return await this.restoreSymlink(entry);
      case 'hardlink':
      case 'dir':
        throw new Error(`${entry.type} entries are restored in order, not in the pool`);
    }
  }

  private async restoreFile(entry: ParsedEntry & { type: 'file' }): Promise<void> {
    const dataPath = underRoot(`${this.backupRoot}/${DATA_DIR}`, entry.path);
    let source;
    try {
      source = await openSource(dataPath);
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT') throw new ManifestError(`"${entry.path}": the backup has no data file for it`);
      if (code === 'ELOOP') throw new UnsafePathError(`"${entry.path}": the backup's data file is a symlink`);
      throw error;
    }
    try {
      const stats = await source.stat();
      if (!stats.isFile()) throw new ManifestError(`"${entry.path}": the backup's data file is not a regular file`);
      if (stats.size !== entry.size) throw new SizeMismatchError(`"${entry.path}": the backup's data file has ${stats.size} bytes, the manifest says ${entry.size}`);
      const result = await copyFileHashing({
        source,
        size: entry.size,
        exactSize: true,
        label: `"${entry.path}"`,
        metadata: this.metadataOf(entry),
        signal: this.context.options.signal,
        createTarget: () => createFile(this.abs(entry.path), () => this.replace(entry.path)),
        checkHash: (sha256) => {
          if (sha256 !== entry.sha256) throw new ChecksumMismatchError(`"${entry.path}": checksum mismatch (data ${sha256}, manifest ${entry.sha256})`);
        },
        onBytes: (bytes) => this.context.reporter.addBytes(bytes),
      });
      this.context.fileWritten(result.size);
    } finally {
      await source.close();
    }
  }

  private async restoreSymlink(entry: ParsedEntry & { type: 'symlink' }): Promise<void> {
    const abs = this.abs(entry.path);
    try {
      await symlink(entry.target, abs);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      await this.replace(entry.path);
      await symlink(entry.target, abs);
    }
    const mtime = nsToSeconds(entry.mtime_ns);
    if (this.context.chown) await lchown(abs, entry.uid, entry.gid);
    await lutimes(abs, mtime, mtime);
    this.context.result.symlinks += 1;
  }

  private async restoreHardlink(entry: ParsedEntry & { type: 'hardlink' }): Promise<void> {
    const linkTo = entry.link_to;
    await this.checkParents(entry, entry.components);
    const linkToComponents = linkTo.split('/');
    await this.checkParents({ path: `${entry.path} (link_to)` }, linkToComponents);
    const existingAbs = this.abs(linkTo);
    const existing = await lstat(existingAbs).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') throw new ManifestError(`"${entry.path}": its link_to "${linkTo}" was not restored`);
      throw error;
    });
    if (!existing.isFile()) throw new UnsafePathError(`"${entry.path}": its link_to "${linkTo}" is not a regular file in the target`);
    const abs = this.abs(entry.path);
    try {
      await link(existingAbs, abs);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      const current = await lstat(abs);
      if (!(current.ino === existing.ino && current.dev === existing.dev)) {
        await this.replace(entry.path);
        await link(existingAbs, abs);
      }
    }
    this.context.result.hardlinks += 1;
  }
}

/** Restores the backup at `options.source` over the share root at `options.target`. */
export async function runRestore(options: RunOptions): Promise<RunResult> {
  return await runWithContext(options, async (context) => {
    const { reporter } = context;
    reporter.setPhase('scanning');
    const backupRoot = await realpath(options.source).catch((error: unknown) => {
      throw new ConfigError(`the backup root ${options.source} cannot be used: ${(error as Error).message}`);
    });
    await mkdir(options.target, { recursive: true });
    const targetRoot = await realpath(options.target);
    if (isSameOrUnder(backupRoot, targetRoot) || isSameOrUnder(targetRoot, backupRoot)) {
      throw new ConfigError('the backup and the target share overlap');
    }
    const summary = await readSummary(backupRoot);
    reporter.setTotals(summary.files, summary.bytes);
    const manifestPath = `${backupRoot}/${MANIFEST_FILE}`;
    await checkManifest(manifestPath, summary, context);

    reporter.setPhase('copying');
    const run = new RestoreRun(context, backupRoot, targetRoot);
    await run.copy(manifestPath);

    reporter.setPhase('verifying');
    const { result } = context;
    if (result.files !== summary.files || result.bytes !== summary.bytes) {
      throw new ManifestError(`restored ${result.files} files and ${result.bytes} bytes, the backup has ${summary.files} files and ${summary.bytes} bytes`);
    }
    await run.applyDirMetadata();
  });
}
