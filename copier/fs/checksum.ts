// Content checksums. A backup records two for every file (manifest/entries.ts): `sha256`, the content's
// identity, and `crc32` (CRC-32/ISO-HDLC, the CRC zlib, gzip and Amazon S3's x-amz-checksum-crc32
// compute), which a restore checks every byte it writes against.
//
// Why a CRC for the transfer check: it detects what a copy can do to data (bit flips, short or
// misplaced writes, a damaged backup block) as an end-to-end check should, and zlib's crc32 runs at
// ~4 GB/s a core here against sha256's ~1.2 GB/s (SHA-NI): sha256 of every byte restored cost more
// CPU than `cp -a` spent on the whole copy (docs/performance.md). S3's default integrity checksums
// and the block checksums of ZFS and Btrfs make the same trade. COPIER_CHECKSUM=sha256 asks for
// sha256 instead; entries of backups made before 0.3 have no crc32 and are always checked by sha256.
//
// Nothing is loaded at import: the native CRC at its first use, zlib's only if no native one loads,
// node:crypto at the first sha256. A module that imports this one for a constant
// (cdk/copier-bundle.ts) loads no binary. (It saves no measurable CPU in a copy worker: 15 runs each,
// four workers, 0.497 against 0.493 s of CPU a restore.)
import type { Hash } from 'node:crypto';
import { createRequire } from 'node:module';

type Crc32Function = (data: Uint8Array, initial?: number) => number;

/** Where the native CRC-32 is looked for: beside the bundle (cdk/copier-bundle.ts copies the build
 * platform's binary there as NATIVE_CRC32_FILE), then the npm package (tests, `tsx`). */
export const NATIVE_CRC32_FILE = 'crc32.node';
const NATIVE_CRC32_IDS = [`./${NATIVE_CRC32_FILE}`, '@node-rs/crc32'];
/** CRC-32/ISO-HDLC of "123456789", the algorithm's published check value */
const CHECK_INPUT = '123456789';
const CHECK_VALUE = 0xcbf43926;

/**
 * The CRC-32 every restored byte goes through. @node-rs/crc32 (napi-rs over the crc32fast crate:
 * PCLMULQDQ folding on x86-64, the CRC instructions on arm64) runs at ~14 GB/s a core here against
 * zlib's ~5 GB/s, which on large files is a third of the copier's CPU (docs/performance.md). Its
 * prebuilt binaries come from npm as optional dependencies, one per platform; where none loads, or one
 * gives a wrong check value, zlib's (same algorithm, same values) is used. Loaded once per thread.
 */
function loadCrc32(): { crc32: Crc32Function; implementation: 'native' | 'zlib' } {
  // not the bundle's `require`: esbuild would try to bundle a .node file
  const nativeRequire = createRequire(import.meta.url);
  for (const id of NATIVE_CRC32_IDS) {
    try {
      const native = (nativeRequire(id) as { crc32?: Crc32Function }).crc32;
      if (native && native(Buffer.from(CHECK_INPUT)) === CHECK_VALUE) return { crc32: native, implementation: 'native' };
    } catch {
      // not built for this platform, or not beside this module: the next, then zlib
    }
  }
  return { crc32: process.getBuiltinModule('node:zlib').crc32, implementation: 'zlib' };
}

let loaded: ReturnType<typeof loadCrc32> | undefined;
const loadedCrc32 = () => (loaded ??= loadCrc32());

function crc32(data: Uint8Array, initial?: number): number {
  return loadedCrc32().crc32(data, initial);
}

/** Which CRC-32 this thread computes with (the copier logs it; tests check the native one loads). */
export function crc32Implementation(): 'native' | 'zlib' {
  return loadedCrc32().implementation;
}

function createHash(algorithm: 'sha256'): Hash {
  return process.getBuiltinModule('node:crypto').createHash(algorithm);
}

export type ChecksumAlgorithm = 'crc32' | 'sha256';

/** A checksum computed over data given piece by piece. */
export interface Digest {
  update(data: Buffer): void;
  /** lower-case hex, as the manifest writes it */
  hex(): string;
}

function crc32Hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}

class Crc32Digest implements Digest {
  private value = 0;
  update(data: Buffer): void {
    this.value = crc32(data, this.value);
  }
  hex(): string {
    return crc32Hex(this.value);
  }
}

class Sha256Digest implements Digest {
  private readonly hash: Hash = createHash('sha256');
  update(data: Buffer): void {
    this.hash.update(data);
  }
  hex(): string {
    return this.hash.digest('hex');
  }
}

export function createDigest(algorithm: ChecksumAlgorithm): Digest {
  return algorithm === 'crc32' ? new Crc32Digest() : new Sha256Digest();
}

/** The checksum of one buffer (a small file read whole). */
export function checksumOf(algorithm: ChecksumAlgorithm, data: Buffer): string {
  return algorithm === 'crc32' ? crc32Hex(crc32(data)) : createHash('sha256').update(data).digest('hex');
}

/** What a restore verifies a file entry with: its crc32 when it has one and crc32 is asked for,
 * else its sha256. */
export function verificationOf(entry: { sha256: string; crc32?: string }, preferred: ChecksumAlgorithm): { checksum: string; algorithm: ChecksumAlgorithm } {
  return entry.crc32 !== undefined && preferred === 'crc32' ? { checksum: entry.crc32, algorithm: 'crc32' } : { checksum: entry.sha256, algorithm: 'sha256' };
}

/** Both checksums a backup records, computed in one pass over the data. */
export class BackupDigests {
  private readonly sha256 = new Sha256Digest();
  private readonly crc32 = new Crc32Digest();
  update(data: Buffer): void {
    this.sha256.update(data);
    this.crc32.update(data);
  }
  result(): { sha256: string; crc32: string } {
    return { sha256: this.sha256.hex(), crc32: this.crc32.hex() };
  }
}
