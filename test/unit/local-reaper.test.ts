// The reaper (local/reaper.ts, reaper-process.mjs) ends what the local stack started when the
// stack dies, even by SIGKILL. These tests die at the worst moment: after spawning a child and
// before telling the reaper its process group (killWithUs never runs), the window CI hit on a
// loaded machine. The stack's environment mark must be enough for the reaper to find the child;
// and it must never end a group the stack did not start (a marked process that leads no group).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

// A stand-in for the stack: it marks itself, spawns three sleepers and prints their pids, then
// waits to be killed. None is given to killWithUs.
const STACK_SCRIPT = `
import { spawn } from 'node:child_process';
import { stackMark } from './local/reaper.ts';
const sleeper = (options) => spawn('sleep', ['600'], { stdio: 'ignore', ...options }).pid;
const marked = sleeper({ detached: true, env: { PATH: process.env.PATH, ...stackMark() } });
const unmarked = sleeper({ detached: true, env: { PATH: process.env.PATH } });
const markedInOurGroup = sleeper({ detached: false });
console.log(JSON.stringify({ marked, unmarked, markedInOurGroup }));
setInterval(() => undefined, 60_000);
`;

describe('the local reaper', () => {
  it('ends a marked child the stack never told it about when the stack is SIGKILLed, and nothing that is not its own', async () => {
    const stack = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', STACK_SCRIPT], {
      cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'], detached: true, env: { ...process.env, REAPER_GRACE_MS: '500' },
    });
    leftovers.push(stack.pid!);
    const pids = await new Promise<{ marked: number; unmarked: number; markedInOurGroup: number }>((resolve, reject) => {
      let out = '';
      stack.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as never);
      });
      stack.once('exit', (code) => reject(new Error(`the stand-in stack exited (${code}) before spawning: ${out}`)));
    });
    leftovers.push(pids.marked, pids.unmarked, pids.markedInOurGroup);
    expect([pids.marked, pids.unmarked, pids.markedInOurGroup].every(alive)).toBe(true);

    process.kill(stack.pid!, 'SIGKILL');

    expect(await gone(pids.marked, 5000), 'the marked child is ended').toBe(true);
    // the controls: the reaper ends by its mark, not by ending whatever happens to be around
    expect(alive(pids.unmarked), 'an unmarked group is left alone').toBe(true);
    expect(alive(pids.markedInOurGroup), 'a marked process leading no group of its own is left alone').toBe(true);
  }, 30_000);
});
