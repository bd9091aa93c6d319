// The reaper: a small process the local runtime starts once (local/reaper.ts) in a session of its
// own, so that a kill of the stack's process group does not reach it. The stack tells it, one
// line at a time on stdin, which process groups it started (`watch <pgid>`, `forget <pgid>`).
// When stdin ends, the stack is gone, however it died (even by SIGKILL: the kernel
// closes the pipe), and the reaper ends every group still watched: SIGTERM (with SIGCONT, so a
// stopped process gets it too), then SIGKILL after a grace period. Plain JavaScript: it must
// start in a few milliseconds and must not depend on tsx.
import { createInterface } from 'node:readline';

const GRACE_MS = Number(process.env.REAPER_GRACE_MS) || 2000;
const POLL_MS = 50;
const watched = new Set();

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // no such group any more
  }
}

const alive = (pgid) => signalGroup(pgid, 0);

async function reap() {
  const groups = [...watched].filter(alive);
  for (const pgid of groups) {
    signalGroup(pgid, 'SIGTERM');
    signalGroup(pgid, 'SIGCONT');
  }
  const deadline = Date.now() + GRACE_MS;
  while (groups.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, POLL_MS));
  for (const pgid of groups.filter(alive)) {
    process.stderr.write(`[local] reaper: process group ${pgid} outlived the stack by ${GRACE_MS} ms: SIGKILL\n`);
    signalGroup(pgid, 'SIGKILL');
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, value] = line.trim().split(/\s+/);
  const pgid = Number(value);
  if (command === 'watch' && Number.isInteger(pgid) && pgid > 1) watched.add(pgid);
  else if (command === 'forget') watched.delete(pgid);
});
// After an orderly stop every group has been forgotten, and this finds nothing to do.
lines.on('close', () => void reap().then(() => process.exit(0)));
