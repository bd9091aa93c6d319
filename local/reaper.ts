// Nothing the local runtime starts may outlive it. An orderly stop ends DynamoDB Local and the
// copiers itself, and a process 'exit' handler covers process.exit(); but SIGKILL runs no code,
// and Linux has no parent-death signal a Node program can ask for. Each of those children leads
// a process group of its own (so it can be stopped with everything it started), so a kill of our
// group does not reach them either. The reaper (reaper-process.mjs) closes that gap: it watches
// the groups we register and ends them when its stdin, a pipe from us, reaches EOF, which the
// kernel causes when we die in any way.
//
// A group is told to the reaper just after spawn() returns, so a SIGKILL in between (or a stack
// descheduled there on a loaded machine) would leave that child unwatched. Every child therefore
// also carries an environment mark naming this stack (STACK_MARK_VARIABLE, see stackMark()), and
// the reaper, once we are gone, also ends the group of every process that still carries it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const REAPER_SCRIPT = fileURLToPath(new URL('./reaper-process.mjs', import.meta.url));

interface Reaper {
  process: ChildProcess;
  stdin: Writable & { unref?: () => void };
}

let reaper: Reaper | undefined;
let stackId: string | undefined;

/** The variable whose value names the stack that started a process (read by reaper-process.mjs). */
export const STACK_MARK_VARIABLE = 'SHARE_BACKUP_LOCAL_STACK';

function send(line: string): void {
  if (!reaper) return;
  try {
    reaper.stdin.write(`${line}\n`);
  } catch {
    // the reaper is gone: the orderly stop still works, only SIGKILL is uncovered
  }
}

function startReaper(): Reaper {
  // detached: a session (so a process group) of its own, out of reach of a kill of ours and of
  // the terminal's Ctrl+C
  const child = spawn(process.execPath, [REAPER_SCRIPT, stackMarkValue()], { detached: true, stdio: ['pipe', 'ignore', 'inherit'] });
  const stdin = child.stdin as Reaper['stdin'];
  // Neither the reaper nor its pipe may keep this process alive: they exist for its death.
  child.unref();
  stdin.unref?.();
  stdin.on('error', () => undefined); // EPIPE when the reaper died first: reported on 'exit'
  child.once('exit', (code, signal) => {
    if (reaper?.process === child) reaper = undefined;
    process.stderr.write(`[local] the reaper exited (code ${code}, signal ${signal}): children started from now on are watched by a new one\n`);
  });
  return { process: child, stdin };
}

function stackMarkValue(): string {
  stackId ??= `${process.pid}-${randomBytes(8).toString('hex')}`;
  return stackId;
}

/**
 * The environment a child must be spawned with (merged into its own) so that the reaper finds it
 * even if this process dies before killWithUs() told it the child's group. Starts the reaper, and
 * marks this process's own environment too, so a child spawned by a library that passes no
 * environment of its own (DynamoDB Local's launcher) inherits the mark.
 */
export function stackMark(): Record<string, string> {
  const mark = { [STACK_MARK_VARIABLE]: stackMarkValue() };
  reaper ??= startReaper();
  Object.assign(process.env, mark);
  return mark;
}

/**
 * Ends the child's process group (the child must lead one: spawned with detached: true) if this
 * process dies before the child exits. The watch ends by itself when the child exits.
 */
export function killWithUs(child: ChildProcess): void {
  const pgid = child.pid;
  if (pgid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  reaper ??= startReaper();
  send(`watch ${pgid}`);
  child.once('exit', () => send(`forget ${pgid}`));
}
