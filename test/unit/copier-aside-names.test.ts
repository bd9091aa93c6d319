// The names a restore moves the target's entries aside to (copier/jobs/conflicts.ts asideName):
// "<name>.restore-<tag>[-n]", always at most 255 bytes; where that needs it, bytes are cut from the
// end of <name> (never inside a UTF-8 sequence), the suffix kept whole. The restore through the real
// copier is in copier-conflicts.test.ts ("255-byte name").
import { isUtf8 } from 'node:buffer';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asideName, moveAside, NAME_MAX_BYTES } from '../../copier/jobs/conflicts.ts';
import { runSync } from '../../copier/jobs/syscalls.ts';
import { decodeName, encodeName } from '../../copier/fs/names.ts';

const TAG = 'abcdef12';
const SUFFIX = `.restore-${TAG}`;
/** A decoded name's bytes on disk. */
const bytesOf = (name: string) => encodeName(name).length;

describe('aside names (conflicts.ts asideName)', () => {
  it('adds the suffix to a name short enough, "-n" from the second name on', () => {
    expect(asideName('f', TAG, 1)).toBe(`f${SUFFIX}`);
    expect(asideName('f', TAG, 2)).toBe(`f${SUFFIX}-2`);
    expect(asideName('dir é', TAG, 1000)).toBe(`dir é${SUFFIX}-1000`);
    expect(asideName('bad-\udcff', TAG, 3)).toBe(`bad-\udcff${SUFFIX}-3`);
  });

  it('keeps a name that just fits whole (255 bytes with the suffix), and cuts one byte more', () => {
    expect(asideName('n'.repeat(238), TAG, 1)).toBe(`${'n'.repeat(238)}${SUFFIX}`);
    expect(asideName('n'.repeat(239), TAG, 1)).toBe(`${'n'.repeat(238)}${SUFFIX}`);
    expect(bytesOf(asideName('n'.repeat(238), TAG, 1))).toBe(NAME_MAX_BYTES);
  });

  it.each([
    [1, 238, ''],
    [2, 236, '-2'],
    [57, 235, '-57'],
    [1000, 233, '-1000'],
  ])('cuts a 255-byte ASCII name to what fits beside suffix n = %i', (n, kept, dash) => {
    const aside = asideName('n'.repeat(255), TAG, n);
    expect(aside).toBe(`${'n'.repeat(kept)}${SUFFIX}${dash}`);
    expect(bytesOf(aside)).toBe(NAME_MAX_BYTES);
  });

  it('never cuts inside a UTF-8 sequence: 85 "a" and 85 "é" keep 76 "é" (237 bytes), 75 for "-2"', () => {
    const name = `${'a'.repeat(85)}${'é'.repeat(85)}`;
    expect(bytesOf(name)).toBe(255);
    // 238 bytes would end inside the 77th "é"
    const first = asideName(name, TAG, 1);
    expect(first).toBe(`${'a'.repeat(85)}${'é'.repeat(76)}${SUFFIX}`);
    expect(bytesOf(first)).toBe(254);
    const second = asideName(name, TAG, 2);
    expect(second).toBe(`${'a'.repeat(85)}${'é'.repeat(75)}${SUFFIX}-2`);
    expect(bytesOf(second)).toBe(254);
    for (const aside of [first, second]) expect(isUtf8(encodeName(aside))).toBe(true);
  });

  it('never cuts a 4-byte character (a surrogate pair in the string) in two', () => {
    const name = `abc${'😀'.repeat(63)}`;
    expect(bytesOf(name)).toBe(255);
    const aside = asideName(name, TAG, 1);
    expect(aside).toBe(`abc${'😀'.repeat(58)}${SUFFIX}`);
    expect(aside.isWellFormed()).toBe(true);
    expect(bytesOf(aside)).toBe(238 - 3 + 17);
  });

  it('cuts a name that is not UTF-8 at a byte, its result still the decoding of its own bytes', () => {
    const name = `a${'\udcff'.repeat(254)}`;
    expect(bytesOf(name)).toBe(255);
    const aside = asideName(name, TAG, 1);
    expect(aside).toBe(`a${'\udcff'.repeat(237)}${SUFFIX}`);
    expect(bytesOf(aside)).toBe(255);
    expect(decodeName(encodeName(aside))).toBe(aside);
    expect(encodeName(aside).equals(Buffer.concat([Buffer.from('a'), Buffer.alloc(237, 0xff), Buffer.from(SUFFIX)]))).toBe(true);
  });

  it('keeps valid sequences whole in a name that is not UTF-8', () => {
    // one byte that is not UTF-8, then 127 "é": 238 bytes would end inside the 119th
    const name = `\udcff${'é'.repeat(127)}`;
    expect(bytesOf(name)).toBe(255);
    const aside = asideName(name, TAG, 1);
    expect(aside).toBe(`\udcff${'é'.repeat(118)}${SUFFIX}`);
    expect(decodeName(encodeName(aside))).toBe(aside);
  });

  it('drops a whole character that would not fit: 236 "a" and "€" keep only the "a"', () => {
    const name = `${'a'.repeat(236)}€${'b'.repeat(16)}`;
    expect(bytesOf(name)).toBe(255);
    // 238 bytes would keep "€"'s first two bytes (e2 82)
    expect(asideName(name, TAG, 1)).toBe(`${'a'.repeat(236)}${SUFFIX}`);
  });

  it('always fits, keeps the suffix whole, keeps the longest prefix of whole characters, and names its own bytes (any bytes, any n)', () => {
    const byte = fc.integer({ min: 1, max: 255 }).filter((b) => b !== 0x2f);
    const piece = fc.oneof(
      byte.map((b) => Buffer.from([b])),
      fc.constantFrom('é', '€', '😀', 'x', '.').map((char) => Buffer.from(char)),
    );
    fc.assert(fc.property(fc.array(piece, { minLength: 1, maxLength: 255, size: 'max' }), fc.integer({ min: 1, max: 1000 }), (pieces, n) => {
      let raw = Buffer.concat(pieces);
      if (raw.length > 255) raw = raw.subarray(0, 255);
      const name = decodeName(raw);
      const suffix = `${SUFFIX}${n === 1 ? '' : `-${n}`}`;
      const aside = asideName(name, TAG, n);
      const asideRaw = encodeName(aside);
      expect(asideRaw.length).toBeLessThanOrEqual(NAME_MAX_BYTES);
      expect(decodeName(asideRaw)).toBe(aside);
      expect(aside.endsWith(suffix)).toBe(true);
      const kept = asideRaw.subarray(0, asideRaw.length - suffix.length);
      // a prefix of the name's bytes, and the whole name when it fits
      expect(raw.subarray(0, kept.length).equals(kept)).toBe(true);
      const room = NAME_MAX_BYTES - suffix.length;
      if (raw.length <= room) expect(kept.length).toBe(raw.length);
      else expect(kept.length).toBeGreaterThan(room - 4);
      // the kept part is whole characters of the name's decoding
      expect(name.startsWith(aside.slice(0, aside.length - suffix.length))).toBe(true);
      if (isUtf8(raw)) expect(isUtf8(kept)).toBe(true);
    }), { numRuns: 2000 });
  });
});

describe('moving aside under a long name (conflicts.ts moveAside)', () => {
  let work: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'copier-aside-names-'));
  });
  afterEach(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('cuts only the last component, and takes the next name, cut to fit too, when the first is taken', () => {
    const name = 'n'.repeat(255);
    mkdirSync(join(work, 'd', name), { recursive: true });
    writeFileSync(join(work, 'd', name, 'kept'), 'tenant data');
    // the first aside name is someone's already
    writeFileSync(join(work, 'd', `${'n'.repeat(238)}${SUFFIX}`), 'taken');
    const stats = lstatSync(join(work, 'd', name), { bigint: true });

    const entry = runSync(moveAside(work, `d/${name}`, stats, TAG, 'a regular file'));
    const second = `${'n'.repeat(236)}${SUFFIX}-2`;
    expect(entry).toEqual({ path: `d/${name}`, what: 'entry', action: 'moved-aside', moved_to: `d/${second}`, why: 'the target had a directory where the backup has a regular file' });
    expect(readFileSync(join(work, 'd', second, 'kept'), 'utf8')).toBe('tenant data');
    expect(readFileSync(join(work, 'd', `${'n'.repeat(238)}${SUFFIX}`), 'utf8')).toBe('taken');
    expect(readdirSync(join(work, 'd')).sort()).toEqual([`${'n'.repeat(238)}${SUFFIX}`, second].sort());
  });

  it('moves a file with a 255-byte name that is not UTF-8 aside by link and unlink', () => {
    const raw = Buffer.concat([Buffer.from('f'), Buffer.alloc(254, 0xfe)]);
    const at = (name: Buffer) => Buffer.concat([Buffer.from(`${work}/`), name]);
    writeFileSync(at(raw), 'tenant file');
    const stats = lstatSync(at(raw), { bigint: true });

    const entry = runSync(moveAside(work, decodeName(raw), stats, TAG, 'a directory'));
    const asideRaw = Buffer.concat([Buffer.from('f'), Buffer.alloc(237, 0xfe), Buffer.from(SUFFIX)]);
    expect(entry.moved_to).toBe(decodeName(asideRaw));
    expect(encodeName(entry.moved_to!).equals(asideRaw)).toBe(true);
    expect(readdirSync(work, { encoding: 'buffer' }).map((name) => name.toString('hex'))).toEqual([asideRaw.toString('hex')]);
    expect(readFileSync(at(asideRaw), 'utf8')).toBe('tenant file');
    // the same inode: moved, not copied
    expect(lstatSync(at(asideRaw), { bigint: true }).ino).toBe(stats.ino);
  });
});
