// The native addon (native/fsx.c): nanosecond timestamps, extended attributes, SEEK_DATA/SEEK_HOLE,
// mknod for FIFOs and sockets, chmod without following. Loaded at first use, once per thread, from
// beside the bundle (cdk/copier-bundle.ts copies it there as NATIVE_FSX_FILE) or from native/build
// (`npm ci` builds it there; tests and tsx). There is no fallback: without it the copier could not
// keep what a backup promises, so a missing binary fails the run with a message that says so.
import { createRequire } from 'node:module';
import { decodeName, type FsPath } from './names.ts';

export const NATIVE_FSX_FILE = 'fsx.node';
const NATIVE_FSX_IDS = [`./${NATIVE_FSX_FILE}`, '../../native/build/fsx.node'];

type Callback<T> = (error: NodeJS.ErrnoException | null, result: T) => void;

/** native/fsx.c's functions: synchronous, or with a callback last, on libuv's thread pool. */
export interface Fsx {
  futimens(fd: number, seconds: bigint, nanoseconds: number): void;
  futimens(fd: number, seconds: bigint, nanoseconds: number, callback: Callback<undefined>): void;
  lutimens(path: FsPath, seconds: bigint, nanoseconds: number): void;
  lutimens(path: FsPath, seconds: bigint, nanoseconds: number, callback: Callback<undefined>): void;
  flistxattr(fd: number): Buffer;
  flistxattr(fd: number, callback: Callback<Buffer>): void;
  llistxattr(path: FsPath): Buffer;
  llistxattr(path: FsPath, callback: Callback<Buffer>): void;
  fgetxattr(fd: number, name: FsPath): Buffer;
  fgetxattr(fd: number, name: FsPath, callback: Callback<Buffer>): void;
  lgetxattr(path: FsPath, name: FsPath): Buffer;
  lgetxattr(path: FsPath, name: FsPath, callback: Callback<Buffer>): void;
  fsetxattr(fd: number, name: FsPath, value: Buffer): void;
  fsetxattr(fd: number, name: FsPath, value: Buffer, callback: Callback<undefined>): void;
  lsetxattr(path: FsPath, name: FsPath, value: Buffer): void;
  lsetxattr(path: FsPath, name: FsPath, value: Buffer, callback: Callback<undefined>): void;
  /** the next data at or after offset, or -1 when there is none (ENXIO) */
  seekData(fd: number, offset: number): number;
  seekHole(fd: number, offset: number): number;
  /** mode: S_IFIFO or S_IFSOCK with permission bits */
  mknod(path: FsPath, mode: number): void;
  mknod(path: FsPath, mode: number, callback: Callback<undefined>): void;
  /** fchmodat(AT_SYMLINK_NOFOLLOW) */
  lchmod(path: FsPath, mode: number): void;
  lchmod(path: FsPath, mode: number, callback: Callback<undefined>): void;
}

let loaded: Fsx | undefined;

/** The addon, loaded on first use (per thread: N-API modules are context-aware). */
export function fsx(): Fsx {
  if (loaded) return loaded;
  // not the bundle's `require`: esbuild would try to bundle a .node file
  const nativeRequire = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const id of NATIVE_FSX_IDS) {
    try {
      return (loaded = nativeRequire(id) as Fsx);
    } catch (error) {
      failures.push(`${id}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`the copier's native addon (native/fsx.c) is not built: run \`node native/build.mjs\` (${failures.join('; ')})`);
}

/** A manifest mtime_ns as futimens/utimensat take it: seconds and nanoseconds, the latter in 0..1e9. */
export function splitNs(mtimeNs: string | bigint): [bigint, number] {
  const ns = BigInt(mtimeNs);
  let seconds = ns / 1_000_000_000n;
  let rest = ns % 1_000_000_000n;
  if (rest < 0n) {
    seconds -= 1n;
    rest += 1_000_000_000n;
  }
  return [seconds, Number(rest)];
}

/** The names of listxattr's answer (NUL-terminated, bytes decoded as names are: names.ts). */
export function xattrNames(list: Buffer): string[] {
  const names: string[] = [];
  for (let start = 0; start < list.length;) {
    let end = list.indexOf(0, start);
    if (end === -1) end = list.length;
    if (end > start) names.push(decodeName(list.subarray(start, end)));
    start = end + 1;
  }
  return names;
}

/** errno codes that mean "this file system (or this caller) cannot hold or show this xattr": a
 * report entry, not a failure. */
export function xattrRefused(code: string | undefined): boolean {
  return code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EPERM' || code === 'EACCES' || code === 'E2BIG' || code === 'ERANGE' || code === 'EINVAL' || code === 'ENOSPC';
}

/** One of the addon's calls with a callback, as a promise. */
export function fsxCall<T>(start: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, result) => (error ? reject(error) : resolve(result))));
}
