// How a copier task stopped, from the ECS task description ecs:runTask.sync puts in the Cause of
// its error (containers[].exitCode and reason, stoppedReason, stopCode), as the one sentence a user
// reads in fail_reason. Pure, and the same on AWS and locally: the local ECS facade
// (local/stepfunctions/tasks/ecs.ts) describes a stopped copier the way ECS does.
//
// What ECS says, and what it means:
// - exit code 128+N with no container reason: the process died of signal N (137 = SIGKILL, 139 =
//   SIGSEGV, 143 = SIGTERM that the copier did not get to handle);
// - "OutOfMemoryError: Container killed due to memory usage" (container reason, sometimes only the
//   stoppedReason), with exit code 137: the kernel's OOM killer;
// - stopCode UserInitiated / TerminationNotice / ServiceSchedulerInitiated (stoppedReason says who):
//   the task was stopped, SIGTERM then SIGKILL after the container's stop timeout;
// - a container reason that is the copier's own `{"error","reason"}` line (the local facade; on AWS
//   the copier records its reason on the progress record itself): that reason;
// - TaskFailedToStart / CannotPullContainerError…: the stoppedReason or container reason.
import { constants } from 'node:os';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Task descriptions come PascalCase from runTask.sync and camelCase from the ECS API: read both. */
export const taskField = (o: Json, name: string): unknown => o[name] ?? o[name.charAt(0).toLowerCase() + name.slice(1)];

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** ECS's stoppedReason when the essential container simply ended: it says nothing more. */
const CONTAINER_EXITED = 'Essential container in task exited';
const STOPPED_BY_SOMEONE = new Set(['UserInitiated', 'TerminationNotice', 'ServiceSchedulerInitiated', 'SpotInterruption']);
const AS_OF_LAST_WRITE = 'the figures on the record are as of its last progress write';

/** "SIGKILL" for 9, from the platform's own table (the copier runs on Linux on AWS and locally). */
export function signalName(signal: number): string | undefined {
  return Object.entries(constants.signals).find(([, n]) => n === signal)?.[0];
}

/** The copier's `{"error","reason"}` line's reason, when the text is one. */
function copierReason(value: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(value);
    if (isObject(parsed) && typeof parsed.error === 'string' && typeof parsed.reason === 'string' && parsed.reason !== '') return parsed.reason;
  } catch {
    // not the copier's line
  }
  return undefined;
}

/** The user's reason for a stopped copier task; undefined when the description says nothing usable. */
export function describeStoppedTask(task: Json): string | undefined {
  const stoppedReason = text(taskField(task, 'StoppedReason'));
  const stopCode = text(taskField(task, 'StopCode'));
  const containersField = taskField(task, 'Containers');
  const containers = Array.isArray(containersField) ? containersField.filter(isObject) : [];
  // the copier's container (the task has one); a container without an exit code never ran
  for (const container of containers) {
    const reason = text(taskField(container, 'Reason'));
    const exitCode = taskField(container, 'ExitCode');
    const oom = [reason, stoppedReason].find((r) => r !== undefined && /OutOfMemory/i.test(r));
    if (oom) return `The copier ran out of memory and was killed (${oom}); ${AS_OF_LAST_WRITE}.`;
    if (reason) {
      const own = copierReason(reason);
      if (own) return own;
    }
    if (typeof exitCode === 'number' && exitCode > 128 && exitCode < 128 + 65 && !reason) {
      const signal = exitCode - 128;
      const name = signalName(signal);
      const stoppedBy = (stopCode !== undefined && STOPPED_BY_SOMEONE.has(stopCode)) || (stoppedReason !== undefined && stoppedReason !== CONTAINER_EXITED)
        ? `, after its task was stopped (${stoppedReason ?? stopCode})` : '';
      return `The copier was killed by signal ${signal}${name ? ` (${name})` : ''}, exit code ${exitCode}${stoppedBy}; ${AS_OF_LAST_WRITE}.`;
    }
    if (reason) return reason;
    if (typeof exitCode === 'number' && exitCode !== 0) {
      return `The copier exited with code ${exitCode}${stoppedReason ? ` (${stoppedReason})` : ''}.`;
    }
  }
  return stoppedReason;
}

/**
 * The reason for a Task state that ran out of time (TimeoutSeconds, HeartbeatSeconds). The caught
 * error does not say which state; the copy step is the one with a long limit (RunCopyTask, a day),
 * the others have seconds and retry their timeouts first.
 */
export function describeTimeout(error: string): string {
  return `Timed out: a workflow step, usually the copy, did not finish within its time limit (${error}) and was stopped; the figures on the record are as of the copier's last progress write.`;
}
