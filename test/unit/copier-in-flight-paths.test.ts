// copier/restore/in-flight-paths.ts against a naive model (a list of the paths in flight, scanned
// with pathsOverlap): the same answer and the same holders, for any sequence of adds, releases and
// questions that keeps the restore's rule (a path is added only when nothing in flight overlaps it).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ancestorPaths, pathsOverlap, ROOT_PATH } from '../../copier/fs/paths.ts';
import { InFlightPaths, type PathHolder } from '../../copier/restore/in-flight-paths.ts';

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

const component = fc.constantFrom('a', 'b', 'c');
const path = fc.array(component, { minLength: 1, maxLength: 4 }).map((components) => components.join('/'));
const question = fc.oneof({ weight: 1, arbitrary: fc.constant(ROOT_PATH) }, { weight: 6, arbitrary: path });
const op = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), holder: fc.nat(3), path }),
  fc.record({ kind: fc.constant('release' as const), holder: fc.nat(3) }),
  fc.record({ kind: fc.constant('ask' as const), path: question }),
);

interface Holder extends PathHolder {
  name: string;
}

describe('InFlightPaths (restore: no two overlapping paths in flight)', () => {
  it('answers as a scan of the paths in flight would, and names the same holders', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      // Prepare
      const inFlight = new InFlightPaths<Holder>();
      const model: { path: string; holder: Holder }[] = [];
      let made = 0;
      const fresh = (): Holder => ({ name: `h${made++}`, paths: [], ancestors: [] });
      const holders = [fresh(), fresh(), fresh(), fresh()];
      const overlapping = (p: string) => model.filter((m) => p === ROOT_PATH || pathsOverlap(m.path, p));
      for (const step of ops) {
        // Act
        if (step.kind === 'add') {
          if (overlapping(step.path).length > 0) continue; // the restore waits first
          const holder = holders[step.holder]!;
          inFlight.add(holder, step.path, ancestorPaths(step.path.split('/')));
          model.push({ path: step.path, holder });
        } else if (step.kind === 'release') {
          const holder = holders[step.holder]!;
          inFlight.release(holder);
          for (let i = model.length - 1; i >= 0; i--) if (model[i]!.holder === holder) model.splice(i, 1);
          holders[step.holder] = fresh(); // a released batch is never filled again
        } else {
          // Assess
          const expected = overlapping(step.path);
          const ancestors = step.path === ROOT_PATH ? [] : ancestorPaths(step.path.split('/'));
          expect(inFlight.overlaps(step.path, ancestors)).toBe(expected.length > 0);
          const into = new Set<Holder>();
          expect(inFlight.overlaps(step.path, ancestors, into)).toBe(expected.length > 0);
          expect([...into].map((h) => h.name).sort()).toEqual([...new Set(expected.map((m) => m.holder.name))].sort());
        }
        expect(inFlight.size).toBe(model.length);
      }
    }), { numRuns: NUM_RUNS });
  });
});
