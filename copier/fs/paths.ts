// Manifest path rules. A manifest path is relative POSIX, "." is the root, and every other path is
// a '/'-separated list of plain names. Anything that could name a place outside the target (an
// absolute path, a ".." component, also when a backslash is read as a separator) or that is not in
// canonical form (empty or "." components, NUL) is rejected, so the fs engine only ever joins
// validated names under the target's real path.
//
// Names of any bytes are strings here (names.ts: bytes that are not UTF-8 as lone surrogates
// U+DC80..U+DCFF). Those are all ≥ 0x80, so these checks on the string are checks on the raw bytes;
// a string that decodes no bytes, or not only one way, is refused.
import { UnsafePathError } from '../errors.ts';
import { fsPath, isCanonicalName, type FsPath } from './names.ts';

export const ROOT_PATH = '.';

/**
 * The components of a manifest path ([] for the root "."), or an UnsafePathError saying why the path
 * is refused. `what` names the field in the message ("path", "link_to").
 */
export function manifestPathComponents(path: unknown, what = 'path'): string[] {
  if (typeof path !== 'string') throw new UnsafePathError(`${what} is not a string`);
  if (path === ROOT_PATH) return [];
  const refuse = (why: string) => new UnsafePathError(`${what} ${JSON.stringify(path)} ${why}`);
  if (path.length === 0) throw new UnsafePathError(`${what} is empty`);
  if (path.includes('\0')) throw refuse('contains NUL');
  if (!isCanonicalName(path)) throw refuse('is not the decoding of any bytes (names.ts)');
  if (path.startsWith('/') || path.startsWith('\\')) throw refuse('is absolute');
  const components = path.split('/');
  // (checked per component only where needed: this runs for every manifest line)
  const hasBackslash = path.includes('\\');
  for (const component of components) {
    if (component === '') throw refuse('has an empty component');
    if (component === '.') throw refuse('has a "." component');
    // A backslash is an ordinary character in a POSIX name, but "..\x" or "a\..\b" would traverse
    // on anything that reads backslashes as separators: refuse those names outright.
    if (component === '..' || (hasBackslash && component.split('\\').includes('..'))) throw refuse('has a ".." component');
  }
  return components;
}

/** The manifest paths of every proper ancestor of a validated path, root excluded, outermost first:
 * "a/b/c" → ["a", "a/b"]. */
export function ancestorPaths(components: readonly string[]): string[] {
  const ancestors: string[] = [];
  for (let i = 1; i < components.length; i++) ancestors.push(components.slice(0, i).join('/'));
  return ancestors;
}

/** Whether manifest path `inner` is `outer` itself or lies under it ("." contains everything). */
export function isSameOrUnder(outer: string, inner: string): boolean {
  if (outer === ROOT_PATH) return true;
  return inner === outer || inner.startsWith(`${outer}/`);
}

/** Whether two manifest paths are the same, or one contains the other: two such entries must not be
 * worked on at the same time (one could replace a directory the other writes into). */
export function pathsOverlap(a: string, b: string): boolean {
  return isSameOrUnder(a, b) || isSameOrUnder(b, a);
}

/** The manifest path of a child name in a directory given by its manifest path. */
export function childPath(parent: string, name: string): string {
  return parent === ROOT_PATH ? name : `${parent}/${name}`;
}

/** The manifest path of a validated path's directory ("." for a name at the root). */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? ROOT_PATH : path.slice(0, slash);
}

/** The absolute path of a validated manifest path under a root directory's real path, as fs calls
 * take it: a string, or the raw bytes of a name that is not UTF-8 (names.ts). */
export function underRoot(root: string, path: string): FsPath {
  return path === ROOT_PATH ? root : fsPath(root, path);
}
