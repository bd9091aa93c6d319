// The workflow Lambda's checks: driver capability and the reason a caught error becomes.
import { describe, expect, it } from 'vitest';
import { parseDriverConfig } from '../../functions/domain/drivers.ts';
import { checkBackupCapability, checkRestoreCapability, describeError, DriverCapabilityError } from '../../functions/workflow/capability.ts';
import { describeStoppedTask } from '../../functions/workflow/stopped-task.ts';
import { handler } from '../../functions/workflow/handler.ts';

const config = parseDriverConfig({
  default_driver: 'nfs',
  drivers: [
    { name: 'nfs', support_restore_to_target: true, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
    { name: 'in-place', support_restore_to_target: false, backup_protocols: ['NFS', 'CIFS'], restore_protocols: ['NFS', 'CIFS'] },
  ],
});
const restore = (over: Partial<Parameters<typeof checkRestoreCapability>[1]> = {}) => ({
  backup_id: 'b1', backup_type: 'nfs', backup_share_proto: 'NFS', backup_source_share_id: 's1', target_share_id: 's2', target_share_proto: 'NFS', ...over,
});

describe('checkRestoreCapability', () => {
  it('allows a driver with support_restore_to_target onto another share of a protocol it restores onto', () => {
    expect(checkRestoreCapability(config, restore()).name).toBe('nfs');
  });

  it('refuses another share when the driver lacks support_restore_to_target, but allows the source share', () => {
    expect(() => checkRestoreCapability(config, restore({ backup_type: 'in-place' }))).toThrow(/support_restore_to_target/);
    expect(checkRestoreCapability(config, restore({ backup_type: 'in-place', target_share_id: 's1' })).name).toBe('in-place');
  });

  it('refuses a target protocol the driver does not restore onto, naming both protocols', () => {
    const err = (() => { try { checkRestoreCapability(config, restore({ target_share_proto: 'CIFS' })); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(DriverCapabilityError);
    expect((err as Error).name).toBe('DriverCapabilityError');
    expect((err as Error).message).toMatch(/NFS backup onto a CIFS share/);
  });

  it('refuses an unknown driver with the same error name', () => {
    expect(() => checkRestoreCapability(config, restore({ backup_type: 'tape' }))).toThrow(/"tape", which is not configured/);
  });
});

describe('checkBackupCapability', () => {
  it('accepts a protocol the driver backs up and refuses one it does not', () => {
    expect(checkBackupCapability(config, { backup_id: 'b', backup_type: 'nfs', share_id: 's', share_proto: 'nfs' }).name).toBe('nfs');
    expect(() => checkBackupCapability(config, { backup_id: 'b', backup_type: 'nfs', share_id: 's', share_proto: 'CIFS' })).toThrow(DriverCapabilityError);
  });
});

describe('describeError', () => {
  it('takes the errorMessage of a Lambda function error', () => {
    expect(describeError({ Error: 'DriverCapabilityError', Cause: JSON.stringify({ errorType: 'DriverCapabilityError', errorMessage: 'no restore to target' }) }))
      .toBe('no restore to target');
  });

  it("takes the copier's reason from an ECS task description (PascalCase and camelCase)", () => {
    const reason = JSON.stringify({ error: 'CopyError', reason: 'disk full writing a/b' });
    expect(describeError({ Error: 'States.TaskFailed', Cause: JSON.stringify({ Containers: [{ ExitCode: 1, Reason: reason }], StoppedReason: 'Essential container in task exited' }) }))
      .toBe('disk full writing a/b');
    expect(describeError({ Error: 'States.TaskFailed', Cause: JSON.stringify({ containers: [{ exitCode: 1, reason: 'OutOfMemoryError: Container killed' }] }) }))
      .toBe('The copier ran out of memory and was killed (OutOfMemoryError: Container killed); the figures on the record are as of its last progress write.');
  });

  it('falls back to the exit code and the stopped reason, then to "Error: Cause"', () => {
    expect(describeError({ Error: 'States.TaskFailed', Cause: JSON.stringify({ Containers: [{ ExitCode: 2 }], StoppedReason: 'Essential container in task exited' }) }))
      .toBe('The copier exited with code 2 (Essential container in task exited).');
    expect(describeError({ Error: 'States.TaskFailed', Cause: JSON.stringify({ StoppedReason: 'Task failed to start' }) })).toBe('Task failed to start');
    expect(describeError({ Error: 'DynamoDB.ConditionalCheckFailedException', Cause: 'The conditional request failed' }))
      .toBe('DynamoDB.ConditionalCheckFailedException: The conditional request failed');
    expect(describeError({ Error: 'DynamoDB.ConditionalCheckFailedException', Cause: '' })).toBe('DynamoDB.ConditionalCheckFailedException');
  });

  it('a copy task that ran out of time says so, not "States.Timeout"', () => {
    expect(describeError({ Error: 'States.Timeout' })).toBe('Timed out: a workflow step, usually the copy, did not finish within its time limit (States.Timeout) and was stopped; the figures on the record are as of the copier\'s last progress write.');
    expect(describeError({ Error: 'States.HeartbeatTimeout', Cause: '' })).toMatch(/time limit \(States\.HeartbeatTimeout\)/);
  });
});

// What ecs:runTask.sync hands a Catch as the Cause when the copier's task stops badly (the ECS task
// description; PascalCase from Step Functions, camelCase from the ECS API), turned into the reason
// a user reads. The same function reads the local facade's tasks (local/stepfunctions/tasks/ecs.ts),
// which give a signal death the shape ECS gives it.
describe('describeStoppedTask', () => {
  const exited = 'Essential container in task exited';
  const lastWrite = 'the figures on the record are as of its last progress write';
  it.each([
    ['SIGKILL (exit 137, ECS and the facade alike)', { StopCode: 'EssentialContainerExited', StoppedReason: exited, Containers: [{ ExitCode: 137 }] },
      `The copier was killed by signal 9 (SIGKILL), exit code 137; ${lastWrite}.`],
    ['camelCase, SIGSEGV', { stopCode: 'EssentialContainerExited', stoppedReason: exited, containers: [{ exitCode: 139 }] },
      `The copier was killed by signal 11 (SIGSEGV), exit code 139; ${lastWrite}.`],
    ['out of memory: the container reason', { StoppedReason: exited, Containers: [{ ExitCode: 137, Reason: 'OutOfMemoryError: Container killed due to memory usage' }] },
      `The copier ran out of memory and was killed (OutOfMemoryError: Container killed due to memory usage); ${lastWrite}.`],
    ['out of memory: only the stopped reason', { StoppedReason: 'OutOfMemoryError: Container killed due to memory usage', Containers: [{ ExitCode: 137 }] },
      `The copier ran out of memory and was killed (OutOfMemoryError: Container killed due to memory usage); ${lastWrite}.`],
    ['stopped by someone (SIGTERM, then SIGKILL after the stop timeout)', { StopCode: 'UserInitiated', StoppedReason: 'Task stopped by user', Containers: [{ ExitCode: 137 }] },
      `The copier was killed by signal 9 (SIGKILL), exit code 137, after its task was stopped (Task stopped by user); ${lastWrite}.`],
    ['the copier\'s own failure line', { StoppedReason: exited, Containers: [{ ExitCode: 1, Reason: '{"error":"FileSystemError","reason":"No space left on the target"}' }] },
      'No space left on the target'],
    ['a plain exit code', { StoppedReason: exited, Containers: [{ ExitCode: 2 }] }, 'The copier exited with code 2 (Essential container in task exited).'],
    ['a task that never started', { StopCode: 'TaskFailedToStart', StoppedReason: 'CannotPullContainerError: pull access denied', Containers: [{ Reason: 'CannotPullContainerError: pull access denied' }] },
      'CannotPullContainerError: pull access denied'],
    ['a spot or host interruption', { StopCode: 'TerminationNotice', StoppedReason: 'Your Spot Task was interrupted.', Containers: [{ ExitCode: 143 }] },
      `The copier was killed by signal 15 (SIGTERM), exit code 143, after its task was stopped (Your Spot Task was interrupted.); ${lastWrite}.`],
    ['nothing known', {}, undefined],
  ])('%s', (_name, task, reason) => {
    expect(describeStoppedTask(task)).toBe(reason);
    if (reason !== undefined) expect(describeError({ Error: 'States.TaskFailed', Cause: JSON.stringify(task) })).toBe(reason);
  });
});

describe('handler', () => {
  it('answers the capability checks with the driver name (default driver configuration)', async () => {
    await expect(handler({ action: 'checkRestoreCapability', ...restore() })).resolves.toEqual({ driver: 'nfs' });
    await expect(handler({ action: 'checkBackupCapability', backup_id: 'b', backup_type: 'nfs', share_id: 's', share_proto: 'NFS' })).resolves.toEqual({ driver: 'nfs' });
  });

  it('throws named errors Step Functions can catch', async () => {
    await expect(handler({ action: 'checkRestoreCapability', ...restore({ target_share_proto: 'CIFS' }) })).rejects.toMatchObject({ name: 'DriverCapabilityError' });
    await expect(handler({ action: 'nope' } as never)).rejects.toMatchObject({ name: 'InvalidWorkflowRequestError' });
    await expect(handler({ action: 'checkBackupCapability', backup_id: 'b' } as never)).rejects.toThrow(/missing string field\(s\) backup_type, share_id, share_proto/);
  });

  it('describes an error passed whole (as the ASL does) or flat', async () => {
    const error = { Error: 'X', Cause: JSON.stringify({ errorMessage: 'why' }) };
    await expect(handler({ action: 'describeError', error })).resolves.toEqual({ reason: 'why' });
    await expect(handler({ action: 'describeError', ...error })).resolves.toEqual({ reason: 'why' });
  });
});
