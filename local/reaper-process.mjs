// The reaper: a small process the local runtime starts once (local/reaper.ts) in a session of its
// own, so that a kill of the stack's process group does not reach it. The stack tells it, one
// line at a time on stdin, which process groups it started (`watch <pgid>`, `forget <pgid>`).
// When stdin ends, the stack is gone, however it died (even by SIGKILL: the kernel
// closes the pipe), and the reaper ends every group still watched: SIGTERM (with SIGCONT, so a
// stopped process gets it too), then SIGKILL after a grace period. Besides the groups it was
// told, it ends the group of every process whose environment carries the stack's mark (argv[2],
// see stackMark() in reaper.ts): a child the stack spawned but died before telling. Plain
// JavaScript: it must start in a few milliseconds and must not depend on tsx.
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const GRACE_MS = Number(process.env.REAPER_GRACE_MS) || 2000;
const POLL_MS = 50;
const STACK_MARK = process.argv[2] ? `SHARE_BACKUP_LOCAL_STACK=${process.argv[2]}` : undefined;
const watched = new Set();

/**
 * The process groups led by a process (not us) whose initial environment carries the stack's
 * mark. Leaders only: the stack spawns its children detached, each leading a group, while a
 * marked process that is not a leader shares someone else's group (a test runner's worker, say,
 * in the group of the shell that ran the tests), which is not ours to end.
 */
function markedGroups() {
  if (!STACK_MARK) return [];
  const groups = new Set();
  let pids = [];
  try {
    pids = readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name)).map(Number);
  } catch {
    return []; // no /proc: only the groups we were told
  }
  for (const pid of pids) {
    if (pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(STACK_MARK)) continue;
      // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgid === pid && pgid !== process.pid) groups.add(pgid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return [...groups];
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // no such group any more
  }
}

/** [pid, pgid, state] of every process, from /proc/<pid>/stat ("pid (comm) state ppid pgrp ..."). */
function processTable() {
  const table = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.push([Number(name), Number(pgrp), state]);
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/**
 * Whether any process of the group still runs. A zombie does not: a child orphaned by the
 * stack's death waits for init to collect it, and signals sent to it do nothing.
 */
function alive(pgid) {
  if (!signalGroup(pgid, 0)) return false;
  try {
    return processTable().some(([, pgrp, state]) => pgrp === pgid && state !== 'Z');
  } catch {
    return true; // no /proc: the signal's answer stands
  }
}

async function reap() {
  const groups = [...new Set([...watched, ...markedGroups()])].filter(alive);
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
