// Hard links, made by the main thread once the inode's first path is complete (run.ts holds the
// link in flight until then). A name already there is the link itself (kept), another file
// (replaced, as any file's content is) or an entry of another type (moved aside).
import { link, lstat, unlink } from 'node:fs/promises';
import { errnoCode, ManifestError, UnsafePathError } from '../errors.ts';
import type { ParsedEntry } from '../manifest/entries.ts';
import type { RunContext } from '../run.ts';
import type { TargetDirs } from './target-dirs.ts';

export async function restoreHardlink(entry: ParsedEntry & { type: 'hardlink' }, linkToComponents: string[], dirs: TargetDirs, context: RunContext): Promise<void> {
  const linkTo = entry.link_to;
  dirs.checkParents(entry.path, entry.path, entry.components);
  dirs.checkParents(`${entry.path} (link_to)`, entry.link_to, linkToComponents);
  const existingAbs = dirs.abs(linkTo);
  const existing = await lstat(existingAbs).catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') throw new ManifestError(`"${entry.path}": its link_to "${linkTo}" was not restored`);
    throw error;
  });
  if (!existing.isFile()) throw new UnsafePathError(`"${entry.path}": its link_to "${linkTo}" is not a regular file in the target`);
  const abs = dirs.abs(entry.path);
  try {
    await link(existingAbs, abs);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
    const current = await lstat(abs, { bigint: true });
    if (!(current.ino === BigInt(existing.ino) && current.dev === BigInt(existing.dev))) {
      const backupHas = `a hard link of ${JSON.stringify(linkTo)}`;
      if (current.isFile()) {
        // a file of the same type: replaced, as any file's content is
        await unlink(abs);
        context.report({ path: entry.path, what: 'content', action: 'repaired', why: `the target had another file at this name, the backup has ${backupHas}` });
      } else {
        dirs.moveAside(entry.path, current, backupHas);
      }
      await link(existingAbs, abs);
    }
  }
  context.result.hardlinks += 1;
}
