// File-system steps shared by backup and restore. Nothing here follows a symlink at the last
// component: sources and targets are opened with O_NOFOLLOW, targets are created with O_EXCL (which
// refuses any existing name, a dangling symlink included), and metadata is set through the open
// descriptor or with the l* calls.
import { BackupDigests } from './checksum.ts';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { errnoCode, SizeMismatchError, StoppedError } from './errors.ts';

/** Files up to this size are read whole, hashed and written in one go; larger ones stream in chunks. */
export const WHOLE_FILE_LIMIT = 1024 * 1024;
export const CHUNK_SIZE = 1024 * 1024;

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
export const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export interface Ownership {
  uid: number;
  gid: number;
}

export interface FileMetadata {
  mode: number;
  /** seconds since the epoch (fractional) */
  mtime: number;
  /** set only when the copier may change ownership (root) */
  owner?: Ownership;
}

/**
 * Creates a new regular file at `abs`. An existing name is removed first (via `beforeReplace`, which
 * gets the chance to refuse or to record that a directory goes away) and creation retried once; a
 * name that reappears in between fails the run rather than being followed.
 */
export async function createFile(abs: string, beforeReplace: (abs: string) => Promise<void>): Promise<FileHandle> {
  try {
    return await open(abs, CREATE_FLAGS, 0o600);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
  }
  await beforeReplace(abs);
  return await open(abs, CREATE_FLAGS, 0o600);
}

/** Sets ownership (when asked), mode and mtime through an open descriptor; chown first because it
 * clears set-id bits. */
export async function applyMetadata(handle: FileHandle, metadata: FileMetadata): Promise<void> {
  if (metadata.owner) await handle.chown(metadata.owner.uid, metadata.owner.gid);
  await handle.chmod(metadata.mode);
  await handle.utimes(metadata.mtime, metadata.mtime);
}

async function writeAll(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  let offset = 0;
  while (offset < length) {
    const { bytesWritten } = await handle.write(buffer, offset, length - offset, position + offset);
    offset += bytesWritten;
  }
}

/** Reads up to `length` bytes at `position`, looping over short reads; fewer only at end of file. */
async function readFull(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<number> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

export interface CopyRequest {
  /** the opened source (the caller owns and closes it) */
  source: FileHandle;
  /** the source's size as fstat saw it */
  size: number;
  /** creates the target file (the caller's replacement policy); called once the source is read for
   * small files, so a corrupt small file never truncates a target */
  createTarget: () => Promise<FileHandle>;
  metadata: FileMetadata;
  /**
   * restore: the size the copy must have (fails on a short source); backup: undefined, the copy
   * takes what the source holds when read
   */
  exactSize?: boolean;
  onBytes?: (bytes: number) => void;
  signal?: AbortSignal;
  /** what to call the source in messages */
  label: string;
}

export interface CopyResult {
  size: number;
  sha256: string;
  crc32: string;
}

function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new StoppedError('stopped');
}

/**
 * Copies one regular file through user space, hashing what is written. Small files: one read, one
 * hash, one write; large files: 1 MiB chunks, hashed as they go.
 */
export async function copyFileHashing(request: CopyRequest): Promise<CopyResult> {
  const { source, size, exactSize, label } = request;
  if (size <= WHOLE_FILE_LIMIT) {
    const buffer = Buffer.allocUnsafe(size);
    const length = await readFull(source, buffer, size, 0);
    if (exactSize && length !== size) throw new SizeMismatchError(`${label}: read ${length} bytes, expected ${size}`);
    const digests = new BackupDigests();
    digests.update(buffer.subarray(0, length));
    const checksums = digests.result();
    throwIfStopped(request.signal);
    const target = await request.createTarget();
    try {
      await writeAll(target, buffer, length, 0);
      request.onBytes?.(length);
      await applyMetadata(target, request.metadata);
    } finally {
      await target.close();
    }
    return { size: length, ...checksums };
  }

  const hash = new BackupDigests();
  const buffer = Buffer.allocUnsafe(CHUNK_SIZE);
  const target = await request.createTarget();
  let position = 0;
  try {
    for (;;) {
      throwIfStopped(request.signal);
      const want = exactSize ? Math.min(CHUNK_SIZE, size - position) : CHUNK_SIZE;
      if (want === 0) break;
      const length = await readFull(source, buffer, want, position);
      if (length === 0) break;
      hash.update(buffer.subarray(0, length));
      await writeAll(target, buffer, length, position);
      position += length;
      request.onBytes?.(length);
      if (length < want) break;
    }
    if (exactSize && position !== size) throw new SizeMismatchError(`${label}: read ${position} bytes, expected ${size}`);
    const checksums = hash.result();
    await applyMetadata(target, request.metadata);
    return { size: position, ...checksums };
  } finally {
    await target.close();
  }
}

/** Opens a source file without following a symlink at its name. */
export async function openSource(abs: string): Promise<FileHandle> {
  return await open(abs, READ_FLAGS);
}
