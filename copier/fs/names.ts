// Names of any bytes. A POSIX name is bytes (anything but '/' and NUL); the manifest is JSON, whose
// strings are Unicode. The mapping is Python's "surrogateescape": bytes are decoded as UTF-8 where
// they are valid UTF-8, and each byte that is not becomes the lone surrogate U+DC80..U+DCFF
// (U+DC00 + the byte). JSON.stringify writes a lone surrogate as the escape "\udcXX" and JSON.parse
// reads it back, so a manifest line holds any name losslessly; every fs call turns such a string
// back into a Buffer of the original bytes (fsPath). Well-formed strings, every name on a share
// that uses UTF-8, go to fs as they are: the common path costs one isWellFormed() (a scan, no copy).
//
// Safety: the escaped bytes are all ≥ 0x80, so '/', '.', '\\' and NUL are the same characters in a
// decoded string as in its raw bytes, and paths.ts's checks on the string are checks on the bytes.
// A string that is not the decoding of any bytes (another lone surrogate, or escapes of bytes that
// are valid UTF-8, which would give one name two spellings) is refused (isCanonicalName).
import { isUtf8 } from 'node:buffer';

declare global {
  interface String {
    /** ES2024 (Node ≥ 20): no lone surrogates */
    isWellFormed(): boolean;
  }
}

/** The length of the well-formed UTF-8 sequence at raw[i] (Unicode's table 3-7), or 0 if there is none. */
function sequenceLength(raw: Uint8Array, i: number): number {
  const first = raw[i]!;
  if (first < 0x80) return 1;
  let length: number;
  if (first >= 0xc2 && first <= 0xdf) length = 2;
  else if (first >= 0xe0 && first <= 0xef) length = 3;
  else if (first >= 0xf0 && first <= 0xf4) length = 4;
  else return 0;
  if (i + length > raw.length) return 0;
  const second = raw[i + 1]!;
  // the second byte's range excludes overlong forms, UTF-16 surrogates and code points past U+10FFFF
  const low = first === 0xe0 ? 0xa0 : first === 0xf0 ? 0x90 : 0x80;
  const high = first === 0xed ? 0x9f : first === 0xf4 ? 0x8f : 0xbf;
  if (second < low || second > high) return 0;
  for (let k = 2; k < length; k++) if ((raw[i + k]! & 0xc0) !== 0x80) return 0;
  return length;
}

/** A name's bytes as a string: UTF-8, each byte that is not part of valid UTF-8 as U+DC00 + byte. */
export function decodeName(raw: Buffer): string {
  if (isUtf8(raw)) return raw.toString('utf8');
  let text = '';
  for (let i = 0; i < raw.length;) {
    const length = sequenceLength(raw, i);
    if (length === 0) {
      text += String.fromCharCode(0xdc00 + raw[i]!);
      i += 1;
    } else {
      text += raw.toString('utf8', i, i + length);
      i += length;
    }
  }
  return text;
}

/** The bytes of a decoded name (decodeName's inverse); throws on a lone surrogate no byte maps to. */
export function encodeName(text: string): Buffer {
  if (text.isWellFormed()) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (char.length === 1 && code >= 0xd800 && code <= 0xdfff) {
      if (code < 0xdc80 || code > 0xdcff) throw new RangeError(`${JSON.stringify(text)} has a lone surrogate that stands for no byte`);
      parts.push(Buffer.from(run, 'utf8'), Buffer.from([code - 0xdc00]));
      run = '';
    } else {
      run += char;
    }
  }
  parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** Whether a string is the decoding of some bytes, and the only one: what a manifest may hold. */
export function isCanonicalName(text: string): boolean {
  if (text.isWellFormed()) return true;
  try {
    return decodeName(encodeName(text)) === text;
  } catch {
    return false;
  }
}

/** What fs calls take for a path: the string itself when well-formed, else its raw bytes. */
export type FsPath = string | Buffer;

/** `${root}/${path}` as fs takes it (root is a real path, well-formed). */
export function fsPath(root: string, path: string): FsPath {
  if (path.isWellFormed()) return `${root}/${path}`;
  return Buffer.concat([Buffer.from(`${root}/`, 'utf8'), encodeName(path)]);
}

/** A path for messages and for string operations (a prefix test): Buffers decoded as names are. */
export function fsPathText(path: FsPath): string {
  return typeof path === 'string' ? path : decodeName(path);
}

/** A symlink's target as symlink(2) takes it. */
export function fsTarget(target: string): FsPath {
  return target.isWellFormed() ? target : encodeName(target);
}
